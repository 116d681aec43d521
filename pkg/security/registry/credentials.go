package registry

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/net/publicsuffix"

	"github.com/sc-project/sc/pkg/outcome"
)

// Credential is a username and password (or token) for one registry.
//
// Explicit credentials are scoped: the client hands them to the registry
// they name and to no other. Every other registry gets what the keychain
// (WithKeychain, by default the docker config and its credential helpers)
// has for it. A Dockerfile's FROM line, a referrer's blob on another host or
// a redirect therefore never receive them.
type Credential struct {
	// Registry is the registry host as image references spell it:
	// "ghcr.io", "registry.example.com:5000". "docker.io" and
	// "index.docker.io" both mean Docker Hub.
	Registry string
	// Username is the user name; it cannot contain ':' (RFC 7617).
	Username string
	// Password is the password or token. String and GoString never show it.
	Password string
}

// String shows the registry and the user name, never the password.
func (c Credential) String() string {
	return fmt.Sprintf("%s@%s (password redacted)", c.Username, c.Registry)
}

// GoString is String: %#v must not show the password either.
func (c Credential) GoString() string { return "registry.Credential{" + c.String() + "}" }

// Validate checks the credential without changing it: a registry host that
// parses, a user name without ':', a password. Invalid usage otherwise; the
// error never contains the password.
func (c Credential) Validate() error {
	if _, err := CanonicalRegistry(c.Registry); err != nil {
		return outcome.Invalidf("registry credentials for %q: not a registry host (want e.g. ghcr.io or localhost:5000)", c.Registry)
	}
	switch {
	case c.Username == "":
		return outcome.Invalidf("registry credentials for %s: no username", c.Registry)
	case strings.Contains(c.Username, ":"):
		return outcome.Invalidf("registry credentials for %s: the username contains ':'", c.Registry)
	case c.Password == "":
		return outcome.Invalidf("registry credentials for %s: no password", c.Registry)
	}
	return nil
}

// WithCredentials adds explicit credentials, each given only to its own
// registry (see Credential); for that registry they take precedence over
// the keychain. A credential that does not Validate is never sent anywhere.
// Default: none.
func WithCredentials(creds ...Credential) Option {
	return func(c *Client) { c.creds = append(c.creds, creds...) }
}

// Host returns the registry of ref as the client reads it: "alpine" is on
// "index.docker.io", "localhost:5000/app" on "localhost:5000". It is the
// Registry of a Credential meant for ref. A malformed reference is
// ErrInvalidReference.
func Host(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w: %w", ref, ErrInvalidReference, err)
	}
	return canonicalHost(r.Context().RegistryStr()), nil
}

// CanonicalRegistry parses a registry host the way references do and
// returns its canonical form, in lower case: CanonicalRegistry("docker.io")
// is "index.docker.io". Two credentials for the same canonical registry are
// for the same registry.
func CanonicalRegistry(host string) (string, error) {
	if host == "" || strings.ContainsAny(host, "/@ \t\r\n") {
		return "", fmt.Errorf("%q is not a registry host", host)
	}
	reg, err := name.NewRegistry(host)
	if err != nil {
		return "", err
	}
	return canonicalHost(reg.RegistryStr()), nil
}

func canonicalHost(h string) string { return strings.ToLower(h) }

// scopedKeychain answers with the explicit credentials for their own
// registries and asks the fallback keychain for every other one.
type scopedKeychain struct {
	explicit map[string]authn.Authenticator // canonical host → credentials
	fallback authn.Keychain
}

var (
	_ authn.Keychain        = (*scopedKeychain)(nil)
	_ authn.ContextKeychain = (*scopedKeychain)(nil)
)

func newScopedKeychain(creds []Credential, fallback authn.Keychain) *scopedKeychain {
	k := &scopedKeychain{explicit: map[string]authn.Authenticator{}, fallback: fallback}
	for _, c := range creds {
		host, err := CanonicalRegistry(c.Registry)
		if err != nil || c.Validate() != nil {
			continue // fail closed: a credential that does not validate goes nowhere
		}
		k.explicit[host] = &authn.Basic{Username: c.Username, Password: c.Password}
	}
	return k
}

