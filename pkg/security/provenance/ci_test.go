package provenance_test

import (
	"errors"
	"testing"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/runenv"
)

func githubCI() runenv.CI {
	return runenv.CI{
		Provider:      runenv.ProviderGitHubActions,
		ServerURL:     "https://github.com",
		RepositoryURL: "https://github.com/acme/shop",
		Ref:           "refs/heads/main",
		RunURL:        "https://github.com/acme/shop/actions/runs/9876543210/attempts/2",
		RunAttempt:    "2",
		Workflow:      "release",
		WorkflowRef:   "acme/shop/.github/workflows/release.yml@refs/heads/main",
	}
}

func gitlabCI() runenv.CI {
	return runenv.CI{
		Provider:      runenv.ProviderGitLabCI,
		ServerURL:     "https://gitlab.example.com",
		RepositoryURL: "https://gitlab.example.com/acme/platform/shop",
		Ref:           "refs/tags/v1.4.0",
		RunURL:        "https://gitlab.example.com/acme/platform/shop/-/jobs/4242",
		Workflow:      "ci/release.gitlab-ci.yml",
	}
}

func TestCIBuilderID(t *testing.T) {
	tests := []struct {
		name string
		ci   func(*runenv.CI)
		base runenv.CI
		want string
	}{{
		name: "GitHub Actions",
		base: githubCI(),
		want: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
	}, {
		name: "GitHub Enterprise Server",
		base: githubCI(),
		ci: func(c *runenv.CI) {
			c.ServerURL = "https://ghe.example.com/"
		},
		want: "https://ghe.example.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
	}, {
		name: "GitHub Actions without server URL",
		base: githubCI(),
		ci:   func(c *runenv.CI) { c.ServerURL = "" },
		want: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
	}, {
		name: "reusable workflow ref of a pull request",
		base: githubCI(),
		ci: func(c *runenv.CI) {
			c.WorkflowRef = "acme/shop/.github/workflows/ci.yml@refs/pull/7/merge"
		},
		want: "https://github.com/acme/shop/.github/workflows/ci.yml@refs/pull/7/merge",
	}, {
		name: "GitLab CI",
		base: gitlabCI(),
		want: "https://gitlab.example.com/acme/platform/shop//ci/release.gitlab-ci.yml@refs/tags/v1.4.0",
	}, {
		name: "GitLab CI default configuration",
		base: gitlabCI(),
		ci:   func(c *runenv.CI) { c.Workflow = "" },
		want: "https://gitlab.example.com/acme/platform/shop//.gitlab-ci.yml@refs/tags/v1.4.0",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base
			if tt.ci != nil {
				tt.ci(&c)
			}
			got, err := provenance.BuilderID(c)
			if err != nil {
				t.Fatalf("BuilderID: %v", err)
			}
			if got != tt.want {
				t.Errorf("BuilderID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCIBuilderIDUnavailable(t *testing.T) {
	tests := []struct {
		name string
		ci   runenv.CI
	}{
		{name: "not in CI", ci: runenv.CI{}},
		{name: "GitHub without workflow ref", ci: runenv.CI{Provider: runenv.ProviderGitHubActions, ServerURL: "https://github.com"}},
		{name: "GitLab without ref", ci: runenv.CI{Provider: runenv.ProviderGitLabCI, RepositoryURL: "https://gitlab.com/a/b"}},
		{name: "GitLab configuration in another project", ci: runenv.CI{
			Provider: runenv.ProviderGitLabCI, RepositoryURL: "https://gitlab.com/a/b", Ref: "refs/heads/main",
			Workflow: "templates/ci.yml@acme/ci-templates",
		}},
		{name: "GitLab configuration at a URL", ci: runenv.CI{
			Provider: runenv.ProviderGitLabCI, RepositoryURL: "https://gitlab.com/a/b", Ref: "refs/heads/main",
			Workflow: "https://example.com/ci.yml",
		}},
		{name: "other provider", ci: runenv.CI{Provider: runenv.ProviderJenkins, RunURL: "https://jenkins.example.com/job/x/1/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := provenance.BuilderID(tt.ci)
			if !errors.Is(err, provenance.ErrNoBuilderID) {
				t.Fatalf("BuilderID = %q, %v; want ErrNoBuilderID", id, err)
			}
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitInvalid)
			}
		})
	}
}

func TestCIWorkflowPathAndInvocationID(t *testing.T) {
	tests := []struct {
		name           string
		ci             runenv.CI
		wantPath       string
		wantInvocation string
	}{{
		name:           "GitHub: the attempt is in the run URL",
		ci:             githubCI(),
		wantPath:       ".github/workflows/release.yml",
		wantInvocation: "https://github.com/acme/shop/actions/runs/9876543210/attempts/2",
	}, {
		name:           "GitLab: the job URL",
		ci:             gitlabCI(),
		wantPath:       "ci/release.gitlab-ci.yml",
		wantInvocation: "https://gitlab.example.com/acme/platform/shop/-/jobs/4242",
	}, {
		name: "attempt added as a fragment",
		ci: runenv.CI{
			Provider: "azure-pipelines", Workflow: "shop-release", RunAttempt: "3",
			RunURL: "https://dev.azure.com/acme/shop/_build/results?buildId=77",
		},
		wantInvocation: "https://dev.azure.com/acme/shop/_build/results?buildId=77#attempt=3",
	}, {
		name:           "GitHub workflow ref without a path",
		ci:             runenv.CI{Provider: runenv.ProviderGitHubActions, WorkflowRef: "acme/shop@refs/heads/main"},
		wantPath:       "",
		wantInvocation: "",
	}, {
		name: "local run",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := provenance.WorkflowPath(tt.ci); got != tt.wantPath {
				t.Errorf("WorkflowPath = %q, want %q", got, tt.wantPath)
			}
			if got := provenance.InvocationID(tt.ci); got != tt.wantInvocation {
				t.Errorf("InvocationID = %q, want %q", got, tt.wantInvocation)
			}
		})
	}
}
