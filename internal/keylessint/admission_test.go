package keylessint

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
)

// The cluster evaluators against keyless signatures of this Sigstore: the
// policy `sc policy export --trusted-root` writes for a signer identity and
// issuer and an SLSA provenance from one builder admits an image sc signed
// and attested keylessly as that identity, and refuses an unsigned one,
// one signed and attested by another identity of the same issuer, and one
// whose provenance names another builder.
//
//   - policy-controller's policy-tester, with the exported TrustRoot as
//     -trustroot (cmd/tester/main.go of v0.13.1 loads it into the
//     SigstoreKeys the authorities' trustRootRef names), in the legacy
//     format only: against a TrustRoot of sigstoreKeys, v0.13.1 files each
//     log under the bytes of its hex ID (pkg/apis/config/sigstore_keys.go:175)
//     where sigstore-go, which verifies bundles, looks for the raw ID, so no
//     bundle's Rekor entry is found; the export refuses that combination;
//   - Kyverno's CLI (kyverno apply --registry) in the legacy (Cosign)
//     format only: for Sigstore bundles Kyverno v1.19 takes trusted
//     material from its TUF repository alone (getTrustedRoot →
//     sigstoretuf.TrustedRoot in pkg/image/verifiers/cpol/cosign/sigstore.go),
//     so it cannot be pointed at a private instance without a TUF
//     repository of its own, which sc does not make; the export refuses
//     that combination (export.ErrUnsupported).
func testAdmission(t *testing.T, e *env) {
	const other = "intruder@example.com"
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	const builder = "https://example.com/builder"
	text := "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: keyless\nsigners:\n  - subject: " + identity + "\n    issuer: " + e.ss.OIDCIssuerURL + "\n" +
		"attestations:\n  - type: slsaprovenance1\n    provenance:\n      builderID: {exact: " + builder + "}\n"
	if err := os.WriteFile(policy, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	images := func(t *testing.T, format string) map[string]string {
		refs := map[string]string{}
		for _, c := range []struct{ name, signer, builder string }{
			{"signed", identity, builder}, {"other-identity", other, builder}, {"other-builder", identity, "https://example.com/anyone"}, {"unsigned", "", ""},
		} {
			ref := e.pushImage(t, "admit-"+format+"-"+c.name+":v1")
			refs[c.name] = ref.String()
			if c.signer == "" {
				continue
			}
			// a GitHub Actions run, so that the provenance has a source
			tok := map[string]string{"SIGSTORE_ID_TOKEN": e.ss.Token(c.signer), "CI": "true", "GITHUB_ACTIONS": "true",
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
				"GITHUB_SHA": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b", "GITHUB_REF": "refs/heads/main",
				"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1"}
			for _, args := range [][]string{
				{"image", "sign", ref.String(), "--format", format, "--trusted-root", e.trustedRoot},
				{"provenance", "attach", ref.String(), "--builder-id", c.builder, "--attestation-format", format},
			} {
				if out, _, err := runSC(t, tok, append(args, e.signFlags()...)...); err != nil {
					t.Fatalf("sc %s %s as %s: %v\n%s", args[0], args[1], c.signer, err, out)
				}
			}
		}
		return refs
	}
	export := func(t *testing.T, engine, format string) string {
		out := filepath.Join(t.TempDir(), engine+"-"+format+".yaml")
		if stdout, stderr, err := runSC(t, nil, "policy", "export", "--format", engine, "--signature-format", format, "--trusted-root", e.trustedRoot, "-o", out, policy); err != nil {
			t.Fatalf("sc policy export --format %s: %v\n%s%s", engine, err, stdout, stderr)
		}
		return out
	}
	admits := map[string]bool{"signed": true, "other-identity": false, "other-builder": false, "unsigned": false}
	// what each evaluator's refusal says, so that a refusal for another
	// reason (trust material it could not use) fails the test
	testerSays := map[string]string{"other-identity": "none of the expected identities matched", "other-builder": "rego policy for type provenance", "unsigned": "no matching attestations"}
	kyvernoSays := map[string]string{"other-identity": "subject mismatch: expected " + identity, "other-builder": "the provenance's builder must be " + builder, "unsigned": "no signatures found"}

	t.Run("bundle export refused", func(t *testing.T) {
		for _, engine := range []string{"kyverno", "policy-controller"} {
			_, _, err := runSC(t, nil, "policy", "export", "--format", engine, "--trusted-root", e.trustedRoot, policy)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "legacy signature format") {
				t.Errorf("sc policy export --format %s of a private Sigstore's bundles: %v (exit %d), want exit 2 pointing to the legacy format", engine, err, outcome.Code(err))
			}
		}
	})

	t.Run("policy-tester", func(t *testing.T) {
		tester := testutil.Tool(t, "policy-tester")
		for _, format := range []string{"legacy"} {
			t.Run(format, func(t *testing.T) {
				refs := images(t, format)
				b, err := os.ReadFile(export(t, "policy-controller", format))
				if err != nil {
					t.Fatal(err)
				}
				docs := strings.Split(string(b), "\n---\n")
				if len(docs) != 2 || !strings.Contains(docs[0], "kind: TrustRoot") {
					t.Fatalf("the export is not a TrustRoot and a ClusterImagePolicy:\n%s", b)
				}
				dir := t.TempDir()
				trustRoot, cip := filepath.Join(dir, "trustroot.yaml"), filepath.Join(dir, "cip.yaml")
				for file, doc := range map[string]string{trustRoot: docs[0], cip: docs[1]} {
					if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				for name, admit := range admits {
					t.Run(name, func(t *testing.T) {
						out, err := runTool(t, tester, "-policy", cip, "-trustroot", trustRoot, "-image", refs[name])
						admitted := err == nil && strings.Contains(out, "Verification was successful")
						t.Logf("policy-tester: %v\n%s", err, lastLines(out, 3))
						if admitted != admit {
							t.Errorf("policy-tester admitted=%v, want %v: %v\n%s", admitted, admit, err, lastLines(out, 15))
						}
						if !admit && !strings.Contains(out, testerSays[name]) {
							t.Errorf("policy-tester's refusal does not say %q:\n%s", testerSays[name], lastLines(out, 5))
						}
					})
				}
			})
		}
	})

	t.Run("kyverno", func(t *testing.T) {
		kyverno := testutil.Tool(t, "kubectl-kyverno")
		refs := images(t, "legacy")
		pol := export(t, "kyverno", "legacy")
		for name, admit := range admits {
			t.Run(name, func(t *testing.T) {
				pod := filepath.Join(t.TempDir(), "pod.yaml")
				podYAML := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: default\nspec:\n  containers:\n    - name: app\n      image: " + refs[name] + "\n"
				if err := os.WriteFile(pod, []byte(podYAML), 0o644); err != nil {
					t.Fatal(err)
				}
				out, _ := runTool(t, kyverno, "apply", pol, "--resource", pod, "--registry")
				m := kyvernoCounts.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("kyverno apply printed no result counts:\n%s", lastLines(out, 30))
				}
				t.Logf("kyverno apply:\n%s", lastLines(out, 6))
				if admitted := m[1] != "0" && m[2] == "0"; admitted != admit {
					t.Errorf("kyverno pass: %s, fail: %s; want admitted=%v\n%s", m[1], m[2], admit, lastLines(out, 30))
				}
				if !admit && !strings.Contains(out, kyvernoSays[name]) {
					t.Errorf("kyverno's refusal does not say %q:\n%s", kyvernoSays[name], lastLines(out, 10))
				}
			})
		}
	})
}

var kyvernoCounts = regexp.MustCompile(`pass: (\d+), fail: (\d+)`)

// runTool runs an evaluator with no registry credentials, configuration or
// TUF cache of the machine.
func runTool(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_CONFIG=" + home,
		"KUBECONFIG=" + filepath.Join(home, "none"), "TUF_ROOT=" + filepath.Join(home, "tuf")}
	out, err := c.CombinedOutput()
	return string(out), err
}

func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
