package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil/kmstest"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// A release signed and attested with an awskms:// key held by local-kms
// passes `sc verify --policy` whose signer is that key's URI; another key
// of the same KMS fails the signature and every attestation (exit 1); with
// the KMS down nothing can be checked (exit 3, not a failure).
func TestVerifyAWSKMS(t *testing.T) {
	a := kmstest.StartAWS(t)
	a.CreateKey(t, "release")
	a.CreateKey(t, "other")
	key := a.URI("release")
	r := releaseSignedBy(t, `{privateKey: "`+key+`", publicKey: "`+key+`", tlogUpload: false}`)
	byURI := func(uri string) func(*api.ImagePolicy) {
		return func(p *api.ImagePolicy) { p.Signers[0].Key = uri }
	}
	good := r.derived(t, byURI(key))
	if text, _ := os.ReadFile(good); !strings.Contains(string(text), "key: "+key+"\n") || strings.Contains(string(text), "BEGIN PUBLIC KEY") {
		t.Fatalf("the policy does not name the KMS key:\n%s", text)
	}

	stdout, stderr, err := run(t, r.env, "verify", r.image, "--policy", good)
	if err != nil {
		t.Fatalf("verify with signer %s: %v\nstdout:\n%s\nstderr:\n%s", key, err, stdout, stderr)
	}
	for _, want := range []string{"ok  signature", "ok  attestation cyclonedx", "ok  vuln maxSeverity", "all 7 requirement(s) hold"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	t.Run("unsigned", func(t *testing.T) {
		stdout, _, err := run(t, r.env, "verify", r.unsigned, "--policy", good)
		if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(stdout, "failed  signature") {
			t.Errorf("an unsigned image: %v (exit %d), want exit 1\n%s", err, outcome.Code(err), stdout)
		}
	})
	t.Run("another KMS key", func(t *testing.T) {
		stdout, stderr, err := run(t, r.env, "verify", r.image, "--policy", r.derived(t, byURI(a.URI("other"))))
		if outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("exit code %d (%v), want 1\nstdout:\n%s\nstderr:\n%s", outcome.Code(err), err, stdout, stderr)
		}
		for _, want := range []string{"failed  signature", "key " + a.URI("other"), "failed  attestation cyclonedx", "failed  attestation vuln"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("unknown alias", func(t *testing.T) {
		_, _, err := run(t, r.env, "verify", r.image, "--policy", r.derived(t, byURI(a.URI("missing"))))
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), a.URI("missing")) {
			t.Errorf("a KMS key the KMS does not know: %v (exit %d), want exit 3 naming it", err, outcome.Code(err))
		}
	})
	t.Run("malformed URI", func(t *testing.T) {
		_, _, err := run(t, r.env, "verify", r.image, "--policy", r.derived(t, byURI("awskms:///not-an-alias")))
		if outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("a malformed awskms:// URI: %v (exit %d), want exit 2", err, outcome.Code(err))
		}
	})
	t.Run("KMS down", func(t *testing.T) {
		a.Stop()
		stdout, _, err := run(t, r.env, "verify", r.image, "--policy", good, "--output", "json")
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), key) {
			t.Errorf("verify with the KMS down: %v (exit %d), want exit 3 naming the key", err, outcome.Code(err))
		}
		if !strings.Contains(stdout, `"ok": false`) || !strings.Contains(stdout, key) {
			t.Errorf("JSON with the KMS down:\n%s", stdout)
		}
	})
}

// A hashivault:// signer key reads its public key through Vault's transit
// API (the in-test server): the image it signed passes, another key of the
// same Vault fails.
func TestVerifyVaultKMS(t *testing.T) {
	v := kmstest.NewVault(t)
	v.CreateKey(t, "release")
	v.CreateKey(t, "other")
	r := releaseSignedBy(t, `{privateKey: "`+v.URI("release")+`", publicKey: "`+v.URI("release")+`", tlogUpload: false}`)
	for _, c := range []struct {
		key  string
		code int
	}{{v.URI("release"), 0}, {v.URI("other"), outcome.ExitCheckFailed}} {
		stdout, stderr, err := run(t, r.env, "verify", r.image, "--policy", r.derived(t, func(p *api.ImagePolicy) { p.Signers[0].Key = c.key }))
		if outcome.Code(err) != c.code {
			t.Errorf("signer %s: %v (exit %d), want exit %d\nstdout:\n%s\nstderr:\n%s", c.key, err, outcome.Code(err), c.code, stdout, stderr)
		}
	}
}

// A signer key of a KMS scheme sc does not verify with is exit 2 with its
// file:line, before any registry or KMS is contacted.
func TestVerifyUnsupportedKMS(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	text := "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\nsigners:\n  - key: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, nil, "verify", "127.0.0.1:1/shop/api:1", "--policy", file)
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), file+":5:") || !strings.Contains(err.Error(), "gcpkms:// keys are not supported") {
		t.Errorf("verify with a gcpkms:// signer: %v (exit %d), want exit 2 at %s:5", err, outcome.Code(err), file)
	}
}
