package provenance

import (
	"fmt"
	"strings"
)

// The CI providers whose runs CI.BuilderID can name. The values are those of
// pkg/security's Provider.
const (
	ProviderGitHubActions = "github-actions"
	ProviderGitLabCI      = "gitlab-ci"
)

// CI is what provenance needs to know about the CI run that built the image.
// Its fields mirror pkg/security's CI, which the caller maps field by field;
// this package does not detect anything itself.
type CI struct {
	// Provider is the CI service ("github-actions", "gitlab-ci", …), ""
	// outside CI.
	Provider string
	// ServerURL is the base URL of the forge (https://github.com,
	// https://gitlab.example.com).
	ServerURL string
	// RepositoryURL is the https URL of the repository the run belongs to.
	RepositoryURL string
	// Ref is the fully qualified git ref the run is for.
	Ref string
	// RunURL links to the run; for GitHub it includes the attempt.
	RunURL string
	// RunAttempt counts re-runs of the same run, where the provider does.
	RunAttempt string
	// Workflow names the pipeline definition: for GitLab CI the CI
	// configuration path (CI_CONFIG_PATH); for other providers a name.
	Workflow string
	// WorkflowRef is GitHub's GITHUB_WORKFLOW_REF:
	// owner/repo/.github/workflows/file.yml@refs/heads/main.
	WorkflowRef string
}

// BuilderID derives runDetails.builder.id from the run: the URI of the CI
// definition at the ref that ran, which is also the identity a keyless
// signature made in that run certifies, so that a verifier can hold the two
// against each other.
//
//   - GitHub Actions: ServerURL + "/" + WorkflowRef, for example
//     https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main.
//     This is the builder id SLSA's GitHub generator and GitHub's artifact
//     attestations use for a workflow (job_workflow_ref), and the subject of
//     the Fulcio certificate issued to it.
//   - GitLab CI: RepositoryURL + "//" + Workflow + "@" + Ref, for example
//     https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main: the
//     https form of GitLab's ci_config_ref_uri claim, which Fulcio
//     certifies. A CI configuration kept in another project or at a URL has
//     no such form.
//
// Other providers and local runs have no identity a verifier could check:
// BuilderID returns ErrNoBuilderID, and the builder id has to be configured
// (Build.BuilderID).
func (c CI) BuilderID() (string, error) {
	switch c.Provider {
	case ProviderGitHubActions:
		if c.WorkflowRef == "" {
			return "", fmt.Errorf("%w: GitHub Actions did not report GITHUB_WORKFLOW_REF", ErrNoBuilderID)
		}
		server := strings.TrimRight(c.ServerURL, "/")
		if server == "" {
			server = "https://github.com"
		}
		return server + "/" + strings.TrimLeft(c.WorkflowRef, "/"), nil
	case ProviderGitLabCI:
		path := c.WorkflowPath()
		switch {
		case c.RepositoryURL == "" || c.Ref == "":
			return "", fmt.Errorf("%w: GitLab CI did not report the project URL and ref", ErrNoBuilderID)
		case path == "":
			return "", fmt.Errorf("%w: the GitLab CI configuration %q is not a file of the project", ErrNoBuilderID, c.Workflow)
		}
		return strings.TrimRight(c.RepositoryURL, "/") + "//" + path + "@" + c.Ref, nil
	case "":
		return "", fmt.Errorf("%w: not running in CI; set the builder id explicitly", ErrNoBuilderID)
	}
	return "", fmt.Errorf("%w: sc derives builder ids for GitHub Actions and GitLab CI only, not %s; set it explicitly",
		ErrNoBuilderID, c.Provider)
}

// WorkflowPath is the CI definition's path in the repository, "" when the
// provider does not name a file:
//
//   - GitHub Actions: the path part of WorkflowRef
//     (.github/workflows/release.yml).
//   - GitLab CI: Workflow (CI_CONFIG_PATH), defaulting to .gitlab-ci.yml,
//     unless it names a file in another project or at a URL.
func (c CI) WorkflowPath() string {
	switch c.Provider {
	case ProviderGitHubActions:
		ref := c.WorkflowRef
		if i := strings.LastIndex(ref, "@"); i >= 0 {
			ref = ref[:i]
		}
		// owner/repo/<path>
		parts := strings.SplitN(ref, "/", 3)
		if len(parts) != 3 || parts[2] == "" {
			return ""
		}
		return parts[2]
	case ProviderGitLabCI:
		p := c.Workflow
		if p == "" {
			return ".gitlab-ci.yml"
		}
		// path@group/project[:ref] and URLs are configurations kept
		// elsewhere.
		if strings.ContainsAny(p, "@:") {
			return ""
		}
		return strings.TrimLeft(p, "/")
	}
	return ""
}

// InvocationID identifies the run for runDetails.metadata.invocationId: the
// run URL, with the attempt when the provider counts attempts and the URL
// does not already name it (GitHub's does: …/actions/runs/1/attempts/2);
// other attempts are added as a fragment, "#attempt=2", unless the URL has
// one. "" when the run has no URL.
func (c CI) InvocationID() string {
	if c.RunURL == "" {
		return ""
	}
	if c.RunAttempt == "" || strings.HasSuffix(c.RunURL, "/attempts/"+c.RunAttempt) ||
		strings.Contains(c.RunURL, "#") {
		return c.RunURL
	}
	return c.RunURL + "#attempt=" + c.RunAttempt
}
