package sbom_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// pushed is the fixture image in a registry of its own.
type pushed struct {
	ref    name.Digest
	client *registry.Client
	faults *testutil.Faults
	// image is the image as the client opens it: lazy, layers not fetched.
	image v1.Image
	// layers are the digests of the image's layer blobs.
	layers []string
}

// newClient returns a registry client with fast retries that never reads
// the machine's docker config.
func newClient() *registry.Client {
	return registry.New(
		registry.WithKeychain(authn.NewMultiKeychain()),
		registry.WithRetry(2, time.Millisecond),
		registry.WithUserAgent("sc-test"),
	)
}

// pushFixture pushes the fixture image to a fresh in-process registry
// whose requests are recorded (and counted from zero once it is pushed),
// resolves it and opens it through sc's registry client.
func pushFixture(t testing.TB) pushed {
	t.Helper()
	return pushFixtureTo(t, testutil.NewRegistry)
}

// pushFixtureTo is pushFixture on a registry that start starts.
func pushFixtureTo(t testing.TB, start func(testing.TB, ...testutil.RegistryOption) *testutil.Registry) pushed {
	t.Helper()
	faults := testutil.NewFaults()
	reg := start(t, testutil.WithHandler(faults.Wrap))
	c := newClient()
	img := testutil.FixtureImage(t, fixture.Options{})
	ctx := context.Background()

	r, err := c.ParseReference(reg.Ref("shop/orders-api:1.4.2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, c.RemoteOptions(ctx)...); err != nil {
		t.Fatalf("pushing the fixture: %v", err)
	}
	faults.Reset()

	d, err := c.Resolve(ctx, r.String())
	if err != nil {
		t.Fatal(err)
	}
	remoteImg, err := c.Image(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	p := pushed{ref: d, client: c, faults: faults, image: remoteImg}
	for _, l := range layers {
		h, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		p.layers = append(p.layers, h.String())
	}
	return p
}

// generated caches one default generation of the fixture image for the
// tests that only read it (formats, schemas, decoding): cataloguing is the
// slow part of this package's tests.
var generated struct {
	once sync.Once
	res  *sbom.Result
	err  error
}

// fixtureSBOM returns the default SBOM of the fixture image, generated once
// per test binary.
func fixtureSBOM(t *testing.T) *sbom.Result {
	t.Helper()
	generated.once.Do(func() {
		p := pushFixture(t)
		generated.res, generated.err = sbom.Generate(context.Background(), p.ref, p.image)
	})
	if generated.err != nil {
		t.Fatalf("generating the fixture SBOM: %v", generated.err)
	}
	return generated.res
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (refresh with -update): %v", err)
	}
	return want
}
