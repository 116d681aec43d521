package keylessint

import (
	"testing"

	"github.com/sc-project/sc/internal/testutil/cosigntest"
)

// testAttestations attaches an SBOM and a provenance keylessly with sc
// against the real services, in both attestation formats, and verifies
// each with sc and with the real cosign CLI's verify-attestation.
func testAttestations(t *testing.T, e *env) {
	verifyFlags := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--trusted-root", e.trustedRoot}
	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			ref := e.pushImage(t, "att-"+format+":v1").String()
			// a GitHub Actions run, so that the provenance has a source
			tok := map[string]string{"SIGSTORE_ID_TOKEN": e.ss.Token(identity), "CI": "true", "GITHUB_ACTIONS": "true",
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
				"GITHUB_SHA": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b", "GITHUB_REF": "refs/heads/main",
				"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1",
				"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/release.yml@refs/heads/main"}
			for _, c := range []struct{ attach, verify []string }{
				{[]string{"sbom", "attach", ref}, []string{"sbom", "verify", ref}},
				{[]string{"provenance", "attach", ref, "--builder-id", "https://example.com/builder"},
					[]string{"provenance", "verify", ref, "--expected-builder-id", "https://example.com/builder"}},
			} {
				args := append(append(c.attach, "--attestation-format", format), e.signFlags()...)
				if out, _, err := runSC(t, tok, args...); err != nil {
					t.Fatalf("sc %v: %v\n%s", c.attach[:2], err, out)
				}
				if out, _, err := runSC(t, nil, append(c.verify, verifyFlags...)...); err != nil {
					t.Fatalf("sc %v: %v\n%s", c.verify[:2], err, out)
				}
			}
			for _, typ := range []string{"cyclonedx", "slsaprovenance1"} {
				args := []string{"verify-attestation", "--type", typ, "--trusted-root", e.trustedRoot,
					"--certificate-identity", identity, "--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--allow-http-registry", ref}
				if format == "legacy" {
					args = append(args, "--new-bundle-format=false")
				}
				if out, err := cosigntest.Run(t, args...); err != nil {
					t.Fatalf("cosign verify-attestation --type %s: %v\n%s", typ, err, out)
				}
			}
		})
	}
}

// testCosignSignsScVerifies: the real cosign CLI signs keylessly against
// the same services (its signing config names them); sc verifies it.
func testCosignSignsScVerifies(t *testing.T, e *env) {
	ref := e.pushImage(t, "by-cosign:v1").String()
	out, err := cosigntest.Run(t, "sign", "-y", "--identity-token", e.ss.Token(identity), "--signing-config", e.signingCfg,
		"--trusted-root", e.trustedRoot, "--allow-http-registry", ref)
	if err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	if out, _, err := runSC(t, nil, "image", "verify", ref, "--certificate-identity", identity,
		"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--trusted-root", e.trustedRoot); err != nil {
		t.Fatalf("sc image verify of cosign's signature: %v\n%s", err, out)
	}
	out, _, err = runSC(t, nil, "image", "verify", ref, "--certificate-identity", "mallory@example.com",
		"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--trusted-root", e.trustedRoot)
	if err == nil {
		t.Fatalf("sc image verify accepted another identity:\n%s", out)
	}
}
