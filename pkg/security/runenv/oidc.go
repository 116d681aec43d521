package runenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
)

// ErrNoIdentityToken means keyless signing was asked for but no OIDC
// identity token can be had.
var ErrNoIdentityToken = outcome.Invalid("no OIDC identity token for keyless signing: " +
	"provide one (sc: --identity-token or SIGSTORE_ID_TOKEN), run in a CI job that can request one " +
	"(GitHub Actions with `permissions: id-token: write`, GitLab CI with `id_tokens`), or sign with a key")

// ErrGitHubIDTokenPermission means sc runs in GitHub Actions but the job was
// not given the permission to request an OIDC token. It also matches
// ErrNoIdentityToken.
var ErrGitHubIDTokenPermission error = &noTokenError{
	msg: "the GitHub job cannot request an OIDC token: add `permissions: id-token: write` to the workflow job",
}

// ErrExpiredIdentityToken means an explicit identity token's exp claim is in
// the past. It also matches ErrNoIdentityToken.
var ErrExpiredIdentityToken error = &noTokenError{msg: "the OIDC identity token has expired"}

// ErrMalformedIdentityToken means a token is not a JWT whose claims can be
// read.
var ErrMalformedIdentityToken = outcome.Invalid("malformed OIDC identity token")

// noTokenError is a sentinel that is both itself and ErrNoIdentityToken, in
// the invalid class.
type noTokenError struct{ msg string }

func (e *noTokenError) Error() string { return e.msg }
func (e *noTokenError) Is(target error) bool {
	return target == ErrNoIdentityToken || target == outcome.ErrInvalid
}

// TokenSource gives OIDC identity tokens for keyless signing (the token sent
// to Fulcio). Implementations are safe for concurrent use.
type TokenSource interface {
	// Token returns a current identity token, or an error saying why there
	// is none. Neither the token nor any credential used to get it appears
	// in the error.
	Token(ctx context.Context) (string, error)
}

var (
	_ TokenSource = (*StaticToken)(nil)
	_ TokenSource = (*GitHubTokenSource)(nil)
	_ TokenSource = unavailableToken{}
)

// redacted is what a Secret prints as.
const redacted = "[REDACTED]"

// Secret holds a credential (an identity token, a bearer token) so that it is
// never printed: every fmt verb, slog, encoding/json and encoding.TextMarshaler
// show "[REDACTED]". The value is held in a closure, so even reflection-based
// printers (fmt on an unexported field, pretty printers) show only a function
// address. Reveal returns the value for the one place that must send it. The
// zero Secret is empty.
type Secret struct{ v func() string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: func() string { return s }} }

// Reveal returns the secret value. Send it; never print or log it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return s.v()
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns a redacted Go-syntax form.
func (Secret) GoString() string { return "runenv.Secret{" + redacted + "}" }

// Format prints "[REDACTED]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[REDACTED]".
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes slog print "[REDACTED]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// StaticToken is a TokenSource for a token given up front (a flag or
// SIGSTORE_ID_TOKEN).
type StaticToken struct {
	token  Secret
	origin string
}

// NewStaticToken returns a source that always gives token. origin says where
// the token came from, for String and errors (for example
// "SIGSTORE_ID_TOKEN").
func NewStaticToken(token, origin string) *StaticToken {
	return &StaticToken{token: NewSecret(strings.TrimSpace(token)), origin: origin}
}

// Token returns the token. When its exp claim can be read and is in the past,
// it returns an error wrapping ErrExpiredIdentityToken instead, naming the
// issuer and subject (never the token).
func (s *StaticToken) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tok := s.token.Reveal()
	if c, err := UnverifiedClaims(tok); err == nil && !c.ExpiresAt.IsZero() && time.Now().After(c.ExpiresAt) {
		return "", fmt.Errorf("%w (%s; from %s)", ErrExpiredIdentityToken, c, s.origin)
	}
	return tok, nil
}

// String describes the source without the token.
func (s *StaticToken) String() string { return "identity token (" + s.origin + ")" }

// GitHubTokenSource requests identity tokens from GitHub Actions' OIDC
// endpoint: a GET of ACTIONS_ID_TOKEN_REQUEST_URL with an audience query
// parameter, authenticated by ACTIONS_ID_TOKEN_REQUEST_TOKEN as a bearer
// token, answered with {"value": "<jwt>"}. A failed request is retried by
// the Retrier given with WithGitHubRetry (sc gives it httpretry.Policy), and
// made once without one; a token is reused until a minute before its exp
// claim.
type GitHubTokenSource struct {
	requestURL  string
	bearer      Secret
	audience    string
	client      *http.Client
	logger      *slog.Logger
	retry       Retrier
	mu          sync.Mutex
	cached      Secret
	cachedUntil time.Time
}

// GitHubTokenOption configures a GitHubTokenSource.
type GitHubTokenOption func(*GitHubTokenSource)

