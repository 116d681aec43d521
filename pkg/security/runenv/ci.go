package runenv

import (
	"net/url"
	"strings"
)

// Provider names a CI service.
type Provider string

// The CI providers DetectCI recognises. ProviderNone is the zero value: not
// running in a recognised CI.
const (
	ProviderNone               Provider = ""
	ProviderGitHubActions      Provider = "github-actions"
	ProviderGitLabCI           Provider = "gitlab-ci"
	ProviderCircleCI           Provider = "circleci"
	ProviderBuildkite          Provider = "buildkite"
	ProviderJenkins            Provider = "jenkins"
	ProviderAzurePipelines     Provider = "azure-pipelines"
	ProviderBitbucketPipelines Provider = "bitbucket-pipelines"
)

// CI is what a CI provider says about the run sc is part of. Every field is
// empty when the provider does not report it; nothing is guessed beyond the
// derivations documented on each field.
type CI struct {
	// Provider is the detected CI service; ProviderNone outside CI.
	Provider Provider `json:"provider,omitempty"`
	// ServerURL is the base URL of the forge or CI server the run belongs to
	// (GITHUB_SERVER_URL, CI_SERVER_URL, JENKINS_URL, SYSTEM_COLLECTIONURI),
	// or the scheme and host of the run URL where the provider has no such
	// variable.
	ServerURL string `json:"serverURL,omitempty"`
	// RepositoryURL is the source repository in https form, without
	// credentials or a ".git" suffix.
	RepositoryURL string `json:"repositoryURL,omitempty"`
	// Commit is the full hexadecimal commit SHA being built. A value that is
	// not a full SHA (Buildkite may report "HEAD") is left out.
	Commit string `json:"commit,omitempty"`
	// Ref is the fully qualified git ref being built (refs/heads/main,
	// refs/tags/v1.2.0, refs/pull/7/merge) when it can be told.
	Ref string `json:"ref,omitempty"`
	// Branch is the branch being built; for pull or merge requests, the
	// source branch. Empty for tag builds.
	Branch string `json:"branch,omitempty"`
	// Tag is the tag being built, if any.
	Tag string `json:"tag,omitempty"`
	// RunID identifies the run (GitHub run, GitLab pipeline, CircleCI job
	// number, Buildkite build, Jenkins build, Azure build, Bitbucket build).
	RunID string `json:"runID,omitempty"`
	// RunURL links to the run (for GitHub including the attempt, for GitLab
	// the job).
	RunURL string `json:"runURL,omitempty"`
	// RunAttempt counts re-runs of the same run, where the provider counts
	// them (GitHub, Azure).
	RunAttempt string `json:"runAttempt,omitempty"`
	// Workflow names the pipeline definition that ran: GitHub's workflow
	// name, GitLab's CI config path, CircleCI's job, Buildkite's pipeline
	// slug, Jenkins' job, Azure's definition.
	Workflow string `json:"workflow,omitempty"`
	// WorkflowRef is GitHub's GITHUB_WORKFLOW_REF:
	// owner/repo/.github/workflows/file.yml@refs/heads/main.
	WorkflowRef string `json:"workflowRef,omitempty"`
	// Actor is who or what started the run, as the provider names it.
	Actor string `json:"actor,omitempty"`
	// Event is what triggered the run (push, pull_request, schedule, …), in
	// the provider's own words.
	Event string `json:"event,omitempty"`
}

// Detected reports whether a CI provider was recognised.
func (c CI) Detected() bool { return c.Provider != ProviderNone }

// DetectCI recognises the CI provider from env and reads what it reports,
// using each provider's documented variables. Providers are tried in a fixed
// order (GitHub Actions, GitLab CI, CircleCI, Buildkite, Azure Pipelines,
// Bitbucket Pipelines, Jenkins); outside CI it returns the zero CI.
func DetectCI(env Env) CI {
	c := detectCI(env)
	// Whatever a provider reports, a URL that leaves here carries no
	// credentials.
	c.ServerURL = stripCredentials(c.ServerURL)
	c.RunURL = stripCredentials(c.RunURL)
	return c
}

func detectCI(env Env) CI {
	switch {
	case env.Get("GITHUB_ACTIONS") == "true":
		return githubActions(env)
	case env.Get("GITLAB_CI") == "true":
		return gitlabCI(env)
	case env.Get("CIRCLECI") == "true":
		return circleCI(env)
	case env.Get("BUILDKITE") == "true":
		return buildkite(env)
	case strings.EqualFold(env.Get("TF_BUILD"), "true"):
		return azurePipelines(env)
	case env.Get("BITBUCKET_BUILD_NUMBER") != "" || env.Get("BITBUCKET_COMMIT") != "":
		return bitbucketPipelines(env)
	case env.Get("JENKINS_URL") != "" && env.Get("BUILD_URL") != "":
		return jenkins(env)
	}
	return CI{}
}

