package provenance_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
)

// attached attaches key-signed provenance to acme/shop:1.4.0 in a new
// registry; it returns the registry, the environment, the image, the
// public key and another public key.
func attached(t *testing.T) (*testutil.Registry, map[string]string, string, string, string) {
	t.Helper()
	reg := registryWith(t, "in-process")
	priv, pub, keyEnv := keyFiles(t, t.TempDir())
	_, otherPub, _ := keyFiles(t, t.TempDir())
	env := merged(githubEnv(), keyEnv)
	image := reg.Ref("acme/shop:1.4.0")
	if _, stderr, err := run(t, env, "provenance", "attach", image, "--key", priv, "--tlog-upload=false",
		"--dockerfile", "Dockerfile", "--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23"); err != nil {
		t.Fatalf("attach: %v\n%s", err, stderr)
	}
	return reg, env, image, pub, otherPub
}

// TestVerifyFailures: what `sc provenance verify` says, and with which exit
// code, when it cannot vouch for the image.
func TestVerifyFailures(t *testing.T) {
	reg, env, image, pub, otherPub := attached(t)
	tests := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"no provenance", []string{reg.Ref("acme/other:1"), "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed, "no attestation of type https://slsa.dev/provenance/v1"},
		{"wrong key", []string{image, "--key", otherPub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed, "does not verify with the given key"},
		{"log required", []string{image, "--key", pub, "--trusted-root", "trusted_root.json"}, outcome.ExitCheckFailed, "no transparency log entry"},
		{"no policy", []string{image, "--insecure-ignore-tlog"}, outcome.ExitInvalid, "--key"},
		{"bad output", []string{image, "--key", pub, "--insecure-ignore-tlog", "--output", "yaml"}, outcome.ExitInvalid, "--output"},
		{"missing image", []string{reg.Ref("acme/none:1"), "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitInvalid, "acme/none"},
	}
	ss := sigstoretest.New(t)
	if err := os.WriteFile("trusted_root.json", ss.TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, env, append([]string{"provenance", "verify"}, tt.args...)...)
			if got := outcome.Code(err); got != tt.want || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("verify: exit %d, %v; want %d saying %q", got, err, tt.want, tt.says)
			}
		})
	}
}

// TestKeyless signs provenance keylessly through the command line against
// the private Sigstore (Fulcio, Rekor, --trusted-root), and verifies it by
// identity.
func TestKeyless(t *testing.T) {
	ss := sigstoretest.New(t)
	reg := registryWith(t, "in-process")
	if err := os.WriteFile("trusted_root.json", ss.TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	const identity = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	env := githubEnv()
	env["SIGSTORE_ID_TOKEN"] = ss.Token(identity)
	image := reg.Ref("acme/shop:1.4.0")
	stdout, stderr, err := run(t, env, "provenance", "attach", image, "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL,
		"--dockerfile", "Dockerfile", "--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23")
	if err != nil {
		t.Fatalf("attach: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, identity) || !strings.Contains(stdout, "tlog index") {
		t.Errorf("attach printed %q", stdout)
	}
	verify := []string{"provenance", "verify", image, "--trusted-root", "trusted_root.json", "--certificate-oidc-issuer", ss.OIDCIssuerURL,
		"--expected-commit", commit}
	stdout, stderr, err = run(t, env, append(verify, "--certificate-identity", identity)...)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "signed by   "+identity) || !strings.Contains(stdout, "tlog index") {
		t.Errorf("verify printed:\n%s", stdout)
	}
	_, _, err = run(t, env, append(verify, "--certificate-identity-regexp", `^https://github\.com/evil/`)...)
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "certificate identity does not match") {
		t.Errorf("verify with another identity: %v", err)
	}
}

// TestVerifyJSON: -o json prints one JSON document whatever the outcome,
// with the exit code of the outcome.
func TestVerifyJSON(t *testing.T) {
	reg, env, image, pub, otherPub := attached(t)
	type doc struct {
		Verified    bool            `json:"verified"`
		Image       string          `json:"image"`
		Error       string          `json:"error"`
		BuilderID   string          `json:"builderId"`
		Statement   json.RawMessage `json:"statement"`
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
		says     string // in the error, and in a rejected reason when rejected > 0
		rejected int
	}{
		{"verified", []string{image, "--key", pub}, outcome.ExitOK, true, "", 0},
		{"no provenance", []string{reg.Ref("acme/other:1"), "--key", pub}, outcome.ExitCheckFailed, false, "no attestation of type", 0},
		{"wrong key", []string{image, "--key", otherPub}, outcome.ExitCheckFailed, false, "does not verify with the given key", 1},
		// verified, but not as expected: listed as rejected with the mismatch
		{"mismatch", []string{image, "--key", pub, "--expected-commit", "0123456789abcdef0123456789abcdef01234567"}, outcome.ExitCheckFailed, false, "commit", 1},
		{"missing image", []string{reg.Ref("acme/none:1"), "--key", pub}, outcome.ExitInvalid, false, "acme/none", 0},
		{"no policy", []string{image}, outcome.ExitInvalid, false, "--key", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := run(t, env, append([]string{"provenance", "verify", "-o", "json", "--insecure-ignore-tlog"}, tt.args...)...)
			if got := outcome.Code(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			var got doc
			testutil.DecodeOneJSON(t, stdout, &got)
			if got.Verified != tt.verified || got.Image == "" || len(got.Rejected) != tt.rejected || got.Rejected == nil {
				t.Errorf("verified %v image %q rejected %v; want %v and %d rejected", got.Verified, got.Image, got.Rejected, tt.verified, tt.rejected)
			}
			if tt.verified {
				if got.Error != "" || got.Attestation == nil || len(got.Statement) == 0 || got.BuilderID == "" {
					t.Errorf("verified document lacks the attestation or statement:\n%s", stdout)
				}
				return
			}
			if !strings.Contains(got.Error, tt.says) || got.Error != err.Error() {
				t.Errorf("error field %q, want the command's error %q saying %q", got.Error, err, tt.says)
			}
			if tt.rejected > 0 && !strings.Contains(got.Rejected[0].Reason, tt.says) {
				t.Errorf("rejected %+v does not say %q", got.Rejected, tt.says)
			}
		})
	}
}

// Two provenance attestations signed without a log carry no verified time:
// verify says it cannot tell the newest, instead of trusting the registry's
// unsigned creation annotation.
func TestVerifySeveralUndated(t *testing.T) {
	reg, env, image, pub, _ := attached(t)
	priv := strings.TrimSuffix(pub, ".pub") + ".key"
	if _, stderr, err := run(t, env, "provenance", "attach", image, "--key", priv, "--tlog-upload=false",
		"--dockerfile", "Dockerfile", "--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23"); err != nil {
		t.Fatalf("second attach: %v\n%s", err, stderr)
	}
	_, stderr, err := run(t, env, "provenance", "verify", image, "--key", pub, "--insecure-ignore-tlog")
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "no verified signing time to tell which is newest") {
		t.Errorf("verify of two undated attestations does not say it cannot tell the newest:\n%s", stderr)
	}
}
