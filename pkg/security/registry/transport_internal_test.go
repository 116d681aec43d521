package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sc-project/sc/pkg/security/httpretry"
)

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://reg.example/v2/app/referrers/sha256:abc")
	for _, tt := range []struct {
		header, want string
	}{
		{`</v2/app/referrers/sha256:abc?n=10&last=x>; rel="next"`, "https://reg.example/v2/app/referrers/sha256:abc?n=10&last=x"},
		{`<https://reg.example/v2/next>; rel=next`, "https://reg.example/v2/next"},
		{`</prev>; rel="prev", </next>; rel="next"`, "https://reg.example/next"},
		{`</a>; rel="prev next"`, "https://reg.example/a"},
		{`</a>; rel="prev"`, ""},
		{`garbage`, ""},
		{``, ""},
		// Another host is not followed: credentials stay with the registry.
		{`<https://evil.example/x>; rel="next"`, ""},
		{`<file:///etc/passwd>; rel="next"`, ""},
	} {
		t.Run(tt.header, func(t *testing.T) {
			u, ok := nextLink(tt.header, base)
			got := ""
			if ok {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("nextLink(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`</next>; rel="next"`, `<https://x/y>; rel=next, <z>; rel=prev`, `<<>>;;rel==`, `<`} {
		f.Add(s)
	}
	base, _ := url.Parse("https://reg.example/v2/app/referrers/sha256:abc")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := nextLink(s, base)
		if ok && (u.Host != base.Host || (u.Scheme != "https" && u.Scheme != "http")) {
			t.Fatalf("nextLink(%q) leaves the registry: %s", s, u)
		}
	})
}

func TestReplayable(t *testing.T) {
	body := func() *http.Request {
		r := httptest.NewRequest(http.MethodPut, "/v2/app/manifests/v1", strings.NewReader("{}"))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil }
		return r
	}
	noRewind := httptest.NewRequest(http.MethodPut, "/v2/app/manifests/v1", strings.NewReader("{}"))
	noRewind.GetBody = nil
	for _, tt := range []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"GET manifest", httptest.NewRequest(http.MethodGet, "/v2/app/manifests/v1", nil), true},
		{"HEAD blob", httptest.NewRequest(http.MethodHead, "/v2/app/blobs/sha256:a", nil), true},
		{"PUT manifest", body(), true},
		{"PUT manifest without GetBody", noRewind, false},
		{"POST upload", httptest.NewRequest(http.MethodPost, "/v2/app/blobs/uploads/", nil), false},
		{"PATCH upload", httptest.NewRequest(http.MethodPatch, "/v2/app/blobs/uploads/x", strings.NewReader("x")), false},
		{"PUT upload", httptest.NewRequest(http.MethodPut, "/v2/app/blobs/uploads/x?digest=sha256:a", nil), false},
		{"DELETE manifest", httptest.NewRequest(http.MethodDelete, "/v2/app/manifests/sha256:a", nil), false},
		{"POST token", httptest.NewRequest(http.MethodPost, "/token", nil), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := replayable(tt.req); got != tt.want {
				t.Errorf("replayable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryOperation(t *testing.T) {
	req := func(method, path string) *http.Request { return httptest.NewRequest(method, path, nil) }
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503 on POST upload", &transport.Error{StatusCode: 503, Request: req("POST", "/v2/a/blobs/uploads/")}, true},
		{"500 on PUT upload", &transport.Error{StatusCode: 500, Request: req("PUT", "/v2/a/blobs/uploads/x")}, true},
		{"400 on PATCH upload", &transport.Error{StatusCode: 400, Request: req("PATCH", "/v2/a/blobs/uploads/x")}, false},
		{"503 on PUT manifest, retried below", &transport.Error{StatusCode: 503, Request: req("PUT", "/v2/a/manifests/v1")}, false},
		{"503 on HEAD blob, retried below", &transport.Error{StatusCode: 503, Request: req("HEAD", "/v2/a/blobs/sha256:a")}, false},
		{"EOF on PATCH upload", &url.Error{Op: "Patch", URL: "x", Err: &requestError{method: "PATCH", path: "/v2/a/blobs/uploads/x", err: io.EOF}}, true},
		{"reset on PUT upload", &requestError{method: "PUT", path: "/v2/a/blobs/uploads/x", err: syscall.ECONNRESET}, true},
		{"EOF on GET, retried below", &requestError{method: "GET", path: "/v2/a/manifests/v1", err: io.EOF}, false},
		{"refused plain HTTP", fmt.Errorf("x: %w", ErrInsecureHTTP), false},
		{"cancelled upload", &requestError{method: "PATCH", path: "/v2/a/blobs/uploads/x", err: context.Canceled}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryOperation(tt.err); got != tt.want {
				t.Errorf("retryOperation(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"404", &transport.Error{StatusCode: 404}, ErrNotFound},
		{"401", &transport.Error{StatusCode: 401}, ErrUnauthorized},
		{"403", &transport.Error{StatusCode: 403}, ErrUnauthorized},
		{"503", &transport.Error{StatusCode: 503}, ErrUnreachable},
		{"429", &transport.Error{StatusCode: 429}, ErrUnreachable},
		{"400 MANIFEST_UNKNOWN", &transport.Error{StatusCode: 400, Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}}, ErrNotFound},
		{"400 DENIED", &transport.Error{StatusCode: 400, Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode}}}, ErrUnauthorized},
		{"400", &transport.Error{StatusCode: 400}, nil},
		{"reset", &url.Error{Op: "Get", URL: "x", Err: syscall.ECONNRESET}, ErrUnreachable},
		{"refused", &url.Error{Op: "Get", URL: "x", Err: syscall.ECONNREFUSED}, ErrUnreachable},
		{"stalled", &timeoutError{d: time.Second}, ErrUnreachable},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), nil},
		{"already classed", fmt.Errorf("x: %w", ErrMalformed), nil},
		{"plain", errors.New("something"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
}

// A PUT of a manifest is replayed with its whole body.
func TestRetryTransportRewindsBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	rt := &retryTransport{inner: http.DefaultTransport, attempts: 5, initial: time.Millisecond, log: slog.New(slog.DiscardHandler), now: time.Now}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/app/manifests/v1", strings.NewReader(`{"manifest":1}`))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := []string{`{"manifest":1}`, `{"manifest":1}`, `{"manifest":1}`}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("bodies received (-want +got):\n%s", diff)
	}
}

