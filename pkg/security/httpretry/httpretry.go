// Package httpretry is sc's one retry policy for HTTP, used by the registry
// transport, the DefectDojo client and (through an interface, so that
// pkg/security/runenv stays on the standard library) the GitHub Actions
// token source. Policy.Do sends a request again while its failure is
// transient:
//
//   - Transient answers: 408, 429, 500, 502, 503 and 504 (TransientStatus).
//     A Retry-After header is honoured, up to MaxRetryAfter; an answer that
//     asks for more patience ends the retries and is returned as it is.
//   - Transient failures to get an answer: connection refused, reset or
//     aborted, broken pipes, answers cut short (EOF), timeouts (Transient),
//     and a per-attempt deadline such as http.Client.Timeout.
//   - Never retried: the caller's own cancellation or deadline (it also
//     ends a wait at once), a request the policy's Replayable refuses, and
//     a request whose body cannot be rewound (no GetBody).
//   - Backoff: exponential from Policy.Backoff, capped at MaxBackoff, with
//     "equal jitter" (each wait is between half and all of its nominal
//     value) so that clients failing together do not retry together.
//
// The loop, its timer and its handling of the context are those of
// github.com/cenkalti/backoff/v5; this package decides what is transient
// and how long to wait.
//
// What it does not do: it does not log (Policy.OnRetry lets the caller), it
// does not bound a single attempt (the caller's transport or http.Client
// does), and it does not retry a multi-request operation such as a blob
// upload session: that is the caller's, at the level of the operation.
package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults of the Policy fields left zero.
const (
	// DefaultMaxBackoff caps the exponential backoff between two attempts.
	DefaultMaxBackoff = 10 * time.Second
	// DefaultMaxRetryAfter caps how long a Retry-After answer is honoured.
	// A server that asks for more patience than this ends the retries: a
	// pipeline step should fail and say so rather than hang.
	DefaultMaxRetryAfter = 30 * time.Second
	// drainLimit is how much of a retried answer's body is read so that its
	// connection can be reused.
	drainLimit = 64 << 10
)

// Policy says how a request is retried. The zero Policy sends a request
// once. A Policy is a value: copy it freely; it is safe for concurrent use
// when its functions are.
type Policy struct {
	// Attempts is how many times a request is sent in all; less than 1
	// counts as 1.
	Attempts int
	// Backoff is the nominal wait before the second attempt; it doubles for
	// each further one, up to MaxBackoff. Each wait is drawn between half
	// and all of its nominal value.
	Backoff time.Duration
	// MaxBackoff caps the nominal wait. 0: DefaultMaxBackoff.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured. 0:
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Replayable says whether a request may be sent more than once. nil:
	// Idempotent. Whatever it says, a request whose body cannot be rewound
	// is sent once.
	Replayable func(*http.Request) bool
	// OnRetry, when set, is called before each wait, for a log line.
	OnRetry func(Retry)
	// Now is the clock that Retry-After dates are read against. nil:
	// time.Now.
	Now func() time.Time
}

// Retry describes an attempt that failed and is about to be repeated.
type Retry struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Attempts is Policy.Attempts.
	Attempts int
	// Delay is the wait before the next attempt.
	Delay time.Duration
	// Reason is the failure: the status line of a transient answer
	// ("503 Service Unavailable") or the error's text.
	Reason string
}

// Error is what Do returns when the last attempt got no answer, or when the
// caller's context ended: the last failure, or the context's error, and how
// many attempts were made.
type Error struct {
	// Attempts is how many attempts were made.
	Attempts int
	// Err is the last attempt's failure, or the context's error.
	Err error
}

