package runenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Env is an environment given as data: variable name to value. sc builds it
// from the process environment in pkg/cmd/options; tests build it from a
// literal. Nothing in this package reads the process environment.
type Env map[string]string

// EnvFromList builds an Env from KEY=VALUE pairs as returned by os.Environ.
// A later pair overrides an earlier one with the same key; entries without
// "=" are ignored.
func EnvFromList(environ []string) Env {
	env := make(Env, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		env[k] = v
	}
	return env
}

// Get returns the value of key, or "" when it is unset. A nil Env is empty.
func (e Env) Get(key string) string { return e[key] }

// List returns the environment as sorted KEY=VALUE pairs, the form
// exec.Cmd.Env takes.
func (e Env) List() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// EnvVars lists every environment variable this package reads, for callers
// that cannot enumerate their environment and build an Env by asking for
// each name. ReadGit also hands the whole Env to git; PATH and HOME are
// listed for it.
func EnvVars() []string {
	return []string{
		// CI detection.
		"GITHUB_ACTIONS", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
		"GITHUB_RUN_ATTEMPT", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_NAME", "GITHUB_HEAD_REF",
		"GITHUB_EVENT_NAME", "GITHUB_ACTOR", "GITHUB_WORKFLOW", "GITHUB_WORKFLOW_REF",
		"GITLAB_CI", "CI_SERVER_URL", "CI_PROJECT_URL", "CI_COMMIT_SHA", "CI_COMMIT_TAG",
		"CI_COMMIT_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_REF_NAME",
		"CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_JOB_URL", "CI_CONFIG_PATH",
		"GITLAB_USER_LOGIN", "CI_PIPELINE_SOURCE",
		"CIRCLECI", "CIRCLE_REPOSITORY_URL", "CIRCLE_SHA1", "CIRCLE_TAG", "CIRCLE_BRANCH",
		"CIRCLE_BUILD_NUM", "CIRCLE_BUILD_URL", "CIRCLE_JOB", "CIRCLE_USERNAME",
		"BUILDKITE", "BUILDKITE_REPO", "BUILDKITE_COMMIT", "BUILDKITE_TAG", "BUILDKITE_BRANCH",
		"BUILDKITE_BUILD_ID", "BUILDKITE_BUILD_URL", "BUILDKITE_PIPELINE_SLUG",
		"BUILDKITE_BUILD_CREATOR", "BUILDKITE_SOURCE",
		"TF_BUILD", "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_REPOSITORY_URI",
		"BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH", "SYSTEM_PULLREQUEST_SOURCEBRANCH",
		"BUILD_BUILDID", "SYSTEM_JOBATTEMPT", "BUILD_DEFINITIONNAME", "BUILD_REQUESTEDFOR",
		"BUILD_REASON",
		"BITBUCKET_BUILD_NUMBER", "BITBUCKET_COMMIT", "BITBUCKET_GIT_HTTP_ORIGIN",
		"BITBUCKET_REPO_FULL_NAME", "BITBUCKET_TAG", "BITBUCKET_BRANCH",
		"BITBUCKET_STEP_TRIGGERER_UUID",
		"JENKINS_URL", "BUILD_URL", "GIT_URL", "GIT_COMMIT", "TAG_NAME", "BUILD_ID",
		"JOB_NAME", "BRANCH_NAME", "GIT_BRANCH",
		// Identity tokens.
		"SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
		// For the git command.
		"PATH", "HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM",
		"GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "SYSTEMROOT",
	}
}

// Context is where sc runs: the CI run, the local git checkout and
// the source of identity tokens. Build it once with New and
// pass it to whatever needs it.
type Context struct {
	// CI is the detected CI run; the zero CI outside CI.
	CI CI `json:"ci"`
	// Git is the local checkout; the zero Git when there is none or it was
	// not read.
	Git Git `json:"git"`
	// Token gives OIDC identity tokens for keyless signing. It is never nil:
	// when no token can be had, its Token method says why.
	Token TokenSource `json:"-"`
}

// SourceRepository is the https URL of the source repository: the CI's,
// else the git origin's; "" when neither knows.
func (e *Context) SourceRepository() string {
	return firstOf(e.CI.RepositoryURL, e.Git.RemoteURL)
}

// Commit is the full SHA of the source commit: the CI's, else git's HEAD.
func (e *Context) Commit() string {
	return firstOf(e.CI.Commit, e.Git.Commit)
}

// Ref is the fully qualified git ref of the source: the CI's, else
// refs/heads/ and the checked-out branch; "" on a detached HEAD outside CI.
func (e *Context) Ref() string {
	if e.CI.Ref != "" {
		return e.CI.Ref
	}
	return qualifyRef(e.Git.Branch, "")
}

// Option configures New.
type Option func(*config)

