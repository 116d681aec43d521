package runenv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	sha1Commit   = "4f1a2b3c4d5e6f708192a3b4c5d6e7f809102030"
	sha256Commit = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091020304f1a2b3c4d5e6f708192a3b4"
)

func TestDetectCI(t *testing.T) {
	tests := []struct {
		name string
		env  Env
		want CI
	}{{
		name: "none",
		env:  Env{"HOME": "/home/me", "PATH": "/usr/bin", "CI": "true"},
		want: CI{},
	}, {
		name: "github actions push to a branch",
		env: Env{
			"CI":                  "true",
			"GITHUB_ACTIONS":      "true",
			"GITHUB_SERVER_URL":   "https://github.com",
			"GITHUB_REPOSITORY":   "acme/shop",
			"GITHUB_RUN_ID":       "9876543210",
			"GITHUB_RUN_ATTEMPT":  "2",
			"GITHUB_SHA":          sha1Commit,
			"GITHUB_REF":          "refs/heads/main",
			"GITHUB_REF_NAME":     "main",
			"GITHUB_REF_TYPE":     "branch",
			"GITHUB_EVENT_NAME":   "push",
			"GITHUB_ACTOR":        "octocat",
			"GITHUB_WORKFLOW":     "release",
			"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/release.yml@refs/heads/main",
		},
		want: CI{
			Provider:      ProviderGitHubActions,
			ServerURL:     "https://github.com",
			RepositoryURL: "https://github.com/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/heads/main",
			Branch:        "main",
			RunID:         "9876543210",
			RunURL:        "https://github.com/acme/shop/actions/runs/9876543210/attempts/2",
			RunAttempt:    "2",
			Workflow:      "release",
			WorkflowRef:   "acme/shop/.github/workflows/release.yml@refs/heads/main",
			Actor:         "octocat",
			Event:         "push",
		},
	}, {
		name: "github actions pull request on enterprise server",
		env: Env{
			"GITHUB_ACTIONS":    "true",
			"GITHUB_SERVER_URL": "https://GHE.example.com/",
			"GITHUB_REPOSITORY": "platform/api",
			"GITHUB_RUN_ID":     "42",
			"GITHUB_SHA":        sha1Commit,
			"GITHUB_REF":        "refs/pull/17/merge",
			"GITHUB_REF_NAME":   "17/merge",
			"GITHUB_HEAD_REF":   "feature/login",
			"GITHUB_BASE_REF":   "main",
			"GITHUB_EVENT_NAME": "pull_request",
			"GITHUB_ACTOR":      "dev",
			"GITHUB_WORKFLOW":   "ci",
		},
		want: CI{
			Provider:      ProviderGitHubActions,
			ServerURL:     "https://GHE.example.com",
			RepositoryURL: "https://ghe.example.com/platform/api",
			Commit:        sha1Commit,
			Ref:           "refs/pull/17/merge",
			Branch:        "feature/login",
			RunID:         "42",
			RunURL:        "https://ghe.example.com/platform/api/actions/runs/42",
			Workflow:      "ci",
			Actor:         "dev",
			Event:         "pull_request",
		},
	}, {
		name: "github actions tag",
		env: Env{
			"GITHUB_ACTIONS":    "true",
			"GITHUB_REPOSITORY": "acme/shop",
			"GITHUB_SHA":        strings.ToUpper(sha1Commit),
			"GITHUB_REF":        "refs/tags/v1.2.0",
			"GITHUB_RUN_ID":     "7",
		},
		want: CI{
			Provider:      ProviderGitHubActions,
			ServerURL:     "https://github.com",
			RepositoryURL: "https://github.com/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/tags/v1.2.0",
			Tag:           "v1.2.0",
			RunID:         "7",
			RunURL:        "https://github.com/acme/shop/actions/runs/7",
		},
	}, {
		name: "gitlab branch pipeline",
		env: Env{
			"CI":                 "true",
			"GITLAB_CI":          "true",
			"CI_SERVER_URL":      "https://gitlab.example.com",
			"CI_PROJECT_URL":     "https://gitlab.example.com/group/sub/app",
			"CI_COMMIT_SHA":      sha1Commit,
			"CI_COMMIT_REF_NAME": "main",
			"CI_COMMIT_BRANCH":   "main",
			"CI_PIPELINE_ID":     "1234",
			"CI_PIPELINE_URL":    "https://gitlab.example.com/group/sub/app/-/pipelines/1234",
			"CI_JOB_URL":         "https://gitlab.example.com/group/sub/app/-/jobs/5678",
			"GITLAB_USER_LOGIN":  "alice",
			"CI_PIPELINE_SOURCE": "push",
			"CI_CONFIG_PATH":     ".gitlab-ci.yml",
		},
		want: CI{
			Provider:      ProviderGitLabCI,
			ServerURL:     "https://gitlab.example.com",
			RepositoryURL: "https://gitlab.example.com/group/sub/app",
			Commit:        sha1Commit,
			Ref:           "refs/heads/main",
			Branch:        "main",
			RunID:         "1234",
			RunURL:        "https://gitlab.example.com/group/sub/app/-/jobs/5678",
			Workflow:      ".gitlab-ci.yml",
			Actor:         "alice",
			Event:         "push",
		},
	}, {
		name: "gitlab tag pipeline",
		env: Env{
			"GITLAB_CI":          "true",
			"CI_PROJECT_URL":     "https://gitlab.com/acme/app",
			"CI_COMMIT_SHA":      sha1Commit,
			"CI_COMMIT_REF_NAME": "v2.0.0",
			"CI_COMMIT_TAG":      "v2.0.0",
			"CI_PIPELINE_ID":     "99",
			"CI_PIPELINE_URL":    "https://gitlab.com/acme/app/-/pipelines/99",
			"CI_PIPELINE_SOURCE": "push",
		},
		want: CI{
			Provider:      ProviderGitLabCI,
			ServerURL:     "https://gitlab.com",
			RepositoryURL: "https://gitlab.com/acme/app",
			Commit:        sha1Commit,
			Ref:           "refs/tags/v2.0.0",
			Tag:           "v2.0.0",
			RunID:         "99",
			RunURL:        "https://gitlab.com/acme/app/-/pipelines/99",
			Event:         "push",
		},
	}, {
		name: "gitlab merge request pipeline",
		env: Env{
			"GITLAB_CI":                           "true",
			"CI_PROJECT_URL":                      "https://gitlab.com/acme/app",
			"CI_COMMIT_SHA":                       sha1Commit,
			"CI_COMMIT_REF_NAME":                  "fix/bug",
			"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fix/bug",
			"CI_PIPELINE_SOURCE":                  "merge_request_event",
		},
		want: CI{
			Provider:      ProviderGitLabCI,
			ServerURL:     "https://gitlab.com",
			RepositoryURL: "https://gitlab.com/acme/app",
			Commit:        sha1Commit,
			Ref:           "refs/heads/fix/bug",
			Branch:        "fix/bug",
			Event:         "merge_request_event",
		},
	}, {
		name: "circleci with ssh repository url",
		env: Env{
			"CI":                    "true",
			"CIRCLECI":              "true",
			"CIRCLE_REPOSITORY_URL": "git@github.com:acme/shop.git",
			"CIRCLE_SHA1":           sha1Commit,
			"CIRCLE_BRANCH":         "main",
			"CIRCLE_BUILD_NUM":      "311",
			"CIRCLE_BUILD_URL":      "https://circleci.com/gh/acme/shop/311",
			"CIRCLE_JOB":            "build",
			"CIRCLE_USERNAME":       "bob",
			"CIRCLE_WORKFLOW_ID":    "6f0b2f0e-1111-2222-3333-444455556666",
		},
		want: CI{
			Provider:      ProviderCircleCI,
			ServerURL:     "https://circleci.com",
			RepositoryURL: "https://github.com/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/heads/main",
			Branch:        "main",
			RunID:         "311",
			RunURL:        "https://circleci.com/gh/acme/shop/311",
			Workflow:      "build",
			Actor:         "bob",
		},
	}, {
		name: "buildkite with a symbolic commit",
		env: Env{
			"BUILDKITE":               "true",
			"BUILDKITE_REPO":          "git@github.com:acme/shop.git",
			"BUILDKITE_COMMIT":        "HEAD",
			"BUILDKITE_BRANCH":        "main",
			"BUILDKITE_BUILD_ID":      "0190a6d2-aaaa-bbbb-cccc-ddddeeeeffff",
			"BUILDKITE_BUILD_NUMBER":  "12",
			"BUILDKITE_BUILD_URL":     "https://buildkite.com/acme/shop/builds/12",
			"BUILDKITE_PIPELINE_SLUG": "shop",
			"BUILDKITE_BUILD_CREATOR": "Carol",
			"BUILDKITE_SOURCE":        "ui",
		},
		want: CI{
			Provider:      ProviderBuildkite,
			ServerURL:     "https://buildkite.com",
			RepositoryURL: "https://github.com/acme/shop",
			Ref:           "refs/heads/main",
			Branch:        "main",
			RunID:         "0190a6d2-aaaa-bbbb-cccc-ddddeeeeffff",
			RunURL:        "https://buildkite.com/acme/shop/builds/12",
			Workflow:      "shop",
			Actor:         "Carol",
			Event:         "ui",
		},
	}, {
		name: "jenkins git plugin with credentials in the url",
		env: Env{
			"JENKINS_URL":  "https://ci.example.com/",
			"JENKINS_HOME": "/var/jenkins_home",
			"BUILD_URL":    "https://ci.example.com/job/shop/15/",
			"BUILD_ID":     "15",
			"JOB_NAME":     "shop",
			"GIT_COMMIT":   sha1Commit,
			"GIT_URL":      "https://jenkins:s3cr3t-token@git.example.com/acme/shop.git",
			"GIT_BRANCH":   "origin/release/1.x",
		},
		want: CI{
			Provider:      ProviderJenkins,
			ServerURL:     "https://ci.example.com",
			RepositoryURL: "https://git.example.com/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/heads/release/1.x",
			Branch:        "release/1.x",
			RunID:         "15",
			RunURL:        "https://ci.example.com/job/shop/15/",
			Workflow:      "shop",
		},
	}, {
		name: "jenkins multibranch tag",
		env: Env{
			"JENKINS_URL": "https://ci.example.com/",
			"BUILD_URL":   "https://ci.example.com/job/shop/job/v1.0.0/1/",
			"BUILD_ID":    "1",
			"JOB_NAME":    "shop/v1.0.0",
			"GIT_COMMIT":  sha256Commit,
			"TAG_NAME":    "v1.0.0",
			"BRANCH_NAME": "v1.0.0",
		},
		want: CI{
			Provider:  ProviderJenkins,
			ServerURL: "https://ci.example.com",
			Commit:    sha256Commit,
			Ref:       "refs/tags/v1.0.0",
			Tag:       "v1.0.0",
			RunID:     "1",
			RunURL:    "https://ci.example.com/job/shop/job/v1.0.0/1/",
			Workflow:  "shop/v1.0.0",
		},
	}, {
		name: "azure pipelines with user in the repository uri",
		env: Env{
			"TF_BUILD":             "True",
			"SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
			"SYSTEM_TEAMPROJECT":   "Shop Team",
			"BUILD_REPOSITORY_URI": "https://acme@dev.azure.com/acme/Shop%20Team/_git/shop",
			"BUILD_SOURCEVERSION":  sha1Commit,
			"BUILD_SOURCEBRANCH":   "refs/heads/feature/x",
			"BUILD_BUILDID":        "501",
			"SYSTEM_JOBATTEMPT":    "1",
			"BUILD_DEFINITIONNAME": "shop-ci",
			"BUILD_REQUESTEDFOR":   "Dana Developer",
			"BUILD_REASON":         "IndividualCI",
		},
		want: CI{
			Provider:      ProviderAzurePipelines,
			ServerURL:     "https://dev.azure.com/acme",
			RepositoryURL: "https://dev.azure.com/acme/Shop%20Team/_git/shop",
			Commit:        sha1Commit,
			Ref:           "refs/heads/feature/x",
			Branch:        "feature/x",
			RunID:         "501",
			RunURL:        "https://dev.azure.com/acme/Shop%20Team/_build/results?buildId=501",
			RunAttempt:    "1",
			Workflow:      "shop-ci",
			Actor:         "Dana Developer",
			Event:         "IndividualCI",
		},
	}, {
		name: "azure pipelines pull request",
		env: Env{
			"TF_BUILD":                        "True",
			"SYSTEM_COLLECTIONURI":            "https://dev.azure.com/acme/",
			"BUILD_REPOSITORY_URI":            "https://github.com/acme/shop",
			"BUILD_SOURCEBRANCH":              "refs/pull/3/merge",
			"SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/topic",
			"BUILD_REASON":                    "PullRequest",
		},
		want: CI{
			Provider:      ProviderAzurePipelines,
			ServerURL:     "https://dev.azure.com/acme",
			RepositoryURL: "https://github.com/acme/shop",
			Ref:           "refs/pull/3/merge",
			Branch:        "topic",
			Event:         "PullRequest",
		},
	}, {
		name: "bitbucket pipelines",
		env: Env{
			"CI":                            "true",
			"BITBUCKET_BUILD_NUMBER":        "88",
			"BITBUCKET_COMMIT":              sha1Commit,
			"BITBUCKET_BRANCH":              "main",
			"BITBUCKET_GIT_HTTP_ORIGIN":     "http://bitbucket.org/acme/shop",
			"BITBUCKET_REPO_FULL_NAME":      "acme/shop",
			"BITBUCKET_WORKSPACE":           "acme",
			"BITBUCKET_STEP_TRIGGERER_UUID": "{0f9e8d7c-0000-1111-2222-333344445555}",
		},
		want: CI{
			Provider:      ProviderBitbucketPipelines,
			ServerURL:     "https://bitbucket.org",
			RepositoryURL: "https://bitbucket.org/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/heads/main",
			Branch:        "main",
			RunID:         "88",
			RunURL:        "https://bitbucket.org/acme/shop/pipelines/results/88",
			Actor:         "{0f9e8d7c-0000-1111-2222-333344445555}",
		},
	}, {
		name: "bitbucket tag without http origin",
		env: Env{
			"BITBUCKET_BUILD_NUMBER":   "89",
			"BITBUCKET_COMMIT":         sha1Commit,
			"BITBUCKET_TAG":            "v3",
			"BITBUCKET_REPO_FULL_NAME": "acme/shop",
		},
		want: CI{
			Provider:      ProviderBitbucketPipelines,
			ServerURL:     "https://bitbucket.org",
			RepositoryURL: "https://bitbucket.org/acme/shop",
			Commit:        sha1Commit,
			Ref:           "refs/tags/v3",
			Tag:           "v3",
			RunID:         "89",
			RunURL:        "https://bitbucket.org/acme/shop/pipelines/results/89",
		},
	}, {
		name: "credentials in run and server urls are dropped",
		env: Env{
			"JENKINS_URL": "https://admin:hunter2@ci.example.com/",
			"BUILD_URL":   "https://admin:hunter2@ci.example.com/job/x/1/",
		},
		want: CI{
			Provider:  ProviderJenkins,
			ServerURL: "https://ci.example.com",
			RunURL:    "https://ci.example.com/job/x/1/",
		},
	}, {
		name: "jenkins needs both JENKINS_URL and BUILD_URL",
		env:  Env{"JENKINS_URL": "https://ci.example.com/"},
		want: CI{},
	}, {
		name: "github wins over a jenkins leftover",
		env: Env{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "a/b",
			"JENKINS_URL": "https://ci.example.com/", "BUILD_URL": "https://ci.example.com/job/x/1/",
		},
		want: CI{Provider: ProviderGitHubActions, ServerURL: "https://github.com", RepositoryURL: "https://github.com/a/b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectCI(tt.env)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DetectCI() mismatch (-want +got):\n%s", diff)
			}
			if got.Detected() != (tt.want.Provider != ProviderNone) {
				t.Errorf("Detected() = %v", got.Detected())
			}
		})
	}
}

