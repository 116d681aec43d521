package sbom_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
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
