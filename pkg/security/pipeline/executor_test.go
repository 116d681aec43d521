package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// A release of two images: every step runs, and what was written verifies
// with verifiers of its own.
func TestExecutorRelease(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 2)
	services := loadRelease(t, dir, keySecurity(key, "scan: {softFail: true}\nsbom: {output: '"+dir+"/sbom-{service}.cdx.json'}"), refs)

	ex := pipeline.NewExecutor(registry.New(),
		pipeline.WithScanners(openDB(t)),
		pipeline.WithSigners(setup.NewSigners(getenv, nil)),
		pipeline.WithExecutionContext(executionContext()),
		pipeline.WithJobs(2))
	res, err := ex.Run(ctx, services)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	if res.Outcome != pipeline.OutcomeWarned || res.ExitCode != 0 {
		t.Errorf("outcome %s exit %d, want warned (soft-failed policy) and 0\n%s", res.Outcome, res.ExitCode, describe(res))
	}
	want := map[pipeline.StepName]pipeline.StepStatus{
		pipeline.StepResolve: pipeline.StatusOK, pipeline.StepSBOM: pipeline.StatusOK,
		pipeline.StepScan: pipeline.StatusWarned, pipeline.StepProvenance: pipeline.StatusOK,
		pipeline.StepSign: pipeline.StatusOK, pipeline.StepVerify: pipeline.StatusOK,
		pipeline.StepSBOMAttach: pipeline.StatusOK, pipeline.StepSBOMVerify: pipeline.StatusOK,
		pipeline.StepProvenanceAttach: pipeline.StatusOK, pipeline.StepProvenanceVerify: pipeline.StatusOK,
		pipeline.StepVulnAttach: pipeline.StatusOK, pipeline.StepVulnVerify: pipeline.StatusOK,
		// no VEX document: turned off (TestExecutorVEXAttestation has them)
		pipeline.StepVEXAttach: pipeline.StatusSkipped, pipeline.StepVEXVerify: pipeline.StatusSkipped,
	}
	for i, s := range res.Services {
		if diff := cmp.Diff(want, statuses(s)); diff != "" {
			t.Errorf("%s: step statuses (-want +got):\n%s\n%s", s.Service, diff, describe(res))
		}
		d, err := name.NewDigest(s.Reference)
		if err != nil {
			t.Fatalf("%s: digest %q: %v", s.Service, s.Digest, err)
		}
		if err := verifyKeySignature(ctx, t, s.Reference, key.Public); err != nil {
			t.Errorf("%s (%s): signature does not verify independently: %v", s.Service, refs[i], err)
		}
		sv, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: key.Public}, signing.WithInsecureIgnoreTlog())
		if err != nil {
			t.Fatal(err)
		}
		v := attest.NewVerifier(registry.New(), sv)
		for _, pt := range []string{"cyclonedx", provenance.PredicateType, "vuln"} {
			if _, err := v.VerifyDigest(ctx, d, pt); err != nil {
				t.Errorf("%s: %s attestation does not verify independently: %v", s.Service, pt, err)
			}
		}
		if s.Scan == nil || s.Scan.Verdict.Status != scan.Fail || !s.Scan.Verdict.SoftFail {
			t.Errorf("%s: scan result %+v, want a soft-failed verdict", s.Service, s.Scan)
		}
		if s.SBOM == nil || s.SBOM.Packages == 0 {
			t.Errorf("%s: SBOM summary %+v", s.Service, s.SBOM)
		}
		if out := s.Step(pipeline.StepSBOM).Artifacts; len(out) != 1 || out[0].Kind != "sbom-file" || out[0].Storage != "file" {
			t.Errorf("%s: sbom-generate artifacts %+v, want the sbom.output file", s.Service, out)
		}
		if s.Digest != d.DigestStr() {
			t.Errorf("%s: digest %q, want the bare %s (the reference is %s)", s.Service, s.Digest, d.DigestStr(), s.Reference)
		}
		checkStored(ctx, t, s, d)
	}
}

