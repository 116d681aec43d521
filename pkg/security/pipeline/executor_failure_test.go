package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	testvulndb "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// Each step is fail-open unless required, a failed check always fails, and
// a step that cannot run skips what needs it, with the reason.
func TestExecutorFailModes(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	other := newTestKey(t, t.TempDir())
	refs, _ := pushFixtures(t, reg.Host, 1)
	db := openDB(t)

	const (
		noSBOM = "sbom: {enabled: false}\n"
		noScan = "scan: {enabled: false}\n"
		noProv = "provenance: {enabled: false}\n"
	)
	signed := func(extra string) string {
		return "signing:\n  privateKey: " + key.PrivatePath + "\n  password: ${env:TEST_KEY_PASSWORD}\n  tlogUpload: false\n" + extra
	}
	tests := []struct {
		name     string
		security string
		image    string // default: the pushed fixture
		scanners []scan.Scanner
		want     map[pipeline.StepName]pipeline.StepStatus
		wantCode int
		// wantErr is text the release error must contain.
		wantErr string
	}{
		{
			name:     "provenance without a builder id is optional: it warns and the release passes",
			security: signed(noSBOM + noScan),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepProvenance: pipeline.StatusWarned, pipeline.StepProvenanceAttach: pipeline.StatusSkipped,
				pipeline.StepProvenanceVerify: pipeline.StatusSkipped, pipeline.StepSign: pipeline.StatusOK, pipeline.StepVerify: pipeline.StatusOK,
			},
			wantCode: outcome.ExitOK,
		},
		{
			name:     "required provenance without a builder id fails",
			security: signed(noSBOM + noScan + "provenance: {required: true}\n"),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepProvenance: pipeline.StatusFailed, pipeline.StepProvenanceAttach: pipeline.StatusSkipped,
				pipeline.StepSign: pipeline.StatusOK,
			},
			wantCode: outcome.ExitInvalid,
			wantErr:  "provenance-generate",
		},
		{
			name:     "an optional scanner that is missing warns, and the unscanned image is not signed",
			security: signed(noSBOM + noProv),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepSBOM: pipeline.StatusOK, pipeline.StepScan: pipeline.StatusWarned,
				pipeline.StepSign: pipeline.StatusFailed, pipeline.StepVerify: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitOperational,
			wantErr:  "sign refused because scan did not complete",
		},
		{
			name:     "with softFail, an image whose scan could not run is signed with a warning",
			security: signed(noSBOM + noProv + "scan: {softFail: true}\n"),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepScan: pipeline.StatusWarned, pipeline.StepSign: pipeline.StatusWarned, pipeline.StepVerify: pipeline.StatusOK,
			},
			wantCode: outcome.ExitOK,
		},
		{
			name:     "an SBOM that cannot be made leaves the scan undone, and nothing is signed",
			security: signed(noProv + "sbom: {output: " + filepath.Join(key.PrivatePath, "sbom.json") + "}\nscan: {failOn: critical}\n"),
			scanners: []scan.Scanner{db},
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepSBOM: pipeline.StatusWarned, pipeline.StepScan: pipeline.StatusSkipped,
				pipeline.StepSign: pipeline.StatusFailed, pipeline.StepSBOMAttach: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitOperational,
			wantErr:  "sign refused because scan did not complete",
		},
		{
			name:     "a required scanner that is missing fails the scan and blocks signing",
			security: signed(noSBOM + noProv + "scan:\n  tools: [{name: grype, required: true}]\n"),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepScan: pipeline.StatusFailed, pipeline.StepSign: pipeline.StatusSkipped, pipeline.StepVerify: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitOperational,
			wantErr:  "grype was not set up",
		},
		{
			name:     "a soft-failed violation does not hold signing back",
			security: signed(noSBOM + noProv + "scan: {softFail: true}\n"),
			scanners: []scan.Scanner{db},
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepScan: pipeline.StatusWarned, pipeline.StepSign: pipeline.StatusOK,
			},
			wantCode: outcome.ExitOK,
		},
		{
			name:     "an ignore rule and a higher failOn turn the violation into warnings",
			security: signed(noSBOM + noProv + "scan: {failOn: critical, ignore: [{id: " + testvulndb.XTextCVE + ", reason: not reachable}]}\n"),
			scanners: []scan.Scanner{db},
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepScan: pipeline.StatusWarned, pipeline.StepSign: pipeline.StatusOK,
			},
			wantCode: outcome.ExitOK,
		},
		{
			name:     "without the ignore rule the critical finding fails the scan",
			security: signed(noSBOM + noProv + "scan: {failOn: critical}\n"),
			scanners: []scan.Scanner{db},
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepScan: pipeline.StatusFailed, pipeline.StepSign: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitCheckFailed,
			wantErr:  testvulndb.XTextCVE,
		},
		{
			name:     "verification with a public key that is not the signer's fails the check",
			security: signed("  publicKey: " + other.PublicPath + "\n" + noSBOM + noScan + noProv),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepSign: pipeline.StatusOK, pipeline.StepVerify: pipeline.StatusFailed,
			},
			wantCode: outcome.ExitCheckFailed,
			wantErr:  "no valid signature",
		},
		{
			name:     "an image that does not exist fails, naming the service and the image",
			security: signed(noSBOM + noScan + noProv),
			image:    reg.Ref("release/missing:1"),
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepResolve: pipeline.StatusFailed, pipeline.StepSign: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitInvalid,
			wantErr:  "service service-01 (" + reg.Ref("release/missing:1") + "): resolve:",
		},
		{
			name:     "without signing, the SBOM is still made for the scan, and nothing is attached",
			security: noProv + "scan: {softFail: true}\n",
			scanners: []scan.Scanner{db},
			want: map[pipeline.StepName]pipeline.StepStatus{
				pipeline.StepSBOM: pipeline.StatusOK, pipeline.StepScan: pipeline.StatusWarned,
				pipeline.StepSign: pipeline.StatusSkipped, pipeline.StepSBOMAttach: pipeline.StatusSkipped,
			},
			wantCode: outcome.ExitOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := refs[0]
			if tt.image != "" {
				image = tt.image
			}
			services := loadRelease(t, t.TempDir(), tt.security, []string{image})
			ex := pipeline.NewExecutor(registry.New(registry.WithRetry(2, time.Millisecond)),
				pipeline.WithScanners(tt.scanners...),
				pipeline.WithSigners(setup.NewSigners(getenv, nil)))
			res, err := ex.Run(ctx, services)
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			if got := outcome.Code(err); got != tt.wantCode || res.ExitCode != tt.wantCode {
				t.Errorf("exit code %d (result %d), want %d: %v\n%s", got, res.ExitCode, tt.wantCode, err, describe(res))
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
			got := statuses(res.Services[0])
			for step, want := range tt.want {
				if got[step] != want {
					t.Errorf("%s: %s, want %s\n%s", step, got[step], want, describe(res))
				}
			}
			for _, s := range res.Services[0].Steps {
				if s.Status == pipeline.StatusSkipped && s.Detail == "" {
					t.Errorf("%s skipped without a reason", s.Name)
				}
			}
		})
	}
}