func (e *Error) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("%v (after %d attempts)", e.Err, e.Attempts)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Do sends req with send, and again, while the failure is transient and
// attempts remain; a retried answer's body is drained and closed. Every
// attempt after the first gets a clone of req with its body rewound by
// GetBody. The context of req bounds everything, waits included.
//
// Do returns the last answer (a success, an answer that is not transient,
// or a transient one when the attempts ran out or Retry-After asked for
// too long), or an *Error when there is none.
func (p Policy) Do(req *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	ctx := req.Context()
	attempts := max(p.Attempts, 1)
	if !p.replayable(req) {
		attempts = 1
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	maxRetryAfter := p.MaxRetryAfter
	if maxRetryAfter <= 0 {
		maxRetryAfter = DefaultMaxRetryAfter
	}
	wait := newJitter(p.Backoff, p.MaxBackoff)

	attempt := 0
	op := func() (*http.Response, error) {
		attempt++
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, backoff.Permanent(&Error{Attempts: attempt, Err: fmt.Errorf("rewinding the request body: %w", err)})
				}
				r.Body = body
			}
		}
		resp, err := send(r)
		last := attempt >= attempts || ctx.Err() != nil
		if err != nil {
			if last || !retryable(ctx, err) {
				return nil, backoff.Permanent(&Error{Attempts: attempt, Err: err})
			}
			return nil, err
		}
		if last || !TransientStatus(resp.StatusCode) {
			return resp, nil
		}
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
			if ra > maxRetryAfter {
				return resp, nil
			}
			wait.floor = ra
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		_ = resp.Body.Close()
		return nil, &statusError{status: resp.Status}
	}
	notify := func(err error, d time.Duration) {
		if p.OnRetry != nil {
			p.OnRetry(Retry{Attempt: attempt, Attempts: attempts, Delay: d, Reason: err.Error()})
		}
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(wait),
		backoff.WithMaxTries(uint(attempts)),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify))
	if err == nil {
		return resp, nil
	}
	var e *Error
	if errors.As(err, &e) {
		return nil, e
	}
	// The context ended between two attempts (backoff.Retry returns its
	// cause), or, defensively, the attempts ran out on a failure that was
	// still worth retrying.
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, &Error{Attempts: attempt, Err: ctxErr}
	}
	return nil, &Error{Attempts: attempt, Err: err}
}

func (p Policy) replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	if p.Replayable != nil {
		return p.Replayable(req)
	}
	return Idempotent(req)
}

// Idempotent reports whether req's method is idempotent (RFC 9110): GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE. It is the default of
// Policy.Replayable.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// statusError is a transient answer that is being retried.
type statusError struct{ status string }

func (e *statusError) Error() string { return e.status }

// TransientStatus reports whether an answer with this status is worth
// another attempt: 408, 429, 500, 502, 503, 504. Other 5xx (501 Not
// Implemented, 505 HTTP Version Not Supported, …) say something that
// another attempt will not change.
func TransientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Transient reports whether err, a failure to get an answer, is worth
// another attempt: a connection refused, reset or aborted, a broken pipe, an
// answer cut short (EOF), a net.Error that is a timeout. Cancellation and
// context deadlines are not: without the request at hand a deadline counts
// as the caller's. (Do, which has the request's context, also retries a
// deadline that is not the caller's: a per-attempt timeout.)
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	return timeout(err)
}

// timeout reports whether an error in err's chain says it is a timeout. Not
// errors.As with net.Error: that stops at the first net.Error, and a
// *url.Error around a wrapper of the timeout says it is none.
func timeout(err error) bool {
	for err != nil {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if timeout(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// retryable is Transient, plus a deadline that is not the caller's: the
// timeout of one attempt.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	return Transient(err) || errors.Is(err, context.DeadlineExceeded)
}

// jitter is the backoff of one request: exponential growth (from the
// library) with equal jitter, and a floor set by a Retry-After answer for
// the next wait only.
type jitter struct {
	exp   *backoff.ExponentialBackOff
	max   time.Duration
	floor time.Duration
}

var _ backoff.BackOff = (*jitter)(nil)

func newJitter(initial, maxBackoff time.Duration) *jitter {
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	initial = max(initial, 0)
	return &jitter{
		exp: &backoff.ExponentialBackOff{
			InitialInterval: initial,
			Multiplier:      2,
			MaxInterval:     maxBackoff,
		},
		max: maxBackoff,
	}
}

func (j *jitter) Reset() { j.exp.Reset(); j.floor = 0 }

// NextBackOff returns a wait between half and all of the nominal one, or
// the Retry-After floor when that is longer.
func (j *jitter) NextBackOff() time.Duration {
	d := min(j.exp.NextBackOff(), j.max)
	if d > 1 {
		half := d / 2
		d = half + rand.N(d-half+1)
	}
	d = max(d, j.floor)
	j.floor = 0
	return d
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It reports false for an absent or unreadable value; a date in the past is
// a zero delay.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}
