package runenv

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
)

// gitEnv is the environment tests hand to git: the test process's PATH and
// a throwaway HOME so that no user configuration leaks in.
func gitEnv(t *testing.T) Env {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need the git command: %v", err)
	}
	return Env{
		"PATH":                os.Getenv("PATH"),
		"HOME":                t.TempDir(),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Test",
		"GIT_AUTHOR_EMAIL":    "test@example.com",
		"GIT_COMMITTER_NAME":  "Test",
		"GIT_COMMITTER_EMAIL": "test@example.com",
	}
}

// gitRun runs git in dir for test setup and returns its trimmed output.
func gitRun(t *testing.T, env Env, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env.List()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo creates a repository with one commit on main and returns its
// directory and HEAD.
func newRepo(t *testing.T, env Env) (dir, head string) {
	t.Helper()
	dir = t.TempDir()
	gitRun(t, env, dir, "init", "--quiet", "--initial-branch=main")
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, env, dir, "add", "README")
	gitRun(t, env, dir, "commit", "--quiet", "-m", "first")
	return dir, gitRun(t, env, dir, "rev-parse", "HEAD")
}

func TestReadGit(t *testing.T) {
	env := gitEnv(t)

	tests := []struct {
		name string
		// setup returns the directory to read and the expected Git.
		setup func(t *testing.T) (string, Git)
	}{{
		name: "clean checkout with credentials in origin",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			gitRun(t, env, dir, "remote", "add", "origin", "https://ci-bot:ghp_s3cr3t@github.com/acme/shop.git")
			return dir, Git{Root: dir, RemoteURL: "https://github.com/acme/shop", Commit: head, Branch: "main"}
		},
	}, {
		name: "scp-like origin",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			gitRun(t, env, dir, "remote", "add", "origin", "git@github.com:acme/shop.git")
			return dir, Git{Root: dir, RemoteURL: "https://github.com/acme/shop", Commit: head, Branch: "main"}
		},
	}, {
		name: "modified tracked file is dirty",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			if err := os.WriteFile(filepath.Join(dir, "README"), []byte("changed\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir, Git{Root: dir, Commit: head, Branch: "main", Dirty: true}
		},
	}, {
		name: "untracked file is dirty",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir, Git{Root: dir, Commit: head, Branch: "main", Dirty: true}
		},
	}, {
		name: "detached head has no branch",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			gitRun(t, env, dir, "checkout", "--quiet", "--detach", "HEAD")
			return dir, Git{Root: dir, Commit: head}
		},
	}, {
		name: "repository without commits",
		setup: func(t *testing.T) (string, Git) {
			dir := t.TempDir()
			gitRun(t, env, dir, "init", "--quiet", "--initial-branch=trunk")
			return dir, Git{Root: dir, Branch: "trunk"}
		},
	}, {
		name: "subdirectory reads the whole checkout",
		setup: func(t *testing.T) (string, Git) {
			dir, head := newRepo(t, env)
			sub := filepath.Join(dir, "a", "b")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			gitRun(t, env, dir, "checkout", "--quiet", "-b", "feature/x")
			return sub, Git{Root: dir, Commit: head, Branch: "feature/x"}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, want := tt.setup(t)
			got, err := ReadGit(t.Context(), dir, env)
			if err != nil {
				t.Fatalf("ReadGit() error = %v", err)
			}
			want.Root = resolve(t, want.Root)
			got.Root = resolve(t, got.Root)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ReadGit() mismatch (-want +got):\n%s", diff)
			}
			if !got.Found() {
				t.Error("Found() = false for a checkout")
			}
		})
	}
}

