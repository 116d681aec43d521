package httpretry

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 12 ", 12 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-5", "Wed, 21 Oct 2015 07:28:00 GMT", "1e9", "+3"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 {
			t.Fatalf("negative delay %v for %q", d, s)
		}
		if !ok && d != 0 {
			t.Fatalf("delay %v without ok for %q", d, s)
		}
	})
}

// backoffDelay is the wait after the given failed attempt.
func backoffDelay(initial time.Duration, attempt int) time.Duration {
	j := newJitter(initial, 0)
	j.Reset()
	var d time.Duration
	for range attempt {
		d = j.NextBackOff()
	}
	return d
}

func TestBackoffDelay(t *testing.T) {
	initial := 200 * time.Millisecond
	for attempt := 1; attempt <= 10; attempt++ {
		full := min(initial<<(attempt-1), DefaultMaxBackoff)
		for range 50 {
			d := backoffDelay(initial, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := backoffDelay(0, 3); d != 0 {
		t.Errorf("zero initial backoff gave %v", d)
	}
}

// An initial backoff above the cap is capped; a Retry-After floor applies
// to the next wait only.
func TestJitterCapAndFloor(t *testing.T) {
	j := newJitter(time.Hour, 4*time.Second)
	j.Reset()
	if d := j.NextBackOff(); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("first wait %v, want it within [2s, 4s]", d)
	}
	j.floor = 20 * time.Second
	if d := j.NextBackOff(); d != 20*time.Second {
		t.Errorf("wait with a 20s floor = %v", d)
	}
	if d := j.NextBackOff(); d > 4*time.Second {
		t.Errorf("wait after the floor = %v, want the floor forgotten", d)
	}
}
