package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

// kind is a registry the tests run against.
type kind struct {
	name string
	// referrers: the registry serves the referrers API.
	referrers bool
	start     func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry
}

// kinds are the three registries: go-containerregistry's in-process one
// without and with the referrers API, and the real docker-registry
// (distribution 2.8, no referrers API).
func kinds() []kind {
	return []kind{
		{name: "ggcr", start: testutil.NewRegistry},
		{name: "ggcr-referrers", referrers: true, start: func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry {
			return testutil.NewRegistry(t, append(opts, testutil.WithReferrers())...)
		}},
		{name: "docker-registry", start: func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry {
			return &testutil.StartDockerRegistry(t, opts...).Registry
		}},
	}
}

// forEachRegistry runs f as a subtest against each kind of registry.
func forEachRegistry(t *testing.T, f func(t *testing.T, k kind)) {
	t.Helper()
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// newClient returns a client with fast retries that never reads the
// machine's docker config.
func newClient(opts ...registry.Option) *registry.Client {
	base := []registry.Option{
		registry.WithKeychain(authn.NewMultiKeychain()),
		registry.WithRetry(5, time.Millisecond),
	}
	return registry.New(append(base, opts...)...)
}

// pushImage pushes a small random image to ref and returns its digest.
func pushImage(t testing.TB, c *registry.Client, ref string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	return pushThis(t, c, ref, img)
}

func pushThis(t testing.TB, c *registry.Client, ref string, img v1.Image) name.Digest {
	t.Helper()
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, c.RemoteOptions(context.Background())...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(h.String())
}

// manifestOf fetches the raw manifest at ref.
func manifestOf(t testing.TB, c *registry.Client, ref name.Reference) *remote.Descriptor {
	t.Helper()
	desc, err := remote.Get(ref, c.RemoteOptions(context.Background())...)
	if err != nil {
		t.Fatalf("GET %s: %v", ref, err)
	}
	return desc
}

func tagExists(t testing.TB, c *registry.Client, tag name.Tag) bool {
	t.Helper()
	_, err := remote.Head(tag, c.RemoteOptions(context.Background())...)
	return err == nil
}

// guardTransport fails every request to a host other than 127.0.0.1, so
// that a test can never reach the network, and records what it saw.
type guardTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	seen  []string
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.Lock()
	g.seen = append(g.seen, req.URL.Scheme+"://"+req.URL.Host)
	g.mu.Unlock()
	if req.URL.Hostname() != "127.0.0.1" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("test guard: no request leaves 127.0.0.1 (%s)", req.URL.Redacted())
	}
	return g.inner.RoundTrip(req)
}

func (g *guardTransport) sawScheme(scheme, host string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.seen {
		if s == scheme+"://"+host {
			return true
		}
	}
	return false
}

func wantContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// staticKeychain is a keychain with one set of credentials.
type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

func randomIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func hex64(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }

func sha(b []byte) v1.Hash {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	return h
}

func mustDigest(t testing.TB, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pushIndexAt pushes a random index under ref.
func pushIndexAt(t testing.TB, c *registry.Client, ref string) {
	t.Helper()
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, randomIndex(t), c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
}

// clobberer simulates a concurrent writer: once armed with a tag, the
// first PUT of that tag is served and then immediately overwritten with the
// manifest the tag had when armed.
type clobberer struct {
	mu       sync.Mutex
	path     string
	manifest []byte
	ctype    string
	done     bool
}

// arm records the manifest now under tag and deletes the tag.
func (c *clobberer) arm(t testing.TB, rc *registry.Client, tag name.Tag) {
	t.Helper()
	desc := manifestOf(t, rc, tag)
	if err := remote.Delete(tag, rc.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.path = "/v2/" + tag.RepositoryStr() + "/manifests/" + tag.TagStr()
	c.manifest = desc.Manifest
	c.ctype = string(desc.MediaType)
}

func (c *clobberer) fired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func (c *clobberer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.done || c.path == "" || r.Method != http.MethodPut || r.URL.Path != c.path {
			return
		}
		c.done = true
		req := httptest.NewRequest(http.MethodPut, c.path, bytes.NewReader(c.manifest))
		req.Header.Set("Content-Type", c.ctype)
		next.ServeHTTP(httptest.NewRecorder(), req)
	})
}

func mustImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
