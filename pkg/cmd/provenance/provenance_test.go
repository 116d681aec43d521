package provenance_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const commit = "4f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"

// Secrets that sit in the environment or the build arguments of every test
// run: none may reach the statement.
var secrets = map[string]string{
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-request-s3cr3t",
	"GITHUB_TOKEN":                   "ghs_s3cr3tt0k3n",
	"SIGSTORE_ID_TOKEN":              "eyJ-oidc-s3cr3t",
	"CI_JOB_TOKEN":                   "glcbt-s3cr3t",
	"NPM_TOKEN":                      "npm_env_s3cr3t",
}

const dockerfile = `# syntax=docker/dockerfile:1
ARG REGISTRY
ARG GO_VERSION=1.22
FROM --platform=$BUILDPLATFORM ${REGISTRY}/base/golang:${GO_VERSION} AS build
ARG NPM_TOKEN
RUN go build -o /out/shop ./cmd/shop

FROM build AS test
RUN go test ./...

FROM scratch AS empty

FROM ${REGISTRY}/base/runtime:2
COPY --from=build /out/shop /shop
`

// image returns a small image with a deterministic digest.
func image(t *testing.T, label string) v1.Image {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "amd64", OS: "linux",
		Config: v1.Config{Labels: map[string]string{"fixture": label}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// setup starts a registry with the base images and the image to describe,
// and writes the Dockerfile into a fresh working directory.
func setup(t *testing.T) *testutil.Registry {
	t.Helper()
	reg := testutil.NewRegistry(t)
	push(t, reg.Ref("base/golang:1.23"), image(t, "golang"))
	push(t, reg.Ref("base/runtime:2"), image(t, "runtime"))
	push(t, reg.Ref("acme/shop:1.4.0"), image(t, "shop"))
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("Dockerfile", []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return reg
}

// run runs sc with env as its whole environment.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &options.Root{
		Version: "v0.9.0",
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string {
			var l []string
			for k, v := range env {
				l = append(l, k+"="+v)
			}
			sort.Strings(l)
			return l
		},
	}
	c := cmd.New(root)
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	err = cmd.Execute(context.Background(), c, args)
	return out.String(), errb.String(), err
}

func githubEnv() map[string]string {
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_REPOSITORY":   "acme/shop",
		"GITHUB_RUN_ID":       "9876543210",
		"GITHUB_RUN_ATTEMPT":  "2",
		"GITHUB_SHA":          commit,
		"GITHUB_REF":          "refs/heads/main",
		"GITHUB_WORKFLOW":     "release",
		"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/release.yml@refs/heads/main",
		"GITHUB_ACTOR":        "octocat",
		"GITHUB_EVENT_NAME":   "push",
		// Requested only by signing, never by provenance.
		"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/token",
	}
	for k, v := range secrets {
		env[k] = v
	}
	return env
}

func gitlabEnv() map[string]string {
	env := map[string]string{
		"GITLAB_CI":          "true",
		"CI_SERVER_URL":      "https://gitlab.example.com",
		"CI_PROJECT_URL":     "https://gitlab.example.com/acme/platform/shop",
		"CI_COMMIT_SHA":      commit,
		"CI_COMMIT_TAG":      "v1.4.0",
		"CI_PIPELINE_ID":     "1234",
		"CI_PIPELINE_URL":    "https://gitlab.example.com/acme/platform/shop/-/pipelines/1234",
		"CI_JOB_URL":         "https://gitlab.example.com/acme/platform/shop/-/jobs/4242",
		"CI_CONFIG_PATH":     "ci/release.gitlab-ci.yml",
		"GITLAB_USER_LOGIN":  "alice",
		"CI_PIPELINE_SOURCE": "push",
	}
	for k, v := range secrets {
		env[k] = v
	}
	return env
}

var timestamp = regexp.MustCompile(`"(startedOn|finishedOn)": "[^"]+"`)

// redact replaces what changes from run to run: the registry's port and the
// timestamps.
func redact(s string, reg *testutil.Registry) string {
	s = strings.ReplaceAll(s, reg.Host, "REGISTRY")
	s = strings.ReplaceAll(s, strings.ReplaceAll(reg.Host, ":", "%3A"), "REGISTRY")
	return timestamp.ReplaceAllString(s, `"$1": "TIMESTAMP"`)
}

