package policy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	policycmd "github.com/sc-project/sc/pkg/cmd/policy"
	"github.com/sc-project/sc/pkg/outcome"
)

const pubPEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkdyVzPKkaFDiL1vMYRqR4RLrRH5Q
f/sp7yEB6JpSUAbnXO8C7W9VEncKx+pRxoLcybrwHYDS3bDbZS1EGeM4cg==
-----END PUBLIC KEY-----
`

const policyYAML = `apiVersion: sc.dev/v1
kind: ImagePolicy
name: shop
signers:
  - key: keys/cosign.pub
attestations:
  - type: vuln
    vuln:
      maxSeverity: high
`

func runExport(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &options.Root{Version: "test", Getenv: func(string) string { return "" }}
	c := rootcmd.New(root, policycmd.New(root))
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetIn(strings.NewReader(""))
	err = rootcmd.Execute(context.Background(), c, args)
	return out.String(), errb.String(), err
}

// policyDir writes the policy and its key (relative to the policy, in
// keys/) into a directory that is not the working directory.
func policyDir(t *testing.T, policy string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "cosign.pub"), []byte(pubPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExport(t *testing.T) {
	path := policyDir(t, policyYAML)
	stdout, _, err := runExport(t, "policy", "export", "--format", "kyverno", path)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	for _, want := range []string{"kind: ClusterPolicy", "name: shop", "type: SigstoreBundle", "MFkwEwYHKoZIzj0CAQYI", "severity == 'critical'"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the Kyverno policy lacks %q:\n%s", want, stdout)
		}
	}

	out := filepath.Join(t.TempDir(), "cip.yaml")
	stdout, _, err = runExport(t, "policy", "export", "--format", "policy-controller", "--signature-format", "legacy", "-o", out, path)
	if err != nil || stdout != "" {
		t.Fatalf("export -o: %v, stdout %q", err, stdout)
	}
	cip, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: ClusterImagePolicy", "signatureFormat: legacy", `forbidden := {"critical"}`} {
		if !strings.Contains(string(cip), want) {
			t.Errorf("the ClusterImagePolicy lacks %q:\n%s", want, cip)
		}
	}
}

// A policy given by a relative path, from another directory, finds its
// key relative to the policy file, not to the working directory.
func TestExportRelativePolicy(t *testing.T) {
	path := policyDir(t, policyYAML)
	t.Chdir(filepath.Dir(filepath.Dir(path)))
	rel := filepath.Join(filepath.Base(filepath.Dir(path)), "policy.yaml")
	if _, _, err := runExport(t, "policy", "export", "--format", "kyverno", rel); err != nil {
		t.Fatalf("export %s from %s: %v", rel, filepath.Dir(filepath.Dir(path)), err)
	}
}

func TestExportErrors(t *testing.T) {
	good := policyDir(t, policyYAML)
	for _, c := range []struct {
		name string
		args []string
		says string
	}{
		{"no format", []string{good}, "format"},
		{"unknown format", []string{"--format", "gatekeeper", good}, "gatekeeper"},
		{"signature format", []string{"--format", "kyverno", "--signature-format", "oci", good}, "oci"},
		{"key bundle for policy-controller", []string{"--format", "policy-controller", good}, "legacy"},
		{"missing policy", []string{"--format", "kyverno", filepath.Join(t.TempDir(), "nope.yaml")}, "nope.yaml"},
		{"unknown field", []string{"--format", "kyverno", policyDir(t, policyYAML+"  - type: cyclonedx\n    sbom: {format: cyclonedx}\n")}, ":11:5: attestations[1].sbom: unknown field"},
		{"kind", []string{"--format", "kyverno", policyDir(t, strings.Replace(policyYAML, "ImagePolicy", "StackConfig", 1))}, "StackConfig"},
		{"missing key", []string{"--format", "kyverno", policyDir(t, strings.Replace(policyYAML, "keys/cosign.pub", "cosign.pub", 1))}, "cosign.pub"},
		{"missing trusted root", []string{"--format", "kyverno", "--trusted-root", filepath.Join(t.TempDir(), "trusted_root.json"), good}, "trusted_root.json does not exist"},
		{"malformed trusted root", []string{"--format", "kyverno", "--trusted-root", writeFile(t, "trusted_root.json", "{not json"), good}, "--trusted-root: parsing trusted root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, _, err := runExport(t, append([]string{"policy", "export"}, c.args...)...)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), c.says) {
				t.Errorf("exit %d (%v), want %d saying %q", outcome.Code(err), err, outcome.ExitInvalid, c.says)
			}
			if stdout != "" {
				t.Errorf("wrote a policy anyway:\n%s", stdout)
			}
		})
	}
}

// writeFile writes data to a file name in a new directory and returns its path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