func githubActions(env Env) CI {
	server := trimSlash(env.Get("GITHUB_SERVER_URL"))
	if server == "" {
		server = "https://github.com"
	}
	c := CI{
		Provider:    ProviderGitHubActions,
		ServerURL:   server,
		Commit:      fullSHA(env.Get("GITHUB_SHA")),
		Ref:         env.Get("GITHUB_REF"),
		RunID:       env.Get("GITHUB_RUN_ID"),
		RunAttempt:  env.Get("GITHUB_RUN_ATTEMPT"),
		Workflow:    env.Get("GITHUB_WORKFLOW"),
		WorkflowRef: env.Get("GITHUB_WORKFLOW_REF"),
		Actor:       env.Get("GITHUB_ACTOR"),
		Event:       env.Get("GITHUB_EVENT_NAME"),
	}
	if repo := env.Get("GITHUB_REPOSITORY"); repo != "" {
		c.RepositoryURL = NormalizeRepoURL(server + "/" + repo)
		if c.RunID != "" && c.RepositoryURL != "" {
			c.RunURL = c.RepositoryURL + "/actions/runs/" + url.PathEscape(c.RunID)
			if c.RunAttempt != "" {
				c.RunURL += "/attempts/" + url.PathEscape(c.RunAttempt)
			}
		}
	}
	switch {
	case strings.HasPrefix(c.Ref, "refs/tags/"):
		c.Tag = strings.TrimPrefix(c.Ref, "refs/tags/")
	case env.Get("GITHUB_HEAD_REF") != "":
		// pull_request events: GITHUB_REF is refs/pull/N/merge and the
		// source branch is in GITHUB_HEAD_REF.
		c.Branch = env.Get("GITHUB_HEAD_REF")
	case strings.HasPrefix(c.Ref, "refs/heads/"):
		c.Branch = strings.TrimPrefix(c.Ref, "refs/heads/")
	}
	return c
}

func gitlabCI(env Env) CI {
	c := CI{
		Provider:      ProviderGitLabCI,
		ServerURL:     trimSlash(env.Get("CI_SERVER_URL")),
		RepositoryURL: NormalizeRepoURL(env.Get("CI_PROJECT_URL")),
		Commit:        fullSHA(env.Get("CI_COMMIT_SHA")),
		Tag:           env.Get("CI_COMMIT_TAG"),
		RunID:         env.Get("CI_PIPELINE_ID"),
		RunURL:        firstOf(env.Get("CI_JOB_URL"), env.Get("CI_PIPELINE_URL")),
		Workflow:      env.Get("CI_CONFIG_PATH"),
		Actor:         env.Get("GITLAB_USER_LOGIN"),
		Event:         env.Get("CI_PIPELINE_SOURCE"),
	}
	if c.Tag == "" {
		c.Branch = firstOf(env.Get("CI_COMMIT_BRANCH"),
			env.Get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
			env.Get("CI_COMMIT_REF_NAME"))
	}
	c.Ref = qualifyRef(c.Branch, c.Tag)
	if c.ServerURL == "" {
		c.ServerURL = origin(c.RepositoryURL)
	}
	return c
}

func circleCI(env Env) CI {
	c := CI{
		Provider:      ProviderCircleCI,
		RepositoryURL: NormalizeRepoURL(env.Get("CIRCLE_REPOSITORY_URL")),
		Commit:        fullSHA(env.Get("CIRCLE_SHA1")),
		Tag:           env.Get("CIRCLE_TAG"),
		RunID:         env.Get("CIRCLE_BUILD_NUM"),
		RunURL:        env.Get("CIRCLE_BUILD_URL"),
		Workflow:      env.Get("CIRCLE_JOB"),
		Actor:         env.Get("CIRCLE_USERNAME"),
	}
	if c.Tag == "" {
		c.Branch = env.Get("CIRCLE_BRANCH")
	}
	c.Ref = qualifyRef(c.Branch, c.Tag)
	c.ServerURL = origin(c.RunURL)
	return c
}

func buildkite(env Env) CI {
	c := CI{
		Provider:      ProviderBuildkite,
		RepositoryURL: NormalizeRepoURL(env.Get("BUILDKITE_REPO")),
		Commit:        fullSHA(env.Get("BUILDKITE_COMMIT")),
		Tag:           env.Get("BUILDKITE_TAG"),
		RunID:         env.Get("BUILDKITE_BUILD_ID"),
		RunURL:        env.Get("BUILDKITE_BUILD_URL"),
		Workflow:      env.Get("BUILDKITE_PIPELINE_SLUG"),
		Actor:         env.Get("BUILDKITE_BUILD_CREATOR"),
		Event:         env.Get("BUILDKITE_SOURCE"),
	}
	if c.Tag == "" {
		c.Branch = env.Get("BUILDKITE_BRANCH")
	}
	c.Ref = qualifyRef(c.Branch, c.Tag)
	c.ServerURL = origin(c.RunURL)
	return c
}