func (k *scopedKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k *scopedKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k.explicit[canonicalHost(r.RegistryStr())]; ok {
		return a, nil
	}
	return authn.Resolve(ctx, k.fallback, r)
}

// Describe says whether target gets explicit credentials or those of the
// fallback keychain, for debug lines; never the secret.
func (k *scopedKeychain) Describe(target authn.Resource) string {
	if _, ok := k.explicit[canonicalHost(target.RegistryStr())]; ok {
		return "the credentials given for " + canonicalHost(target.RegistryStr()) + " (username and password)"
	}
	if k.fallback == authn.DefaultKeychain {
		return dockerConfigSource(target.RegistryStr())
	}
	if d, ok := k.fallback.(KeychainDescriber); ok {
		return d.Describe(target)
	}
	return fmt.Sprintf("keychain %T", k.fallback)
}

var _ KeychainDescriber = (*scopedKeychain)(nil)

// credentialGuard keeps explicit credentials on their registry's side of
// the network. go-containerregistry sends the credentials it resolved for a
// registry to the token realm that registry names in its Bearer challenge,
// wherever that realm is. The guard removes an Authorization header that
// carries explicit credentials from any request to a host other than their
// registry, unless the host belongs to the same registrable domain (the
// public suffix list's eTLD+1): Docker Hub's index.docker.io hands out
// tokens from auth.docker.io, registry.gitlab.com from gitlab.com. A token
// server elsewhere gets the request without credentials; naming its host in
// its own Credential (with the same user and password) lets them through.
type credentialGuard struct {
	inner http.RoundTripper
	// hosts maps an Authorization header value carrying explicit
	// credentials to the canonical hosts they were given for.
	hosts map[string][]string
	log   *slog.Logger
}

func newCredentialGuard(inner http.RoundTripper, creds []Credential, log *slog.Logger) http.RoundTripper {
	g := &credentialGuard{inner: inner, hosts: map[string][]string{}, log: log}
	for _, c := range creds {
		host, err := CanonicalRegistry(c.Registry)
		if err != nil || c.Validate() != nil {
			continue
		}
		v := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
		g.hosts[v] = append(g.hosts[v], host)
	}
	if len(g.hosts) == 0 {
		return inner
	}
	return g
}

func (g *credentialGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	hosts, ok := g.hosts[req.Header.Get("Authorization")]
	if ok && !mayReceive(hosts, req.URL.Scheme, req.URL.Host) {
		g.log.WarnContext(req.Context(), "not sending registry credentials to a host outside their registry's domain",
			"host", req.URL.Host, "registry", strings.Join(hosts, ","))
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return g.inner.RoundTrip(req)
}

// mayReceive reports whether credentials given for hosts may be sent to
// target (host[:port] of a request URL with the given scheme).
func mayReceive(hosts []string, scheme, target string) bool {
	target = withoutDefaultPort(canonicalHost(target), scheme)
	for _, h := range hosts {
		if withoutDefaultPort(h, scheme) == target || sameSite(hostname(h), hostname(target)) {
			return true
		}
	}
	return false
}

func withoutDefaultPort(host, scheme string) string {
	if h, p, err := net.SplitHostPort(host); err == nil &&
		((scheme == "https" && p == "443") || (scheme == "http" && p == "80")) {
		return h
	}
	return host
}

func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// sameSite reports whether two host names share their registrable domain.
// IP addresses and names without one (localhost) share nothing.
func sameSite(a, b string) bool {
	if net.ParseIP(a) != nil || net.ParseIP(b) != nil {
		return false
	}
	da, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(a, "."))
	if err != nil {
		return false
	}
	db, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(b, "."))
	return err == nil && da == db
}