// checkStored checks that every signature and attestation s reports names
// its full digest and where it is stored, and that it is there: in the
// bundle format the referrer manifest of that digest, in the image's
// repository.
func checkStored(ctx context.Context, t *testing.T, s *pipeline.SecurityResult, d name.Digest) {
	t.Helper()
	for _, step := range []pipeline.StepName{pipeline.StepSign, pipeline.StepSBOMAttach, pipeline.StepProvenanceAttach, pipeline.StepVulnAttach} {
		arts := s.Step(step).Artifacts
		if len(arts) != 1 {
			t.Errorf("%s: %s artifacts %+v, want one", s.Service, step, arts)
			continue
		}
		a := arts[0]
		if len(a.Digest) != len("sha256:")+64 || a.Storage != "referrer" || a.Location != d.Context().Digest(a.Digest).String() {
			t.Errorf("%s: %s artifact %+v, want the full digest stored as a referrer manifest of %s", s.Service, step, a, d.Context())
			continue
		}
		ref, err := name.NewDigest(a.Location)
		if err != nil {
			t.Errorf("%s: %s location %q: %v", s.Service, step, a.Location, err)
			continue
		}
		if _, err := remote.Head(ref, registry.New().RemoteOptions(ctx)...); err != nil {
			t.Errorf("%s: %s location %s is not in the registry: %v", s.Service, step, a.Location, err)
		}
	}
}

// With the default policy the fixture's high findings fail the scan: the
// image is never signed nor attested, and the exit code is 1.
func TestExecutorPolicyViolationIsNeverSigned(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 1)
	services := loadRelease(t, dir, keySecurity(key, ""), refs)

	ex := pipeline.NewExecutor(registry.New(),
		pipeline.WithScanners(openDB(t)),
		pipeline.WithSigners(setup.NewSigners(getenv, nil)),
		pipeline.WithExecutionContext(executionContext()))
	res, err := ex.Run(ctx, services)
	if err == nil {
		t.Fatalf("Run succeeded, want a policy violation\n%s", describe(res))
	}
	if got := outcome.Code(err); got != outcome.ExitCheckFailed {
		t.Errorf("exit code %d, want 1: %v", got, err)
	}
	var pe *scan.PolicyError
	if !errors.As(err, &pe) {
		t.Errorf("error %v is not a *scan.PolicyError", err)
	}
	s := res.Services[0]
	if diff := cmp.Diff(violationStatuses(), statuses(s)); diff != "" {
		t.Errorf("step statuses (-want +got):\n%s\n%s", diff, describe(res))
	}
	if err := verifyKeySignature(ctx, t, s.Reference, key.Public); !errors.Is(err, signing.ErrNotSigned) {
		t.Errorf("independent verification: %v, want ErrNotSigned", err)
	}
	if res.ExitCode != 1 || s.ExitCode != 1 {
		t.Errorf("exit codes release %d service %d, want 1", res.ExitCode, s.ExitCode)
	}
}

// The second run of an unchanged release takes its SBOMs and scan reports
// from the cache, finds its signature and SBOM attestation already there,
// and downloads no image layer at all.
func TestExecutorWarmRunReadsNoLayers(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, imgs := pushFixtures(t, reg.Host, 2)
	layers := layerDigests(t, imgs)
	services := loadRelease(t, dir, keySecurity(key, "scan: {softFail: true}"), refs)
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	newExecutor := func() *pipeline.Executor {
		return pipeline.NewExecutor(registry.New(),
			pipeline.WithCache(c),
			pipeline.WithLayerCache(t.TempDir()),
			pipeline.WithScanners(db),
			pipeline.WithSigners(setup.NewSigners(getenv, nil)),
			pipeline.WithExecutionContext(executionContext()))
	}

	faults.Reset()
	cold, err := newExecutor().Run(ctx, services)
	if err != nil {
		t.Fatalf("cold run: %v\n%s", err, describe(cold))
	}
	if gets := layerGets(faults.Requests(), layers); len(gets) == 0 {
		t.Fatalf("the cold run downloaded no layer: the test counts the wrong requests")
	}

	faults.Reset()
	warm, err := newExecutor().Run(ctx, services)
	if err != nil {
		t.Fatalf("warm run: %v\n%s", err, describe(warm))
	}
	if gets := layerGets(faults.Requests(), layers); len(gets) != 0 {
		t.Errorf("the warm run downloaded layers: %v", gets)
	}
	for _, s := range warm.Services {
		for _, name := range []pipeline.StepName{pipeline.StepSBOM, pipeline.StepScan} {
			if !s.Step(name).Cached {
				t.Errorf("%s: %s did not come from the cache\n%s", s.Service, name, describe(warm))
			}
		}
		// the replayed scan makes the same vuln statement: reused, not
		// written again
		for _, name := range []pipeline.StepName{pipeline.StepSign, pipeline.StepSBOMAttach, pipeline.StepVulnAttach} {
			a := s.Step(name).Artifacts
			if len(a) != 1 || !a[0].Existing || a[0].Location == "" {
				t.Errorf("%s: %s artifacts %+v, want the existing one reused, with its location", s.Service, name, a)
			}
		}
		if cs := cold.Services[0].Scan; s.Service == cold.Services[0].Service && cs != nil &&
			!cmp.Equal(cs.Verdict, s.Scan.Verdict) {
			t.Errorf("%s: warm verdict differs:\n%s", s.Service, cmp.Diff(cs.Verdict, s.Scan.Verdict))
		}
	}
}

