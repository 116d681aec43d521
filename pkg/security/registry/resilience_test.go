package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

const attempts = 5

// faultyClient has fast retries and a short stall timeout.
func faultyClient() *registry.Client {
	return newClient(registry.WithRetry(attempts, time.Millisecond), registry.WithTimeout(200*time.Millisecond))
}

func wantInjected(t *testing.T, f *testutil.Faults, want int) {
	t.Helper()
	if got := f.Injected(); got != want {
		t.Errorf("%d faults injected, want %d (requests: %+v)", got, want, f.Requests())
	}
}

// Operations go through transient faults: 503s, 429s, 502s, dropped
// connections and stalled answers are retried, blob uploads as a whole.
func TestTransientFaults(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		f := testutil.NewFaults()
		reg := k.start(t, testutil.WithHandler(f.Wrap))
		c := faultyClient()
		d := pushImage(t, c, reg.Ref("app:v1"))
		f.Reset()

		t.Run("Resolve", func(t *testing.T) {
			f.Fail(testutil.On(http.MethodHead, testutil.ClassManifest), 2, http.StatusServiceUnavailable)
			f.Drop(testutil.On(http.MethodGet, testutil.ClassPing), 1)
			f.Add(testutil.Fault{Match: testutil.On(http.MethodHead, testutil.ClassManifest), Times: 1, Delay: testutil.MaxDelay})
			got, err := c.Resolve(ctx, reg.Ref("app:v1"))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.String() != d.String() {
				t.Errorf("Resolve = %s, want %s", got, d)
			}
			wantInjected(t, f, 4)
		})

		f.Clear()
		f.Reset()
		a := sigArtifact("payload", "sig")
		t.Run("AttachLegacy", func(t *testing.T) {
			f.Fail(testutil.On(http.MethodGet, testutil.ClassManifest), 1, http.StatusBadGateway)
			f.Add(testutil.Fault{Match: testutil.On(http.MethodHead, testutil.ClassBlob), Times: 1, Status: http.StatusTooManyRequests, RetryAfter: "0"})
			f.Fail(testutil.On(http.MethodPost, testutil.ClassUpload), 1, http.StatusServiceUnavailable)
			f.Drop(testutil.On(http.MethodPatch, testutil.ClassUpload), 1)
			f.Fail(testutil.On(http.MethodPut, testutil.ClassManifest), 2, http.StatusServiceUnavailable)
			if _, err := c.AttachLegacy(ctx, d, "sig", a); err != nil {
				t.Fatalf("AttachLegacy: %v", err)
			}
			wantInjected(t, f, 6)
			got, err := c.FetchLegacy(ctx, d, "sig")
			if err != nil || len(got) != 1 || string(got[0].Data) != "payload" {
				t.Errorf("FetchLegacy = %+v, %v; want the one artifact", got, err)
			}
		})

		f.Clear()
		f.Reset()
		t.Run("AttachReferrer", func(t *testing.T) {
			f.Fail(testutil.On(http.MethodGet, testutil.ClassReferrers), 1, http.StatusServiceUnavailable)
			f.Fail(testutil.On(http.MethodPost, testutil.ClassUpload), 1, http.StatusServiceUnavailable)
			f.Drop(testutil.On(http.MethodPut, testutil.ClassManifest), 1)
			f.Add(testutil.Fault{Match: testutil.On(http.MethodHead, testutil.ClassManifest), Times: 1, Delay: testutil.MaxDelay})
			h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("bundle"), nil)
			if err != nil {
				t.Fatalf("AttachReferrer: %v", err)
			}
			wantInjected(t, f, 4)

			f.Reset()
			f.Drop(testutil.On(http.MethodGet, testutil.ClassReferrers), 1)
			f.Fail(testutil.On(http.MethodGet, testutil.ClassManifest), 1, http.StatusInternalServerError)
			got, err := c.Referrers(ctx, d, bundleType)
			if err != nil {
				t.Fatalf("Referrers: %v", err)
			}
			if len(got) != 1 || got[0].Digest != h {
				t.Errorf("Referrers = %+v, want %s", got, h)
			}
			// The referrers answer is only asked once the support is known
			// (ggcr-referrers) or never again (no API): at least the
			// manifest fault fired.
			if f.Injected() == 0 {
				t.Error("no fault was injected")
			}
		})
	})
}

