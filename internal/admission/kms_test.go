package admission_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/kmstest"
)

// kmsPolicy is a deploy policy whose one signer is the KMS key uri.
func kmsPolicy(t *testing.T, uri string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	text := "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop-kms\nsigners:\n  - key: " + uri + "\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exportPolicy runs `sc policy export` on a policy file.
func exportPolicy(t *testing.T, policy, format, sigFormat string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), format+"-"+sigFormat+".yaml")
	sc(t, nil, "policy", "export", "--format", format, "--signature-format", sigFormat, "-o", out, policy)
	return out
}

// Kyverno's CLI reads a keys.kms attestor from the KMS itself (local-kms,
// with the emulator's AWS environment): it admits an image sc signed with
// that awskms:// key, in either format, and refuses an unsigned one and one
// signed by another key of the same KMS.
func TestKyvernoKMS(t *testing.T) {
	kyverno := testutil.Tool(t, "kubectl-kyverno")
	a := kmstest.StartAWS(t)
	a.CreateKey(t, "release")
	a.CreateKey(t, "other")
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			reg := testutil.NewRegistry(t, testutil.WithReferrers())
			if format == "bundle" {
				reg = &testutil.StartDockerRegistry(t).Registry // see TestKyvernoApply
			}
			refs := map[string]string{}
			for _, c := range []struct{ name, key string }{{"signed", a.URI("release")}, {"other-key", a.URI("other")}, {"unsigned", ""}} {
				d := push(t, reg, "shop/kms-"+c.name+":1")
				refs[c.name] = d.String()
				if c.key != "" {
					sc(t, nil, "image", "sign", d.String(), "--key", c.key, "--tlog-upload=false", "--format", format)
				}
			}
			pol := exportPolicy(t, kmsPolicy(t, a.URI("release")), "kyverno", format)
			if text, _ := os.ReadFile(pol); !bytes.Contains(text, []byte("kms: "+a.URI("release"))) {
				t.Fatalf("the export has no keys.kms:\n%s", text)
			}
			for name, admit := range map[string]bool{"signed": true, "other-key": false, "unsigned": false} {
				t.Run(name, func(t *testing.T) {
					pod := writeTemp(t, "pod.yaml", []byte(podYAML("kms-"+name, refs[name])))
					c := exec.Command(kyverno, "apply", pol, "--resource", pod, "--registry")
					c.Env = append(a.Env(t.TempDir()), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
					out, _ := c.CombinedOutput()
					pass, fail, ok := kyvernoCounts(out)
					if !ok {
						t.Fatalf("kyverno apply printed no result counts:\n%s", lastLines(out, 30))
					}
					t.Logf("kyverno apply:\n%s", lastLines(out, 6))
					if got := pass > 0 && fail == 0; got != admit {
						t.Errorf("kyverno pass: %d, fail: %d; want admitted=%v\n%s", pass, fail, admit, lastLines(out, 30))
					}
				})
			}
		})
	}
}

// policy-controller's own validation (policy-tester validates the
// ClusterImagePolicy before it verifies) accepts the key.kms sc exports for
// an alias ARN, which is why sc exports an awskms:// key for it by ARN only
// (an alias/NAME export is refused by sc, see TestExportKMSKeys; here the
// tester is shown refusing such a CIP written by hand). policy-tester
// itself cannot verify with a KMS key: only policy-controller's reconciler
// reads KMS keys and inlines them (inlinePublicKeys in
// pkg/reconciler/clusterimagepolicy/clusterimagepolicy.go, v0.13.1); the
// tester compiles the CIP as written (cmd/tester/main.go: policy.Compile),
// leaving the authority without key data, so it refuses even a correctly
// signed image — which this test asserts, so that a tester that starts
// reading KMS keys is noticed.
func TestPolicyTesterKMS(t *testing.T) {
	tester := testutil.Tool(t, "policy-tester")
	a := kmstest.StartAWS(t)
	a.CreateKey(t, "release")
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	d := push(t, reg, "shop/kms-signed:1")
	arn := "awskms://" + a.Endpoint + "/arn:aws:kms:" + kmstest.Region + ":111122223333:alias/release"
	sc(t, nil, "image", "sign", d.String(), "--key", arn, "--tlog-upload=false", "--format", "legacy")
	cip := exportPolicy(t, kmsPolicy(t, arn), "policy-controller", "legacy")
	text, err := os.ReadFile(cip)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("kms: "+arn)) {
		t.Fatalf("the export has no key.kms:\n%s", text)
	}
	run := func(t *testing.T, cip string) string {
		c := exec.Command(tester, "-policy", cip, "-image", d.String())
		c.Env = a.Env(t.TempDir())
		out, err := c.CombinedOutput()
		t.Logf("policy-tester: %v\n%s", err, lastLines(out, 4))
		if err == nil {
			t.Errorf("policy-tester verified with a KMS key it does not read:\n%s", lastLines(out, 15))
		}
		return string(out)
	}
	out := run(t, cip)
	if !strings.Contains(out, "Policy was successfully validated") {
		t.Errorf("policy-controller's validation refuses the exported key.kms:\n%s", lastLines([]byte(out), 15))
	}
	if !strings.Contains(out, "there are no public keys for authority signature-0") {
		t.Errorf("policy-tester refuses the KMS-signed image for another reason than the KMS key it does not read:\n%s", lastLines([]byte(out), 15))
	}
	alias := filepath.Join(t.TempDir(), "alias.yaml")
	if err := os.WriteFile(alias, bytes.ReplaceAll(text, []byte(arn), []byte(a.URI("release"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(t, alias); !strings.Contains(out, "CIP is invalid") || !strings.Contains(out, "key or alias arn") {
		t.Errorf("policy-controller's validation accepts an awskms:// alias/NAME key, which sc refuses to export:\n%s", lastLines([]byte(out), 15))
	}
}