// Images that share layers download each shared layer once in a release.
func TestExecutorSharesLayers(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	refs, imgs := pushFixtures(t, reg.Host, 3)
	layers := layerDigests(t, imgs)
	// SBOMs only: written to files, nothing signed.
	services := loadRelease(t, dir, "scan: {enabled: false}\nprovenance: {enabled: false}\nsbom: {output: '"+dir+"/{service}.json'}", refs)

	faults.Reset()
	ex := pipeline.NewExecutor(registry.New(), pipeline.WithLayerCache(t.TempDir()), pipeline.WithJobs(3))
	res, err := ex.Run(ctx, services)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	gets := layerGets(faults.Requests(), layers)
	if len(gets) != len(layers) {
		t.Errorf("downloaded %d distinct layers, want all %d: %v", len(gets), len(layers), gets)
	}
	for d, n := range gets {
		if n != 1 {
			t.Errorf("layer %s downloaded %d times, want once", d, n)
		}
	}
}

// In the legacy format, each signature and attestation says which tag holds
// it, and the tag's image holds its layer.
func TestExecutorLegacyStoredAtTags(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 1)
	security := strings.Replace(keySecurity(key, "scan: {softFail: true}"), "tlogUpload: false", "tlogUpload: false\n  format: legacy", 1)
	services := loadRelease(t, dir, security, refs)
	ex := pipeline.NewExecutor(registry.New(),
		pipeline.WithScanners(openDB(t)),
		pipeline.WithSigners(setup.NewSigners(getenv, nil)),
		pipeline.WithExecutionContext(executionContext()))
	res, err := ex.Run(ctx, services)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	s := res.Services[0]
	d, err := name.NewDigest(s.Reference)
	if err != nil {
		t.Fatal(err)
	}
	for step, suffix := range map[pipeline.StepName]string{
		pipeline.StepSign: "sig", pipeline.StepSBOMAttach: signing.AttestationSuffix, pipeline.StepProvenanceAttach: signing.AttestationSuffix,
	} {
		arts := s.Step(step).Artifacts
		tag, err := registry.LegacyTag(d, suffix)
		if err != nil {
			t.Fatal(err)
		}
		if len(arts) != 1 || arts[0].Storage != "tag" || arts[0].Location != tag.String() || arts[0].Format != "legacy" {
			t.Errorf("%s: artifacts %+v, want one stored at the tag %s", step, arts, tag)
			continue
		}
		img, err := remote.Image(tag, registry.New().RemoteOptions(ctx)...)
		if err != nil {
			t.Fatalf("%s: %s: %v", step, tag, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range m.Layers {
			found = found || l.Digest.String() == arts[0].Digest
		}
		if !found {
			t.Errorf("%s: the tag %s holds no layer %s", step, tag, arts[0].Digest)
		}
	}
}

// With WithProvenanceReuse, a second run on the same image keeps the
// provenance attestation the first wrote; without it, each run attaches
// one more.
func TestExecutorProvenanceReuse(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 1)
	services := loadRelease(t, dir, keySecurity(key, "scan: {enabled: false}"), refs)
	provenance := func(reuse bool) pipeline.Artifact {
		t.Helper()
		res, err := pipeline.NewExecutor(registry.New(),
			pipeline.WithProvenanceReuse(reuse),
			pipeline.WithSigners(setup.NewSigners(getenv, nil)),
			pipeline.WithExecutionContext(executionContext())).Run(ctx, services)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, describe(res))
		}
		a := res.Services[0].Step(pipeline.StepProvenanceAttach).Artifacts
		if len(a) != 1 {
			t.Fatalf("provenance-attach artifacts %+v, want one\n%s", a, describe(res))
		}
		if st := res.Services[0].Step(pipeline.StepProvenanceVerify); st.Status != pipeline.StatusOK {
			t.Errorf("provenance-verify %s: %s", st.Status, st.Error)
		}
		return a[0]
	}
	first := provenance(true)
	if first.Existing {
		t.Fatalf("the first run reports an existing provenance: %+v", first)
	}
	again := provenance(true)
	if !again.Existing || again.Digest != first.Digest || again.Location == "" {
		t.Errorf("second run with reuse: %+v, want the first run's %s kept, with its location", again, first.Digest)
	}
	fresh := provenance(false)
	if fresh.Existing || fresh.Digest == first.Digest {
		t.Errorf("run without reuse: %+v, want a new attestation", fresh)
	}
}
