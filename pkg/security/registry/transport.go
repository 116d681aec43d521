package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sc-project/sc/pkg/security/httpretry"
)

// The HTTP stack under every registry request, outermost first:
//
//	policyTransport   plain HTTP only to loopback hosts (or WithInsecureHTTP); user agent
//	retryTransport    retries of idempotent requests, by httpretry's policy: 429 (Retry-After),
//	                  408, 5xx, connection refused, resets, EOF, timeouts
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
//     to the configured number of attempts, with httpretry.Policy: the one
//     retry policy of sc (which failures are transient, backoff with jitter,
//     Retry-After up to httpretry.DefaultMaxRetryAfter, cancellation).
//   - A blob upload is a session: POST opens it, PATCH sends the bytes, PUT
//     ?digest= closes it. Replaying one request of a broken session can
//     duplicate or reject data, and the session may be gone on the server.
//     These requests are never retried on their own. Instead the whole
//     upload (existence check, POST, PATCH, PUT) is retried by
//     go-containerregistry's operation-level retry, which RemoteOptions
//     configures with the same attempts and backoff and a predicate that
//     accepts only transient failures (by httpretry's rules) of
//     upload-session requests. A blob is content-addressed, so uploading it
//     again is harmless. Only go-containerregistry can restart a session
//     from its own writer, so this level cannot be httpretry's.

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
// retried here. err is usually an *httpretry.Error, which says how many
// attempts were made.
type requestError struct {
	method string
	path   string
	err    error
}

func (e *requestError) Error() string { return e.err.Error() }

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

// retryTransport retries idempotent requests with httpretry's policy; see
// the comment at the top of this file for which ones and why.
type retryTransport struct {
	inner    http.RoundTripper
	attempts int
	initial  time.Duration
	log      *slog.Logger
	now      func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	p := httpretry.Policy{
		Attempts:   t.attempts,
		Backoff:    t.initial,
		Replayable: replayable,
		Now:        t.now,
		OnRetry: func(r httpretry.Retry) {
			t.log.InfoContext(ctx, "retrying registry request",
				"method", req.Method, "host", req.URL.Host, "path", req.URL.Path,
				"attempt", r.Attempt, "of", r.Attempts, "delay", r.Delay, "reason", r.Reason)
		},
	}
	resp, err := p.Do(req, t.inner.RoundTrip)
	if err != nil {
		return nil, &requestError{method: req.Method, path: req.URL.Path, err: err}
	}
	return resp, nil
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
