package runenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/httpretry"
)

// fakeJWT builds an unsigned compact JWS with the given claims. The
// signature part is filler: nothing here verifies it.
func fakeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

const requestToken = "ghs_RequestBearer_0123456789abcdef"

// githubOIDC is an in-process server speaking GitHub Actions' OIDC token
// protocol: GET with ?audience=..., Authorization: Bearer <request token>,
// answer {"count": n, "value": "<jwt>"}. Before answering with the token it
// fails with the statuses in fail, one per request.
type githubOIDC struct {
	t     *testing.T
	token string

	mu       sync.Mutex
	fail     []int
	failBody string
	requests int
	audience []string
	apiVer   []string
	arrived  chan struct{}
	rawValue *string
}

func newGitHubOIDC(t *testing.T, token string) (*githubOIDC, *httptest.Server) {
	g := &githubOIDC{t: t, token: token}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *githubOIDC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	g.audience = append(g.audience, r.URL.Query().Get("audience"))
	g.apiVer = append(g.apiVer, r.URL.Query().Get("api-version"))
	var status int
	if len(g.fail) > 0 {
		status, g.fail = g.fail[0], g.fail[1:]
	}
	arrived := g.arrived
	g.mu.Unlock()
	if arrived != nil {
		select {
		case arrived <- struct{}{}:
		default:
		}
	}

	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+requestToken {
		http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if status != 0 {
		body := g.failBody
		if body == "" {
			body = http.StatusText(status)
		}
		http.Error(w, body, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if g.rawValue != nil {
		_, _ = fmt.Fprint(w, *g.rawValue)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": g.token})
}

func (g *githubOIDC) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

func TestGitHubTokenSource(t *testing.T) {
	idToken := fakeJWT(t, map[string]any{
		"iss": "https://token.actions.githubusercontent.com",
		"sub": "repo:acme/shop:ref:refs/heads/main",
		"aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	leaked := func(s string) bool {
		return strings.Contains(s, requestToken) || strings.Contains(s, idToken) ||
			strings.Contains(s, strings.Split(idToken, ".")[1])
	}

	tests := []struct {
		name     string
		setup    func(g *githubOIDC)
		badToken bool
		closed   bool
		wantErr  error // class or sentinel; nil for success
		wantMsg  string
		wantReqs int
	}{{
		name:     "first answer",
		wantReqs: 1,
	}, {
		name:     "retries 5xx and 429 then succeeds",
		setup:    func(g *githubOIDC) { g.fail = []int{503, 429} },
		wantReqs: 3,
	}, {
		name:     "gives up after the attempts",
		setup:    func(g *githubOIDC) { g.fail = []int{500, 502, 503, 504} },
		wantErr:  outcome.ErrOperational,
		wantMsg:  "HTTP 503",
		wantReqs: 3,
	}, {
		name: "403 is not retried and its body is scrubbed",
		setup: func(g *githubOIDC) {
			g.fail = []int{403}
			g.failBody = `{"message":"Resource not accessible", "echo":"Bearer ` + requestToken + `", "token":"` + idToken + `"}`
		},
		wantErr:  outcome.ErrInvalid,
		wantMsg:  "id-token: write",
		wantReqs: 1,
	}, {
		name:     "wrong bearer token",
		badToken: true,
		wantErr:  outcome.ErrInvalid,
		wantMsg:  "HTTP 401",
		wantReqs: 1,
	}, {
		name:     "404 is operational and not retried",
		setup:    func(g *githubOIDC) { g.fail = []int{404} },
		wantErr:  outcome.ErrOperational,
		wantMsg:  "HTTP 404",
		wantReqs: 1,
	}, {
		name:     "answer is not JSON",
		setup:    func(g *githubOIDC) { s := "<html>" + idToken + "</html>"; g.rawValue = &s },
		wantErr:  outcome.ErrOperational,
		wantMsg:  "not the expected JSON",
		wantReqs: 1,
	}, {
		name:     "answer without a value",
		setup:    func(g *githubOIDC) { s := `{"count":0}`; g.rawValue = &s },
		wantErr:  outcome.ErrOperational,
		wantMsg:  "holds no token",
		wantReqs: 1,
	}, {
		name:    "connection refused is retried then operational",
		closed:  true,
		wantErr: outcome.ErrOperational,
		wantMsg: "after 3 attempts",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, srv := newGitHubOIDC(t, idToken)
			if tt.setup != nil {
				tt.setup(g)
			}
			reqURL := srv.URL + "/_apis/distributedtask/hubs/build/plans/x/jobs/y/idtoken?api-version=2.0"
			if tt.closed {
				srv.Close()
			}
			bearer := requestToken
			if tt.badToken {
				bearer = "wrong"
			}
			var logs bytes.Buffer
			src := NewGitHubTokenSource(reqURL, bearer,
				WithGitHubRetry(httpretry.Policy{Attempts: 3, Backoff: time.Millisecond}),
				WithGitHubHTTPClient(srv.Client()),
				WithGitHubLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

			got, err := src.Token(t.Context())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Token() error = %v", err)
				}
				if got != idToken {
					t.Errorf("Token() returned a different token")
				}
				for i, aud := range g.audience {
					if aud != "sigstore" || g.apiVer[i] != "2.0" {
						t.Errorf("request %d: audience=%q api-version=%q, want sigstore and 2.0 kept", i, aud, g.apiVer[i])
					}
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Token() error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Token() error = %q, want it to mention %q", err, tt.wantMsg)
				}
				if leaked(err.Error()) {
					t.Errorf("Token() error leaks a token: %q", err)
				}
			}
			if tt.wantReqs != 0 {
				if n := g.count(); n != tt.wantReqs {
					t.Errorf("server saw %d requests, want %d", n, tt.wantReqs)
				}
			}
			if leaked(logs.String()) {
				t.Errorf("logs leak a token:\n%s", logs.String())
			}
			for _, s := range []string{fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src)} {
				if leaked(s) {
					t.Errorf("printing the source leaks a token: %s", s)
				}
			}
		})
	}
}

func TestGitHubTokenSourceReusesUnexpiredToken(t *testing.T) {
	tests := []struct {
		name     string
		exp      time.Time
		wantReqs int
	}{
		{"valid for an hour is reused", time.Now().Add(time.Hour), 1},
		{"expiring within a minute is fetched again", time.Now().Add(30 * time.Second), 2},
		{"already expired is fetched again", time.Now().Add(-time.Hour), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := fakeJWT(t, map[string]any{"iss": "i", "sub": "s", "exp": tt.exp.Unix()})
			g, srv := newGitHubOIDC(t, tok)
			src := NewGitHubTokenSource(srv.URL+"/token", requestToken, WithGitHubHTTPClient(srv.Client()))
			for range 2 {
				if _, err := src.Token(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if n := g.count(); n != tt.wantReqs {
				t.Errorf("server saw %d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestGitHubTokenSourceHonoursContextDuringBackoff(t *testing.T) {
	g, srv := newGitHubOIDC(t, "unused")
	g.fail = []int{503, 503, 503}
	g.arrived = make(chan struct{}, 1)
	// A backoff far longer than any test run: only cancellation can end it.
	src := NewGitHubTokenSource(srv.URL+"/token", requestToken,
		WithGitHubRetry(httpretry.Policy{Attempts: 3, Backoff: time.Hour}), WithGitHubHTTPClient(srv.Client()))

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-g.arrived
		cancel()
	}()
	_, err := src.Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Token() error = %v, want context.Canceled", err)
	}
	if outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("outcome.Code() = %d, want operational", outcome.Code(err))
	}
}

func TestGitHubTokenSourceBadURL(t *testing.T) {
	// plain http outside loopback would send the request token in clear;
	// nothing is sent there (the host does not exist)
	for _, u := range []string{"", "not a url", "ftp://example.com/x", "/relative", "http://token.example.com/x"} {
		t.Run(u, func(t *testing.T) {
			_, err := NewGitHubTokenSource(u, requestToken).Token(t.Context())
			if !errors.Is(err, outcome.ErrInvalid) {
				t.Fatalf("Token() error = %v, want invalid", err)
			}
			if strings.Contains(err.Error(), requestToken) {
				t.Errorf("error leaks the bearer: %v", err)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "eyJhbGciOi.super-secret-value.sig"
	s := NewSecret(value)
	type holder struct {
		Public  string
		private Secret
		Exposed Secret
	}
	h := holder{Public: "ok", private: s, Exposed: s}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3s"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outputs = append(outputs, s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(s, h))
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	txt, _ := s.MarshalText()
	outputs = append(outputs, string(txt))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", s, "holder", h)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s, "holder", h, slog.Any("p", &h))
	outputs = append(outputs, logs.String())
	outputs = append(outputs, fmt.Errorf("wrapped: %v", s).Error())

	for _, o := range outputs {
		if strings.Contains(o, "super-secret-value") {
			t.Errorf("secret printed: %s", o)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if s.IsZero() || !(Secret{}).IsZero() {
		t.Error("IsZero wrong")
	}
	if (Secret{}).Reveal() != "" {
		t.Error("zero Secret reveals a value")
	}
}

func TestStaticToken(t *testing.T) {
	valid := fakeJWT(t, map[string]any{"iss": "https://accounts.example.com", "sub": "me", "exp": time.Now().Add(time.Hour).Unix()})
	expired := fakeJWT(t, map[string]any{"iss": "https://gitlab.com", "sub": "project_path:acme/shop:ref_type:branch:ref:main", "exp": time.Now().Add(-time.Hour).Unix()})
	opaque := "not-a-jwt-but-fulcio-decides"

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"valid jwt", valid, nil},
		{"opaque token is passed through", opaque, nil},
		{"expired jwt", expired, ErrExpiredIdentityToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := NewStaticToken(" "+tt.token+"\n", "SIGSTORE_ID_TOKEN")
			got, err := src.Token(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrNoIdentityToken) || outcome.Code(err) != outcome.ExitInvalid {
					t.Fatalf("Token() error = %v, want %v (invalid, no identity token)", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.token) || strings.Contains(err.Error(), strings.Split(tt.token, ".")[1]) {
					t.Errorf("error leaks the token: %v", err)
				}
				if !strings.Contains(err.Error(), "project_path:acme/shop") {
					t.Errorf("error %q does not name the subject", err)
				}
				return
			}
			if err != nil || got != tt.token {
				t.Fatalf("Token() = %q, %v", got, err)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", src, src, *src), tt.token) {
				t.Error("printing the source leaks the token")
			}
		})
	}
}

func TestUnverifiedClaims(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		token   string
		want    Claims
		wantErr bool
	}{{
		name:  "github actions",
		token: fakeJWT(t, map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:a/b:ref:refs/heads/main", "aud": "sigstore", "exp": 1767225600}),
		want: Claims{
			Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:a/b:ref:refs/heads/main",
			Audience: []string{"sigstore"}, ExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}, {
		name:  "email and audience list, fractional exp",
		token: "h." + seg(`{"iss":"https://oauth2.sigstore.dev/auth","sub":"123","email":"me@example.com","aud":["sigstore","other"],"exp":1767225600.5}`) + ".s",
		want: Claims{
			Issuer: "https://oauth2.sigstore.dev/auth", Subject: "123", Email: "me@example.com",
			Audience: []string{"sigstore", "other"}, ExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}, {
		name:  "padded payload and no exp",
		token: "h." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"i","sub":"s"}`)) + ".s",
		want:  Claims{Issuer: "i", Subject: "s"},
	}, {
		name:  "null audience",
		token: "h." + seg(`{"aud":null}`) + ".s",
		want:  Claims{},
	},
		{name: "two parts", token: "a.b", wantErr: true},
		{name: "four parts", token: "a.b.c.d", wantErr: true},
		{name: "payload not base64", token: "h.!!!.s", wantErr: true},
		{name: "payload not json", token: "h." + seg("hello") + ".s", wantErr: true},
		{name: "payload is an array", token: "h." + seg("[1]") + ".s", wantErr: true},
		{name: "aud is a number", token: "h." + seg(`{"aud":5}`) + ".s", wantErr: true},
		{name: "exp is a string", token: "h." + seg(`{"exp":"soon"}`) + ".s", wantErr: true},
		{name: "exp out of range", token: "h." + seg(`{"exp":1e300}`) + ".s", wantErr: true},
		{name: "negative exp", token: "h." + seg(`{"exp":-1}`) + ".s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnverifiedClaims(tt.token)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedIdentityToken) || outcome.Code(err) != outcome.ExitInvalid {
					t.Fatalf("UnverifiedClaims() error = %v, want ErrMalformedIdentityToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnverifiedClaims() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("UnverifiedClaims() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsString(t *testing.T) {
	c := Claims{Issuer: "https://i", Subject: "s", Email: "e@x", ExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	want := "issuer https://i, subject s, email e@x, expires 2026-01-01T00:00:00Z"
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Claims{}).String(); got != "issuer (none), subject (none)" {
		t.Errorf("String() of empty claims = %q", got)
	}
}

func FuzzUnverifiedClaims(f *testing.F) {
	f.Add(fakeJWT(f, map[string]any{"iss": "i", "sub": "s", "aud": []string{"a"}, "exp": 1}))
	f.Add("a.b.c")
	f.Add("h.eyJleHAiOjF9.s")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := UnverifiedClaims(token)
		if err != nil {
			if !errors.Is(err, ErrMalformedIdentityToken) {
				t.Fatalf("error %v does not wrap ErrMalformedIdentityToken", err)
			}
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error quotes the token: %v", err)
			}
			return
		}
		_ = c.String()
	})
}

// Without a Retrier a request is made once; with one, an answer cut off
// mid-body fails the attempt and is retried like a dropped connection.
func TestGitHubTokenSourceRetrier(t *testing.T) {
	idToken := fakeJWT(t, map[string]any{"iss": "i", "sub": "s", "exp": time.Now().Add(time.Hour).Unix()})
	t.Run("none: one attempt", func(t *testing.T) {
		g, srv := newGitHubOIDC(t, idToken)
		g.fail = []int{503}
		_, err := NewGitHubTokenSource(srv.URL+"/token", requestToken, WithGitHubHTTPClient(srv.Client())).Token(t.Context())
		if !errors.Is(err, outcome.ErrOperational) || !strings.Contains(err.Error(), "HTTP 503") || strings.Contains(err.Error(), "attempts") {
			t.Fatalf("Token() error = %v, want HTTP 503 of a single attempt", err)
		}
		if n := g.count(); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
	})
	t.Run("answer cut short", func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				w.Header().Set("Content-Length", "1000")
				_, _ = fmt.Fprint(w, `{"value":"`+idToken[:10])
				w.(http.Flusher).Flush()
				conn, _, _ := w.(http.Hijacker).Hijack()
				_ = conn.Close()
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"value": idToken})
		}))
		t.Cleanup(srv.Close)
		var logs bytes.Buffer
		src := NewGitHubTokenSource(srv.URL+"/token", requestToken, WithGitHubHTTPClient(srv.Client()),
			WithGitHubRetry(httpretry.Policy{Attempts: 3, Backoff: time.Millisecond}),
			WithGitHubLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		got, err := src.Token(t.Context())
		if err != nil || got != idToken {
			t.Fatalf("Token() = %v; want the token of the second attempt", err)
		}
		if n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
		if !strings.Contains(logs.String(), "retrying OIDC token request") || !strings.Contains(logs.String(), "unexpected EOF") {
			t.Errorf("log does not say why it retried:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), idToken[:10]) {
			t.Errorf("log leaks part of the token:\n%s", logs.String())
		}
	})
}
