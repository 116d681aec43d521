package options

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/runenv"
)

func TestExecutionContextBuild(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		flag      string
		env       map[string]string
		wantToken string
		wantErr   error // from Build
		wantNoTok bool
	}{
		{name: "flag", flag: "a.b.c", env: map[string]string{"SIGSTORE_ID_TOKEN": "env"}, wantToken: "a.b.c"},
		{name: "flag naming a file", flag: tokenFile, wantToken: "file-token"},
		{name: "flag naming an empty file", flag: emptyFile, wantErr: outcome.ErrInvalid},
		{name: "flag that is no file is the token", flag: "opaque-token", wantToken: "opaque-token"},
		{name: "SIGSTORE_ID_TOKEN through Getenv", env: map[string]string{"SIGSTORE_ID_TOKEN": "env"}, wantToken: "env"},
		{name: "nothing", wantNoTok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &ExecutionContext{}
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			e.AddFlags(fs)
			if tt.flag != "" {
				if err := fs.Parse([]string{"--identity-token", tt.flag}); err != nil {
					t.Fatal(err)
				}
			}
			root := &Root{Getenv: func(k string) string { return tt.env[k] }}
			ec, err := e.Build(t.Context(), root, runenv.WithoutGit())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Build() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			tok, err := ec.Token.Token(t.Context())
			if tt.wantNoTok {
				if !errors.Is(err, runenv.ErrNoIdentityToken) {
					t.Errorf("Token() error = %v, want ErrNoIdentityToken", err)
				}
				return
			}
			if err != nil || tok != tt.wantToken {
				t.Errorf("Token() = %q, %v; want %q", tok, err, tt.wantToken)
			}
		})
	}
}

// The GitHub Actions token endpoint is asked again after a transient
// failure: runenv has no retry of its own, Build gives it httpretry's.
func TestExecutionContextBuildRetriesTokenRequests(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"value":"a.b.c"}`)
	}))
	defer srv.Close()
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"}
	root := &Root{Getenv: func(k string) string { return env[k] }}
	ec, err := (&ExecutionContext{}).Build(t.Context(), root, runenv.WithoutGit(), runenv.WithTokenHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ec.Token.Token(t.Context())
	if err != nil || tok != "a.b.c" {
		t.Fatalf("Token() = %q, %v; want the token of the second attempt", tok, err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestSecurityEnv(t *testing.T) {
	tests := []struct {
		name string
		root *Root
		want runenv.Env
	}{{
		name: "whole environment when it can be listed",
		root: &Root{Environ: func() []string { return []string{"GITHUB_ACTIONS=true", "OTHER=x"} }},
		want: runenv.Env{"GITHUB_ACTIONS": "true", "OTHER": "x"},
	}, {
		name: "known variables through Getenv",
		root: &Root{Getenv: func(k string) string {
			return map[string]string{"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/a/b", "OTHER": "x"}[k]
		}},
		want: runenv.Env{"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/a/b"},
	}, {
		name: "neither",
		root: &Root{},
		want: runenv.Env{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SecurityEnv(tt.root)); diff != "" {
				t.Errorf("SecurityEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
