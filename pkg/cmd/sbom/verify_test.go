package sbom_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// attached attaches a key-signed SPDX JSON and CycloneDX XML SBOM to the
// fixture image ref (digest d) in a new registry, and pushes the fixture
// to another, bare, with none. It returns the key's environment, both
// images, the public key and another public key.
func attached(t *testing.T) (map[string]string, string, name.Digest, string, name.Digest, string, string) {
	t.Helper()
	priv, pub, env := keys(t)
	_, otherPub, _ := keys(t)
	ref, d, img, _ := fixtureIn(t, "in-process")
	bare, bareDigest, _, _ := fixtureIn(t, "in-process")
	docs := documents(t, d, img, t.TempDir())
	for _, f := range []sbom.Format{sbom.SPDXJSON, sbom.CycloneDXXML} {
		if _, stderr, err := runWith(t, env, "sbom", "attach", ref, "--sbom", docs[f], "--key", priv, "--tlog-upload=false"); err != nil {
			t.Fatalf("attach %s: %v\n%s", f, err, stderr)
		}
	}
	return env, ref, d, bare, bareDigest, pub, otherPub
}

// TestVerify: the format and type filters over several SBOMs of one image,
// and what verify says when it cannot give the SBOM asked for.
func TestVerify(t *testing.T) {
	env, ref, d, bare, _, pub, otherPub := attached(t)
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

// TestVerifyJSON: -o json prints one JSON document whatever the outcome,
// with the exit code of the outcome.
func TestVerifyJSON(t *testing.T) {
	env, ref, d, bare, bareDigest, pub, otherPub := attached(t)
	type doc struct {
		Verified    bool            `json:"verified"`
		Image       string          `json:"image"`
		Error       string          `json:"error"`
		Format      string          `json:"format"`
		SBOM        json.RawMessage `json:"sbom"`
		Attestation *struct {
			Artifact string `json:"artifact"`
		} `json:"attestation"`
		Rejected []struct {
			Artifact string `json:"artifact"`
			Reason   string `json:"reason"`
		} `json:"rejected"`
	}
	for _, tt := range []struct {
		name     string
		args     []string
		code     int
		verified bool
		image    string
		says     string // in the error
		rejected int
	}{
		{"verified JSON SBOM", []string{ref, "--format", "spdx-json", "--key", pub}, outcome.ExitOK, true, d.String(), "", 0},
		{"verified XML SBOM", []string{ref, "--format", "cyclonedx-xml", "--key", pub}, outcome.ExitOK, true, d.String(), "", 0},
		{"no attestation", []string{bare, "--key", pub}, outcome.ExitCheckFailed, false, bareDigest.String(), "no attestation of type", 0},
		{"wrong key", []string{ref, "--key", otherPub}, outcome.ExitCheckFailed, false, d.String(), "does not verify", 2},
		{"format not verified", []string{ref, "--format", "spdx-tag-value", "--key", pub}, outcome.ExitCheckFailed, false, d.String(), "no verified spdx-tag-value SBOM", 0},
		{"usage", []string{ref, "--format", "pdf", "--key", pub}, outcome.ExitInvalid, false, ref, "--format", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runWith(t, env, append([]string{"sbom", "verify", "-o", "json", "--insecure-ignore-tlog"}, tt.args...)...)
			if got := outcome.Code(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			var got doc
			testutil.DecodeOneJSON(t, stdout, &got)
			if got.Verified != tt.verified || got.Image != tt.image || len(got.Rejected) != tt.rejected || got.Rejected == nil {
				t.Errorf("verified %v image %s rejected %v; want %v %s and %d rejected", got.Verified, got.Image, got.Rejected, tt.verified, tt.image, tt.rejected)
			}
			if tt.verified {
				if got.Error != "" || got.Attestation == nil || len(got.SBOM) == 0 || got.Format == "" {
					t.Errorf("verified document lacks the attestation, format or SBOM: %s", stdout)
				}
			} else if !strings.Contains(got.Error, tt.says) || got.Error != err.Error() {
				t.Errorf("error field %q, want the command's error %q saying %q", got.Error, err, tt.says)
			}
		})
	}
	if _, err := os.Stat("json"); err == nil {
		t.Error("-o json wrote a file named json")
	}
}
