package image_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
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