// WithGitHubAudience sets the audience requested. Default: "sigstore", what
// Fulcio expects.
func WithGitHubAudience(aud string) GitHubTokenOption {
	return func(s *GitHubTokenSource) { s.audience = aud }
}

// WithGitHubHTTPClient sets the HTTP client. Default: a client with a 30
// second timeout.
func WithGitHubHTTPClient(c *http.Client) GitHubTokenOption {
	return func(s *GitHubTokenSource) { s.client = c }
}

// WithGitHubLogger sets the logger for retry lines; neither token reaches
// it. Default: discard.
func WithGitHubLogger(l *slog.Logger) GitHubTokenOption {
	return func(s *GitHubTokenSource) { s.logger = l }
}

// Retrier sends a request again while its failure is transient, calling
// send for each attempt: the caller's retry policy. httpretry.Policy
// satisfies it; runenv has no policy of its own, so that it stays on the
// standard library.
type Retrier interface {
	Do(req *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error)
}

// WithGitHubRetry sets the retry policy of token requests. Default: none,
// one attempt (sc's commands give httpretry.Policy with 4 attempts from 1
// second).
func WithGitHubRetry(r Retrier) GitHubTokenOption {
	return func(s *GitHubTokenSource) { s.retry = r }
}

// loopbackHost reports whether host is on the loopback interface
// (127.0.0.0/8, ::1, localhost): the only place plain http may carry a
// token.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewGitHubTokenSource returns a source for GitHub Actions' OIDC endpoint at
// requestURL (ACTIONS_ID_TOKEN_REQUEST_URL) with requestToken
// (ACTIONS_ID_TOKEN_REQUEST_TOKEN) as the bearer.
func NewGitHubTokenSource(requestURL, requestToken string, opts ...GitHubTokenOption) *GitHubTokenSource {
	s := &GitHubTokenSource{
		requestURL: requestURL,
		bearer:     NewSecret(requestToken),
		audience:   "sigstore",
	}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// String describes the source without any credential.
func (s *GitHubTokenSource) String() string {
	return "GitHub Actions OIDC token endpoint (audience " + s.audience + ")"
}

// Token returns a token for the configured audience, from the cache when the
// last one is valid for more than a minute.
func (s *GitHubTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cached.IsZero() && time.Now().Before(s.cachedUntil) {
		return s.cached.Reveal(), nil
	}
	tok, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	if c, err := UnverifiedClaims(tok); err == nil && !c.ExpiresAt.IsZero() {
		s.cached = NewSecret(tok)
		s.cachedUntil = c.ExpiresAt.Add(-time.Minute)
	}
	return tok, nil
}

const githubTokenContext = "requesting an OIDC token from GitHub Actions"

func (s *GitHubTokenSource) fetch(ctx context.Context) (string, error) {
	u, err := url.Parse(s.requestURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", outcome.Invalidf("%s: ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL", githubTokenContext)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		// the request token, and the identity token in the answer, would
		// travel in clear
		return "", outcome.Invalidf("%s: ACTIONS_ID_TOKEN_REQUEST_URL uses plain http to %s; only https (or a loopback address) is accepted", githubTokenContext, u.Host)
	}
	q := u.Query()
	q.Set("audience", s.audience)
	u.RawQuery = q.Encode()
	u.User = nil

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", outcome.Invalidf("%s: %w", githubTokenContext, s.scrub(err))
	}
	req.Header.Set("Authorization", "Bearer "+s.bearer.Reveal())
	req.Header.Set("Accept", "application/json")

	attempts := 0
	var failed error // the latest attempt's failure to get an answer
	var reason string
	send := func(r *http.Request) (*http.Response, error) {
		attempts++
		if attempts > 1 {
			s.logger.Debug("retrying OIDC token request", "attempt", attempts, "reason", reason)
		}
		resp, err := s.once(r)
		failed = err
		if err != nil {
			reason = s.redact(err.Error())
		} else {
			reason = "HTTP " + strconv.Itoa(resp.StatusCode)
		}
		return resp, err
	}
	var resp *http.Response
	if s.retry != nil {
		resp, err = s.retry.Do(req, send)
	} else {
		resp, err = send(req)
	}
	after := func(err error) error {
		if attempts > 1 {
			return fmt.Errorf("%w (after %d attempts)", err, attempts)
		}
		return err
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("%s: %w", githubTokenContext, ctxErr)
		}
		if failed != nil {
			err = failed
		}
		// A *url.Error repeats the request URL; say only which host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", after(outcome.Operationalf("%s at %s: %w", githubTokenContext, u.Host, s.scrub(err)))
	}
	body, _ := io.ReadAll(resp.Body) // buffered by once
	return s.answer(u.Host, resp.StatusCode, body, after)
}

