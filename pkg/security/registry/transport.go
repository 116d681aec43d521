package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The HTTP stack under every registry request, outermost first:
//
//	policyTransport   plain HTTP only to loopback hosts (or WithInsecureHTTP); user agent
//	retryTransport    retries of idempotent requests: 429 (Retry-After), 408, 5xx, resets, EOF, timeouts
//	timeoutTransport  per-request stall timeout (WithTimeout)
//	base              WithTransport, by default a clone of remote.DefaultTransport
//
// go-containerregistry adds its authentication and scheme selection around
// this stack. Its own transport-level retry is switched off (RemoteOptions
// gives it no status codes and a predicate that refuses everything the stack
// below already retried), so a request is never retried by two layers.
//
// What is retried where:
//
//   - GET and HEAD (manifests, blobs, referrers, tags, token requests) and
//     PUT of a manifest are idempotent: the same bytes land under the same
//     name whatever the number of attempts. retryTransport retries them, up
//     to the configured number of attempts.
//   - A blob upload is a session: POST opens it, PATCH sends the bytes, PUT
//     ?digest= closes it. Replaying one request of a broken session can
//     duplicate or reject data, and the session may be gone on the server.
//     These requests are never retried on their own. Instead the whole
//     upload (existence check, POST, PATCH, PUT) is retried by
//     go-containerregistry's operation-level retry, which RemoteOptions
//     configures with the same attempts and backoff and a predicate that
//     accepts only transient failures of upload-session requests. A blob is
//     content-addressed, so uploading it again is harmless.
const (
	// maxRetryAfter caps how long a Retry-After answer is honoured. A
	// registry that asks for more patience than this ends the retries: a
	// pipeline step should fail and say so rather than hang.
	maxRetryAfter = 30 * time.Second
	// maxBackoff caps the exponential backoff between two attempts.
	maxBackoff = 10 * time.Second
)

// policyTransport refuses plain-HTTP requests to hosts outside the loopback
// interface unless insecure is set, and prefixes the user agent. It applies
// to every request, including redirects to blob storage and token servers.
type policyTransport struct {
	inner     http.RoundTripper
	insecure  bool
	userAgent string
}

func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.insecure && !IsLoopback(req.URL.Hostname()) {
		closeRequestBody(req)
		return nil, fmt.Errorf("%s: %w", req.URL.Host, ErrInsecureHTTP)
	}
	if ua := req.Header.Get("User-Agent"); !strings.HasPrefix(ua, t.userAgent) {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", strings.TrimSpace(t.userAgent+" "+ua))
	}
	return t.inner.RoundTrip(req)
}

// IsLoopback reports whether host (a host name or IP address, without port)
// is on the loopback interface: 127.0.0.0/8, ::1 or "localhost". Only these
// registries are reached over plain HTTP without WithInsecureHTTP.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// requestError is what retryTransport returns when a request fails without
// an HTTP answer. It records the request so that the operation-level retry
// can tell an upload-session request (which it retries) from one already
// retried here.
type requestError struct {
	method   string
	path     string
	attempts int
	err      error
}

func (e *requestError) Error() string {
	if e.attempts > 1 {
		return fmt.Sprintf("%v (after %d attempts)", e.err, e.attempts)
	}
	return e.err.Error()
}

func (e *requestError) Unwrap() error { return e.err }

// timeoutError reports a request that made no progress within the timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no progress from the registry within %v", e.d)
}

// Timeout marks the error as a timeout for net.Error users.
func (e *timeoutError) Timeout() bool { return true }

// Temporary marks the error as worth retrying.
func (e *timeoutError) Temporary() bool { return true }