func golden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// testdata is the package's testdata directory, whatever the working
// directory of the test.
func testdata(t *testing.T, file string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "testdata", file)
}

func checkNoSecrets(t *testing.T, out string) {
	t.Helper()
	for k, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("the statement contains the value of %s", k)
		}
	}
}

func TestGenerateGitHubActions(t *testing.T) {
	goldenPath := testdata(t, "github-actions.json")
	reg := setup(t)
	stdout, stderr, err := run(t, githubEnv(), "provenance", "generate", reg.Ref("acme/shop:1.4.0"),
		"--dockerfile", "Dockerfile",
		"--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23",
		"--build-arg", "BUILDPLATFORM=linux/amd64", "--build-arg", "NPM_TOKEN="+secrets["NPM_TOKEN"],
		"--record-build-arg", "GO_VERSION")
	if err != nil {
		t.Fatalf("sc provenance generate: %v\n%s", err, stderr)
	}
	golden(t, goldenPath, redact(stdout, reg))
	checkNoSecrets(t, stdout)
	checkNoSecrets(t, stderr)

	_, pred, err := provenance.Parse([]byte(stdout))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := provenance.Verify(pred, provenance.Expectations{
		BuilderID: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
		SourceURI: "https://github.com/acme/shop",
		Commit:    commit,
	}); err != nil {
		t.Errorf("Verify: %v", err)
	}
	md := pred.GetRunDetails().GetMetadata()
	if md.GetStartedOn() == nil || md.GetFinishedOn() == nil || md.GetFinishedOn().AsTime().Before(md.GetStartedOn().AsTime()) {
		t.Errorf("metadata times %v … %v", md.GetStartedOn(), md.GetFinishedOn())
	}
}

