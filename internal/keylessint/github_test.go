package keylessint

import (
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil/cosigntest"
	"github.com/sc-project/sc/pkg/outcome"
)

// testGitHubActionsIdentity signs with a token shaped as GitHub Actions'
// (the flow most users run), which the real Fulcio turns into a workflow
// URI identity with GitHub's certificate extensions, and verifies the
// identity with sc and with cosign's GitHub-specific checks.
func testGitHubActionsIdentity(t *testing.T, e *env) {
	ref := e.pushImage(t, "gha:v1").String()
	const workflowURI = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	tok := map[string]string{"SIGSTORE_ID_TOKEN": e.ss.GitHubToken("acme/shop", ".github/workflows/release.yml")}
	out, _, err := runSC(t, tok, append([]string{"image", "sign", ref, "--trusted-root", e.trustedRoot}, e.signFlags()...)...)
	if err != nil {
		t.Fatalf("sc image sign: %v\n%s", err, out)
	}
	if !strings.Contains(out, workflowURI) {
		t.Errorf("sign output does not name the workflow identity:\n%s", out)
	}
	verify := func(identityRegexp string) error {
		_, _, err := runSC(t, nil, "image", "verify", ref, "--certificate-identity-regexp", identityRegexp,
			"--certificate-oidc-issuer", e.ss.GitHubIssuerURL, "--trusted-root", e.trustedRoot)
		return err
	}
	if err := verify(`^https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/heads/main$`); err != nil {
		t.Fatalf("sc image verify: %v", err)
	}
	if err := verify(`^https://github\.com/acme/other/.*$`); outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("sc image verify of another repository's workflow: exit %d (%v), want %d", outcome.Code(err), err, outcome.ExitCheckFailed)
	}
	cosign := func(extra ...string) (string, error) {
		args := append([]string{"verify", "--trusted-root", e.trustedRoot, "--certificate-identity", workflowURI,
			"--certificate-oidc-issuer", e.ss.GitHubIssuerURL, "--allow-http-registry"}, extra...)
		return cosigntest.Run(t, append(args, ref)...)
	}
	if out, err := cosign("--certificate-github-workflow-repository", "acme/shop",
		"--certificate-github-workflow-sha", "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b", "--certificate-github-workflow-trigger", "push"); err != nil {
		t.Fatalf("cosign verify with GitHub's extensions: %v\n%s", err, out)
	}
	if out, err := cosign("--certificate-github-workflow-repository", "acme/other"); err == nil {
		t.Fatalf("cosign verify accepted another repository:\n%s", out)
	}
}