func azurePipelines(env Env) CI {
	collection := env.Get("SYSTEM_COLLECTIONURI")
	c := CI{
		Provider:      ProviderAzurePipelines,
		ServerURL:     trimSlash(collection),
		RepositoryURL: NormalizeRepoURL(env.Get("BUILD_REPOSITORY_URI")),
		Commit:        fullSHA(env.Get("BUILD_SOURCEVERSION")),
		Ref:           env.Get("BUILD_SOURCEBRANCH"),
		RunID:         env.Get("BUILD_BUILDID"),
		RunAttempt:    env.Get("SYSTEM_JOBATTEMPT"),
		Workflow:      env.Get("BUILD_DEFINITIONNAME"),
		Actor:         env.Get("BUILD_REQUESTEDFOR"),
		Event:         env.Get("BUILD_REASON"),
	}
	switch {
	case strings.HasPrefix(c.Ref, "refs/tags/"):
		c.Tag = strings.TrimPrefix(c.Ref, "refs/tags/")
	case env.Get("SYSTEM_PULLREQUEST_SOURCEBRANCH") != "":
		c.Branch = strings.TrimPrefix(env.Get("SYSTEM_PULLREQUEST_SOURCEBRANCH"), "refs/heads/")
	case strings.HasPrefix(c.Ref, "refs/heads/"):
		c.Branch = strings.TrimPrefix(c.Ref, "refs/heads/")
	}
	project := env.Get("SYSTEM_TEAMPROJECT")
	if c.ServerURL != "" && project != "" && c.RunID != "" {
		c.RunURL = c.ServerURL + "/" + url.PathEscape(project) +
			"/_build/results?buildId=" + url.QueryEscape(c.RunID)
	}
	return c
}

func bitbucketPipelines(env Env) CI {
	c := CI{
		Provider:      ProviderBitbucketPipelines,
		RepositoryURL: NormalizeRepoURL(env.Get("BITBUCKET_GIT_HTTP_ORIGIN")),
		Commit:        fullSHA(env.Get("BITBUCKET_COMMIT")),
		Tag:           env.Get("BITBUCKET_TAG"),
		RunID:         env.Get("BITBUCKET_BUILD_NUMBER"),
		Actor:         env.Get("BITBUCKET_STEP_TRIGGERER_UUID"),
	}
	if c.RepositoryURL == "" && env.Get("BITBUCKET_REPO_FULL_NAME") != "" {
		c.RepositoryURL = NormalizeRepoURL("https://bitbucket.org/" + env.Get("BITBUCKET_REPO_FULL_NAME"))
	}
	// Bitbucket Pipelines runs only on Bitbucket Cloud, which documents its
	// origin as http://bitbucket.org/…; the repository is served over https.
	if rest, ok := strings.CutPrefix(c.RepositoryURL, "http://bitbucket.org/"); ok {
		c.RepositoryURL = "https://bitbucket.org/" + rest
	}
	if c.Tag == "" {
		c.Branch = env.Get("BITBUCKET_BRANCH")
	}
	c.Ref = qualifyRef(c.Branch, c.Tag)
	if c.RepositoryURL != "" && c.RunID != "" {
		c.RunURL = c.RepositoryURL + "/pipelines/results/" + url.PathEscape(c.RunID)
	}
	c.ServerURL = origin(c.RepositoryURL)
	return c
}

func jenkins(env Env) CI {
	c := CI{
		Provider:      ProviderJenkins,
		ServerURL:     trimSlash(env.Get("JENKINS_URL")),
		RepositoryURL: NormalizeRepoURL(env.Get("GIT_URL")),
		Commit:        fullSHA(env.Get("GIT_COMMIT")),
		Tag:           env.Get("TAG_NAME"),
		RunID:         env.Get("BUILD_ID"),
		RunURL:        env.Get("BUILD_URL"),
		Workflow:      env.Get("JOB_NAME"),
	}
	if c.Tag == "" {
		// Multibranch pipelines set BRANCH_NAME; the git plugin sets
		// GIT_BRANCH as remote/branch ("origin/main").
		c.Branch = env.Get("BRANCH_NAME")
		if c.Branch == "" {
			b := env.Get("GIT_BRANCH")
			b = strings.TrimPrefix(b, "refs/heads/")
			b = strings.TrimPrefix(b, "origin/")
			c.Branch = b
		}
	}
	c.Ref = qualifyRef(c.Branch, c.Tag)
	return c
}

// qualifyRef returns refs/tags/tag or refs/heads/branch, or "" when neither
// is known.
func qualifyRef(branch, tag string) string {
	switch {
	case tag != "":
		return "refs/tags/" + tag
	case branch != "":
		return "refs/heads/" + branch
	}
	return ""
}

// fullSHA returns s when it is a full SHA-1 or SHA-256 commit id in
// hexadecimal, lower-cased, and "" otherwise.
func fullSHA(s string) string {
	if len(s) != 40 && len(s) != 64 {
		return ""
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return ""
		}
	}
	return strings.ToLower(s)
}

// origin returns the scheme and host of an http(s) URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