// A configuration that cannot work stops the release before it touches
// the registry.
func TestExecutorInvalidConfigurationStopsEarly(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	tests := []struct {
		name, security string
	}{
		{"wrong key password", "signing: {privateKey: " + key.PrivatePath + ", password: wrong, tlogUpload: false}"},
		{"unset password variable", "signing: {privateKey: " + key.PrivatePath + ", password: '${env:UNSET_PASSWORD}', tlogUpload: false}"},
		{"transparency log without trusted material", "signing: {privateKey: " + key.PrivatePath + ", password: '${env:TEST_KEY_PASSWORD}'}"},
		{"missing VEX document", "scan: {vex: [" + filepath.Join(dir, "missing.openvex.json") + "]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			services := loadRelease(t, t.TempDir(), tt.security, []string{reg.Ref("release/app:1")})
			faults.Reset()
			ex := pipeline.NewExecutor(registry.New(), pipeline.WithSigners(setup.NewSigners(getenv, nil)))
			res, err := ex.Run(ctx, services)
			if res != nil || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Run: %v (exit %d), result %v; want an invalid-configuration error and no result", err, outcome.Code(err), res != nil)
			}
			if err != nil && !strings.Contains(err.Error(), "service-01") {
				t.Errorf("error does not name the service: %v", err)
			}
			if n := len(faults.Requests()); n != 0 {
				t.Errorf("%d registry requests before the configuration was checked", n)
			}
		})
	}
}

