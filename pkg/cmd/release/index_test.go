package release_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// pushTwoPlatforms pushes an OCI index of the fixture image as linux/amd64
// (with a critical finding, golang.org/x/text in its Go binary) and an
// image without packages as linux/arm64, each followed by a buildx
// attestation manifest, and returns the tag and the platform images'
// references by digest.
func pushTwoPlatforms(t *testing.T, reg *testutil.Registry) (string, []string) {
	t.Helper()
	arm, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("shop/app:" + fixture.Version)
	_, digests := testutil.PushIndex(t, ref, types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		testutil.PlatformImage{Platform: "linux/arm64", Image: arm})
	var refs []string
	for _, d := range digests {
		refs = append(refs, d.String())
	}
	return ref, refs
}

// The case: sc release create on a two-platform index. With a
// critical finding in one platform the gate fails (exit 1) and nothing is
// signed or attested; without it the index and both platform images are
// signed, each platform image carries its SBOM and the provenance, and
// cosign's own verification accepts them all.
func TestCreateIndex(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	ref, platforms := pushTwoPlatforms(t, reg)

	t.Run("a critical finding in one platform signs nothing", func(t *testing.T) {
		env, config, pub := setupRefs(t, "      scan: {failOn: critical}", ref)
		stdout, _, err := run(ctx, t, env, "release", "create", "--config", config, "--db-no-update")
		if outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("release create: %v (exit %d), want exit 1\n%s", err, outcome.Code(err), stdout)
		}
		if !strings.Contains(err.Error(), "linux/amd64: ") || !strings.Contains(err.Error(), tv.XTextCVE) {
			t.Errorf("error %v: want linux/amd64's critical finding", err)
		}
		for _, d := range append([]string{ref}, platforms...) {
			if n, err := cosigntest.Verify(ctx, d, pub, true); err == nil || n != 0 {
				t.Errorf("%s: cosign verified %d signature(s); want none", d, n)
			}
		}
		for _, d := range platforms {
			if n, err := cosigntest.VerifyAttestation(ctx, d, pub, true, attest.PredicateCycloneDX); err == nil || n != 0 {
				t.Errorf("%s: cosign verified %d SBOM attestation(s); want none", d, n)
			}
		}
	})

	t.Run("without it the index and both platforms are signed and attested", func(t *testing.T) {
		env, config, pub := setupRefs(t, "      scan: {failOn: critical, ignore: [{id: "+tv.XTextCVE+", reason: fixed upstream}]}", ref)
		// a CI run names the source, which provenance needs
		for k, v := range map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
			"GITHUB_SHA": fixture.Revision, "GITHUB_REF": "refs/heads/main", "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1",
		} {
			env[k] = v
		}
		stdout, stderr, err := run(ctx, t, env, "release", "create", "--config", config, "--db-no-update", "-o", "json")
		if err != nil {
			t.Fatalf("release create: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		var res pipeline.ReleaseResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("JSON result: %v\n%s", err, stdout)
		}
		s := res.Services[0]
		if !s.Index || len(s.Platforms) != 2 || len(s.Skipped) != 2 {
			t.Errorf("index %v, %d platforms, %d skipped; want an index of two platforms, its two attestation manifests skipped", s.Index, len(s.Platforms), len(s.Skipped))
		}
		for _, d := range append([]string{ref}, platforms...) {
			if n, err := cosigntest.Verify(ctx, d, pub, true); err != nil || n != 1 {
				t.Errorf("cosign verify %s: %d signature(s), %v; want 1", d, n, err)
			}
		}
		for _, d := range platforms {
			for _, pt := range []string{attest.PredicateCycloneDX, attest.PredicateSLSAProvenanceV1, attest.PredicateVuln} {
				if n, err := cosigntest.VerifyAttestation(ctx, d, pub, true, pt); err != nil || n != 1 {
					t.Errorf("cosign verify-attestation --type %s %s: %d, %v; want 1", pt, d, n, err)
				}
			}
		}
		// and the real cosign CLI (v3, bundles) accepts the same
		for _, d := range append([]string{ref}, platforms...) {
			if out, err := cosignCLI(t, pub, "verify", d); err != nil {
				t.Errorf("cosign verify %s: %v\n%s", d, err, out)
			}
		}
		for _, d := range platforms {
			for _, typ := range []string{"cyclonedx", "slsaprovenance1", "vuln"} {
				if out, err := cosignCLI(t, pub, "verify-attestation", "--type", typ, d); err != nil {
					t.Errorf("cosign verify-attestation --type %s %s: %v\n%s", typ, d, err, out)
				}
			}
			// a vuln attestation does not pass for another type
			if out, err := cosignCLI(t, pub, "verify-attestation", "--type", "openvex", d); err == nil {
				t.Errorf("cosign verify-attestation --type openvex %s accepted sc's attestations:\n%s", d, out)
			}
		}
	})
}
