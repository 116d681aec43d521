package httpretry_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/httpretry"
)

// server answers the statuses in order, then 200 "ok"; it records the
// bodies it received.
type server struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   []string
	srv      *httptest.Server
}

func newServer(t *testing.T, statuses ...int) *server {
	t.Helper()
	s := &server{statuses: statuses, header: http.Header{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func fast(attempts int) httpretry.Policy {
	return httpretry.Policy{Attempts: attempts, Backoff: time.Millisecond}
}

func send(t *testing.T, p httpretry.Policy, req *http.Request) (*http.Response, error) {
	t.Helper()
	resp, err := p.Do(req, http.DefaultTransport.RoundTrip)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func get(t *testing.T, ctx context.Context, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return string(b)
}

func TestDoStatuses(t *testing.T) {
	for _, tt := range []struct {
		name     string
		attempts int
		statuses []int
		want     int // final status
		requests int
	}{
		{"success at once", 4, nil, 200, 1},
		{"transient answers, then success", 4, []int{503, 429, 500}, 200, 4},
		{"408, 502 and 504 are transient", 4, []int{408, 502, 504}, 200, 4},
		{"attempts run out: the last answer is returned", 3, []int{503, 502, 500, 500}, 500, 3},
		{"404 is not retried", 4, []int{404}, 404, 1},
		{"501 is not retried", 4, []int{501}, 501, 1},
		{"401 is not retried", 4, []int{401}, 401, 1},
		{"zero policy: one attempt", 0, []int{503}, 503, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.statuses...)
			var retries []httpretry.Retry
			p := fast(tt.attempts)
			p.OnRetry = func(r httpretry.Retry) { retries = append(retries, r) }
			resp, err := send(t, p, get(t, t.Context(), s.srv.URL))
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			// The returned answer is whole, never drained.
			if got, want := body(t, resp), fmt.Sprintf("answer %d", tt.want); got != want {
				t.Errorf("body %q, want %q", got, want)
			}
			if n := s.requests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if len(retries) != tt.requests-1 {
				t.Fatalf("OnRetry called %d times, want %d", len(retries), tt.requests-1)
			}
			for i, r := range retries {
				if r.Attempt != i+1 || r.Attempts != max(tt.attempts, 1) || r.Delay > time.Millisecond<<i ||
					r.Reason != fmt.Sprintf("%d %s", tt.statuses[i], http.StatusText(tt.statuses[i])) {
					t.Errorf("retry %d: %+v", i, r)
				}
			}
		})
	}
}

func TestDoRetryAfter(t *testing.T) {
	date := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("honoured as a floor", func(t *testing.T) {
		s := newServer(t, http.StatusTooManyRequests)
		s.header.Set("Retry-After", date.Format(http.TimeFormat))
		var delay time.Duration
		p := fast(3)
		p.Now = func() time.Time { return date.Add(-50 * time.Millisecond) }
		p.OnRetry = func(r httpretry.Retry) { delay = r.Delay }
		start := time.Now()
		resp, err := send(t, p, get(t, t.Context(), s.srv.URL))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("Do = %v, %v", resp, err)
		}
		if delay != 50*time.Millisecond || time.Since(start) < 50*time.Millisecond {
			t.Errorf("waited %v (announced %v), want the 50ms Retry-After", time.Since(start), delay)
		}
	})
	t.Run("longer than the cap ends the retries", func(t *testing.T) {
		s := newServer(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
		s.header.Set("Retry-After", "3600")
		p := fast(3)
		p.OnRetry = func(r httpretry.Retry) { t.Errorf("retried: %+v", r) }
		resp, err := send(t, p, get(t, t.Context(), s.srv.URL))
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Do = %v, %v; want the 503", resp, err)
		}
		if n := s.requests(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("cap is configurable", func(t *testing.T) {
		s := newServer(t, http.StatusTooManyRequests)
		s.header.Set("Retry-After", "1")
		p := fast(3)
		p.MaxRetryAfter = 500 * time.Millisecond
		resp, err := send(t, p, get(t, t.Context(), s.srv.URL))
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || s.requests() != 1 {
			t.Fatalf("Do = %v, %v after %d requests; want the 429 at once", resp, err, s.requests())
		}
	})
}

func TestDoBodies(t *testing.T) {
	t.Run("a PUT is replayed with its whole body", func(t *testing.T) {
		s := newServer(t, 503, 503)
		req, _ := http.NewRequest(http.MethodPut, s.srv.URL, strings.NewReader(`{"a":1}`))
		resp, err := send(t, fast(5), req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("Do = %v, %v", resp, err)
		}
		if diff := cmp.Diff([]string{`{"a":1}`, `{"a":1}`, `{"a":1}`}, s.bodies); diff != "" {
			t.Errorf("bodies (-want +got):\n%s", diff)
		}
	})
	t.Run("a body that cannot be rewound is sent once", func(t *testing.T) {
		s := newServer(t, 503, 503)
		req, _ := http.NewRequest(http.MethodPut, s.srv.URL, io.NopCloser(strings.NewReader("stream")))
		req.GetBody = nil
		resp, err := send(t, fast(5), req)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || s.requests() != 1 {
			t.Fatalf("Do = %v, %v after %d requests; want the 503 of one attempt", resp, err, s.requests())
		}
	})
	t.Run("even when Replayable says yes", func(t *testing.T) {
		s := newServer(t, 503, 503)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, io.NopCloser(strings.NewReader("stream")))
		p := fast(5)
		p.Replayable = func(*http.Request) bool { return true }
		if resp, err := send(t, p, req); err != nil || resp.StatusCode != 503 || s.requests() != 1 {
			t.Fatalf("Do = %v, %v after %d requests; want one attempt", resp, err, s.requests())
		}
	})
	t.Run("a POST is not idempotent", func(t *testing.T) {
		s := newServer(t, 503, 503)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader("x"))
		if resp, err := send(t, fast(5), req); err != nil || resp.StatusCode != 503 || s.requests() != 1 {
			t.Fatalf("Do = %v, %v after %d requests; want one attempt", resp, err, s.requests())
		}
	})
	t.Run("unless Replayable says so", func(t *testing.T) {
		s := newServer(t, 503, 503)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader("x"))
		p := fast(5)
		p.Replayable = func(*http.Request) bool { return true }
		if resp, err := send(t, p, req); err != nil || resp.StatusCode != 200 || s.requests() != 3 {
			t.Fatalf("Do = %v, %v after %d requests; want success at the third", resp, err, s.requests())
		}
	})
}

// Connection refused is transient: a server that blips is waited for.
func TestDoConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var retries int
	p := fast(3)
	p.OnRetry = func(httpretry.Retry) { retries++ }
	_, err = send(t, p, get(t, t.Context(), "http://"+addr+"/"))
	var e *httpretry.Error
	if !errors.As(err, &e) || e.Attempts != 3 || !errors.Is(err, syscall.ECONNREFUSED) ||
		!strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("Do = %v, want an *Error after 3 attempts wrapping ECONNREFUSED", err)
	}
	if retries != 2 {
		t.Errorf("%d retries, want 2", retries)
	}
}

