package pipeline_test

import (
	"context"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
)

// A scan report is cached per SBOM scope: the packages of all layers are
// not those of the squashed image (a package removed in a later layer is
// only in the former), so a report made from one scope must not be
// replayed for the other. The same scope again is replayed.
func TestScanCacheKeyHasSBOMScope(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	refs, _ := pushFixtures(t, reg.Host, 1)
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	scanCached := func(scope string) bool {
		t.Helper()
		dir := t.TempDir()
		services := loadRelease(t, dir, "sbom: {scope: "+scope+", attach: false, output: '"+dir+"/sbom.json'}\nprovenance: {enabled: false}\nscan: {softFail: true}", refs)
		ex := pipeline.NewExecutor(registry.New(), pipeline.WithCache(c), pipeline.WithLayerCache(t.TempDir()), pipeline.WithScanners(db))
		res, err := ex.Run(ctx, services)
		if err != nil {
			t.Fatalf("scope %s: %v\n%s", scope, err, describe(res))
		}
		return res.Services[0].Step(pipeline.StepScan).Cached
	}
	if scanCached("squashed") {
		t.Fatal("the first scan came from an empty cache")
	}
	if scanCached("all-layers") {
		t.Error("the all-layers scan replayed the squashed scope's report")
	}
	if !scanCached("all-layers") {
		t.Error("the second all-layers scan did not come from the cache")
	}
}
