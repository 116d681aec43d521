package pipeline_test

import (
	"context"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// A release of 50 images against the Debian docker-registry (no referrers
// API: signatures and attestations go through the referrers fallback tags)
// with every step: each service's result is accounted for, every step ran,
// and a warm re-run serves every SBOM and scan from the cache.
func TestExecutorFiftyImages(t *testing.T) {
	if testing.Short() {
		t.Skip("50 images: not with -short")
	}
	const n = 50
	ctx := context.Background()
	reg := testutil.StartDockerRegistry(t)
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, _ := pushFixtures(t, reg.Host, n)
	services := loadRelease(t, dir, keySecurity(key, "scan: {softFail: true}"), refs)
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	finished := make(chan pipeline.Event, n)
	run := func() *pipeline.ReleaseResult {
		t.Helper()
		ex := pipeline.NewExecutor(registry.New(),
			pipeline.WithCache(c), pipeline.WithLayerCache(t.TempDir()), pipeline.WithScanners(db),
			pipeline.WithSigners(setup.NewSigners(getenv, nil)),
			pipeline.WithExecutionContext(executionContext()),
			pipeline.WithJobs(4),
			pipeline.WithObserver(pipeline.ObserverFunc(func(e pipeline.Event) {
				if e.Kind == pipeline.EventImageFinished {
					finished <- e
				}
			})))
		res, err := ex.Run(ctx, services)
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, describe(res))
		}
		return res
	}

	res := run()
	if len(res.Services) != n || len(finished) != n {
		t.Fatalf("%d results and %d finish events for %d services", len(res.Services), len(finished), n)
	}
	for len(finished) > 0 {
		<-finished
	}
	digests := map[string]bool{}
	for i, s := range res.Services {
		if s.Service != services[i].Name {
			t.Errorf("result %d is %s, want %s: results must keep the order of the services", i, s.Service, services[i].Name)
		}
		digests[s.Digest] = true
		for _, st := range s.Steps {
			vexOff := st.Disabled && (st.Name == pipeline.StepVEXAttach || st.Name == pipeline.StepVEXVerify) // no VEX document
			if st.Status != pipeline.StatusOK && !(st.Name == pipeline.StepScan && st.Status == pipeline.StatusWarned) && !vexOff {
				t.Errorf("%s: %s %s: %s %s", s.Service, st.Name, st.Status, st.Detail, st.Error)
			}
		}
	}
	if len(digests) != n {
		t.Errorf("%d distinct digests, want %d", len(digests), n)
	}

	warm := run()
	for _, s := range warm.Services {
		for _, name := range []pipeline.StepName{pipeline.StepSBOM, pipeline.StepScan} {
			if !s.Step(name).Cached {
				t.Errorf("%s: warm %s not from the cache", s.Service, name)
			}
		}
	}
}
