package runenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
)

func TestNewExecutionContextTokenSource(t *testing.T) {
	ghToken := fakeJWT(t, map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:a/b", "exp": time.Now().Add(time.Hour).Unix()})
	_, srv := newGitHubOIDC(t, ghToken)
	ghEnv := Env{
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_REPOSITORY":              "a/b",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestToken,
	}
	tests := []struct {
		name      string
		env       Env
		opts      []Option
		wantToken string
		wantErr   error
		wantMsg   string
	}{{
		name:      "explicit token wins over everything",
		env:       with(ghEnv, "SIGSTORE_ID_TOKEN", "from-env"),
		opts:      []Option{WithIdentityToken("from-flag\n")},
		wantToken: "from-flag",
	}, {
		name:      "SIGSTORE_ID_TOKEN wins over the GitHub endpoint",
		env:       with(ghEnv, "SIGSTORE_ID_TOKEN", "from-env"),
		wantToken: "from-env",
	}, {
		name:      "gitlab id_tokens via SIGSTORE_ID_TOKEN",
		env:       Env{"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": "gitlab-jwt"},
		wantToken: "gitlab-jwt",
	}, {
		name:      "github endpoint",
		env:       ghEnv,
		wantToken: ghToken,
	}, {
		name:    "github without id-token permission",
		env:     Env{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "a/b"},
		wantErr: ErrGitHubIDTokenPermission,
		wantMsg: "the GitHub job cannot request an OIDC token: add `permissions: id-token: write` to the workflow job",
	}, {
		name:    "github with only the request url",
		env:     Env{"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL},
		wantErr: ErrGitHubIDTokenPermission,
		wantMsg: "permissions: id-token: write",
	}, {
		name:    "gitlab without id_tokens",
		env:     Env{"GITLAB_CI": "true"},
		wantErr: ErrNoIdentityToken,
		wantMsg: "id_tokens",
	}, {
		name:    "nothing",
		env:     Env{},
		wantErr: ErrNoIdentityToken,
		wantMsg: "sign with a key",
	}, {
		name:    "blank SIGSTORE_ID_TOKEN is no token",
		env:     Env{"SIGSTORE_ID_TOKEN": "  "},
		wantErr: ErrNoIdentityToken,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]Option{WithoutGit(), WithTokenHTTPClient(srv.Client())}, tt.opts...)
			ec, err := New(t.Context(), tt.env, opts...)
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if ec.Token == nil {
				t.Fatal("Token is nil")
			}
			got, err := ec.Token.Token(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrNoIdentityToken) {
					t.Fatalf("Token() error = %v, want %v", err, tt.wantErr)
				}
				if outcome.Code(err) != outcome.ExitInvalid {
					t.Errorf("outcome.Code() = %d, want invalid", outcome.Code(err))
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Token() error = %q, want it to contain %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if got != tt.wantToken {
				t.Errorf("Token() = %q, want %q", got, tt.wantToken)
			}
			printed := fmt.Sprintf("%v %+v %#v", ec, ec, *ec)
			j, _ := json.Marshal(ec)
			for _, out := range []string{printed, string(j), fmt.Sprint(ec.Token)} {
				if strings.Contains(out, tt.wantToken) || strings.Contains(out, requestToken) {
					t.Errorf("printing the execution context leaks a token: %s", out)
				}
			}
		})
	}
}

func TestNewExecutionContextGit(t *testing.T) {
	env := gitEnv(t)
	dir, head := newRepo(t, env)
	gitRun(t, env, dir, "remote", "add", "origin", "git@github.com:acme/shop.git")
	notRepo := t.TempDir()
	noRepoEnv := Env{"PATH": env["PATH"], "HOME": env["HOME"], "GIT_CEILING_DIRECTORIES": filepath.Dir(notRepo)}

	tests := []struct {
		name     string
		env      Env
		opts     []Option
		wantRepo string
		wantSHA  string
		wantRef  string
		wantErr  error
	}{{
		name:     "outside CI reads git",
		env:      env,
		opts:     []Option{WithGitDir(dir)},
		wantRepo: "https://github.com/acme/shop",
		wantSHA:  head,
		wantRef:  "refs/heads/main",
	}, {
		name: "CI answers first",
		env: with(env, "GITHUB_ACTIONS", "true", "GITHUB_REPOSITORY", "acme/other",
			"GITHUB_SHA", sha1Commit, "GITHUB_REF", "refs/tags/v1"),
		opts:     []Option{WithGitDir(dir)},
		wantRepo: "https://github.com/acme/other",
		wantSHA:  sha1Commit,
		wantRef:  "refs/tags/v1",
	}, {
		name:     "CI gaps are filled from git",
		env:      with(env, "BUILDKITE", "true", "BUILDKITE_COMMIT", "HEAD"),
		opts:     []Option{WithGitDir(dir)},
		wantRepo: "https://github.com/acme/shop",
		wantSHA:  head,
		wantRef:  "refs/heads/main",
	}, {
		name: "no repository is not an error",
		env:  noRepoEnv,
		opts: []Option{WithGitDir(notRepo)},
	}, {
		name:    "no repository is an error when git is required",
		env:     noRepoEnv,
		opts:    []Option{WithGitDir(notRepo), WithGitRequired()},
		wantErr: ErrNoGitInfo,
	}, {
		name: "without git",
		env:  env,
		opts: []Option{WithGitDir(dir), WithoutGit()},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ec, err := New(t.Context(), tt.env, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			got := []string{ec.SourceRepository(), ec.Commit(), ec.Ref()}
			want := []string{tt.wantRepo, tt.wantSHA, tt.wantRef}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SourceRepository, Commit, Ref mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func with(base Env, kv ...string) Env {
	out := Env{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestNewExecutionContextCancelled(t *testing.T) {
	env := gitEnv(t)
	dir, _ := newRepo(t, env)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(ctx, env, WithGitDir(dir))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("New() error = %v, want context.Canceled", err)
	}
}

func TestNewExecutionContextLogsNoSecrets(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, env := range []Env{
		{"SIGSTORE_ID_TOKEN": tok},
		{"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid/x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestToken},
	} {
		if _, err := New(t.Context(), env, WithoutGit(), WithLogger(logger)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(t.Context(), Env{}, WithIdentityToken(tok), WithoutGit(), WithLogger(logger)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), requestToken) {
		t.Errorf("logs leak a token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "identity token (SIGSTORE_ID_TOKEN)") {
		t.Errorf("logs do not say where the token came from:\n%s", logs.String())
	}
}

func TestNewExecutionContextPassesGitHubOptions(t *testing.T) {
	g, srv := newGitHubOIDC(t, "tok")
	env := Env{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestToken,
	}
	ec, err := New(t.Context(), env, WithoutGit(), WithTokenHTTPClient(srv.Client()),
		WithGitHubTokenOptions(WithGitHubAudience("custom-aud")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.Token.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"custom-aud"}, g.audience); diff != "" {
		t.Errorf("audiences requested mismatch (-want +got):\n%s", diff)
	}
	if got := fmt.Sprint(ec.Token); got != "GitHub Actions OIDC token endpoint (audience custom-aud)" {
		t.Errorf("token source = %q", got)
	}
}
