package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
)

// A report replayed from the cache keeps the time it was made and says it
// came from the cache; the policy is applied at the time of the replay
// (an ignore rule that expired in between no longer applies).
func TestScanReplayKeepsScannedAt(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	refs, _ := pushFixtures(t, reg.Host, 1)
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tools := []scan.Tool{{Scanner: openDB(t), Required: true}}
	client := registry.New()
	made := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	replayed := made.Add(3 * time.Hour)
	at := func(t time.Time) func() time.Time { return func() time.Time { return t } }

	cold, err := pipeline.ScanImage(ctx, client, refs[0], tools, scan.Policy{}, pipeline.ScanOptions{Cache: c, Now: at(made)})
	if err != nil {
		t.Fatalf("cold scan: %v", err)
	}
	if r := cold.Scans[0].Result; !r.ScannedAt.Equal(made) || r.Cached || r.Scanners[0].Cached {
		t.Errorf("cold scan: scannedAt %s, cached %v %v; want %s, not cached", r.ScannedAt, r.Cached, r.Scanners[0].Cached, made)
	}
	if cold.Scans[0].Result.Counts.Total == 0 {
		t.Fatal("the cold scan found nothing: the ignore rule below proves nothing")
	}

	id := cold.Scans[0].Result.Matches[0].ID
	expiring := scan.Policy{Ignore: []scan.IgnoreRule{{ID: id, Reason: "accepted until the replay", Expires: "2026-11-20"}}}
	warm, err := pipeline.ScanImage(ctx, client, refs[0], tools, expiring, pipeline.ScanOptions{Cache: c, Now: at(replayed.Add(24 * time.Hour))})
	if err != nil {
		t.Fatalf("warm scan: %v", err)
	}
	r := warm.Scans[0].Result
	if !warm.Scans[0].Cached || !r.Cached || !r.Scanners[0].Cached {
		t.Errorf("warm scan: cached %v, result %v, scanner %v; want it said the report is from the cache", warm.Scans[0].Cached, r.Cached, r.Scanners[0].Cached)
	}
	if !r.ScannedAt.Equal(made) || !r.Scanners[0].ScannedAt.Equal(made) {
		t.Errorf("warm scan: scannedAt %s (scanner %s), want the cold scan's %s", r.ScannedAt, r.Scanners[0].ScannedAt, made)
	}
	if len(r.Notices) == 0 || r.Notices[0].Kind != scan.NoticeExpiredRule {
		t.Errorf("notices %+v: the policy was not applied at the time of the replay", r.Notices)
	}
}
