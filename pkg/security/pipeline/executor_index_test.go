package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// passCritical is a policy failing on critical findings with the fixture's
// one critical finding (golang.org/x/text in its Go binary) accepted: the
// fixture passes it, with warnings for its high findings.
const passCritical = "scan:\n  failOn: critical\n  ignore: [{id: " + tv.XTextCVE + ", reason: accepted for the test}]\n"

// failCritical fails the fixture on its critical finding.
const failCritical = "scan: {failOn: critical}\n"

// indexExecutor is the executor of the index tests.
func indexExecutor(t testing.TB, client *registry.Client, opts ...pipeline.ExecutorOption) *pipeline.Executor {
	t.Helper()
	return pipeline.NewExecutor(client, append([]pipeline.ExecutorOption{
		pipeline.WithScanners(openDB(t)),
		pipeline.WithSigners(setup.NewSigners(getenv, nil)),
		pipeline.WithExecutionContext(executionContext()),
	}, opts...)...)
}

// An image index is scanned, catalogued and attested per platform image,
// on every kind of registry, as an OCI index and a Docker manifest list,
// with a variant and with buildx's attestation manifests inside.
func TestExecutorIndex(t *testing.T) {
	ctx := context.Background()
	fixtureImg := testutil.FixtureImage(t, fixture.Options{})
	forms := []struct {
		mt        types.MediaType
		buildx    bool
		format    signing.Format
		platforms []platformImage
	}{
		{types.DockerManifestList, false, signing.FormatBundle, []platformImage{{Platform: "linux/amd64", Image: fixtureImg}, {Platform: "linux/arm64", Image: randomImage(t)}, {Platform: "linux/arm/v7", Image: randomImage(t)}}},
		{types.OCIImageIndex, true, signing.FormatBundle, []platformImage{{Platform: "linux/amd64", Image: fixtureImg}, {Platform: "linux/arm64", Image: randomImage(t)}}},
		{types.OCIImageIndex, false, signing.FormatLegacy, []platformImage{{Platform: "linux/arm64", Image: randomImage(t)}, {Platform: "linux/amd64", Image: fixtureImg}}},
	}
	for i, k := range registryKinds() {
		form := forms[i]
		t.Run(k.name+"/"+string(form.mt), func(t *testing.T) {
			reg := k.start(t)
			dir := t.TempDir()
			key := newTestKey(t, dir)
			ref := pushIndex(t, reg.Host, "shop:1", form.mt, form.buildx, form.platforms...)
			security := strings.Replace(keySecurity(key, passCritical+"sbom: {output: '"+dir+"/sbom-{service}.cdx.json'}"),
				"tlogUpload: false", "tlogUpload: false\n  format: "+string(form.format), 1)
			services := loadRelease(t, dir, security, []string{ref})

			res, err := indexExecutor(t, registry.New()).Run(ctx, services)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, describe(res))
			}
			s := res.Services[0]
			if s.Outcome == pipeline.OutcomeFailed || !s.Index || s.SBOM != nil || s.Scan != nil {
				t.Fatalf("outcome %s, index %v, image SBOM %v, image scan %v; want an index that passed, its SBOMs and scans per platform\n%s",
					s.Outcome, s.Index, s.SBOM, s.Scan, describe(res))
			}
			var want []string
			for _, p := range form.platforms {
				want = append(want, p.Platform)
			}
			var got []string
			for _, p := range s.Platforms {
				got = append(got, p.Platform)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("platforms (-want +got):\n%s", diff)
			}
			wantSkipped := 0
			if form.buildx {
				wantSkipped = len(form.platforms)
			}
			if len(s.Skipped) != wantSkipped {
				t.Errorf("skipped %+v, want %d attestation manifests", s.Skipped, wantSkipped)
			}
			if d := s.Step(pipeline.StepResolve).Detail; !strings.HasPrefix(d, "index sha256:") || !strings.Contains(d, strings.Join(want, ", ")) ||
				form.buildx != strings.Contains(d, "attestation manifest") {
				t.Errorf("resolve detail %q: want the index, its platforms and the skipped attestation manifests", d)
			}

			// the scan of each platform is of its own digest
			for i, p := range s.Platforms {
				if p.SBOM == nil || p.Scan == nil || p.Scan.Platform != p.Platform || p.Scan.Image != p.Reference || p.Digest != p.Scan.Digest {
					t.Errorf("%s: SBOM %+v, scan %+v: want both, the scan of %s naming its platform", p.Platform, p.SBOM, p.Scan, p.Reference)
					continue
				}
				fixture := form.platforms[i].Image == fixtureImg
				if fixture != (p.Scan.Counts.Total > 0) || fixture != (p.SBOM.Packages > 0) {
					t.Errorf("%s: %d packages, %d findings; want some for the fixture image only", p.Platform, p.SBOM.Packages, p.Scan.Counts.Total)
				}
				if _, err := os.Stat(filepath.Join(dir, "sbom-service-01-"+strings.ReplaceAll(p.Platform, "/", "-")+".cdx.json")); err != nil {
					t.Errorf("%s: the SBOM file: %v", p.Platform, err)
				}
			}
			if got := len(s.ScanResults()); got != len(form.platforms) {
				t.Errorf("ScanResults: %d, want one per platform", got)
			}

			// what was written verifies with verifiers of its own and
			// with cosign's: the index's signature and each platform's
			// (recursive by default), and each platform's SBOM attestation
			for _, d := range append([]string{s.Reference}, digestsOf(s)...) {
				if err := verifyKeySignature(ctx, t, d, key.Public); err != nil {
					t.Errorf("%s: the signature does not verify independently: %v", d, err)
				}
				if n, err := cosigntest.Verify(ctx, d, key.Public, form.format == signing.FormatBundle); err != nil || n != 1 {
					t.Errorf("%s: cosign verified %d signature(s): %v; want 1", d, n, err)
				}
			}
			if st := s.Step(pipeline.StepSign); len(st.Artifacts) != 1+len(form.platforms) || st.Artifacts[0].Subject != s.Reference ||
				st.Artifacts[0].Platform != "" || st.Artifacts[1].Platform != want[0] {
				t.Errorf("sign artifacts %+v: want the index's, then each platform's", st.Artifacts)
			}
			v := keyAttestVerifier(t, key.Public, form.format)
			for i, d := range platformDigests(t, s) {
				if _, err := v.VerifyDigest(ctx, d, "cyclonedx"); err != nil {
					t.Errorf("%s: SBOM attestation: %v", s.Platforms[i].Platform, err)
				}
				if n, err := cosigntest.VerifyAttestation(ctx, d.String(), key.Public, form.format == signing.FormatBundle, attest.PredicateCycloneDX); err != nil || n != 1 {
					t.Errorf("%s: cosign verified %d SBOM attestation(s): %v; want 1", s.Platforms[i].Platform, n, err)
				}
				// the provenance, attached to each platform image, is
				// about the index and every platform image
				prov, err := v.VerifyDigest(ctx, d, provenance.PredicateType)
				if err != nil {
					t.Errorf("%s: provenance attestation: %v", s.Platforms[i].Platform, err)
					continue
				}
				st, err := attest.ParseStatement(prov.Verified[0].Statement)
				if err != nil {
					t.Fatal(err)
				}
				var subjects []string
				for _, sub := range st.Subject {
					subjects = append(subjects, sub.GetName()+"@sha256:"+sub.GetDigest()["sha256"])
				}
				if diff := cmp.Diff(append([]string{s.Reference}, digestsOf(s)...), subjects); diff != "" {
					t.Errorf("%s: provenance subjects (-want +got):\n%s", s.Platforms[i].Platform, diff)
				}
				if n, err := cosigntest.VerifyAttestation(ctx, d.String(), key.Public, form.format == signing.FormatBundle, provenance.PredicateType); err != nil || n != 1 {
					t.Errorf("%s: cosign verified %d provenance attestation(s): %v; want 1", s.Platforms[i].Platform, n, err)
				}
				// the scan result of each platform, attested in cosign's
				// vuln predicate, names that platform's findings
				vuln, err := v.VerifyDigest(ctx, d, "vuln")
				if err != nil {
					t.Errorf("%s: vuln attestation: %v", s.Platforms[i].Platform, err)
				} else if got := vulnResultDigest(t, vuln.Verified[0].Statement); got != d.DigestStr() {
					t.Errorf("%s: vuln attestation's result is of %s, want %s", s.Platforms[i].Platform, got, d.DigestStr())
				}
				if n, err := cosigntest.VerifyAttestation(ctx, d.String(), key.Public, form.format == signing.FormatBundle, pipeline.VulnPredicateType); err != nil || n != 1 {
					t.Errorf("%s: cosign verified %d vuln attestation(s): %v; want 1", s.Platforms[i].Platform, n, err)
				}
				var kinds []string
				for _, a := range s.Platforms[i].Artifacts {
					kinds = append(kinds, a.Kind+" "+a.PredicateType)
				}
				wantKinds := []string{"sbom-file ", "signature ", "attestation " + attest.PredicateCycloneDX, "attestation " + provenance.PredicateType, "attestation " + pipeline.VulnPredicateType}
				if diff := cmp.Diff(wantKinds, kinds); diff != "" {
					t.Errorf("%s: artifacts (-want +got):\n%s", s.Platforms[i].Platform, diff)
				}
			}
		})
	}
}

