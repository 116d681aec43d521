package options

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/httpretry"
	"github.com/sc-project/sc/pkg/security/runenv"
)

// ExecutionContext is the flag group of commands that need to know where sc
// runs (CI, git) and may sign keylessly.
type ExecutionContext struct {
	// IdentityToken is --identity-token: an OIDC identity token, or the
	// path of a file holding one. Default: $SIGSTORE_ID_TOKEN, then the CI's
	// token endpoint (GitHub Actions).
	IdentityToken string
}

// AddFlags binds the group's flags.
func (e *ExecutionContext) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&e.IdentityToken, "identity-token", "",
		"OIDC identity token for keyless signing, or a file holding one (default: $SIGSTORE_ID_TOKEN, then the CI's token endpoint); "+
			"prefer the variable or a file: command lines are visible to other processes")
}

// Build reads the execution context from root's environment, with
// --identity-token as the explicit token and TokenRetry. opts are passed on
// after them, so a command can add runenv.WithGitDir, runenv.WithoutGit or a
// logger.
func (e *ExecutionContext) Build(ctx context.Context, root *Root, opts ...runenv.Option) (*runenv.Context, error) {
	tok, err := e.token()
	if err != nil {
		return nil, err
	}
	all := append([]runenv.Option{runenv.WithIdentityToken(tok), TokenRetry()}, opts...)
	return runenv.New(ctx, SecurityEnv(root), all...)
}

// TokenRetry is how sc retries requests for identity tokens (GitHub
// Actions' endpoint): httpretry's policy, 4 attempts from 1 second. runenv
// has no retry policy of its own: it stays on the standard library.
func TokenRetry() runenv.Option {
	return runenv.WithGitHubTokenOptions(runenv.WithGitHubRetry(httpretry.Policy{Attempts: 4, Backoff: time.Second}))
}

// token returns --identity-token, read from the file it names when it names
// one (as cosign does). A JWT never names a file.
func (e *ExecutionContext) token() (string, error) {
	v := strings.TrimSpace(e.IdentityToken)
	if v == "" || strings.Count(v, ".") == 2 && !strings.ContainsAny(v, `/\`) {
		return v, nil
	}
	info, err := os.Stat(v)
	if err != nil || !info.Mode().IsRegular() {
		// Not a file: take the value as the token itself.
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", outcome.Invalidf("--identity-token: reading the token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", outcome.Invalidf("--identity-token: the token file %s is empty", v)
	}
	return tok, nil
}

// SecurityEnv is the process environment as pkg/security reads it: all of it
// when root can list it (Root.Environ), else the variables runenv.EnvVars
// names, read with Root.Getenv.
func SecurityEnv(root *Root) runenv.Env {
	if root.Environ != nil {
		return runenv.EnvFromList(root.Environ())
	}
	env := runenv.Env{}
	if root.Getenv == nil {
		return env
	}
	for _, k := range runenv.EnvVars() {
		if v := root.Getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}
