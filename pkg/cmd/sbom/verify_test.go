package sbom_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// TestVerify: the format and type filters over several SBOMs of one image,
// and what verify says when it cannot give the SBOM asked for.
func TestVerify(t *testing.T) {
	priv, pub, env := keys(t)
	_, otherPub, _ := keys(t)
	ref, d, img, _ := fixtureIn(t, "in-process")
	bare, _, _, _ := fixtureIn(t, "in-process")
	docs := documents(t, d, img, t.TempDir())
	for _, f := range []sbom.Format{sbom.SPDXJSON, sbom.CycloneDXXML} {
		if _, stderr, err := runWith(t, env, "sbom", "attach", ref, "--sbom", docs[f], "--key", priv, "--tlog-upload=false"); err != nil {
			t.Fatalf("attach %s: %v\n%s", f, err, stderr)
		}
	}
	verify := func(args ...string) (string, string, error) {
		return runWith(t, env, append([]string{"sbom", "verify"}, args...)...)
	}
	key := []string{"--key", pub, "--insecure-ignore-tlog"}

	tests := []struct {
		name   string
		args   []string
		want   int
		format sbom.Format // of the document written, on success
		says   string      // in the error, on failure
	}{
		{"--type spdx", []string{ref, "--type", "spdx"}, outcome.ExitOK, sbom.SPDXJSON, ""},
		{"--type as a URI", []string{ref, "--type", "https://cyclonedx.org/bom"}, outcome.ExitOK, sbom.CycloneDXXML, ""},
		{"--format cyclonedx-xml", []string{ref, "--format", "cyclonedx-xml"}, outcome.ExitOK, sbom.CycloneDXXML, ""},
		{"format of the type not attached", []string{ref, "--format", "spdx-tag-value"}, outcome.ExitCheckFailed, "", "no verified spdx-tag-value SBOM for " + d.String() + ": the verified ones are spdx-json"},
		{"type not attached", []string{ref, "--format", "syft-json"}, outcome.ExitCheckFailed, "", "no attestation of type https://syft.dev/bom"},
		{"no SBOM at all", []string{bare}, outcome.ExitCheckFailed, "", "no attestation of type"},
		{"wrong key", []string{ref, "--format", "spdx-json", "--key", otherPub}, outcome.ExitCheckFailed, "", "does not verify with the given key"},
		{"--format and --type", []string{ref, "--format", "spdx-json", "--type", "spdx"}, outcome.ExitInvalid, "", "not both"},
		{"unknown format", []string{ref, "--format", "pdf"}, outcome.ExitInvalid, "", "--format"},
		{"unknown type", []string{ref, "--type", "sbom"}, outcome.ExitInvalid, "", "--type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{}, tt.args...)
			if !strings.Contains(strings.Join(args, " "), "--key") {
				args = append(args, key...)
			} else {
				args = append(args, "--insecure-ignore-tlog")
			}
			stdout, stderr, err := verify(args...)
			if got := outcome.Code(err); got != tt.want {
				t.Fatalf("verify: exit %d (%v), want %d\n%s", got, err, tt.want, stderr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.says) {
					t.Errorf("error %q does not say %q", err, tt.says)
				}
				return
			}
			if f, _, err := sbom.Identify([]byte(stdout)); err != nil || f != tt.format {
				t.Errorf("wrote a %s document (%v), want %s", f, err, tt.format)
			}
		})
	}

	// --output writes the file and nothing to standard output.
	path := filepath.Join(t.TempDir(), "out.spdx.json")
	stdout, _, err := verify(append([]string{ref, "--format", "spdx-json", "--output", path}, key...)...)
	if err != nil || stdout != "" {
		t.Fatalf("verify --output: %v, stdout %q", err, stdout)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(b), `{"`) {
		t.Errorf("--output file: %v", err)
	}
}