func TestDetectCINeverLeaksCredentials(t *testing.T) {
	const secret = "s3cr3t-token"
	envs := []Env{
		{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://x:" + secret + "@github.com", "GITHUB_REPOSITORY": "a/b", "GITHUB_RUN_ID": "1"},
		{"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab-ci-token:" + secret + "@gitlab.com/a/b.git", "CI_SERVER_URL": "https://u:" + secret + "@gitlab.com", "CI_JOB_URL": "https://u:" + secret + "@gitlab.com/a/b/-/jobs/1"},
		{"CIRCLECI": "true", "CIRCLE_REPOSITORY_URL": "https://" + secret + "@github.com/a/b", "CIRCLE_BUILD_URL": "https://" + secret + "@circleci.com/gh/a/b/1"},
		{"BUILDKITE": "true", "BUILDKITE_REPO": "https://user:" + secret + "@github.com/a/b.git", "BUILDKITE_BUILD_URL": "https://x:" + secret + "@buildkite.com/a/b/builds/1"},
		{"TF_BUILD": "True", "BUILD_REPOSITORY_URI": "https://a:" + secret + "@dev.azure.com/a/p/_git/r", "SYSTEM_COLLECTIONURI": "https://a:" + secret + "@dev.azure.com/a/", "SYSTEM_TEAMPROJECT": "p", "BUILD_BUILDID": "1"},
		{"BITBUCKET_BUILD_NUMBER": "1", "BITBUCKET_GIT_HTTP_ORIGIN": "https://x-token-auth:" + secret + "@bitbucket.org/a/b"},
		{"JENKINS_URL": "https://a:" + secret + "@ci/", "BUILD_URL": "https://a:" + secret + "@ci/job/1/", "GIT_URL": "https://a:" + secret + "@git/a/b"},
	}
	for _, env := range envs {
		got := DetectCI(env)
		if got.Provider == ProviderNone {
			t.Errorf("DetectCI(%v) detected no provider", env)
		}
		for _, v := range []string{got.ServerURL, got.RepositoryURL, got.RunURL} {
			if strings.Contains(v, secret) {
				t.Errorf("DetectCI() for %s leaked a credential: %q", got.Provider, v)
			}
		}
	}
}

func TestEnvFromList(t *testing.T) {
	got := EnvFromList([]string{"A=1", "B=x=y", "A=2", "NOEQUALS", "=hidden", "EMPTY="})
	want := Env{"A": "2", "B": "x=y", "EMPTY": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EnvFromList() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A=2", "B=x=y", "EMPTY="}, got.List()); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	var nilEnv Env
	if nilEnv.Get("X") != "" {
		t.Error("nil Env.Get returned a value")
	}
}

func TestEnvVarsCoversDetection(t *testing.T) {
	// Every variable DetectCI reads must be in EnvVars, or a caller that
	// builds its Env from that list would detect less than one that does
	// not. Spy on reads by detecting from an Env that records lookups.
	known := map[string]bool{}
	for _, k := range EnvVars() {
		known[k] = true
	}
	envs := []Env{
		{"GITHUB_ACTIONS": "true"}, {"GITLAB_CI": "true"}, {"CIRCLECI": "true"},
		{"BUILDKITE": "true"}, {"TF_BUILD": "true"}, {"BITBUCKET_BUILD_NUMBER": "1"},
		{"JENKINS_URL": "x", "BUILD_URL": "y"},
	}
	for _, env := range envs {
		// Fill every variable any provider might read with a value, then
		// check that removing the ones outside EnvVars changes nothing.
		full := Env{}
		for k, v := range env {
			full[k] = v
		}
		for _, k := range allCIVarsForTest {
			if _, ok := full[k]; !ok {
				full[k] = "https://example.com/" + strings.ToLower(k)
			}
		}
		restricted := Env{}
		for k, v := range full {
			if known[k] {
				restricted[k] = v
			}
		}
		if diff := cmp.Diff(DetectCI(full), DetectCI(restricted)); diff != "" {
			t.Errorf("a variable read by DetectCI is missing from EnvVars (-full +restricted):\n%s", diff)
		}
	}
}

// allCIVarsForTest is every provider variable mentioned in ci.go, listed
// independently of EnvVars.
var allCIVarsForTest = strings.Fields(`
GITHUB_SERVER_URL GITHUB_REPOSITORY GITHUB_RUN_ID GITHUB_RUN_ATTEMPT GITHUB_SHA GITHUB_REF
GITHUB_HEAD_REF GITHUB_EVENT_NAME GITHUB_ACTOR GITHUB_WORKFLOW GITHUB_WORKFLOW_REF
CI_SERVER_URL CI_PROJECT_URL CI_COMMIT_SHA CI_COMMIT_TAG CI_COMMIT_BRANCH
CI_MERGE_REQUEST_SOURCE_BRANCH_NAME CI_COMMIT_REF_NAME CI_PIPELINE_ID CI_PIPELINE_URL CI_JOB_URL
CI_CONFIG_PATH GITLAB_USER_LOGIN CI_PIPELINE_SOURCE
CIRCLE_REPOSITORY_URL CIRCLE_SHA1 CIRCLE_TAG CIRCLE_BRANCH CIRCLE_BUILD_NUM CIRCLE_BUILD_URL
CIRCLE_JOB CIRCLE_USERNAME
BUILDKITE_REPO BUILDKITE_COMMIT BUILDKITE_TAG BUILDKITE_BRANCH BUILDKITE_BUILD_ID
BUILDKITE_BUILD_URL BUILDKITE_PIPELINE_SLUG BUILDKITE_BUILD_CREATOR BUILDKITE_SOURCE
SYSTEM_COLLECTIONURI SYSTEM_TEAMPROJECT BUILD_REPOSITORY_URI BUILD_SOURCEVERSION
BUILD_SOURCEBRANCH SYSTEM_PULLREQUEST_SOURCEBRANCH BUILD_BUILDID SYSTEM_JOBATTEMPT
BUILD_DEFINITIONNAME BUILD_REQUESTEDFOR BUILD_REASON
BITBUCKET_COMMIT BITBUCKET_GIT_HTTP_ORIGIN BITBUCKET_REPO_FULL_NAME BITBUCKET_TAG
BITBUCKET_BRANCH BITBUCKET_STEP_TRIGGERER_UUID
GIT_URL GIT_COMMIT TAG_NAME BUILD_ID JOB_NAME BRANCH_NAME GIT_BRANCH
`)
