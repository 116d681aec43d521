package provenance

import (
	"fmt"
	"strings"

	"github.com/sc-project/sc/pkg/security/runenv"
)

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
func BuilderID(c runenv.CI) (string, error) {
	switch c.Provider {
	case runenv.ProviderGitHubActions:
		if c.WorkflowRef == "" {
			return "", fmt.Errorf("%w: GitHub Actions did not report GITHUB_WORKFLOW_REF", ErrNoBuilderID)
		}
		server := strings.TrimRight(c.ServerURL, "/")
		if server == "" {
			server = "https://github.com"
		}
		return server + "/" + strings.TrimLeft(c.WorkflowRef, "/"), nil
	case runenv.ProviderGitLabCI:
		path := WorkflowPath(c)
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
func WorkflowPath(c runenv.CI) string {
	switch c.Provider {
	case runenv.ProviderGitHubActions:
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
	case runenv.ProviderGitLabCI:
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
func InvocationID(c runenv.CI) string {
	if c.RunURL == "" {
		return ""
	}
	if c.RunAttempt == "" || strings.HasSuffix(c.RunURL, "/attempts/"+c.RunAttempt) ||
		strings.Contains(c.RunURL, "#") {
		return c.RunURL
	}
	return c.RunURL + "#attempt=" + c.RunAttempt
}