// retryTransport retries idempotent requests; see the comment at the top of
// this file for which ones and why.
type retryTransport struct {
	inner    http.RoundTripper
	attempts int
	initial  time.Duration
	log      *slog.Logger
	now      func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replay := replayable(req)
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, &requestError{method: req.Method, path: req.URL.Path, attempts: attempt, err: err}
				}
				r.Body = body
			}
		}
		resp, err := t.inner.RoundTrip(r)
		last := !replay || attempt >= t.attempts || ctx.Err() != nil
		delay := t.backoff(attempt)
		var reason string
		if err != nil {
			if last || !transient(err) {
				return nil, &requestError{method: req.Method, path: req.URL.Path, attempts: attempt, err: err}
			}
			reason = err.Error()
		} else {
			if last || !retryableStatus(resp.StatusCode) {
				return resp, nil
			}
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
				if ra > maxRetryAfter {
					return resp, nil
				}
				delay = max(delay, ra)
			}
			reason = resp.Status
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		t.log.InfoContext(ctx, "retrying registry request",
			"method", req.Method, "host", req.URL.Host, "path", req.URL.Path,
			"attempt", attempt, "of", t.attempts, "delay", delay, "reason", reason)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &requestError{method: req.Method, path: req.URL.Path, attempts: attempt, err: ctx.Err()}
		case <-timer.C:
		}
	}
}

// backoff is the wait after the given failed attempt: exponential from the
// initial backoff, capped, with "equal jitter" (half fixed, half random) so
// that clients failing together do not retry together.
func (t *retryTransport) backoff(attempt int) time.Duration {
	return backoffDelay(t.initial, attempt)
}

func backoffDelay(initial time.Duration, attempt int) time.Duration {
	d := initial
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half+1)
}

// replayable reports whether req may be sent again as is: reads, and PUT of
// a manifest whose body can be rewound.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPut:
		if !strings.Contains(req.URL.Path, "/manifests/") {
			return false
		}
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	default:
		return false
	}
}

// uploadSession reports whether a request belongs to a blob upload session.
func uploadSession(method, path string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		return strings.Contains(path, "/blobs/uploads/")
	}
	return false
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transient reports whether err is a network failure worth another attempt:
// connection resets, unexpected EOF, broken pipes and timeouts. The caller's
// own cancellation and deadline are not.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
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

// timeoutTransport cancels a request that makes no progress for d: no
// response headers within d of the last byte of request body sent, or a read
// of the response body that waits d without a byte. A slow but moving
// transfer of a large layer is never cut off, nor is a response whose reader
// pauses between reads (a scanner working through a layer); a stalled
// connection is.
type timeoutTransport struct {
	inner http.RoundTripper
	d     time.Duration
}

var errStalled = errors.New("request stalled")

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithCancelCause(parent)
	timer := time.AfterFunc(t.d, func() { cancel(errStalled) })
	stalled := func() bool { return parent.Err() == nil && errors.Is(context.Cause(ctx), errStalled) }

	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &progressBody{ReadCloser: req.Body, timer: timer, d: t.d}
	}
	resp, err := t.inner.RoundTrip(r)
	if err != nil {
		timer.Stop()
		if stalled() {
			err = &timeoutError{d: t.d}
		}
		cancel(nil)
		return nil, err
	}
	timer.Stop()
	resp.Body = &watchedBody{
		ReadCloser: resp.Body,
		timer:      timer,
		d:          t.d,
		cancel:     cancel,
		stalled:    stalled,
	}
	return resp, nil
}

// progressBody restarts the stall timer whenever bytes flow.
type progressBody struct {
	io.ReadCloser
	timer *time.Timer
	d     time.Duration
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

// watchedBody is a response body whose reads are under the stall timer:
// the timer runs only while a Read waits on the network. Closing the body
// releases the request's context.
type watchedBody struct {
	io.ReadCloser
	timer   *time.Timer
	d       time.Duration
	cancel  context.CancelCauseFunc
	stalled func() bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.d)
	n, err := b.ReadCloser.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.stalled() {
		err = &timeoutError{d: b.d}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// nextLink returns the target of a `Link: <…>; rel="next"` header, resolved
// against base, as used by the referrers API to page its answer.
func nextLink(header string, base *url.URL) (*url.URL, bool) {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		start, end := strings.Index(part, "<"), strings.Index(part, ">")
		if start != 0 || end < 1 {
			continue
		}
		isNext := false
		for _, param := range strings.Split(part[end+1:], ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						isNext = true
					}
				}
			}
		}
		if !isNext {
			continue
		}
		u, err := base.Parse(part[start+1 : end])
		if err != nil || u.Host != base.Host || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		return u, true
	}
	return nil, false
}
