package quickstart

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	dir := t.TempDir()
	s, err := Run(ctx, Options{Out: &out, Dir: dir})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	defer s.Close()

	// the quickstart's own steps, and every step of the executor's graph
	// (the scan warns: the sample data has findings, reported with softFail)
	for _, step := range []string{"registry", "push", "key", "db", "resolve", "sbom-generate", "provenance-generate",
		"sign", "verify", "sbom-attach", "sbom-verify", "provenance-attach", "provenance-verify", "vuln-attach", "vuln-verify", "tree"} {
		if !strings.Contains(out.String(), "✓ "+step+" ") {
			t.Errorf("step %s missing from output:\n%s", step, out.String())
		}
	}
	if !strings.Contains(out.String(), "! scan ") || !strings.Contains(out.String(), "CVE-0000-0001") {
		t.Errorf("the scan of the sample data does not warn with its findings:\n%s", out.String())
	}
	if strings.Contains(out.String(), "✗") {
		t.Errorf("a step failed:\n%s", out.String())
	}
	// vex-attach and vex-verify are turned off: the quickstart applies no
	// VEX document
	if !strings.Contains(out.String(), "- vex-attach") || !strings.Contains(out.String(), "Summary: orders-api warned, 14 steps: 11 ok, 1 warned, 0 failed, 2 skipped") {
		t.Errorf("summary missing or wrong:\n%s", out.String())
	}

	// What the quickstart wrote verifies independently, with the public key
	// it left on disk, in both formats, while the session is open.
	pem, err := os.ReadFile(s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []signing.Format{signing.FormatBundle, signing.FormatLegacy} {
		v, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub},
			signing.WithInsecureIgnoreTlog(), signing.WithFormats(f))
		if err != nil {
			t.Fatal(err)
		}
		res, err := v.VerifyDigest(ctx, s.Image)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(res.Verified) != 1 {
			t.Errorf("%s: %d verified signatures, want 1", f, len(res.Verified))
		}
	}

	// Both attestations verify independently too.
	asv, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	av := attest.NewVerifier(registry.New(), asv)
	for _, pt := range []string{"cyclonedx", "slsaprovenance1"} {
		if _, err := av.VerifyDigest(ctx, s.Image, pt); err != nil {
			t.Errorf("%s attestation: %v", pt, err)
		}
	}

	// A key that is not the quickstart's does not verify its signatures.
	other, err := signing.GenerateKeyPair([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	otherPub, err := signing.LoadPublicKey(other.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: otherPub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyDigest(ctx, s.Image); err == nil {
		t.Error("another key verified the quickstart's signatures")
	}

	for _, c := range s.CosignCommands() {
		if !strings.Contains(c, s.Image.String()) {
			t.Errorf("cosign command without the digest: %s", c)
		}
	}
}

func TestRunNeedsOutputAndDir(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("Run without options succeeded")
	}
}