func TestGenerateGitLabCI(t *testing.T) {
	goldenPath := testdata(t, "gitlab-ci.json")
	reg := setup(t)
	out := filepath.Join(t.TempDir(), "provenance.json")
	stdout, stderr, err := run(t, gitlabEnv(), "provenance", "generate", reg.Ref("acme/shop:1.4.0"),
		"--dockerfile", "Dockerfile", "--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23",
		"--started-on", "2025-03-14T15:09:26Z", "--output", out)
	if err != nil {
		t.Fatalf("sc provenance generate: %v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing with --output", stdout)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"startedOn": "2025-03-14T15:09:26Z"`) {
		t.Error("--started-on is not the statement's startedOn")
	}
	golden(t, goldenPath, redact(string(raw), reg))
	checkNoSecrets(t, string(raw))
	if !strings.Contains(stderr, "wrote provenance") {
		t.Errorf("stderr %q does not report the file", stderr)
	}
}

// TestGenerateLocalCheckout runs outside CI: the source comes from the git
// checkout holding the Dockerfile, and the builder id has to be given.
func TestGenerateLocalCheckout(t *testing.T) {
	reg := setup(t)
	repo := t.TempDir()
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
		"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.com",
	}
	git := func(args ...string) string {
		t.Helper()
		c := exec.Command("git", append([]string{"-C", repo}, args...)...)
		for k, v := range env {
			c.Env = append(c.Env, k+"="+v)
		}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("remote", "add", "origin", "https://git.example.com/acme/shop.git")
	if err := os.MkdirAll(filepath.Join(repo, "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "docker", "Dockerfile"), []byte("FROM "+reg.Ref("base/runtime:2")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "initial")
	head := git("rev-parse", "HEAD")

	dockerfilePath := filepath.Join(repo, "docker", "Dockerfile")
	_, stderr, err := run(t, env, "provenance", "generate", reg.Ref("acme/shop:1.4.0"), "--dockerfile", dockerfilePath)
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "builder id") {
		t.Fatalf("without --builder-id outside CI: %v (exit %d), want a usage error about the builder id\n%s", err, outcome.Code(err), stderr)
	}

	stdout, stderr, err := run(t, env, "provenance", "generate", reg.Ref("acme/shop:1.4.0"),
		"--dockerfile", dockerfilePath, "--builder-id", "https://ci.example.com/builders/shop")
	if err != nil {
		t.Fatalf("sc provenance generate: %v\n%s", err, stderr)
	}
	_, pred, err := provenance.Parse([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	ext := pred.GetBuildDefinition().GetExternalParameters().AsMap()
	want := map[string]any{
		"source": map[string]any{"uri": "https://git.example.com/acme/shop", "ref": "refs/heads/main", "commit": head},
		"dockerfile": map[string]any{
			"path":   "docker/Dockerfile",
			"digest": ext["dockerfile"].(map[string]any)["digest"],
		},
	}
	if diff := cmp.Diff(want, ext); diff != "" {
		t.Errorf("externalParameters (-want +got):\n%s", diff)
	}
	if got := pred.GetRunDetails().GetBuilder().GetId(); got != "https://ci.example.com/builders/shop" {
		t.Errorf("builder id %q", got)
	}
	if _, ok := pred.GetBuildDefinition().GetInternalParameters().AsMap()["ciProvider"]; ok {
		t.Error("ciProvider recorded outside CI")
	}
}

func TestGenerateErrors(t *testing.T) {
	reg := setup(t)
	image := reg.Ref("acme/shop:1.4.0")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{{
		name:     "no image",
		args:     []string{"provenance", "generate"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "accepts 1 arg",
	}, {
		name:     "Dockerfile missing",
		args:     []string{"provenance", "generate", image, "--dockerfile", "nope/Dockerfile"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "nope/Dockerfile",
	}, {
		name:     "a base image tag that does not exist",
		args:     []string{"provenance", "generate", image, "--dockerfile", "Dockerfile", "--build-arg", "REGISTRY=" + reg.Host},
		wantCode: outcome.ExitInvalid,
		wantMsg:  reg.Ref("base/golang:1.22"),
	}, {
		name:     "image not in the registry",
		args:     []string{"provenance", "generate", reg.Ref("acme/shop:9.9.9")},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "acme/shop:9.9.9",
	}, {
		name:     "bad image reference",
		args:     []string{"provenance", "generate", "Not An Image"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "Not An Image",
	}, {
		name: "build argument without a value is not read from the environment",
		args: []string{"provenance", "generate", image, "--dockerfile", "Dockerfile",
			"--build-arg", "REGISTRY=" + reg.Host, "--build-arg", "NPM_TOKEN"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "KEY=VALUE",
	}, {
		name:     "record a build argument with a value",
		args:     []string{"provenance", "generate", image, "--record-build-arg", "A=B"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "--record-build-arg",
	}, {
		name:     "bad --started-on",
		args:     []string{"provenance", "generate", image, "--started-on", "yesterday"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "RFC 3339",
	}, {
		name:     "--started-on in the future",
		args:     []string{"provenance", "generate", image, "--started-on", "2999-01-01T00:00:00Z"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "future",
	}, {
		name:     "output directory missing",
		args:     []string{"provenance", "generate", image, "--output", "nonexistent/dir/provenance.json"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "--output nonexistent/dir/provenance.json: directory nonexistent/dir does not exist",
	}, {
		name:     "attach: output directory missing",
		args:     []string{"provenance", "attach", image, "--key", "nonexistent.key", "--output", "nonexistent/dir/provenance.json"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "--output nonexistent/dir/provenance.json",
	}, {
		name:     "broken Dockerfile",
		args:     []string{"provenance", "generate", image, "--dockerfile", "Dockerfile"},
		wantCode: outcome.ExitInvalid,
		wantMsg:  "blank base image",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := githubEnv()
			if tt.name == "broken Dockerfile" {
				// BASE is declared without a default and not given: the
				// FROM line names nothing.
				if err := os.WriteFile("Dockerfile", []byte("ARG BASE\nFROM ${BASE}\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.WriteFile("Dockerfile", []byte(dockerfile), 0o644) })
			}
			stdout, stderr, err := run(t, env, tt.args...)
			if got := outcome.Code(err); got != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d\n%s", got, err, tt.wantCode, stderr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if stdout != "" {
				t.Errorf("stdout %q after an error", stdout)
			}
			checkNoSecrets(t, err.Error()+stderr)
		})
	}
}