// With signing.recursive: false only the index is signed.
func TestExecutorIndexNotRecursive(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	dir := t.TempDir()
	key := newTestKey(t, dir)
	ref := pushIndex(t, reg.Host, "shop:1", types.DockerManifestList, false,
		platformImage{Platform: "linux/amd64", Image: randomImage(t)}, platformImage{Platform: "linux/arm64", Image: randomImage(t)})
	security := strings.Replace(keySecurity(key, failCritical), "tlogUpload: false", "tlogUpload: false\n  recursive: false", 1)
	res, err := indexExecutor(t, registry.New()).Run(ctx, loadRelease(t, dir, security, []string{ref}))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	s := res.Services[0]
	if err := verifyKeySignature(ctx, t, s.Reference, key.Public); err != nil {
		t.Errorf("the index: %v", err)
	}
	for _, d := range digestsOf(s) {
		if err := verifyKeySignature(ctx, t, d, key.Public); !errors.Is(err, signing.ErrNotSigned) {
			t.Errorf("%s: %v, want ErrNotSigned", d, err)
		}
	}
	if d := s.Step(pipeline.StepSign).Detail; !strings.Contains(d, "signing.recursive: false") {
		t.Errorf("sign detail %q: want it to say the platform images were not signed", d)
	}
}

// A critical finding in one platform image fails the index: nothing is
// signed or attested, not the index and not the platform image that
// passed, and the exit code is 1; the error names the platform.
func TestExecutorIndexViolationInOnePlatform(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, true,
		platformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})}, platformImage{Platform: "linux/arm64", Image: randomImage(t)})
	services := loadRelease(t, dir, keySecurity(key, failCritical), []string{ref})

	res, err := indexExecutor(t, registry.New()).Run(ctx, services)
	if got := outcome.Code(err); got != outcome.ExitCheckFailed {
		t.Fatalf("exit code %d (%v), want 1\n%s", got, err, describe(res))
	}
	var pe *scan.PolicyError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "linux/amd64: ") || strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("error %v: want the policy violation of linux/amd64, and only that", err)
	}
	s := res.Services[0]
	if diff := cmp.Diff(violationStatuses(), statuses(s)); diff != "" {
		t.Errorf("step statuses (-want +got):\n%s\n%s", diff, describe(res))
	}
	verdicts := map[string]scan.VerdictStatus{}
	for _, p := range s.Platforms {
		verdicts[p.Platform] = p.Scan.Verdict.Status
	}
	if diff := cmp.Diff(map[string]scan.VerdictStatus{"linux/amd64": scan.Fail, "linux/arm64": scan.Pass}, verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	for _, d := range append([]string{s.Reference}, s.Platforms[0].Reference, s.Platforms[1].Reference) {
		if err := verifyKeySignature(ctx, t, d, key.Public); !errors.Is(err, signing.ErrNotSigned) {
			t.Errorf("%s: %v, want ErrNotSigned", d, err)
		}
	}
}

