package pipeline_test

import (
	"context"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
)

// plainScanner hides a scanner's Info: it cannot say which version and
// database it matches with, so its reports must never be cached.
type plainScanner struct{ inner scan.Scanner }

func (p plainScanner) Name() string { return p.inner.Name() }

func (p plainScanner) Scan(ctx context.Context, image string, sb scan.SBOM) (*scan.Report, error) {
	return p.inner.Scan(ctx, image, sb)
}

// ScanImage resolves, makes the SBOM and scans with the executor's cache:
// the second scan of the same digest reads no blob and matches nothing
// again, and the policy is applied afresh.
func TestScanImageCache(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	refs, _ := pushFixtures(t, reg.Host, 1)
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	tools := []scan.Tool{{Scanner: db, Required: true}}
	client := registry.New()
	blobGets := func() int {
		n := 0
		for _, r := range faults.Requests() {
			if r.Method == "GET" && r.Class == testutil.ClassBlob {
				n++
			}
		}
		return n
	}

	faults.Reset()
	cold, err := pipeline.ScanImage(ctx, client, refs[0], tools, scan.Policy{}, pipeline.ScanOptions{Cache: c})
	if err != nil {
		t.Fatalf("cold scan: %v", err)
	}
	if cold.Cached || cold.Result.Counts.Total == 0 || blobGets() == 0 {
		t.Fatalf("cold scan: cached %v, %d findings, %d blobs read; want a scan of the image", cold.Cached, cold.Result.Counts.Total, blobGets())
	}

	faults.Reset()
	strict := scan.Policy{FailOn: scan.Critical}
	warm, err := pipeline.ScanImage(ctx, client, refs[0], tools, strict, pipeline.ScanOptions{Cache: c})
	if err != nil {
		t.Fatalf("warm scan: %v", err)
	}
	if !warm.Cached || blobGets() != 0 {
		t.Errorf("warm scan: cached %v, %d blobs read; want every report from the cache and no blob", warm.Cached, blobGets())
	}
	if warm.Result.Image != cold.Result.Image || warm.Result.Counts != cold.Result.Counts {
		t.Errorf("warm scan of %s found %+v; cold of %s %+v", warm.Result.Image, warm.Result.Counts, cold.Result.Image, cold.Result.Counts)
	}
	if cold.Result.Verdict.Status != scan.Pass || warm.Result.Verdict.FailOn != scan.Critical {
		t.Errorf("verdicts cold %+v warm %+v: the warm one is not of its own policy", cold.Result.Verdict, warm.Result.Verdict)
	}

	t.Run("the SBOM is cached as the executor caches it", func(t *testing.T) {
		d, err := client.Resolve(ctx, refs[0])
		if err != nil {
			t.Fatal(err)
		}
		faults.Reset()
		sb, err := pipeline.GenerateSBOM(ctx, client, d, pipeline.SBOMOptions{Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		if !sb.Cached || len(sb.Document) == 0 || blobGets() != 0 {
			t.Errorf("SBOM cached %v, %d bytes, %d blobs read; want the cached document", sb.Cached, len(sb.Document), blobGets())
		}
		if _, err := sb.ScanInput(); err != nil {
			t.Errorf("the cached SBOM does not decode for scanning: %v", err)
		}
	})

	t.Run("a scanner that does not describe itself is not cached", func(t *testing.T) {
		plain := []scan.Tool{{Scanner: plainScanner{db}, Required: true}}
		for range 2 {
			res, err := pipeline.ScanImage(ctx, client, refs[0], plain, scan.Policy{}, pipeline.ScanOptions{Cache: c})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached || res.Result.Counts != cold.Result.Counts {
				t.Errorf("cached %v, %+v findings; want a new scan finding %+v", res.Cached, res.Result.Counts, cold.Result.Counts)
			}
		}
	})

	t.Run("no cache", func(t *testing.T) {
		faults.Reset()
		res, err := pipeline.ScanImage(ctx, client, refs[0], tools, scan.Policy{}, pipeline.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached || blobGets() == 0 {
			t.Errorf("without a cache: cached %v, %d blobs read; want the image read", res.Cached, blobGets())
		}
	})
}
