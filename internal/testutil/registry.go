package testutil

import (
	"crypto/subtle"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Registry is a registry running for one test.
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of references.
	Host string
	// URL is "http://127.0.0.1:<port>".
	URL string
}

// Ref returns a reference in this registry: Ref("app:v1") is
// "127.0.0.1:<port>/app:v1".
func (r *Registry) Ref(path string) string {
	return r.Host + "/" + strings.TrimPrefix(path, "/")
}

// RegistryOption configures NewRegistry and StartDockerRegistry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	referrers bool
	wrappers  []func(http.Handler) http.Handler
}

// WithReferrers turns on the OCI 1.1 referrers API of the in-process
// registry. Default: off, as on registries that predate OCI 1.1. The
// docker-registry does not have the API and fails the test if asked.
func WithReferrers() RegistryOption {
	return func(c *registryConfig) { c.referrers = true }
}

// WithHandler wraps the registry's HTTP handler, e.g. with Faults.Wrap or
// RequireBasicAuth. Wrappers apply in the order given: the last one sees
// requests first. For the docker-registry the wrappers sit in a reverse
// proxy in front of it, and Host/URL point at the proxy.
func WithHandler(wrap func(http.Handler) http.Handler) RegistryOption {
	return func(c *registryConfig) { c.wrappers = append(c.wrappers, wrap) }
}

func (c *registryConfig) wrap(h http.Handler) http.Handler {
	for _, w := range c.wrappers {
		h = w(h)
	}
	return h
}

// NewRegistry starts go-containerregistry's in-process registry
// (pkg/registry, in memory) on 127.0.0.1 and stops it when the test ends.
func NewRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	cfg := &registryConfig{}
	for _, o := range opts {
		o(cfg)
	}
	h := ggcrregistry.New(
		ggcrregistry.Logger(log.New(io.Discard, "", 0)),
		ggcrregistry.WithReferrersSupport(cfg.referrers),
	)
	return serve(t, cfg.wrap(h))
}

// serve runs h on 127.0.0.1 until the test ends.
func serve(t testing.TB, h http.Handler) *Registry {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), URL: srv.URL}
}

// RequireBasicAuth returns a wrapper that answers 401 with a Basic
// challenge, as a registry with htpasswd authentication does, to any
// request without the given credentials.
func RequireBasicAuth(username, password string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(username)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="sc-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
