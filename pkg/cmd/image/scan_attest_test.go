package image_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// sc image scan --attest attaches the result as a vuln attestation that
// sc verify-attestation --type vuln and cosign's verification accept; a
// violating result is not attested; signing flags without --attest are a
// usage error.
func TestScanAttest(t *testing.T) {
	ctx := context.Background()
	env := scanEnv(t)
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	ref := pushFixture(t, reg)
	priv, pub := keyFiles(t, "pw")
	env = maps.Clone(env)
	env["SC_KEY_PASSWORD"] = "pw"
	digestRef := reg.Ref("shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d")

	// the fixture has critical findings: with the default --fail-on high
	// the scan fails and nothing is attested
	_, _, err := runSC(t, env, "image", "scan", "--attest", "--key", priv, "--tlog-upload=false", ref)
	if got := outcome.Code(err); got != outcome.ExitCheckFailed {
		t.Fatalf("violating scan --attest: exit %d (%v), want 1", got, err)
	}
	if n, err := cosigntest.VerifyAttestation(ctx, digestRef, loadPub(t, pub), true, pipeline.VulnPredicateType); n != 0 {
		t.Fatalf("a violating result was attested: %d attestation(s), %v", n, err)
	}

	_, stderr, err := runSC(t, env, "image", "scan", "--attest", "--key", priv, "--tlog-upload=false", "--soft-fail", "-o", "json", ref)
	if err != nil {
		t.Fatalf("scan --attest: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "Attached "+pipeline.VulnPredicateType) {
		t.Errorf("stderr does not say what was attached:\n%s", stderr)
	}
	if n, err := cosigntest.VerifyAttestation(ctx, digestRef, loadPub(t, pub), true, pipeline.VulnPredicateType); err != nil || n != 1 {
		t.Errorf("cosign verified %d vuln attestation(s): %v; want 1", n, err)
	}
	stdout, _, err := run(t, env, "verify-attestation", digestRef, "--type", "vuln", "--key", pub, "--insecure-ignore-tlog")
	if err != nil {
		t.Fatalf("verify-attestation --type vuln: %v", err)
	}
	for _, want := range []string{`"scanner"`, `"CVE-2099-0001"`, `"scanFinishedOn"`, `"status":"fail"`} {
		if !strings.Contains(strings.ReplaceAll(stdout, `": "`, `":"`), want) {
			t.Errorf("verified predicate lacks %s:\n%.600s", want, stdout)
		}
	}
	// a vuln attestation is not an SBOM
	if _, _, err := run(t, env, "verify-attestation", digestRef, "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog"); outcome.Code(err) != outcome.ExitCheckFailed {
		t.Errorf("--type cyclonedx on a vuln attestation: %v, want exit 1", err)
	}

	_, _, err = run(t, env, "image", "scan", "--key", priv, "--soft-fail", ref)
	if !errors.Is(err, outcome.ErrInvalid) || !strings.Contains(err.Error(), "--attest") {
		t.Errorf("--key without --attest: %v, want a usage error naming --attest", err)
	}
}

// With --vex, sc image scan --attest also attests the VEX statements that
// set findings aside, as an OpenVEX document that sc verify-attestation
// --type openvex verifies: exactly the suppressing statement, not the one
// that only annotates a finding. A VEX document that suppresses nothing
// makes no OpenVEX attestation.
func TestScanAttestVEX(t *testing.T) {
	env := scanEnv(t)
	priv, pub := keyFiles(t, "pw")
	env = maps.Clone(env)
	env["SC_KEY_PASSWORD"] = "pw"
	const digest = "sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"
	writeVEX := func(statements string) string {
		path := filepath.Join(t.TempDir(), "shop.openvex.json")
		doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.invalid/vex/1","author":"Shop Security","timestamp":"2026-11-01T00:00:00Z","version":1,"statements":[` + statements + `]}`
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	annotates := `{"vulnerability":{"name":"` + tv.OpenSSLFixed + `"},"products":[{"@id":"` + digest + `"}],"status":"under_investigation"}`

	t.Run("one of two statements suppresses", func(t *testing.T) {
		reg := testutil.NewRegistry(t, testutil.WithReferrers())
		ref := pushFixture(t, reg)
		vex := writeVEX(`{"vulnerability":{"name":"` + tv.LodashCVE + `"},"products":[{"@id":"pkg:npm/lodash"}],"status":"not_affected","justification":"vulnerable_code_not_present"},` + annotates)
		_, stderr, err := runSC(t, env, "image", "scan", "--attest", "--key", priv, "--tlog-upload=false", "--soft-fail", "--vex", vex, ref)
		if err != nil {
			t.Fatalf("scan --attest --vex: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "Attached "+pipeline.VEXPredicateType) || !strings.Contains(stderr, "Attached "+pipeline.VulnPredicateType) {
			t.Errorf("stderr does not say both attestations were attached:\n%s", stderr)
		}
		digestRef := reg.Ref("shop/orders-api@" + digest)
		stdout, _, err := run(t, env, "verify-attestation", digestRef, "--type", "openvex", "--key", pub, "--insecure-ignore-tlog")
		if err != nil {
			t.Fatalf("verify-attestation --type openvex: %v", err)
		}
		var doc govex.VEX
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("the verified predicate is not OpenVEX: %v\n%s", err, stdout)
		}
		if len(doc.Statements) != 1 || doc.Statements[0].Vulnerability.Name != tv.LodashCVE || doc.Statements[0].Status != govex.StatusNotAffected ||
			doc.Author != "Shop Security" || len(doc.Statements[0].Products) != 1 || doc.Statements[0].Products[0].ID != digestRef {
			t.Errorf("verified OpenVEX document, want the one suppressing statement about %s:\n%s", digestRef, stdout)
		}
		if n, err := cosigntest.VerifyAttestation(context.Background(), digestRef, loadPub(t, pub), true, pipeline.VEXPredicateType); err != nil || n != 1 {
			t.Errorf("cosign verified %d OpenVEX attestation(s): %v; want 1", n, err)
		}
		// an OpenVEX attestation is not a vuln attestation, nor the other way round
		if _, _, err := run(t, env, "verify-attestation", digestRef, "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog"); outcome.Code(err) != outcome.ExitCheckFailed {
			t.Errorf("--type cyclonedx: %v, want exit 1", err)
		}
	})

	t.Run("nothing suppressed", func(t *testing.T) {
		reg := testutil.NewRegistry(t, testutil.WithReferrers())
		ref := pushFixture(t, reg)
		_, stderr, err := runSC(t, env, "image", "scan", "--attest", "--key", priv, "--tlog-upload=false", "--soft-fail", "--vex", writeVEX(annotates), ref)
		if err != nil {
			t.Fatalf("scan --attest --vex: %v\n%s", err, stderr)
		}
		if strings.Contains(stderr, pipeline.VEXPredicateType) {
			t.Errorf("an OpenVEX attestation was attached with nothing suppressed:\n%s", stderr)
		}
		digestRef := reg.Ref("shop/orders-api@" + digest)
		if _, _, err := run(t, env, "verify-attestation", digestRef, "--type", "openvex", "--key", pub, "--insecure-ignore-tlog"); outcome.Code(err) != outcome.ExitCheckFailed {
			t.Errorf("verify-attestation --type openvex: %v, want exit 1 (none there)", err)
		}
	})
}