// Transient registry failures are retried and the release succeeds; a
// service whose registry keeps failing fails alone, precisely reported.
func TestExecutorRegistryFaults(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 3)
	services := loadRelease(t, dir, keySecurity(key, "scan: {enabled: false}"), refs)
	client := registry.New(registry.WithRetry(4, time.Millisecond))
	newExecutor := func() *pipeline.Executor {
		return pipeline.NewExecutor(client,
			pipeline.WithSigners(setup.NewSigners(getenv, nil)),
			pipeline.WithExecutionContext(executionContext()),
			pipeline.WithLayerCache(t.TempDir()))
	}

	t.Run("transient", func(t *testing.T) {
		faults.Reset()
		faults.Fail(testutil.On(http.MethodGet, testutil.ClassBlob), 3, http.StatusServiceUnavailable)
		faults.Fail(testutil.On(http.MethodPut, testutil.ClassManifest), 2, http.StatusBadGateway)
		faults.Drop(testutil.On(http.MethodGet, testutil.ClassReferrers), 1)
		res, err := newExecutor().Run(ctx, services)
		faults.Clear()
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, describe(res))
		}
		if n := faults.Injected(); n != 6 {
			t.Errorf("%d faults injected, want 6", n)
		}
		for _, s := range res.Services {
			if s.Outcome != pipeline.OutcomeOK {
				t.Errorf("%s: %s\n%s", s.Service, s.Outcome, describe(res))
			}
		}
	})

	t.Run("persistent", func(t *testing.T) {
		faults.Reset()
		faults.Add(testutil.Fault{Match: testutil.On("", testutil.ClassManifest).PathContains("/service-02/"), Times: testutil.Always, Status: http.StatusInternalServerError})
		res, err := newExecutor().Run(ctx, services)
		faults.Clear()
		if outcome.Code(err) != outcome.ExitOperational {
			t.Fatalf("Run: %v (exit %d), want exit 3\n%s", err, outcome.Code(err), describe(res))
		}
		for _, s := range res.Services {
			wantOutcome := pipeline.OutcomeOK
			if s.Service == "service-02" {
				wantOutcome = pipeline.OutcomeFailed
			}
			if s.Outcome != wantOutcome {
				t.Errorf("%s: %s, want %s\n%s", s.Service, s.Outcome, wantOutcome, describe(res))
			}
		}
		if !strings.Contains(err.Error(), "service service-02 ("+refs[1]+"): resolve:") {
			t.Errorf("error does not name the service, image and step: %v", err)
		}
		if strings.Contains(err.Error(), "service-01") || strings.Contains(err.Error(), "service-03") {
			t.Errorf("error names services that did not fail: %v", err)
		}
	})
}

// A signature or attestation whose storing fails half-way is never seen as
// valid: on a registry without the referrers API, a referrer manifest the
// fallback index does not list is invisible.
func TestExecutorNothingHalfWrittenVerifies(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.StartDockerRegistry(t, testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 1)
	services := loadRelease(t, dir, "signing: {privateKey: "+key.PrivatePath+", password: '${env:TEST_KEY_PASSWORD}', tlogUpload: false}\n"+
		"scan: {enabled: false}\nsbom: {enabled: false}\nprovenance: {enabled: false}", refs)

	// The referrer manifest is stored by digest; writing the fallback tag
	// sha256-<hex> that lists it fails every time.
	faults.Add(testutil.Fault{Match: testutil.On(http.MethodPut, testutil.ClassManifest).PathContains("/manifests/sha256-"), Times: testutil.Always, Status: http.StatusInternalServerError})
	ex := pipeline.NewExecutor(registry.New(registry.WithRetry(2, time.Millisecond)), pipeline.WithSigners(setup.NewSigners(getenv, nil)))
	res, err := ex.Run(ctx, services)
	if outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Run: %v, want exit 3\n%s", err, describe(res))
	}
	if got := res.Services[0].Step(pipeline.StepSign).Status; got != pipeline.StatusFailed {
		t.Errorf("sign: %s, want failed", got)
	}
	if faults.Injected() == 0 {
		t.Fatal("the fault never applied: the test proves nothing")
	}
	if err := verifyKeySignature(ctx, t, res.Services[0].Reference, key.Public); !errors.Is(err, signing.ErrNotSigned) {
		t.Errorf("independent verification after the failed write: %v, want ErrNotSigned", err)
	}
}