// When a fault persists, operations fail after a bounded number of attempts
// (no retry on top of retry), the error names the image and is operational,
// and nothing half-attached is visible afterwards.
func TestPersistentFaults(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		f := testutil.NewFaults()
		reg := k.start(t, testutil.WithHandler(f.Wrap))
		c := faultyClient()
		d := pushImage(t, c, reg.Ref("app:v1"))

		run := func(name string, arm func(), op func() error, check func(t *testing.T)) {
			t.Run(name, func(t *testing.T) {
				f.Clear()
				f.Reset()
				arm()
				err := op()
				f.Clear()
				if err == nil {
					t.Fatal("succeeded despite a persistent fault")
				}
				if outcome.Code(err) != outcome.ExitOperational {
					t.Errorf("exit code %d for %v, want 3", outcome.Code(err), err)
				}
				wantContains(t, err, d.Context().String())
				check(t)
			})
		}

		run("Resolve 503", func() {
			f.Fail(testutil.On(http.MethodHead, testutil.ClassManifest), testutil.Always, http.StatusServiceUnavailable)
		}, func() error {
			_, err := c.Resolve(ctx, reg.Ref("app:v1"))
			if !errors.Is(err, registry.ErrUnreachable) {
				t.Errorf("Resolve = %v, want ErrUnreachable", err)
			}
			return err
		}, func(t *testing.T) {
			if n := f.Count(http.MethodHead, testutil.ClassManifest); n != attempts {
				t.Errorf("%d HEAD requests, want exactly %d attempts", n, attempts)
			}
		})

		run("Resolve stalled", func() {
			f.Add(testutil.Fault{Match: testutil.On(http.MethodHead, testutil.ClassManifest), Times: testutil.Always, Delay: testutil.MaxDelay})
		}, func() error {
			_, err := c.Resolve(ctx, reg.Ref("app:v1"))
			if !errors.Is(err, registry.ErrUnreachable) {
				t.Errorf("Resolve = %v, want ErrUnreachable", err)
			}
			wantContains(t, err, "no progress")
			return err
		}, func(t *testing.T) {
			if n := f.Count(http.MethodHead, testutil.ClassManifest); n != attempts {
				t.Errorf("%d HEAD requests, want exactly %d attempts", n, attempts)
			}
		})

		run("Resolve rate limited for an hour", func() {
			f.Add(testutil.Fault{Match: testutil.On(http.MethodHead, testutil.ClassManifest), Times: testutil.Always,
				Status: http.StatusTooManyRequests, RetryAfter: "3600"})
		}, func() error {
			_, err := c.Resolve(ctx, reg.Ref("app:v1"))
			return err
		}, func(t *testing.T) {
			// A Retry-After beyond the cap ends the retries at once.
			if n := f.Count(http.MethodHead, testutil.ClassManifest); n != 1 {
				t.Errorf("%d HEAD requests, want 1", n)
			}
		})

		sigTag, _ := registry.LegacyTag(d, "sig")
		run("AttachLegacy manifest PUT", func() {
			f.Fail(testutil.On(http.MethodPut, testutil.ClassManifest), testutil.Always, http.StatusServiceUnavailable)
		}, func() error {
			_, err := c.AttachLegacy(ctx, d, "sig", sigArtifact("p", "s"))
			return err
		}, func(t *testing.T) {
			if n := f.Count(http.MethodPut, testutil.ClassManifest); n != attempts {
				t.Errorf("%d manifest PUTs, want exactly %d attempts", n, attempts)
			}
			if _, err := c.FetchLegacy(ctx, d, "sig"); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("FetchLegacy after the failure = %v, want ErrNotFound", err)
			}
		})

		run("AttachLegacy blob upload", func() {
			f.Drop(testutil.On(http.MethodPatch, testutil.ClassUpload), testutil.Always)
		}, func() error {
			_, err := c.AttachLegacy(ctx, d, "sig", sigArtifact("other payload", "s"))
			return err
		}, func(t *testing.T) {
			// Each failing blob upload is retried as a whole, attempts
			// times; the manifest is never written.
			if n := f.Count(http.MethodPost, testutil.ClassUpload); n < attempts || n > 2*attempts {
				t.Errorf("%d upload sessions, want %d to %d", n, attempts, 2*attempts)
			}
			if n := f.Count(http.MethodPut, testutil.ClassManifest); n != 0 {
				t.Errorf("%d manifest PUTs after failed uploads, want 0", n)
			}
			if tagExists(t, c, sigTag) {
				t.Errorf("%s exists after the failure", sigTag)
			}
		})

		run("AttachReferrer manifest PUT", func() {
			f.Fail(testutil.On(http.MethodPut, testutil.ClassManifest), testutil.Always, http.StatusServiceUnavailable)
		}, func() error {
			_, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), nil)
			return err
		}, func(t *testing.T) {
			if got, err := c.Referrers(ctx, d, ""); err != nil || len(got) != 0 {
				t.Errorf("Referrers after the failure = %+v, %v; want none", got, err)
			}
		})

		if k.referrers {
			return
		}
		fallback, _ := registry.FallbackTag(d)
		ann := map[string]string{registry.AnnotationCreated: created1}
		run("AttachReferrer fallback index PUT", func() {
			f.Fail(testutil.On(http.MethodPut, testutil.ClassManifest).PathContains("/manifests/"+fallback.TagStr()),
				testutil.Always, http.StatusServiceUnavailable)
		}, func() error {
			_, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), ann)
			return err
		}, func(t *testing.T) {
			// The documented window: the referrer manifest is stored, but no
			// reader sees it without the index.
			if got, err := c.Referrers(ctx, d, ""); err != nil || len(got) != 0 {
				t.Errorf("Referrers after the failure = %+v, %v; want none", got, err)
			}
			// Attaching again with the same creation time repairs it.
			h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), ann)
			if err != nil {
				t.Fatalf("attaching again: %v", err)
			}
			got, err := c.Referrers(ctx, d, "")
			if err != nil || !slices.ContainsFunc(got, func(r v1.Descriptor) bool { return r.Digest == h }) {
				t.Errorf("Referrers after the repair = %+v, %v; want %s", got, err, h)
			}
		})
	})
}