type config struct {
	identityToken string
	gitDir        string
	readGit       bool
	requireGit    bool
	httpClient    *http.Client
	logger        *slog.Logger
	githubOpts    []GitHubTokenOption
}

// WithIdentityToken sets an explicit OIDC identity token (sc's
// --identity-token). It takes precedence over SIGSTORE_ID_TOKEN and the CI's
// token endpoint. Default: none.
func WithIdentityToken(token string) Option {
	return func(c *config) { c.identityToken = token }
}

// WithGitDir reads the git checkout containing dir. Default: the current
// directory.
func WithGitDir(dir string) Option {
	return func(c *config) { c.gitDir = dir }
}

// WithGitRequired makes a missing checkout or git command an error (wrapping
// ErrNoGitInfo). Default: not required; the Git field is left zero.
func WithGitRequired() Option {
	return func(c *config) { c.requireGit = true }
}

// WithoutGit skips reading the git checkout. Default: git is read.
func WithoutGit() Option {
	return func(c *config) { c.readGit = false }
}

// WithTokenHTTPClient sets the HTTP client used to request identity tokens
// from a CI provider. Default: a client with a 30 second timeout.
func WithTokenHTTPClient(client *http.Client) Option {
	return func(c *config) { c.httpClient = client }
}

// WithLogger sets the logger for debug lines about what was detected.
// Secrets never reach it. Default: discard.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithGitHubTokenOptions passes options to the GitHub Actions token source
// when one is chosen. Default: none.
func WithGitHubTokenOptions(opts ...GitHubTokenOption) Option {
	return func(c *config) { c.githubOpts = append(c.githubOpts, opts...) }
}

// New detects the CI run from env, reads the git checkout
// (unless WithoutGit) and chooses the identity token source, in this order:
// WithIdentityToken; SIGSTORE_ID_TOKEN (GitLab's documented variable for
// id_tokens, and Sigstore's generic one); GitHub Actions' token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN). Without
// any of them, Token returns an error: in GitHub Actions one naming the
// missing `id-token: write` permission, elsewhere ErrNoIdentityToken with
// advice.
//
// It does not request a token: that happens when Token is called, so that a
// command that signs with a key never needs one. Missing git information is
// not an error unless WithGitRequired; cancellation always is.
func New(ctx context.Context, env Env, opts ...Option) (*Context, error) {
	cfg := config{readGit: true}
	for _, o := range opts {
		o(&cfg)
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	ec := &Context{CI: DetectCI(env)}
	logger.Debug("execution context", "ci", string(ec.CI.Provider), "repository", ec.CI.RepositoryURL, "commit", ec.CI.Commit)

	if cfg.readGit {
		g, err := ReadGit(ctx, cfg.gitDir, env)
		switch {
		case err == nil:
			ec.Git = g
			logger.Debug("git checkout", "root", g.Root, "remote", g.RemoteURL, "commit", g.Commit, "branch", g.Branch, "dirty", g.Dirty)
		case errors.Is(err, ErrNoGitInfo) && !cfg.requireGit:
			logger.Debug("no git information", "reason", err.Error())
		default:
			return nil, fmt.Errorf("reading the execution context: %w", err)
		}
	}

	ec.Token = chooseTokenSource(env, ec.CI, cfg, logger)
	logger.Debug("identity token source", "source", fmt.Sprint(ec.Token))
	return ec, nil
}

func chooseTokenSource(env Env, ci CI, cfg config, logger *slog.Logger) TokenSource {
	if tok := strings.TrimSpace(cfg.identityToken); tok != "" {
		return NewStaticToken(tok, "explicit")
	}
	if tok := strings.TrimSpace(env.Get("SIGSTORE_ID_TOKEN")); tok != "" {
		return NewStaticToken(tok, "SIGSTORE_ID_TOKEN")
	}
	reqURL, reqTok := env.Get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.Get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL != "" && reqTok != "" {
		client := cfg.httpClient
		if client == nil {
			client = &http.Client{Timeout: 30 * time.Second}
		}
		opts := append([]GitHubTokenOption{WithGitHubHTTPClient(client), WithGitHubLogger(logger)}, cfg.githubOpts...)
		return NewGitHubTokenSource(reqURL, reqTok, opts...)
	}
	switch ci.Provider {
	case ProviderGitHubActions:
		return unavailableToken{err: ErrGitHubIDTokenPermission, what: "GitHub Actions without id-token: write"}
	case ProviderGitLabCI:
		return unavailableToken{
			err:  fmt.Errorf("%w; in GitLab CI, add `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` to the job", ErrNoIdentityToken),
			what: "GitLab CI without id_tokens",
		}
	}
	return unavailableToken{err: ErrNoIdentityToken, what: "none"}
}