func resolve(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadGitNoInfo(t *testing.T) {
	env := gitEnv(t)
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		env     Env
		wantMsg string
	}{{
		name:    "not a repository",
		dir:     func(t *testing.T) string { return t.TempDir() },
		env:     Env{"PATH": env["PATH"], "HOME": env["HOME"], "GIT_CEILING_DIRECTORIES": os.TempDir()},
		wantMsg: "not a git repository",
	}, {
		name:    "git not installed",
		dir:     func(t *testing.T) string { dir, _ := newRepo(t, env); return dir },
		env:     Env{"PATH": t.TempDir()},
		wantMsg: "git is not installed",
	}, {
		name:    "directory does not exist",
		dir:     func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing") },
		env:     env,
		wantMsg: "no git information",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadGit(t.Context(), tt.dir(t), tt.env)
			if !errors.Is(err, ErrNoGitInfo) {
				t.Fatalf("ReadGit() error = %v, want ErrNoGitInfo", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ReadGit() error = %q, want it to mention %q", err, tt.wantMsg)
			}
			if code := outcome.Code(err); code != outcome.ExitInvalid {
				t.Errorf("outcome.Code() = %d, want %d", code, outcome.ExitInvalid)
			}
			if got.Found() {
				t.Errorf("ReadGit() = %+v, want the zero Git", got)
			}
		})
	}
}

func TestReadGitCancelled(t *testing.T) {
	env := gitEnv(t)
	dir, _ := newRepo(t, env)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ReadGit(ctx, dir, env)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadGit() error = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrNoGitInfo) {
		t.Errorf("cancellation must not read as 'no git info': %v", err)
	}
}

func TestNormalizeRepoURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"git@github.com:acme/shop.git", "https://github.com/acme/shop"},
		{"github.com:acme/shop", "https://github.com/acme/shop"},
		{"git@GitHub.com:Acme/Shop.git/", "https://github.com/Acme/Shop"},
		{"ssh://git@github.com/acme/shop.git", "https://github.com/acme/shop"},
		{"ssh://git@git.example.com:2222/acme/shop.git", "https://git.example.com/acme/shop"},
		{"git+ssh://git@github.com/acme/shop", "https://github.com/acme/shop"},
		{"git://git.example.com/acme/shop.git", "https://git.example.com/acme/shop"},
		{"https://github.com/acme/shop.git", "https://github.com/acme/shop"},
		{"https://github.com/acme/shop/", "https://github.com/acme/shop"},
		{"https://user:ghp_token@github.com/acme/shop.git", "https://github.com/acme/shop"},
		{"https://oauth2:glpat-xyz@gitlab.example.com:8443/g/sub/app.git", "https://gitlab.example.com:8443/g/sub/app"},
		{"https://x-access-token@github.com/acme/shop", "https://github.com/acme/shop"},
		{"https://github.com/acme/shop?token=abc#frag", "https://github.com/acme/shop"},
		{"http://git.internal/acme/shop.git", "http://git.internal/acme/shop"},
		{"https://dev.azure.com/acme/Shop%20Team/_git/shop", "https://dev.azure.com/acme/Shop%20Team/_git/shop"},
		{"  https://github.com/acme/shop\n", "https://github.com/acme/shop"},
		// Refused: local, unparseable, or hostless.
		{"", ""},
		{"/srv/git/shop.git", ""},
		{"./shop", ""},
		{"../a:b/c", ""},
		{"file:///srv/git/shop.git", ""},
		{`C:\repos\shop`, ""},
		{"https://github.com", ""},
		{"https://github.com/", ""},
		{"https://user:pa ss@github.com/acme/shop", ""},
		{"ftp://example.com/a/b", ""},
		{"git@:acme/shop", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeRepoURL(tt.in); got != tt.want {
				t.Errorf("NormalizeRepoURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalizeRepoURL(f *testing.F) {
	for _, s := range []string{
		"git@github.com:acme/shop.git", "https://user:tok@github.com/a/b", "ssh://git@h:22/a",
		"http://[::1]:8080/a/b", "https://a@b@c/d", "x:y", "https://h/%zz", "git@h:/a/..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := NormalizeRepoURL(in)
		if out == "" {
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("NormalizeRepoURL(%q) = %q, which does not parse: %v", in, out, err)
		}
		if u.User != nil || strings.Contains(u.Host, "@") {
			t.Fatalf("NormalizeRepoURL(%q) = %q carries user information", in, out)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("NormalizeRepoURL(%q) = %q has scheme %q", in, out, u.Scheme)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("NormalizeRepoURL(%q) = %q keeps a query or fragment", in, out)
		}
		if again := NormalizeRepoURL(out); again != out {
			t.Fatalf("NormalizeRepoURL is not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}
