package vulndb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// TestSharedMatchesEqualPerImage scans a release's images with one DB, all
// at once, the way a release does, and checks that each image's report is
// exactly what matching that image alone against the database gives
// (ScanUncached): images sharing every layer but their own, an image whose
// upper layer upgrades OpenSSL (the same package names, other versions),
// one whose upper layer makes it Debian 11 (the same packages, another
// distribution), and the fixture's SBOM read back from CycloneDX (the same
// packages with less metadata). It scans them twice: answers computed for
// other images, then answers all from the cache.
func TestSharedMatchesEqualPerImage(t *testing.T) {
	ctx := context.Background()
	imgs := testutil.FixtureImages(t, 3)
	status := string(testutil.ImageFile(t, imgs[0], fixture.DpkgStatusPath))
	upgraded := strings.ReplaceAll(status, "Version: 3.0.11-1~deb12u2", "Version: 3.0.11-1~deb12u3")
	if upgraded == status {
		t.Fatal("the fixture's dpkg status names no OpenSSL 3.0.11-1~deb12u2")
	}
	imgs = append(imgs, testutil.AppendFiles(t, imgs[0], map[string][]byte{fixture.DpkgStatusPath: []byte(upgraded)}))
	osRelease := string(testutil.ImageFile(t, imgs[0], fixture.OSReleasePath))
	bullseye := strings.NewReplacer(`VERSION_ID="12"`, `VERSION_ID="11"`, "12 (bookworm)", "11 (bullseye)", "bookworm", "bullseye").Replace(osRelease)
	imgs = append(imgs, testutil.AppendFiles(t, imgs[0], map[string][]byte{fixture.OSReleasePath: []byte(bullseye)}))

	pctx, err := sbom.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []scan.SBOM
	var refs []string
	for i, img := range imgs {
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewDigest(fmt.Sprintf("registry.example/shop/svc-%d@%s", i, h))
		if err != nil {
			t.Fatal(err)
		}
		res, err := sbom.Generate(pctx, ref, img)
		if err != nil {
			t.Fatalf("Generate %s: %v", ref, err)
		}
		inputs, refs = append(inputs, vulndb.NewSBOM(res.SBOM)), append(refs, ref.String())
	}
	decoded, err := vulndb.DecodeSBOM(fixtureSBOM.Document)
	if err != nil {
		t.Fatal(err)
	}
	inputs, refs = append(inputs, decoded), append(refs, fixtureImage)

	db := openFixtureDB(t)
	want := make([]*scan.Report, len(inputs))
	for i := range inputs {
		if want[i], err = db.ScanUncached(ctx, refs[i], inputs[i]); err != nil {
			t.Fatalf("ScanUncached %s: %v", refs[i], err)
		}
	}
	// the variants must differ from the base where the change shows, or
	// they would not show a cache that ignores what changed
	base := summarize(want[0].Matches)
	for _, i := range []int{3, 4} {
		if cmp.Equal(base, summarize(want[i].Matches)) {
			t.Fatalf("%s: the same matches as the unchanged image; the variant tests nothing", refs[i])
		}
	}

	db = openFixtureDB(t)
	for round := range 2 {
		got := make([]*scan.Report, len(inputs))
		errs := make([]error, len(inputs))
		var wg sync.WaitGroup
		for i := range inputs {
			wg.Go(func() { got[i], errs[i] = db.Scan(ctx, refs[i], inputs[i]) })
		}
		wg.Wait()
		for i := range inputs {
			if errs[i] != nil {
				t.Fatalf("round %d: Scan %s: %v", round, refs[i], errs[i])
			}
			if diff := cmp.Diff(want[i], got[i]); diff != "" {
				t.Errorf("round %d: %s: shared matching differs from matching alone (-alone +shared):\n%s", round, refs[i], diff)
			}
		}
	}
}