// Cancelling the context ends a retry wait at once.
func TestCancelDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var armed atomic.Bool
	cancelling := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() && r.Method == http.MethodHead && testutil.Classify(r) == testutil.ClassManifest {
				cancel()
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testutil.NewRegistry(t, testutil.WithHandler(cancelling))
	c := newClient(registry.WithRetry(attempts, time.Hour))
	pushImage(t, c, reg.Ref("app:v1"))
	armed.Store(true)
	_, err := c.Resolve(ctx, reg.Ref("app:v1"))
	if !errors.Is(err, context.Canceled) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Resolve = %v, want context.Canceled (exit 3)", err)
	}
}

// refusingTransport dials a closed port instead of the registry for the
// first n connections: the registry refuses connections for a moment, as
// one that restarts during a release does.
func refusingTransport(t *testing.T, n int32) (http.RoundTripper, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	var dials atomic.Int32
	var d net.Dialer
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= n {
			return d.DialContext(ctx, network, closed)
		}
		return d.DialContext(ctx, network, addr)
	}}, &dials
}

// A refused connection is transient: resolving waits for the registry with
// the same backoff as for other transient failures.
func TestConnectionRefusedWhileResolving(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	d := pushImage(t, newClient(), reg.Ref("app:v1"))

	t.Run("for a moment", func(t *testing.T) {
		rt, dials := refusingTransport(t, 2)
		var logs strings.Builder
		c := newClient(registry.WithTransport(rt), registry.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		got, err := c.Resolve(ctx, reg.Ref("app:v1"))
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if got.String() != d.String() {
			t.Errorf("Resolve = %s, want %s", got, d)
		}
		if n := dials.Load(); n < 3 {
			t.Errorf("%d dials, want the 2 refused ones and at least one more", n)
		}
		if n := strings.Count(logs.String(), "connection refused"); n != 2 {
			t.Errorf("%d retries logged for a refused connection, want 2:\n%s", n, logs.String())
		}
	})
	t.Run("for good", func(t *testing.T) {
		rt, dials := refusingTransport(t, 1<<30)
		c := newClient(registry.WithTransport(rt))
		_, err := c.Resolve(ctx, reg.Ref("app:v1"))
		if !errors.Is(err, registry.ErrUnreachable) || outcome.Code(err) != outcome.ExitOperational {
			t.Fatalf("Resolve = %v, want ErrUnreachable (exit 3)", err)
		}
		wantContains(t, err, "connection refused", fmt.Sprintf("after %d attempts", attempts))
		if n := dials.Load(); n < attempts {
			t.Errorf("%d dials, want at least %d attempts", n, attempts)
		}
	})
}