// platforms: chooses the platform images; one the index does not have is
// invalid (exit 2), and nothing else runs.
func TestExecutorIndexSelection(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, true,
		platformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})}, platformImage{Platform: "linux/arm64", Image: randomImage(t)},
		platformImage{Platform: "linux/arm/v7", Image: randomImage(t)})

	t.Run("selected", func(t *testing.T) {
		services := loadRelease(t, dir, keySecurity(key, failCritical+"platforms: [linux/arm]\n"), []string{ref})
		res, err := indexExecutor(t, registry.New()).Run(ctx, services)
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, describe(res))
		}
		s := res.Services[0]
		if len(s.Platforms) != 1 || s.Platforms[0].Platform != "linux/arm/v7" {
			t.Fatalf("platforms %+v, want linux/arm/v7 only (linux/arm matches its variants)", s.Platforms)
		}
		var unselected []string
		for _, m := range s.Skipped {
			if strings.Contains(m.Reason, "selected") {
				unselected = append(unselected, m.Platform)
			}
		}
		if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, unselected); diff != "" {
			t.Errorf("platforms left out (-want +got):\n%s", diff)
		}
		if d := s.Step(pipeline.StepResolve).Detail; !strings.Contains(d, "2 platforms not selected") || !strings.Contains(d, "3 attestation manifests") {
			t.Errorf("resolve detail %q: want what was skipped", d)
		}
	})

	t.Run("a platform the index does not have", func(t *testing.T) {
		key := newTestKey(t, t.TempDir())
		services := loadRelease(t, dir, keySecurity(key, "platforms: [linux/s390x]\n"), []string{ref})
		res, err := indexExecutor(t, registry.New()).Run(ctx, services)
		if got := outcome.Code(err); got != outcome.ExitInvalid || !errors.Is(err, registry.ErrNoPlatform) {
			t.Fatalf("exit code %d (%v), want 2 and ErrNoPlatform\n%s", got, err, describe(res))
		}
		for _, st := range res.Services[0].Steps {
			if st.Name != pipeline.StepResolve && st.Status != pipeline.StatusSkipped {
				t.Errorf("%s %s, want skipped after resolve failed", st.Name, st.Status)
			}
		}
		sr := res.Services[0]
		ref, err := name.ParseReference(sr.Image)
		if err != nil || sr.Digest == "" {
			t.Fatalf("image %q, digest %q: %v", sr.Image, sr.Digest, err)
		}
		if err := verifyKeySignature(ctx, t, ref.Context().Digest(sr.Digest).String(), key.Public); err == nil {
			t.Error("the index was signed")
		}
	})
}

