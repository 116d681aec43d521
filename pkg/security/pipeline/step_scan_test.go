package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sc-project/sc/internal/fixture"
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
	if cold.Cached() || cold.Scans[0].Result.Counts.Total == 0 || blobGets() == 0 {
		t.Fatalf("cold scan: cached %v, %d findings, %d blobs read; want a scan of the image", cold.Cached(), cold.Scans[0].Result.Counts.Total, blobGets())
	}

	faults.Reset()
	strict := scan.Policy{FailOn: scan.Critical}
	warm, err := pipeline.ScanImage(ctx, client, refs[0], tools, strict, pipeline.ScanOptions{Cache: c})
	if err != nil {
		t.Fatalf("warm scan: %v", err)
	}
	if !warm.Cached() || blobGets() != 0 {
		t.Errorf("warm scan: cached %v, %d blobs read; want every report from the cache and no blob", warm.Cached(), blobGets())
	}
	if warm.Scans[0].Result.Image != cold.Scans[0].Result.Image || warm.Scans[0].Result.Counts != cold.Scans[0].Result.Counts {
		t.Errorf("warm scan of %s found %+v; cold of %s %+v", warm.Scans[0].Result.Image, warm.Scans[0].Result.Counts, cold.Scans[0].Result.Image, cold.Scans[0].Result.Counts)
	}
	if cold.Scans[0].Result.Verdict.Status != scan.Pass || warm.Scans[0].Result.Verdict.FailOn != scan.Critical {
		t.Errorf("verdicts cold %+v warm %+v: the warm one is not of its own policy", cold.Scans[0].Result.Verdict, warm.Scans[0].Result.Verdict)
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
			if res.Cached() || res.Scans[0].Result.Counts != cold.Scans[0].Result.Counts {
				t.Errorf("cached %v, %+v findings; want a new scan finding %+v", res.Cached(), res.Scans[0].Result.Counts, cold.Scans[0].Result.Counts)
			}
		}
	})

	t.Run("no cache", func(t *testing.T) {
		faults.Reset()
		res, err := pipeline.ScanImage(ctx, client, refs[0], tools, scan.Policy{}, pipeline.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached() || blobGets() == 0 {
			t.Errorf("without a cache: cached %v, %d blobs read; want the image read", res.Cached(), blobGets())
		}
	})
}

// ScanImage of an image index scans each selected platform image, by its
// own digest: the verdict is the worst of them, naming the platform; the
// selection chooses, and one the index does not have is ErrNoPlatform.
func TestScanImageIndex(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, true,
		platformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})}, platformImage{Platform: "linux/arm64", Image: randomImage(t)})
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tools := []scan.Tool{{Scanner: openDB(t), Required: true}}
	client := registry.New()
	strict := scan.Policy{FailOn: scan.Critical}

	res, err := pipeline.ScanImage(ctx, client, ref, tools, strict, pipeline.ScanOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Results() {
		got = append(got, r.Platform+" "+string(r.Verdict.Status))
		if !strings.HasPrefix(r.Image, res.Digest.Context().Name()+"@sha256:") || r.Image == res.Digest.String() {
			t.Errorf("%s: scanned %s, want the platform image, not the index %s", r.Platform, r.Image, res.Digest)
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64 fail", "linux/arm64 pass"}, got); diff != "" {
		t.Errorf("platforms and verdicts (-want +got):\n%s", diff)
	}
	var pe *scan.PolicyError
	if err := res.Err(); !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "linux/amd64: ") {
		t.Errorf("verdict %v: want linux/amd64's policy violation", err)
	}
	if !res.Index || len(res.Skipped) != 2 || res.Cached() {
		t.Errorf("index %v, skipped %+v, cached %v: want an index scanned now, its two attestation manifests skipped", res.Index, res.Skipped, res.Cached())
	}

	arm, err := registry.ParsePlatform("linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	res, err = pipeline.ScanImage(ctx, client, ref, tools, strict, pipeline.ScanOptions{Cache: c, Platforms: []v1.Platform{arm}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scans) != 1 || res.Scans[0].Result.Platform != "linux/arm64" || res.Err() != nil || !res.Cached() {
		t.Errorf("linux/arm64 only: %d scans, verdict %v, cached %v; want one passing scan from the cache", len(res.Scans), res.Err(), res.Cached())
	}

	s390x, err := registry.ParsePlatform("linux/s390x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.ScanImage(ctx, client, ref, tools, strict, pipeline.ScanOptions{Platforms: []v1.Platform{s390x}}); !errors.Is(err, registry.ErrNoPlatform) {
		t.Errorf("a platform the index does not have: %v, want ErrNoPlatform", err)
	}
}
