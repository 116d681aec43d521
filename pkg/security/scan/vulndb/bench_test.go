package vulndb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// benchRecords is the size of the benchmarks' database: in the order of
// grype's real one (a few hundred thousand affected-package records).
const benchRecords = 200_000

// syntheticAdvisories makes n advisories: 60% Debian 12, 25% npm, 15% Go
// modules, over n/4 package names each, so that every name has several
// records; one in fifty is about a package of the fixture image (with a
// range that does not match it), so that matching the fixture reads real
// rows. The fixture advisories come on top.
func syntheticAdvisories(n int) []vulndb.Advisory {
	bookworm := &vulndb.OS{Name: "debian", MajorVersion: "12", Codename: "bookworm"}
	debNames := []string{"openssl", "zlib", "curl", "glibc", "bash", "tar", "sqlite3", "expat", "systemd", "gnutls28"}
	npmNames := []string{"lodash", "minimist", "express", "qs", "semver", "body-parser"}
	out := make([]vulndb.Advisory, 0, n+len(tv.FixtureAdvisories()))
	for i := range n {
		a := vulndb.Advisory{
			ID:          fmt.Sprintf("CVE-2098-%07d", i),
			Severity:    []string{"critical", "high", "medium", "low", "negligible"}[i%5],
			Description: "synthetic benchmark record",
			References:  []string{fmt.Sprintf("https://example.invalid/CVE-2098-%07d", i)},
		}
		pkgName := fmt.Sprintf("pkg-%d", i%(n/4))
		switch r := i % 20; {
		case r < 12:
			a.Provider = "debian"
			if i%50 == 0 {
				pkgName = debNames[(i/50)%len(debNames)]
			}
			a.Affected = []vulndb.Affected{{Ecosystem: "deb", Name: pkgName, OS: bookworm, VersionType: "dpkg",
				Constraint: "< 0.9-1", Fix: "0.9-1"}}
		case r < 17:
			a.Provider = "github"
			a.Aliases = []string{fmt.Sprintf("GHSA-2098-%04x-%04x", i>>16, i&0xffff)}
			if i%50 == 1 {
				pkgName = npmNames[(i/50)%len(npmNames)]
			}
			a.Affected = []vulndb.Affected{{Ecosystem: "npm", Name: pkgName, VersionType: "semver",
				Constraint: ">= 0.0.1, < 0.1.0", Fix: "0.1.0"}}
		default:
			a.Provider = "govulndb"
			a.Affected = []vulndb.Affected{{Ecosystem: "go-module", Name: "example.com/" + pkgName, VersionType: "go",
				Constraint: "< 0.1.0", Fix: "0.1.0"}}
		}
		out = append(out, a)
	}
	return append(out, tv.FixtureAdvisories()...)
}

var (
	benchOnce sync.Once
	benchDB   string
	benchErr  error
)

// bigDB returns the path of a database of benchRecords synthetic records
// and the fixture advisories, built once and kept in the system's temporary
// directory between runs (building it takes minutes).
func bigDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("sc-vulndb-bench-%d", benchRecords))
		path := filepath.Join(dir, "vulnerability.db")
		if _, err := os.Stat(path); err == nil {
			benchDB = path
			return
		}
		tmp := dir + ".tmp"
		_ = os.RemoveAll(tmp)
		if benchErr = vulndb.Write(context.Background(), tmp, syntheticAdvisories(benchRecords)...); benchErr != nil {
			return
		}
		if benchErr = os.Rename(tmp, dir); benchErr == nil {
			benchDB = path
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDB
}

// bigStore imports the big database into a new store.
func bigStore(b *testing.B) *vulndb.Store {
	b.Helper()
	store := vulndb.NewStore(b.TempDir(), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(context.Background(), bigDB(b)); err != nil {
		b.Fatal(err)
	}
	return store
}

// BenchmarkOpen measures loading the database for scanning (checks,
// checksum, opening grype's reader), once per process in sc. Run with
//
//	go test -run '^$' -bench . -benchtime 5x ./pkg/security/scan/vulndb
func BenchmarkOpen(b *testing.B) {
	store := bigStore(b)
	ctx := context.Background()
	for b.Loop() {
		db, err := store.Open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
	}
}

// BenchmarkScan measures matching the fixture image's packages against the
// big database, for one image and for the nine images of a release in one
// process (one database, scans in parallel on GOMAXPROCS goroutines).
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	db, err := bigStore(b).Open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	imgs := testutil.FixtureImages(b, 9)
	inputs := make([]*vulndb.SBOM, len(imgs))
	refs := make([]string, len(imgs))
	for i, img := range imgs {
		h, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		ref, err := name.NewDigest(fmt.Sprintf("registry.example/shop/svc-%d@%s", i, h))
		if err != nil {
			b.Fatal(err)
		}
		res, err := sbom.Generate(ctx, ref, img)
		if err != nil {
			b.Fatal(err)
		}
		inputs[i], refs[i] = vulndb.NewSBOM(res.SBOM), ref.String()
	}

	b.Run("images=1", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Scan(ctx, refs[0], inputs[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("images=9", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			errs := make([]error, len(inputs))
			sem := make(chan struct{}, 2)
			for i := range inputs {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					_, errs[i] = db.Scan(ctx, refs[i], inputs[i])
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkScanFrom compares scanning the fixture image from an SBOM
// already made (what a release does after `sbom`) with scanning it from the
// registry: pulling the image through sc's client, cataloguing it, then
// matching (what `sc image scan` without --sbom does).
func BenchmarkScanFrom(b *testing.B) {
	ctx := context.Background()
	db, err := bigStore(b).Open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	b.Run("sbom", func(b *testing.B) {
		s := fixtureInput()
		for b.Loop() {
			if _, err := db.Scan(ctx, fixtureImage, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("registry", func(b *testing.B) {
		reg := testutil.NewRegistry(b)
		c := registry.New(registry.WithInsecureHTTP())
		ref, err := c.ParseReference(reg.Ref("shop/orders-api:1.4.2"))
		if err != nil {
			b.Fatal(err)
		}
		if err := remote.Write(ref, testutil.FixtureImage(b, fixture.Options{}), c.RemoteOptions(ctx)...); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			d, err := c.Resolve(ctx, ref.String())
			if err != nil {
				b.Fatal(err)
			}
			img, err := c.Image(ctx, d)
			if err != nil {
				b.Fatal(err)
			}
			res, err := sbom.Generate(ctx, d, img)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Scan(ctx, d.String(), vulndb.NewSBOM(res.SBOM)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
