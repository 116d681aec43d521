package sigstoretest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// tokenLifetime is how long minted tokens are valid, like CI providers'
	// ID tokens.
	tokenLifetime = 10 * time.Minute
	// rsaKeyBits is the issuer's RSA key size.
	rsaKeyBits = 2048
)

// issuer is a minimal OpenID Connect provider: discovery and JWKS only. It
// does not run authorization flows; tokens are minted directly by tests.
// Tokens are RS256, like GitHub's, GitLab's and Google's; the cosign CLI
// takes only RS256 tokens literally in --identity-token (anything else it
// reads as a file name).
type issuer struct {
	url string
	key *rsa.PrivateKey
	kid string
	now func() time.Time
}

func newIssuer(now func() time.Time) (*issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return &issuer{key: key, kid: "sigstoretest-1", now: now}, nil
}

func (i *issuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                i.url,
			"jwks_uri":                              i.url + "/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
			"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "email", "email_verified"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key:       i.key.Public(),
			KeyID:     i.kid,
			Algorithm: string(jose.RS256),
			Use:       "sig",
		}}})
	})
	return mux
}

// TokenOption spoils a minted token in one way, for adversarial tests.
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	audience   string
	expiry     time.Time
	issuer     string
	untrusted  bool
	unverified bool
	claims     map[string]any
}

// WithAudience sets the token's "aud" claim. Default: "sigstore", the only
// audience Fulcio accepts.
func WithAudience(aud string) TokenOption {
	return func(c *tokenConfig) { c.audience = aud }
}

// WithExpiry sets the token's "exp" claim; a time in the past mints an
// expired token. Default: ten minutes after the issuer's clock.
func WithExpiry(exp time.Time) TokenOption {
	return func(c *tokenConfig) { c.expiry = exp }
}

// WithIssuer sets the token's "iss" claim. Default: the issuer's own URL,
// the only issuer Fulcio trusts.
func WithIssuer(iss string) TokenOption {
	return func(c *tokenConfig) { c.issuer = iss }
}

// WithUntrustedKey signs the token with a fresh key that the issuer's JWKS
// does not publish, under the published key ID: a forgery. Default: the
// issuer's published key.
func WithUntrustedKey() TokenOption {
	return func(c *tokenConfig) { c.untrusted = true }
}

// WithUnverifiedEmail sets "email_verified" to false on an email token;
// Fulcio refuses such tokens. Default: true.
func WithUnverifiedEmail() TokenOption {
	return func(c *tokenConfig) { c.unverified = true }
}

// WithClaim adds or overrides one claim, for example a CI provider's
// "job_workflow_ref". Default: none beyond iss, sub, aud, iat, exp and, for
// email identities, email and email_verified.
func WithClaim(name string, value any) TokenOption {
	return func(c *tokenConfig) {
		if c.claims == nil {
			c.claims = map[string]any{}
		}
		c.claims[name] = value
	}
}

// token mints a signed JWT for identity.
func (i *issuer) token(identity string, opts ...TokenOption) (string, error) {
	now := i.now()
	cfg := tokenConfig{audience: "sigstore", expiry: now.Add(tokenLifetime), issuer: i.url}
	for _, opt := range opts {
		opt(&cfg)
	}
	claims := map[string]any{
		"iss": cfg.issuer,
		"sub": identity,
		"aud": cfg.audience,
		"iat": now.Unix(),
		"exp": cfg.expiry.Unix(),
	}
	if isEmail(identity) {
		claims["email"] = identity
		claims["email_verified"] = !cfg.unverified
	}
	maps.Copy(claims, cfg.claims)

	key := i.key
	if cfg.untrusted {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, rsaKeyBits); err != nil {
			return "", fmt.Errorf("generating untrusted key: %w", err)
		}
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: i.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("creating JWT signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// isEmail reports whether identity is an email address rather than a URI
// subject. URIs may contain "@" too (GitHub workflow refs do).
func isEmail(identity string) bool {
	return strings.Contains(identity, "@") && !isURI(identity)
}

// isURI reports whether s is an absolute URI with a host, as Fulcio's URI
// identities must be.
func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
