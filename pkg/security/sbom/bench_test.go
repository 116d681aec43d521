package sbom_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// BenchmarkGenerate measures generating the fixture image's SBOM:
// "registry" pulls it from the in-process registry through sc's client
// every time, as `sc sbom generate` does; "local" hands Generate the image
// built in memory, which leaves cataloguing and encoding. Run with
//
//	go test -run '^$' -bench . -benchmem ./pkg/security/sbom
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	b.Run("registry", func(b *testing.B) {
		p := pushFixture(b)
		for b.Loop() {
			img, err := p.client.Image(ctx, p.ref)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sbom.Generate(ctx, p.ref, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("registry-prepared", func(b *testing.B) {
		p := pushFixture(b)
		pctx, err := sbom.Prepare(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			img, err := p.client.Image(pctx, p.ref)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sbom.Generate(pctx, p.ref, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local", func(b *testing.B) {
		img := testutil.FixtureImage(b, fixture.Options{})
		h, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		ref, err := name.NewDigest("registry.example/shop/orders-api@" + h.String())
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := sbom.Generate(ctx, ref, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local-prepared", func(b *testing.B) {
		img := testutil.FixtureImage(b, fixture.Options{})
		h, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		ref, err := name.NewDigest("registry.example/shop/orders-api@" + h.String())
		if err != nil {
			b.Fatal(err)
		}
		pctx, err := sbom.Prepare(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := sbom.Generate(pctx, ref, img); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncode measures turning a catalogue into each format.
func BenchmarkEncode(b *testing.B) {
	img := testutil.FixtureImage(b, fixture.Options{})
	h, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}
	ref, err := name.NewDigest("registry.example/shop/orders-api@" + h.String())
	if err != nil {
		b.Fatal(err)
	}
	res, err := sbom.Generate(context.Background(), ref, img)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range sbom.Formats() {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				doc, err := sbom.Encode(res.SBOM, f, "")
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(doc)))
			}
		})
	}
}

// BenchmarkGenerateSecondImage measures the SBOM of a second image of a
// release, which shares all but its service layer with the first: "whole"
// catalogues it as syft does, "layer-cache" composes it from the first
// image's cataloguing kept in a layer cache (WithLayerCache). Both read and
// unpack the image and encode the document. Run with
//
//	go test -run '^$' -bench GenerateSecondImage -benchmem ./pkg/security/sbom
func BenchmarkGenerateSecondImage(b *testing.B) {
	ctx, err := sbom.Prepare(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	imgs, err := fixture.Images(2)
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]name.Digest, len(imgs))
	for i, img := range imgs {
		h, err := img.Digest()
		if err != nil {
			b.Fatal(err)
		}
		if refs[i], err = name.NewDigest("registry.example/shop/svc@" + h.String()); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name   string
		cached bool
	}{{"whole", false}, {"layer-cache", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []sbom.Option
			if bc.cached {
				lc, err := cache.New(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, sbom.WithLayerCache(lc))
				if _, err := sbom.Generate(ctx, refs[0], imgs[0], opts...); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				r, err := sbom.Generate(ctx, refs[1], imgs[1], opts...)
				if err != nil {
					b.Fatal(err)
				}
				if bc.cached && r.Layers.Layers == 0 {
					b.Fatalf("catalogued whole: %+v", r.Layers)
				}
			}
		})
	}
}
