package runenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// ErrNoGitInfo means there is no git information to read: the directory is
// not inside a git checkout, git refuses it (for example a checkout owned by
// another user, see git's safe.directory), or the git command is not
// installed. New treats it as "no git info" unless git is
// required.
var ErrNoGitInfo = outcome.Invalid("no git information")

// Git is what the local git checkout says about the source. The zero Git
// means no checkout was found.
type Git struct {
	// Root is the top-level directory of the checkout.
	Root string `json:"root,omitempty"`
	// RemoteURL is the origin remote in https form, without credentials or
	// a ".git" suffix; empty when there is no origin or it is a local path.
	RemoteURL string `json:"remoteURL,omitempty"`
	// Commit is the full SHA of HEAD; empty in a repository without commits.
	Commit string `json:"commit,omitempty"`
	// Branch is the checked-out branch; empty on a detached HEAD.
	Branch string `json:"branch,omitempty"`
	// Dirty reports uncommitted changes, untracked files included.
	Dirty bool `json:"dirty,omitempty"`
}

// Found reports whether a git checkout was read.
func (g Git) Found() bool { return g.Root != "" }

// ReadGit reads the git checkout that contains dir ("" for the current
// directory) with the git command line. The git binary is looked up in
// env's PATH when env has one, else in the process's PATH, and runs with env
// as its whole environment, plus LC_ALL=C, GIT_TERMINAL_PROMPT=0 and
// GIT_OPTIONAL_LOCKS=0 so that it neither prompts nor takes locks another
// git process could trip on.
//
// When dir is not in a checkout or git is missing, the error wraps
// ErrNoGitInfo and says why. Other failures are operational.
func ReadGit(ctx context.Context, dir string, env Env) (Git, error) {
	bin, err := lookGit(env)
	if err != nil {
		return Git{}, fmt.Errorf("%w: git is not installed: %w", ErrNoGitInfo, err)
	}
	r := gitRunner{bin: bin, dir: dir, env: append(env.List(),
		"LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")}

	top, err := r.run(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Git{}, fmt.Errorf("reading git checkout: %w", ctxErr)
		}
		var exitErr *gitExitError
		if errors.As(err, &exitErr) {
			return Git{}, fmt.Errorf("%w: %s", ErrNoGitInfo, exitErr.reason())
		}
		// git could not start in dir (missing directory, permissions).
		return Git{}, fmt.Errorf("%w: %w", ErrNoGitInfo, err)
	}
	g := Git{Root: top}

	// Each of these has a documented "absent" exit status: no commit yet,
	// detached HEAD, no origin remote.
	if g.Commit, err = r.optional(ctx, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err != nil {
		return Git{}, err
	}
	g.Commit = fullSHA(g.Commit)
	if g.Branch, err = r.optional(ctx, "symbolic-ref", "--quiet", "--short", "HEAD"); err != nil {
		return Git{}, err
	}
	remote, err := r.optional(ctx, "remote", "get-url", "origin")
	if err != nil {
		return Git{}, err
	}
	g.RemoteURL = NormalizeRepoURL(remote)

	status, err := r.run(ctx, "status", "--porcelain")
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Git{}, fmt.Errorf("reading git status: %w", ctxErr)
		}
		return Git{}, outcome.Operationalf("reading git status in %s: %w", top, err)
	}
	g.Dirty = status != ""
	return g, nil
}

// lookGit finds the git binary in env's PATH, or in the process's PATH when
// env has none.
func lookGit(env Env) (string, error) {
	path, ok := env["PATH"]
	if !ok {
		return exec.LookPath("git")
	}
	name := "git"
	if runtime.GOOS == "windows" {
		name = "git.exe"
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH", name)
}

type gitRunner struct {
	bin string
	dir string
	env []string
}

// gitExitError is git exiting with a non-zero status. It keeps the first
// line of git's standard error, which names the reason.
type gitExitError struct {
	args   []string
	code   int
	stderr string
}

func (e *gitExitError) Error() string {
	return fmt.Sprintf("git %s: exit status %d: %s", strings.Join(e.args, " "), e.code, e.reason())
}

func (e *gitExitError) reason() string {
	line, _, _ := strings.Cut(strings.TrimSpace(e.stderr), "\n")
	line = strings.TrimPrefix(line, "fatal: ")
	if line == "" {
		return fmt.Sprintf("git exited with status %d", e.code)
	}
	return line
}

// run runs git and returns its standard output without the trailing newline.
func (r gitRunner) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && ctx.Err() == nil {
			return "", &gitExitError{args: args, code: exitErr.ExitCode(), stderr: stderr.String()}
		}
		return "", err
	}
	return strings.TrimRight(stdout.String(), "\r\n"), nil
}