// When one platform image cannot be read, its SBOM and so the index's scan
// cannot be made: with a policy that can fail nothing is signed, the exit
// code is 3 (a retry can succeed) and the error names the platform.
func TestExecutorIndexUnreadablePlatformIsNotSigned(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	broken := randomImage(t)
	ls, err := broken.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, false,
		platformImage{Platform: "linux/amd64", Image: randomImage(t)}, platformImage{Platform: "linux/arm64", Image: broken})
	faults.Fail(testutil.On("GET", testutil.ClassBlob).PathContains(layer.Hex), 1000, 500)
	services := loadRelease(t, dir, keySecurity(key, failCritical), []string{ref})

	res, err := indexExecutor(t, registry.New(registry.WithRetry(2, time.Millisecond))).Run(ctx, services)
	if got := outcome.Code(err); got != outcome.ExitOperational {
		t.Fatalf("exit code %d (%v), want 3\n%s", got, err, describe(res))
	}
	s := res.Services[0]
	if st := s.Step(pipeline.StepSBOM); !strings.Contains(st.Error, "linux/arm64: ") || strings.Contains(st.Error, "linux/amd64") {
		t.Errorf("sbom-generate error %q: want linux/arm64's, and only that", st.Error)
	}
	if st := s.Step(pipeline.StepSign); st.Status != pipeline.StatusFailed || !strings.Contains(st.Error, "refused") {
		t.Errorf("sign %s %q: want refused\n%s", st.Status, st.Error, describe(res))
	}
	if err := verifyKeySignature(ctx, t, s.Reference, key.Public); !errors.Is(err, signing.ErrNotSigned) {
		t.Errorf("the index: %v, want ErrNotSigned", err)
	}
}

// A platform image two indexes of a release share is catalogued once: its
// layers are read once, without any cache.
func TestExecutorSharedPlatformImageOnce(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	shared := testutil.FixtureImage(t, fixture.Options{})
	refs := []string{
		pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, false, platformImage{Platform: "linux/amd64", Image: shared}, platformImage{Platform: "linux/arm64", Image: randomImage(t)}),
		pushIndex(t, reg.Host, "shop:2", types.OCIImageIndex, false, platformImage{Platform: "linux/amd64", Image: shared}, platformImage{Platform: "linux/arm64", Image: randomImage(t)}),
	}
	services := loadRelease(t, dir, keySecurity(key, passCritical), refs)

	faults.Reset()
	res, err := indexExecutor(t, registry.New(), pipeline.WithJobs(2)).Run(ctx, services)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	for d, n := range layerGets(faults.Requests(), layerDigests(t, []v1.Image{shared})) {
		if n != 1 {
			t.Errorf("layer %s read %d times, want once", d, n)
		}
	}
	a, b := res.Services[0].Platforms[0], res.Services[1].Platforms[0]
	if a.Digest != b.Digest || a.SBOM == nil || b.SBOM == nil || a.SBOM.Digest != b.SBOM.Digest {
		t.Errorf("the shared image's SBOMs %+v and %+v: want the same document", a.SBOM, b.SBOM)
	}
}

// What every platform image of an index found is said once: two builds of
// the fixture have the same findings, and the scan's warning about them is
// one "all platforms" warning.
func TestExecutorIndexSharedWarningsOnce(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	dir := t.TempDir()
	key := newTestKey(t, dir)
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, false,
		platformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		platformImage{Platform: "linux/arm64", Image: testutil.FixtureImage(t, fixture.Options{Variant: 1})})
	res, err := indexExecutor(t, registry.New()).Run(ctx, loadRelease(t, dir, keySecurity(key, passCritical), []string{ref}))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	ws := res.Services[0].Step(pipeline.StepScan).Warnings
	if len(ws) != 1 || !strings.HasPrefix(ws[0], "all platforms: ") || !strings.Contains(ws[0], "at or above high") {
		t.Errorf("scan warnings %q: want one, for all platforms", ws)
	}
}
