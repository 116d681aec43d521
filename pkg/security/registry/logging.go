package registry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Debug logging of registry traffic, for --log-level debug. Two layers of
// the HTTP stack (see transport.go) take part:
//
//	policyTransport
//	attemptCounter    gives each request a counter of its attempts
//	retryTransport
//	requestLogger     logs each attempt: method, host, path, status, attempt, duration
//	timeoutTransport
//	base
//
// The retries' clones of a request share its context, so the counter the
// outer layer puts there numbers the attempts the inner one sees. Nothing
// is logged, or counted, unless the logger is enabled at debug level.
//
// What is logged never holds a secret: no header (Authorization, cookies),
// no query string (presigned blob URLs carry their signature there), and an
// error's URLs lose their query. The keychain decorator logs where the
// credentials of a registry come from (the client's basic credentials, a
// credential helper or store by name, the docker config file, none), never
// the credentials.

// attemptKey is the context key of a request's attempt counter.
type attemptKey struct{}

// attemptCounter puts an attempt counter in each request's context.
type attemptCounter struct {
	inner http.RoundTripper
	log   *slog.Logger
}

func (t *attemptCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.inner.RoundTrip(req)
	}
	return t.inner.RoundTrip(req.WithContext(context.WithValue(ctx, attemptKey{}, new(atomic.Int32))))
}

// requestLogger logs every attempt of a request at debug level.
type requestLogger struct {
	inner http.RoundTripper
	log   *slog.Logger
	now   func() time.Time
}

func (t *requestLogger) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.inner.RoundTrip(req)
	}
	attempt := int32(1)
	if n, ok := ctx.Value(attemptKey{}).(*atomic.Int32); ok {
		attempt = n.Add(1)
	}
	start := t.now()
	resp, err := t.inner.RoundTrip(req)
	attrs := []any{"method", req.Method, "host", req.URL.Host, "path", req.URL.Path, "attempt", attempt,
		"duration", t.now().Sub(start).Round(time.Millisecond)}
	if err != nil {
		t.log.DebugContext(ctx, "registry request", append(attrs, "error", withoutQueries(err.Error()))...)
		return resp, err
	}
	t.log.DebugContext(ctx, "registry request", append(attrs, "status", resp.StatusCode)...)
	return resp, nil
}

// urlQuery matches the query string of a URL in a message.
var urlQuery = regexp.MustCompile(`(https?://[^\s"'?]*)\?[^\s"']*`)

// withoutQueries removes the query strings of the URLs in s.
func withoutQueries(s string) string { return urlQuery.ReplaceAllString(s, "$1?…") }

// loggingKeychain logs, at debug level, where the credentials for each
// registry come from.
type loggingKeychain struct {
	inner authn.Keychain
	log   *slog.Logger
}

// ResolveContext implements authn.ContextKeychain.
func (k loggingKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	auth, err := authn.Resolve(ctx, k.inner, target)
	if !k.log.Enabled(ctx, slog.LevelDebug) {
		return auth, err
	}
	switch {
	case err != nil:
		k.log.DebugContext(ctx, "registry credentials", "registry", target.RegistryStr(), "source", k.name(target), "error", err.Error())
	case auth == authn.Anonymous:
		k.log.DebugContext(ctx, "registry credentials", "registry", target.RegistryStr(), "source", "none (anonymous)")
	default:
		k.log.DebugContext(ctx, "registry credentials", "registry", target.RegistryStr(), "source", k.name(target))
	}
	return auth, err
}

// Resolve implements authn.Keychain.
func (k loggingKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// KeychainDescriber is a keychain that can say where it takes the
// credentials of a registry from, for debug logs: a name, never a secret.
type KeychainDescriber interface {
	Describe(target authn.Resource) string
}

// name says where the credentials for target come from.
func (k loggingKeychain) name(target authn.Resource) string {
	if k.inner == authn.DefaultKeychain {
		return dockerConfigSource(target.RegistryStr())
	}
	if d, ok := k.inner.(KeychainDescriber); ok {
		return d.Describe(target)
	}
	return fmt.Sprintf("keychain %T", k.inner)
}

// dockerConfigSource names what the docker config gives for registry: a
// credential helper, the credential store, or the file's auths.
func dockerConfigSource(registry string) string {
	cf, err := config.Load("")
	if err != nil {
		return "the docker config (unreadable: " + err.Error() + ")"
	}
	key := registry
	if key == "index.docker.io" {
		key = authn.DefaultAuthKey
	}
	if h := cf.CredentialHelpers[key]; h != "" {
		return "credential helper docker-credential-" + h + " (credHelpers in " + cf.Filename + ")"
	}
	if cf.CredentialsStore != "" {
		return "credential store docker-credential-" + cf.CredentialsStore + " (credsStore in " + cf.Filename + ")"
	}
	return "auths in " + cf.Filename
}

var _ authn.ContextKeychain = loggingKeychain{}