// answer reads the token out of an answer, or says why there is none;
// after adds the number of attempts to the error of a transient failure.
func (s *GitHubTokenSource) answer(host string, code int, body []byte, after func(error) error) (string, error) {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return "", after(outcome.Operationalf("%s at %s: HTTP %d%s", githubTokenContext, host, code, s.snippet(body)))
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return "", outcome.Invalidf("%s at %s: HTTP %d%s (does the job have `permissions: id-token: write`?)",
			githubTokenContext, host, code, s.snippet(body))
	case code < 200 || code > 299:
		return "", outcome.Operationalf("%s at %s: HTTP %d%s", githubTokenContext, host, code, s.snippet(body))
	}

	var answer struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", outcome.Operationalf("%s at %s: the answer is not the expected JSON: %w", githubTokenContext, host, s.scrub(err))
	}
	if strings.TrimSpace(answer.Value) == "" {
		return "", outcome.Operationalf("%s at %s: the answer holds no token", githubTokenContext, host)
	}
	return strings.TrimSpace(answer.Value), nil
}

// once makes one request and reads the answer (up to 1 MiB) before
// returning it, so that an answer cut off mid-body fails the attempt.
func (s *GitHubTokenSource) once(req *http.Request) (*http.Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// jwtLike matches anything that looks like a compact JWS.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)

// scrub returns err, or an error with the same text minus the bearer token
// and anything that looks like a JWT when err's text holds either.
func (s *GitHubTokenSource) scrub(err error) error {
	msg := err.Error()
	clean := s.redact(msg)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func (s *GitHubTokenSource) redact(text string) string {
	if b := s.bearer.Reveal(); b != "" {
		text = strings.ReplaceAll(text, b, redacted)
	}
	return jwtLike.ReplaceAllString(text, redacted)
}

// snippet renders the start of an error answer's body for a message, on one
// line, with secrets removed.
func (s *GitHubTokenSource) snippet(body []byte) string {
	text := strings.Join(strings.Fields(s.redact(string(body))), " ")
	if text == "" {
		return ""
	}
	const limit = 200
	if len(text) > limit {
		text = text[:limit] + "…"
	}
	return ": " + text
}

// unavailableToken is the TokenSource when no token can be had; Token says
// why.
type unavailableToken struct {
	err  error
	what string
}

func (u unavailableToken) Token(context.Context) (string, error) { return "", u.err }

func (u unavailableToken) String() string { return "no identity token (" + u.what + ")" }

// Claims are the identity token claims sc shows in messages. They are read
// without verifying the token's signature: use them to explain, never to
// decide.
type Claims struct {
	// Issuer is the iss claim.
	Issuer string `json:"iss,omitempty"`
	// Subject is the sub claim.
	Subject string `json:"sub,omitempty"`
	// Email is the email claim, when present.
	Email string `json:"email,omitempty"`
	// Audience is the aud claim, a string or a list in the token.
	Audience []string `json:"aud,omitempty"`
	// ExpiresAt is the exp claim; zero when absent.
	ExpiresAt time.Time `json:"exp,omitzero"`
}

// String summarises the claims for a message.
func (c Claims) String() string {
	parts := []string{"issuer " + quoteOrNone(c.Issuer), "subject " + quoteOrNone(c.Subject)}
	if c.Email != "" {
		parts = append(parts, "email "+c.Email)
	}
	if !c.ExpiresAt.IsZero() {
		parts = append(parts, "expires "+c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// UnverifiedClaims reads the iss, sub, email, aud and exp claims of a JWT
// WITHOUT verifying its signature, for messages such as "the token for
// subject X expired at T". Errors wrap ErrMalformedIdentityToken and never
// quote the token.
func UnverifiedClaims(token string) (Claims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: a JWT has 3 dot-separated parts, this has %d", ErrMalformedIdentityToken, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not base64url: %w", ErrMalformedIdentityToken, err)
	}
	var raw struct {
		Iss   string          `json:"iss"`
		Sub   string          `json:"sub"`
		Email string          `json:"email"`
		Aud   json.RawMessage `json:"aud"`
		Exp   *float64        `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not a JSON object: %w", ErrMalformedIdentityToken, err)
	}
	c := Claims{Issuer: raw.Iss, Subject: raw.Sub, Email: raw.Email}
	if len(raw.Aud) > 0 && string(raw.Aud) != "null" {
		var one string
		if err := json.Unmarshal(raw.Aud, &one); err == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw.Aud, &c.Audience); err != nil {
			return Claims{}, fmt.Errorf("%w: aud is neither a string nor a list of strings", ErrMalformedIdentityToken)
		}
	}
	if raw.Exp != nil {
		exp := *raw.Exp
		if math.IsNaN(exp) || exp < 0 || exp > 1<<40 {
			return Claims{}, fmt.Errorf("%w: exp is out of range", ErrMalformedIdentityToken)
		}
		c.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	}
	return c, nil
}