// optional runs git and maps a non-zero exit status to "", for questions
// whose answer may be "none".
func (r gitRunner) optional(ctx context.Context, args ...string) (string, error) {
	out, err := r.run(ctx, args...)
	var exitErr *gitExitError
	switch {
	case err == nil:
		return out, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("running git %s: %w", args[0], ctx.Err())
	case errors.As(err, &exitErr):
		return "", nil
	default:
		return "", outcome.Operationalf("running git %s: %w", args[0], err)
	}
}

// NormalizeRepoURL turns a git remote into the https URL of the repository:
// scp-like remotes (git@github.com:o/r.git), ssh:// and git:// URLs become
// https://host/o/r; https and http URLs keep their scheme and port. User
// names, passwords and tokens, queries, fragments, a trailing slash and a
// ".git" suffix are removed, and the host is lower-cased.
//
// It returns "" for local paths, file:// URLs and anything it cannot parse,
// so that nothing it was not sure to clean is ever passed on.
func NormalizeRepoURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	var host, path string
	scheme := "https"
	if h, p, ok := scpLike(raw); ok {
		host, path = h, p
	} else {
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		switch strings.ToLower(u.Scheme) {
		case "https", "http":
			scheme = strings.ToLower(u.Scheme)
			host = u.Host
		case "ssh", "git+ssh", "ssh+git", "git":
			// The ssh or git port says nothing about the https one.
			host = u.Hostname()
		default:
			return ""
		}
		path = u.Path
	}
	host = strings.ToLower(host)
	path = strings.TrimRight(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	path = strings.TrimLeft(path, "/")
	if path == "" || !validHost(host) {
		return ""
	}
	u := url.URL{Scheme: scheme, Host: host, Path: "/" + path}
	out := u.String()
	// Only hand on what parses back to the same thing.
	if back, err := url.Parse(out); err != nil || back.String() != out {
		return ""
	}
	return out
}

// validHost accepts a DNS name or IP address, with an optional port:
// nothing that could smuggle user information or another URL part.
func validHost(host string) bool {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		name, port = host[1:end], host[end+1:]
		if _, err := netip.ParseAddr(name); err != nil {
			return false
		}
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			name, port = host[:i], host[i:]
		}
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
			return false
		}
	}
	if port != "" {
		digits, ok := strings.CutPrefix(port, ":")
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			return false
		}
	}
	return true
}

// scpLike splits git's scp-like syntax, [user@]host:path, which git
// recognises only when no slash comes before the first colon.
func scpLike(raw string) (host, path string, ok bool) {
	if strings.Contains(raw, "://") {
		return "", "", false
	}
	colon := strings.IndexByte(raw, ':')
	if colon < 0 || strings.ContainsAny(raw[:colon], "/\\") {
		return "", "", false
	}
	host = raw[:colon]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	// A single letter before the colon is a Windows drive (C:\repo).
	if len(host) < 2 {
		return "", "", false
	}
	return host, raw[colon+1:], true
}

// stripCredentials removes any user information from an http(s) URL. It
// returns "" for a URL it cannot parse and raw unchanged when there is
// nothing to remove.
func stripCredentials(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// RepoPath is path relative to the git checkout's root when it is inside
// it (the form a reader of the provenance finds in the commit), else the
// path as given; with forward slashes.
func (g Git) RepoPath(path string) string {
	if gitRoot := g.Root; gitRoot != "" {
		if abs, err := filepath.Abs(path); err == nil {
			root, err1 := filepath.EvalSymlinks(gitRoot)
			file, err2 := filepath.EvalSymlinks(abs)
			if err1 == nil && err2 == nil {
				if rel, err := filepath.Rel(root, file); err == nil && rel != ".." &&
					!strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					return filepath.ToSlash(rel)
				}
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}
