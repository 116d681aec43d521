package keylessint

import (
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil/cosigntest"
)

const identity = "ci@example.com"

// testSignVerify signs keylessly with sc against the real Fulcio, Rekor,
// CT log and TSA, in both formats, and verifies with sc and with the real
// cosign CLI.
func testSignVerify(t *testing.T, e *env) {
	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			ref := e.pushImage(t, "app-"+format+":v1")
			tok := map[string]string{"SIGSTORE_ID_TOKEN": e.ss.Token(identity)}
			out, _, err := runSC(t, tok, append([]string{"image", "sign", ref.String(), "--format", format, "--verify", "--trusted-root", e.trustedRoot}, e.signFlags()...)...)
			if err != nil {
				t.Fatalf("sc image sign: %v\nfulcio: %s\nrekor: %s", err, e.ss.Log("fulcio"), e.ss.Log("rekor-server"))
			}
			if !strings.Contains(out, identity) || !strings.Contains(out, "tlog index") {
				t.Errorf("sign output %q", out)
			}
			out, _, err = runSC(t, nil, "image", "verify", ref.String(), "--certificate-identity", identity,
				"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--trusted-root", e.trustedRoot)
			if err != nil {
				t.Fatalf("sc image verify: %v\n%s", err, out)
			}
			args := []string{"verify", "--trusted-root", e.trustedRoot, "--certificate-identity", identity,
				"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--allow-http-registry", ref.String()}
			if format == "legacy" {
				args = append(args, "--new-bundle-format=false")
			}
			if out, err := cosigntest.Run(t, args...); err != nil {
				t.Fatalf("cosign verify: %v\n%s", err, out)
			}
		})
	}
}

// TestRealSigstore starts one local Sigstore (tens of seconds) and runs
// every case against it; the failure cases come last, as they stop Rekor.
func TestRealSigstore(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"sign and verify", testSignVerify},
		{"attestations", testAttestations},
		{"cosign signs, sc verifies", testCosignSignsScVerifies},
		{"GitHub Actions identity", testGitHubActionsIdentity},
		{"release create", testReleaseCreate},
		{"cluster evaluators", testAdmission},
		{"failures", testFailures},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, e) })
	}
}
