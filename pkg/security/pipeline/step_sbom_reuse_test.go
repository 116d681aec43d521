package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// A fresh runner (empty local cache, no layer cache) re-running an
// unchanged release takes each SBOM from the attestation this run's key
// already wrote: it reads no layer, finds the same vulnerabilities, and
// keeps the SBOM attestation and signature. With reuse turned off, or
// when the attestation is by another key, the layers are read again.
func TestExecutorFreshRunnerReusesRegistry(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, imgs := pushFixtures(t, reg.Host, 2)
	layers := layerDigests(t, imgs)
	services := loadRelease(t, dir, keySecurity(key, "scan: {softFail: true}"), refs)
	db := openDB(t)
	freshRunner := func(opts ...pipeline.ExecutorOption) *pipeline.Executor {
		c, err := cache.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return pipeline.NewExecutor(registry.New(), append([]pipeline.ExecutorOption{
			pipeline.WithCache(c),
			pipeline.WithScanners(db),
			pipeline.WithSigners(setup.NewSigners(getenv, nil)),
			pipeline.WithExecutionContext(executionContext())}, opts...)...)
	}

	first, err := freshRunner().Run(ctx, services)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, describe(first))
	}

	faults.Reset()
	fresh, err := freshRunner().Run(ctx, services)
	if err != nil {
		t.Fatalf("fresh run: %v\n%s", err, describe(fresh))
	}
	if gets := layerGets(faults.Requests(), layers); len(gets) != 0 {
		t.Errorf("the fresh runner downloaded layers: %v\n%s", gets, describe(fresh))
	}
	for i, s := range fresh.Services {
		if st := s.Step(pipeline.StepSBOM); !st.Cached || !strings.Contains(st.Detail, "reused from the verified attestation") {
			t.Errorf("%s: sbom-generate %q (cached %v): want the SBOM reused from the registry", s.Service, st.Detail, st.Cached)
		}
		for _, name := range []pipeline.StepName{pipeline.StepSign, pipeline.StepSBOMAttach} {
			if a := s.Step(name).Artifacts; len(a) != 1 || !a[0].Existing {
				t.Errorf("%s: %s artifacts %+v, want the existing one kept", s.Service, name, a)
			}
		}
		// the reused document is the one the first run made, byte for byte
		if diff := cmp.Diff(first.Services[i].SBOM, s.SBOM); diff != "" {
			t.Errorf("%s: the reused SBOM differs from the first run's (-first +fresh):\n%s", s.Service, diff)
		}
		if diff := cmp.Diff(findings(first.Services[i].Scan), findings(s.Scan)); diff != "" {
			t.Errorf("%s: the scan of the reused SBOM differs from the first (-first +fresh):\n%s", s.Service, diff)
		}
	}

	// --no-reuse: the layers are read again
	faults.Reset()
	if res, err := freshRunner(pipeline.WithRegistryReuse(false)).Run(ctx, services); err != nil {
		t.Fatalf("run without reuse: %v\n%s", err, describe(res))
	}
	if gets := layerGets(faults.Requests(), layers); len(gets) == 0 {
		t.Error("without reuse, the fresh runner read no layer")
	}

	// another signer's attestations prove nothing to this run
	other := newTestKey(t, t.TempDir())
	faults.Reset()
	res, err := freshRunner().Run(ctx, loadRelease(t, t.TempDir(), keySecurity(other, "scan: {softFail: true}"), refs))
	if err != nil {
		t.Fatalf("run with another key: %v\n%s", err, describe(res))
	}
	if gets := layerGets(faults.Requests(), layers); len(gets) == 0 {
		t.Errorf("a run with another key reused SBOMs it did not sign:\n%s", describe(res))
	}
}

// findings are a scan result's matches as ID, package and version.
func findings(r *scan.Result) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, m := range r.Matches {
		out = append(out, m.ID+" "+m.Package.Name+" "+m.Package.Version)
	}
	return out
}
