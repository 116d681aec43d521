package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time in a configuration. It is written as a Go
// duration ("120h", "90m", "1h30m") or with a leading number of days ("5d",
// "1d12h"). It must be positive; the zero Duration means unset.
type Duration time.Duration

// ParseDuration reads a Duration as written in a configuration.
func ParseDuration(s string) (Duration, error) {
	bad := fmt.Errorf("expected a duration such as \"120h\" or \"5d\", got %q", s)
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, rest = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var d time.Duration
	if rest != "" || days == 0 {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, bad
		}
	}
	if d < 0 || d > math.MaxInt64-days {
		return 0, fmt.Errorf("duration %q must be positive and at most 290 years", s)
	}
	if days+d == 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return Duration(days + d), nil
}

// String prints d in whole days when it is a multiple of a day ("5d"),
// otherwise as a Go duration without trailing zero units ("1h30m").
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText prints d as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d as ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Date is a calendar day (UTC) written as YYYY-MM-DD. The zero Date means
// unset.
type Date struct{ t time.Time }

const dateLayout = "2006-01-02"

// ParseDate reads a Date written as YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return Date{}, fmt.Errorf("expected a date as YYYY-MM-DD, got %q", s)
	}
	return Date{t: t}, nil
}

// NewDate returns the Date of year, month and day.
func NewDate(year int, month time.Month, day int) Date {
	return Date{t: time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Equal reports whether d and o are the same day.
func (d Date) Equal(o Date) bool { return d.t.Equal(o.t) }

// String prints d as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// Time returns the start of d, midnight UTC.
func (d Date) Time() time.Time { return d.t }

// Expired reports whether now is past the end of day d (UTC): a rule that
// expires on 2025-06-30 still applies all of that day. An unset Date never
// expires.
func (d Date) Expired(now time.Time) bool {
	return !d.IsZero() && !now.Before(d.t.AddDate(0, 0, 1))
}

// MarshalText prints d as String does.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d as ParseDate does.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
