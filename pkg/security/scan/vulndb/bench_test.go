package vulndb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// benchRecords is the size of the benchmarks' database: in the order of
// grype's real one (a few hundred thousand affected-package records).
const benchRecords = tv.SyntheticRecords

// benchDBVersion names the records tv.Synthetic makes: change it when they
// change, so that a database kept from an earlier run is not reused.
const benchDBVersion = "v3"

var (
	benchOnce sync.Once
	benchDB   string
	benchErr  error
)

// bigDB returns the path of a database of benchRecords synthetic records
// (tv.Synthetic) and the fixture advisories, built once and kept between
// runs in $SC_BENCH_CACHE (the benchmark scripts' cache, see bench/README.md)
// or, without it, the system's temporary directory (building it takes a few
// minutes; `go run ./bench/cmd/vulndbgen --dir DIR` writes the same
// records).
func bigDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		root := os.Getenv("SC_BENCH_CACHE")
		if root == "" {
			root = os.TempDir()
		}
		dir := filepath.Join(root, fmt.Sprintf("sc-vulndb-synthetic-%s-%d", benchDBVersion, benchRecords))
		path := filepath.Join(dir, "vulnerability.db")
		if _, err := os.Stat(path); err == nil {
			benchDB = path
			return
		}
		tmp := dir + ".tmp"
		_ = os.RemoveAll(tmp)
		if benchErr = vulndb.Write(context.Background(), tmp, append(tv.Synthetic(benchRecords), tv.FixtureAdvisories()...)...); benchErr != nil {
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

// BenchmarkScan measures matching the fixture images' packages (40
// Debian packages, 55 npm packages, a Go binary with its modules) against
// the big database: one image, then the nine images of a release (sharing
// every layer but their own) one after another (jobs=1) and GOMAXPROCS at a
// time, as a release scans them, on one shared database; each image
// matched alone against the database (match=alone) and with what the
// images share matched once (match=shared, Scan). Each nine-image case
// reports the matches it found (they must be the same) and the CPU time it
// took: on a machine shared with other work, concurrent matching that takes
// the same CPU time as serial is not waiting on a lock (SQLite's shared
// cache); a block profile (-blockprofile) says where it does wait.
// Run with
//
//	go test -run '^$' -bench Scan -benchtime 5x -benchmem -count 6 ./pkg/security/scan/vulndb | tee new.txt
//	benchstat -col /match new.txt
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
	pctx, err := sbom.Prepare(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i, img := range imgs {
		h, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		ref, err := name.NewDigest(fmt.Sprintf("registry.example/shop/svc-%d@%s", i, h))
		if err != nil {
			b.Fatal(err)
		}
		res, err := sbom.Generate(pctx, ref, img)
		if err != nil {
			b.Fatal(err)
		}
		inputs[i], refs[i] = vulndb.NewSBOM(res.SBOM), ref.String()
	}

	// alone is each image matched against the database by itself (the
	// per-image path, what sc did before matches were shared); shared is
	// Scan, starting each operation with nothing remembered, as a release
	// starts: its first image asks the database, the others share what is
	// common
	scanners := map[string]func(ctx context.Context, image string, s *vulndb.SBOM) (*scan.Report, error){
		"alone": func(ctx context.Context, image string, s *vulndb.SBOM) (*scan.Report, error) {
			return db.ScanUncached(ctx, image, s)
		},
		"shared": func(ctx context.Context, image string, s *vulndb.SBOM) (*scan.Report, error) {
			return db.Scan(ctx, image, s)
		},
	}
	// want is what the first case found: every other must find the same,
	// or its speed would be of different work
	want := -1
	scanAll := func(b *testing.B, mode string, n, limit int) {
		scanOne := scanners[mode]
		matches := make([]int, n)
		cpu := cpuTime()
		for b.Loop() {
			db.ForgetMatches()
			var wg sync.WaitGroup
			errs := make([]error, n)
			sem := make(chan struct{}, limit)
			for i := range n {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					r, err := scanOne(ctx, refs[i], inputs[i])
					if err == nil {
						matches[i] = len(r.Matches)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpu)
		if n == 1 {
			return
		}
		total := 0
		for _, m := range matches {
			total += m
		}
		b.ReportMetric(float64(total), "matches")
		if want < 0 {
			want = total
		} else if total != want {
			b.Fatalf("found %d matches, the first case %d", total, want)
		}
	}
	for _, mode := range []string{"alone", "shared"} {
		b.Run("images=1/match="+mode, func(b *testing.B) { scanAll(b, mode, 1, 1) })
		b.Run("images=9/jobs=1/match="+mode, func(b *testing.B) { scanAll(b, mode, len(inputs), 1) })
		b.Run(fmt.Sprintf("images=9/jobs=%d/match=%s", runtime.GOMAXPROCS(0), mode), func(b *testing.B) {
			scanAll(b, mode, len(inputs), runtime.GOMAXPROCS(0))
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start: on a machine
// shared with other work it is steadier than the wall time, and a
// concurrent case that takes as much CPU as the serial one but no less
// wall time is waiting on something (a lock), not computing.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
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