func TestDoErrors(t *testing.T) {
	t.Run("a failure that is not transient is not retried", func(t *testing.T) {
		n := 0
		boom := errors.New("boom")
		_, err := fast(5).Do(get(t, t.Context(), "http://x.invalid/"), func(*http.Request) (*http.Response, error) {
			n++
			return nil, boom
		})
		var e *httpretry.Error
		if !errors.As(err, &e) || e.Attempts != 1 || !errors.Is(err, boom) || err.Error() != "boom" || n != 1 {
			t.Fatalf("Do = %v after %d attempts, want boom once", err, n)
		}
	})
	t.Run("a reset is retried", func(t *testing.T) {
		n := 0
		resp, err := fast(5).Do(get(t, t.Context(), "http://x.invalid/"), func(r *http.Request) (*http.Response, error) {
			n++
			if n < 3 {
				return nil, &url.Error{Op: "Get", URL: r.URL.String(), Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})
		if err != nil || resp.StatusCode != 200 || n != 3 {
			t.Fatalf("Do = %v, %v after %d attempts", resp, err, n)
		}
	})
}

func TestDoContext(t *testing.T) {
	t.Run("cancelling ends a wait at once", func(t *testing.T) {
		s := newServer(t, 503, 503, 503)
		ctx, cancel := context.WithCancel(t.Context())
		p := httpretry.Policy{Attempts: 3, Backoff: time.Hour, MaxBackoff: time.Hour}
		p.OnRetry = func(httpretry.Retry) { cancel() }
		start := time.Now()
		_, err := send(t, p, get(t, ctx, s.srv.URL))
		var e *httpretry.Error
		if !errors.As(err, &e) || !errors.Is(err, context.Canceled) || e.Attempts != 1 {
			t.Fatalf("Do = %v, want an *Error wrapping context.Canceled after 1 attempt", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		if n := s.requests(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	stalling := func(t *testing.T, stalls int) (*httptest.Server, func() int) {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			stall := n <= stalls
			mu.Unlock()
			if stall {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			fmt.Fprint(w, "ok")
		}))
		t.Cleanup(srv.Close)
		return srv, func() int { mu.Lock(); defer mu.Unlock(); return n }
	}
	t.Run("a per-attempt timeout is retried", func(t *testing.T) {
		srv, requests := stalling(t, 1)
		client := &http.Client{Timeout: 100 * time.Millisecond}
		resp, err := fast(3).Do(get(t, t.Context(), srv.URL), client.Do)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		resp.Body.Close()
		if n := requests(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("the caller's deadline is not", func(t *testing.T) {
		srv, requests := stalling(t, 5)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := send(t, fast(3), get(t, ctx, srv.URL))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do = %v, want context.DeadlineExceeded", err)
		}
		if n := requests(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", &url.Error{Op: "Get", URL: "x", Err: refused}, true},
		{"reset", syscall.ECONNRESET, true},
		{"aborted", syscall.ECONNABORTED, true},
		{"broken pipe", fmt.Errorf("writing: %w", syscall.EPIPE), true},
		{"EOF", &url.Error{Op: "Get", URL: "x", Err: io.EOF}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"closed", net.ErrClosed, true},
		{"net timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		// A *url.Error is a net.Error whose Timeout looks one level down
		// only: the timeout further down still counts.
		{"timeout under a wrapper", &url.Error{Op: "Head", URL: "x", Err: &wrapped{stall{}}}, true},
		{"timeout in a join", errors.Join(errors.New("a"), stall{}), true},
		{"cancelled", &url.Error{Op: "Get", URL: "x", Err: context.Canceled}, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"unknown authority", &url.Error{Op: "Get", URL: "x", Err: x509.UnknownAuthorityError{}}, false},
		{"no such host", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"plain", errors.New("something"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpretry.Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// stall is a timeout of the caller's own making, as a stall detector's.
type stall struct{}

func (stall) Error() string   { return "no progress" }
func (stall) Timeout() bool   { return true }
func (stall) Temporary() bool { return true }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "request: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestIdempotent(t *testing.T) {
	for m, want := range map[string]bool{
		"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true, "PUT": true, "DELETE": true,
		"POST": false, "PATCH": false, "CONNECT": false,
	} {
		if got := httpretry.Idempotent(&http.Request{Method: m}); got != want {
			t.Errorf("Idempotent(%s) = %v, want %v", m, got, want)
		}
	}
}