// A POST is never replayed by the transport.
func TestRetryTransportLeavesUploadsAlone(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	rt := &retryTransport{inner: http.DefaultTransport, attempts: 5, initial: time.Millisecond, log: slog.New(slog.DiscardHandler), now: time.Now}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/app/blobs/uploads/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
}

func TestTimeoutTransport(t *testing.T) {
	release := make(chan struct{})
	resume := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stall-headers":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/stall-body":
			w.Write([]byte("first"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/two-parts":
			w.Write([]byte("all "))
			w.(http.Flusher).Flush()
			select {
			case <-resume:
			case <-r.Context().Done():
				return
			}
			w.Write([]byte("of it"))
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	const d = 100 * time.Millisecond
	client := &http.Client{Transport: &timeoutTransport{inner: http.DefaultTransport, d: d}}

	t.Run("no headers", func(t *testing.T) {
		_, err := client.Get(srv.URL + "/stall-headers")
		var te *timeoutError
		if !errors.As(err, &te) || !httpretry.Transient(err) {
			t.Fatalf("GET = %v, want a transient timeoutError", err)
		}
	})
	t.Run("body stalls", func(t *testing.T) {
		resp, err := client.Get(srv.URL + "/stall-body")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		var te *timeoutError
		if !errors.As(err, &te) {
			t.Fatalf("reading = %v, want a timeoutError", err)
		}
	})
	t.Run("slow reader is not cut off", func(t *testing.T) {
		resp, err := client.Get(srv.URL + "/two-parts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		first := make([]byte, 4)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatal(err)
		}
		// The reader is busy elsewhere for longer than the timeout; nothing
		// is waiting on the network meanwhile, so nothing times out.
		time.Sleep(3 * d)
		close(resume)
		rest, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading after a pause: %v", err)
		}
		if got := string(first) + string(rest); got != "all of it" {
			t.Errorf("body %q", got)
		}
	})
	t.Run("caller's cancellation is not a timeout", func(t *testing.T) {
		patient := &http.Client{Transport: &timeoutTransport{inner: http.DefaultTransport, d: time.Hour}}
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stall-headers", nil)
		go func() { time.Sleep(d / 4); cancel() }()
		_, err := patient.Do(req)
		var te *timeoutError
		if errors.As(err, &te) || !errors.Is(err, context.Canceled) {
			t.Fatalf("GET = %v, want context.Canceled", err)
		}
	})
}
