package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

func TestParseReference(t *testing.T) {
	c := newClient()
	for _, tt := range []struct {
		in, want string
	}{
		{"alpine", "index.docker.io/library/alpine:latest"},
		{"org/app:v1", "index.docker.io/org/app:v1"},
		{"ghcr.io/org/app:v1", "ghcr.io/org/app:v1"},
		{"127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64)},
	} {
		t.Run(tt.in, func(t *testing.T) {
			r, err := c.ParseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Name(); got != tt.want {
				t.Errorf("ParseReference(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseReferenceInvalid(t *testing.T) {
	c := newClient()
	for _, in := range []string{"", "UPPER/case", "app:bad tag", "app@sha256:short", "app@sha256:" + strings.Repeat("z", 64)} {
		t.Run(in, func(t *testing.T) {
			_, err := c.ParseReference(in)
			if !errors.Is(err, registry.ErrInvalidReference) || outcome.Code(err) != outcome.ExitInvalid {
				t.Fatalf("ParseReference(%q) = %v, want ErrInvalidReference (exit 2)", in, err)
			}
			// Resolve fails the same way, without a request.
			if _, err := c.Resolve(context.Background(), in); outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Resolve(%q) = %v, want exit 2", in, err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		reg := k.start(t)
		c := newClient()
		want := pushImage(t, c, reg.Ref("team/app:v1"))

		for _, ref := range []string{reg.Ref("team/app:v1"), want.String()} {
			got, err := c.Resolve(ctx, ref)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", ref, err)
			}
			if got.String() != want.String() {
				t.Errorf("Resolve(%s) = %s, want %s", ref, got, want)
			}
		}

		for _, ref := range []string{
			reg.Ref("team/app:nope"),
			reg.Ref("team/app@sha256:" + strings.Repeat("0", 64)),
			reg.Ref("other/app:v1"),
		} {
			_, err := c.Resolve(ctx, ref)
			// a reference that names nothing is the caller's mistake: exit 2
			if !errors.Is(err, registry.ErrNoSuchImage) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Resolve(%s) = %v, want ErrNoSuchImage (exit 2)", ref, err)
			}
			wantContains(t, err, ref)
			wantContains(t, err, "does not exist in repository")
			if strings.Contains(err.Error(), "HEAD responses have no body") {
				t.Errorf("Resolve(%s) = %v: the registry library's HEAD text leaked", ref, err)
			}
		}
	})
}

func TestResolveIndex(t *testing.T) {
	// A tag of a multi-platform index resolves to the index digest, which
	// is what gets signed.
	reg := testutil.NewRegistry(t)
	c := newClient()
	idx := randomIndex(t)
	r, _ := c.ParseReference(reg.Ref("app:multi"))
	if err := remote.WriteIndex(r, idx, c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	got, err := c.Resolve(context.Background(), reg.Ref("app:multi"))
	if err != nil {
		t.Fatal(err)
	}
	if got.DigestStr() != want.String() {
		t.Errorf("Resolve = %s, want the index digest %s", got, want)
	}
}

func TestUnreachable(t *testing.T) {
	// Nothing listens on port 1 of the loopback interface.
	c := newClient()
	_, err := c.Resolve(context.Background(), "127.0.0.1:1/app:v1")
	if !errors.Is(err, registry.ErrUnreachable) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Resolve on a closed port = %v, want ErrUnreachable (exit 3)", err)
	}
	wantContains(t, err, "127.0.0.1:1/app:v1")
}

func TestBasicAuth(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth("alice", "s3cret")))
	creds := func(user, pass string) registry.Option {
		return registry.WithCredentials(registry.Credential{Registry: reg.Host, Username: user, Password: pass})
	}
	good := newClient(creds("alice", "s3cret"))
	d := pushImage(t, good, reg.Ref("app:v1"))

	if _, err := good.Resolve(ctx, reg.Ref("app:v1")); err != nil {
		t.Fatalf("Resolve with the right credentials: %v", err)
	}
	if _, err := good.AttachLegacy(ctx, d, registry.SuffixSignature, registry.Artifact{MediaType: "text/plain", Data: []byte("x")}); err != nil {
		t.Fatalf("AttachLegacy with the right credentials: %v", err)
	}

	for _, tt := range []struct {
		name string
		c    *registry.Client
	}{
		{"no credentials", newClient()},
		{"wrong password", newClient(creds("alice", "wrong"))},
		// Explicit credentials win over the keychain.
		{"keychain overridden", newClient(registry.WithKeychain(staticKeychain{"alice", "s3cret"}), creds("alice", "wrong"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Resolve(ctx, reg.Ref("app:v1"))
			if !errors.Is(err, registry.ErrUnauthorized) || outcome.Code(err) != outcome.ExitOperational {
				t.Fatalf("Resolve = %v, want ErrUnauthorized (exit 3)", err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}

	t.Run("keychain", func(t *testing.T) {
		c := newClient(registry.WithKeychain(staticKeychain{"alice", "s3cret"}))
		if _, err := c.Resolve(ctx, reg.Ref("app:v1")); err != nil {
			t.Fatalf("Resolve with keychain credentials: %v", err)
		}
	})
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LocalHost": true,
		"10.0.0.1": false, "192.168.1.10": false, "172.16.0.1": false, "128.0.0.1": false,
		"example.com": false, "localhost.example.com": false, "": false, "::ffff:10.0.0.1": false,
	} {
		if got := registry.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// Plain HTTP only to loopback registries, unless WithInsecureHTTP. The
// go-containerregistry name heuristics would try http on RFC 1918 hosts;
// the transport refuses it.
func TestPlainHTTPPolicy(t *testing.T) {
	ctx := context.Background()
	for _, host := range []string{"10.1.2.3:5000", "192.168.7.7", "registry.example.com"} {
		t.Run(host, func(t *testing.T) {
			guard := &guardTransport{inner: http.DefaultTransport}
			c := newClient(registry.WithTransport(guard), registry.WithRetry(1, 0))
			_, err := c.Resolve(ctx, host+"/app:v1")
			if err == nil {
				t.Fatal("Resolve succeeded without a registry")
			}
			hostname := strings.Split(host, ":")[0]
			if guard.sawScheme("http", host) || guard.sawScheme("http", hostname) {
				t.Errorf("a plain-HTTP request to %s left the client: %v", host, guard.seen)
			}
			if strings.HasPrefix(host, "registry.") {
				return // public name: go-containerregistry only tries https
			}
			if !errors.Is(err, registry.ErrInsecureHTTP) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Resolve = %v, want ErrInsecureHTTP (exit 2)", err)
			}
			wantContains(t, err, "--allow-insecure-registry", host)
		})
	}

	t.Run("allowed with WithInsecureHTTP", func(t *testing.T) {
		guard := &guardTransport{inner: http.DefaultTransport}
		c := newClient(registry.WithTransport(guard), registry.WithRetry(1, 0), registry.WithInsecureHTTP())
		_, err := c.Resolve(ctx, "10.1.2.3:5000/app:v1")
		if errors.Is(err, registry.ErrInsecureHTTP) {
			t.Fatalf("Resolve = %v: refused despite WithInsecureHTTP", err)
		}
		if !guard.sawScheme("http", "10.1.2.3:5000") {
			t.Errorf("no plain-HTTP request went out: %v", guard.seen)
		}
	})

	t.Run("redirect to a plain-HTTP host", func(t *testing.T) {
		// A registry redirecting a blob download to plain HTTP elsewhere is
		// refused too: the rule holds for every request, not only the first.
		var mu sync.Mutex
		redirect := false
		wrap := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				on := redirect
				mu.Unlock()
				if on && r.Method == http.MethodGet && testutil.Classify(r) == testutil.ClassBlob {
					http.Redirect(w, r, "http://203.0.113.9/blob", http.StatusTemporaryRedirect)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
		reg := testutil.NewRegistry(t, testutil.WithHandler(wrap))
		guard := &guardTransport{inner: http.DefaultTransport}
		c := newClient(registry.WithTransport(guard))
		d := pushImage(t, c, reg.Ref("app:v1"))
		if _, err := c.AttachLegacy(ctx, d, "sig", registry.Artifact{MediaType: "text/plain", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		redirect = true
		mu.Unlock()
		_, err := c.FetchLegacy(ctx, d, "sig")
		if !errors.Is(err, registry.ErrInsecureHTTP) {
			t.Fatalf("FetchLegacy = %v, want ErrInsecureHTTP", err)
		}
		if guard.sawScheme("http", "203.0.113.9") {
			t.Error("the redirect was followed over plain HTTP")
		}
	})
}

func TestUserAgent(t *testing.T) {
	var mu sync.Mutex
	agents := map[string]bool{}
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			agents[r.UserAgent()] = true
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	reg := testutil.NewRegistry(t, testutil.WithHandler(record), testutil.WithReferrers())
	ctx := context.Background()
	c := newClient(registry.WithUserAgent("sc/v1.2.3"))
	d := pushImage(t, c, reg.Ref("app:v1"))
	if _, err := c.Tree(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SupportsReferrers(ctx, d.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(agents) == 0 {
		t.Fatal("no requests seen")
	}
	for ua := range agents {
		if !strings.HasPrefix(ua, "sc/v1.2.3") {
			t.Errorf("User-Agent %q does not start with sc/v1.2.3", ua)
		}
	}
}

func TestImageIsLazy(t *testing.T) {
	f := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(f.Wrap))
	ctx := context.Background()
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	f.Reset()

	img, err := c.Image(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.ConfigFile(); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// Only the config blob so far.
	if got := f.Count(http.MethodGet, testutil.ClassBlob); got != 1 {
		t.Errorf("%d blob downloads before reading a layer, want 1 (the config)", got)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if got := f.Count(http.MethodGet, testutil.ClassBlob); got != 2 {
		t.Errorf("%d blob downloads after opening one layer, want 2", got)
	}

	if _, err := c.Image(ctx, d.Context().Digest("sha256:"+strings.Repeat("1", 64))); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Image of a missing digest = %v, want ErrNotFound", err)
	}
}

func TestNameOptions(t *testing.T) {
	if got := newClient().NameOptions(); len(got) != 0 {
		t.Errorf("NameOptions() = %d options, want none", len(got))
	}
	opts := newClient(registry.WithInsecureHTTP()).NameOptions()
	r, err := name.ParseReference("10.0.0.1:5000/app", opts...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Context().Scheme() != "http" {
		t.Errorf("with WithInsecureHTTP, %s parses with scheme %s, want http", r, r.Context().Scheme())
	}
}

// A client authenticates once per repository for reads: the /v2/ ping
// (and, on a registry with a token service, the token exchange) happens on
// the first read, not on every one; a later client pings again. Writes
// still work after the reads (they set up their own transport).
func TestClientAuthenticatesOncePerRepository(t *testing.T) {
	var mu sync.Mutex
	pings := 0
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				mu.Lock()
				pings++
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(func(h http.Handler) http.Handler {
		return count(testutil.RequireBasicAuth("alice", "s3cret")(h))
	}))
	creds := registry.WithCredentials(registry.Credential{Registry: reg.Host, Username: "alice", Password: "s3cret"})
	pushImage(t, newClient(creds), reg.Ref("shop/api:v1"))
	mu.Lock()
	pings = 0
	mu.Unlock()

	c := newClient(creds)
	ctx := context.Background()
	ref := reg.Ref("shop/api:v1")
	for range 3 {
		d, err := c.Resolve(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := c.Image(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.RawConfigFile(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Referrers(ctx, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	got := pings
	mu.Unlock()
	// one for the puller, one for the direct requests
	if got > 2 {
		t.Errorf("%d /v2/ pings for 3 rounds of reads of one repository, want at most 2", got)
	}
	d, err := c.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachReferrer(ctx, d, "application/vnd.example+json", registry.Artifact{MediaType: "application/vnd.example+json", Data: []byte(`{}`)}, nil); err != nil {
		t.Fatalf("a write after the shared reads: %v", err)
	}
	mu.Lock()
	got = pings
	mu.Unlock()
	if _, err := newClient(creds).Resolve(ctx, ref); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if pings != got+1 {
		t.Errorf("a new client pinged %d times, want 1", pings-got)
	}
}

// A client that already uploaded a blob uploads it again when the registry
// behind the same address no longer has it: writes share nothing that
// remembers what the registry holds.
func TestClientWritesDoNotAssumeBlobsStay(t *testing.T) {
	first, second := testutil.NewRegistry(t), testutil.NewRegistry(t)
	var to atomic.Pointer[testutil.Registry]
	to.Store(first)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(to.Load().URL)
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient()
	ref := strings.TrimPrefix(front.URL, "http://") + "/shop/api:v1"
	pushThis(t, c, ref, img)
	to.Store(second)
	pushThis(t, c, ref, img)
	d, err := c.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatalf("the second registry lacks the image pushed to it: %v", err)
	}
	pulled, err := c.Image(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := pulled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("a layer the second registry should have got: %v", err)
		}
		rc.Close()
	}
}