// Cancelling a release mid-way stops it cleanly: an operational error
// saying so, images either fully signed or not signed at all, and no
// temporary file left in the cache or the layer cache.
func TestExecutorCancel(t *testing.T) {
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, 4)
	services := loadRelease(t, dir, keySecurity(key, "scan: {enabled: false}"), refs)
	cacheDir, layerDir := t.TempDir(), t.TempDir()
	c, err := cache.New(cacheDir)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Hold attestation uploads so that the cancel lands in the middle of
	// writes, then cancel when the first image starts signing.
	faults.Delay(testutil.On(http.MethodPut, testutil.ClassManifest).PathContains("/manifests/sha256:"), testutil.Always, 200*time.Millisecond)
	var once sync.Once
	obs := pipeline.ObserverFunc(func(e pipeline.Event) {
		if e.Kind == pipeline.EventStepStarted && e.Step == pipeline.StepSign {
			once.Do(cancel)
		}
	})
	ex := pipeline.NewExecutor(registry.New(),
		pipeline.WithCache(c), pipeline.WithLayerCache(layerDir), pipeline.WithJobs(2),
		pipeline.WithSigners(setup.NewSigners(getenv, nil)),
		pipeline.WithExecutionContext(executionContext()),
		pipeline.WithObserver(obs))
	res, err := ex.Run(ctx, services)
	if !errors.Is(err, context.Canceled) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Run: %v (exit %d), want a cancellation, exit 3", err, outcome.Code(err))
	}
	if !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("error %q does not say the release was cancelled", err)
	}
	if !res.Cancelled || res.ExitCode != outcome.ExitOperational {
		t.Errorf("result cancelled %v exit %d, want true and 3", res.Cancelled, res.ExitCode)
	}
	if len(res.Services) != len(services) {
		t.Fatalf("%d results for %d services", len(res.Services), len(services))
	}
	check := context.Background()
	for _, s := range res.Services {
		if s == nil {
			t.Fatal("a service has no result")
		}
		if len(s.Steps) != len(pipeline.Steps()) {
			t.Errorf("%s: %d step results, want %d", s.Service, len(s.Steps), len(pipeline.Steps()))
		}
		if s.Digest == "" {
			continue
		}
		err := verifyKeySignature(check, t, s.Reference, key.Public)
		sign := s.Step(pipeline.StepSign)
		switch {
		case sign.Status == pipeline.StatusOK && err != nil:
			t.Errorf("%s: signed, but the signature does not verify: %v", s.Service, err)
		case sign.Status != pipeline.StatusOK && err == nil:
			t.Errorf("%s: sign %s, but a valid signature exists", s.Service, sign.Status)
		case sign.Status != pipeline.StatusOK && !errors.Is(err, signing.ErrNotSigned):
			t.Errorf("%s: sign %s, verification %v, want not signed at all", s.Service, sign.Status, err)
		}
	}
	var leftovers []string
	for _, root := range []string{cacheDir, layerDir} {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".tmp") {
				leftovers = append(leftovers, p)
			}
			return nil
		})
	}
	if entries, _ := os.ReadDir(layerDir); len(entries) != 0 {
		leftovers = append(leftovers, layerDir+" not emptied")
	}
	if len(leftovers) != 0 {
		t.Errorf("left behind: %v", leftovers)
	}
}
