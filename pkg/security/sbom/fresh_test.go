package sbom_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// freshEnv tells a child process of BenchmarkGenerateFresh which
// generation to make.
const freshEnv = "SC_SBOM_BENCH_FRESH"

// freshLayersEnv names, for the "layer-cache" child, the layer cache the
// parent filled.
const freshLayersEnv = "SC_SBOM_BENCH_LAYERS"

// freshBlobDelay is how long each layer blob takes to start arriving in the
// "registry-slow" case: a pull over a network, which is where the license
// scanner is built meanwhile.
const freshBlobDelay = 500 * time.Millisecond

// BenchmarkGenerateFresh measures the first SBOM generation of a process,
// as `sc sbom generate` and every ephemeral CI runner pay it: each
// iteration starts this test binary again (TestFreshGenerate), which makes
// one SBOM of the fixture image and reports the time and bytes allocated
// by Generate alone; the peak RSS is the child's. "local" hands Generate
// the image built in memory, "registry" pulls it from an in-process
// registry through sc's client, "registry-slow" from one whose layer blobs
// each take freshBlobDelay to start; "layer-cache" makes the SBOM of a
// second image of a release, sharing all but its service layer with the
// first, from a layer cache that holds the first one's cataloguing (a
// runner whose cache survived, a new build on the same base): composed,
// without syft's license scanner. Run with
//
//	go test -run '^$' -bench GenerateFresh -count 5 ./pkg/security/sbom
func BenchmarkGenerateFresh(b *testing.B) {
	layers := b.TempDir()
	for _, mode := range []string{"local", "registry", "registry-slow", "layer-cache"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "layer-cache" {
				imgs := testutil.FixtureImages(b, 1)
				lc, err := cache.New(layers)
				if err != nil {
					b.Fatal(err)
				}
				h, err := imgs[0].Digest()
				if err != nil {
					b.Fatal(err)
				}
				ref, err := name.NewDigest("registry.example/shop/svc@" + h.String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sbom.Generate(context.Background(), ref, imgs[0], sbom.WithLayerCache(lc)); err != nil {
					b.Fatal(err)
				}
			}
			var ns, alloc, rss float64
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestFreshGenerate$", "-test.count=1")
				cmd.Env = append(os.Environ(), freshEnv+"="+mode, freshLayersEnv+"="+layers)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("child: %v\n%s%s", err, out, stderr.Bytes())
				}
				var gotNs, gotAlloc float64
				found := false
				sc := bufio.NewScanner(bytes.NewReader(out))
				for sc.Scan() {
					if _, err := fmt.Sscanf(sc.Text(), "fresh-generate ns=%g bytes=%g", &gotNs, &gotAlloc); err == nil {
						found = true
					}
				}
				if !found {
					b.Fatalf("child reported nothing:\n%s", out)
				}
				ns, alloc = ns+gotNs, alloc+gotAlloc
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					rss += float64(ru.Maxrss)
				}
			}
			n := float64(b.N)
			b.ReportMetric(ns/n, "gen-ns/op")
			b.ReportMetric(alloc/n, "gen-B/op")
			b.ReportMetric(rss/n, "peak-RSS-KiB/op")
		})
	}
}

// TestFreshGenerate is BenchmarkGenerateFresh's child: it runs only when
// that benchmark starts it.
func TestFreshGenerate(t *testing.T) {
	mode := os.Getenv(freshEnv)
	if mode == "" {
		t.Skip("run by BenchmarkGenerateFresh in a process of its own")
	}
	ctx := context.Background()
	var ref name.Digest
	var generate func() error
	switch mode {
	case "local":
		img := testutil.FixtureImage(t, fixture.Options{})
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if ref, err = name.NewDigest("registry.example/shop/orders-api@" + h.String()); err != nil {
			t.Fatal(err)
		}
		generate = func() error { _, err := sbom.Generate(ctx, ref, img); return err }
	case "layer-cache":
		img := testutil.FixtureImages(t, 2)[1]
		lc, err := cache.New(os.Getenv(freshLayersEnv))
		if err != nil {
			t.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if ref, err = name.NewDigest("registry.example/shop/svc@" + h.String()); err != nil {
			t.Fatal(err)
		}
		generate = func() error {
			r, err := sbom.Generate(ctx, ref, img, sbom.WithLayerCache(lc))
			if err == nil && (r.Layers == nil || r.Layers.Layers == 0) {
				err = fmt.Errorf("not composed from the layer cache: %+v", r.Layers)
			}
			return err
		}
	case "registry", "registry-slow":
		p := pushFixture(t)
		if mode == "registry-slow" {
			p.faults.Delay(testutil.On("GET", testutil.ClassBlob), testutil.Always, freshBlobDelay)
		}
		generate = func() error {
			img, err := p.client.Image(ctx, p.ref)
			if err != nil {
				return err
			}
			_, err = sbom.Generate(ctx, p.ref, img)
			return err
		}
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	if err := generate(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	fmt.Printf("fresh-generate ns=%d bytes=%d\n", elapsed.Nanoseconds(), after.TotalAlloc-before.TotalAlloc)
}
