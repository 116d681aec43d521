package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// platformIndex builds an index of one random image per platform, plus,
// with buildx, one attestation manifest per platform as buildx adds them.
func platformIndex(t *testing.T, mt types.MediaType, buildx bool, platforms ...string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		plat, err := registry.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
		if buildx {
			att, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := img.Digest()
			adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{
					registry.AnnotationDockerReferenceType:   "attestation-manifest",
					registry.AnnotationDockerReferenceDigest: h.String(),
				},
			}})
		}
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mt)
}

func TestPlatforms(t *testing.T) {
	ctx := context.Background()
	forEachRegistry(t, func(t *testing.T, k kind) {
		reg := k.start(t)
		c := newClient()
		push := func(ref string, idx v1.ImageIndex) {
			t.Helper()
			r, err := c.ParseReference(reg.Ref(ref))
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.WriteIndex(r, idx, c.RemoteOptions(ctx)...); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name      string
			mt        types.MediaType
			buildx    bool
			platforms []string
			selection []string
			want      []string
			skipped   int
		}{
			{name: "OCI index of two", mt: types.OCIImageIndex, platforms: []string{"linux/amd64", "linux/arm64"}, want: []string{"linux/amd64", "linux/arm64"}},
			{name: "Docker manifest list of three with a variant", mt: types.DockerManifestList,
				platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}, want: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
			{name: "buildx attestation manifests are skipped", mt: types.OCIImageIndex, buildx: true,
				platforms: []string{"linux/amd64", "linux/arm64"}, want: []string{"linux/amd64", "linux/arm64"}, skipped: 2},
			{name: "selection", mt: types.OCIImageIndex, platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
				selection: []string{"linux/arm64"}, want: []string{"linux/arm64"}, skipped: 2},
			{name: "a selection without variant matches the variant", mt: types.OCIImageIndex, platforms: []string{"linux/amd64", "linux/arm/v7"},
				selection: []string{"linux/arm"}, want: []string{"linux/arm/v7"}, skipped: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				idx := platformIndex(t, tt.mt, tt.buildx, tt.platforms...)
				push("multi:"+strings.ReplaceAll(tt.name, " ", "-"), idx)
				h, _ := idx.Digest()
				d, err := c.Resolve(ctx, reg.Ref("multi@"+h.String()))
				if err != nil {
					t.Fatal(err)
				}
				var sel []v1.Platform
				for _, s := range tt.selection {
					p, err := registry.ParsePlatform(s)
					if err != nil {
						t.Fatal(err)
					}
					sel = append(sel, p)
				}
				got, err := c.Platforms(ctx, d, sel...)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Index || got.Digest != d {
					t.Errorf("Index=%v Digest=%s, want an index at %s", got.Index, got.Digest, d)
				}
				var names []string
				for _, p := range got.Images {
					names = append(names, p.Name())
					if p.Digest.Context() != d.Context() {
						t.Errorf("platform %s in repository %s, want %s", p.Name(), p.Digest.Context(), d.Context())
					}
					if _, err := c.Image(ctx, p.Digest); err != nil {
						t.Errorf("platform %s: %v", p.Name(), err)
					}
				}
				if diff := cmp.Diff(tt.want, names); diff != "" {
					t.Errorf("platforms (-want +got):\n%s", diff)
				}
				if len(got.Skipped) != tt.skipped {
					t.Errorf("skipped %+v, want %d", got.Skipped, tt.skipped)
				}
				for _, s := range got.Skipped {
					if s.Reason == "" || s.Digest == "" {
						t.Errorf("skipped manifest without digest or reason: %+v", s)
					}
				}
			})
		}
	})
}

func TestPlatformsOfAnImage(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("single:1"))
	got, err := c.Platforms(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Index || len(got.Images) != 1 || got.Images[0].Digest != d || got.Images[0].Name() != "" {
		t.Errorf("Platforms of an image = %+v, want the image itself", got)
	}
}

func TestPlatformsRefused(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient()
	push := func(tag string, idx v1.ImageIndex) *v1.Hash {
		t.Helper()
		r, err := c.ParseReference(reg.Ref("multi:" + tag))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(r, idx, c.RemoteOptions(ctx)...); err != nil {
			t.Fatal(err)
		}
		h, _ := idx.Digest()
		return &h
	}
	two := platformIndex(t, types.OCIImageIndex, false, "linux/amd64", "linux/arm64")
	nested := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: two, Descriptor: v1.Descriptor{MediaType: types.OCIImageIndex}})
	onlyAttestations := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: mustRandom(t), Descriptor: v1.Descriptor{
		Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})

	for _, tt := range []struct {
		name      string
		idx       v1.ImageIndex
		selection string
		want      error
		wantCode  int
	}{
		{name: "nested index", idx: nested, want: registry.ErrMalformed, wantCode: outcome.ExitOperational},
		{name: "no platform image", idx: onlyAttestations, want: registry.ErrMalformed, wantCode: outcome.ExitOperational},
		{name: "selection matches nothing", idx: two, selection: "windows/amd64", want: registry.ErrNoPlatform, wantCode: outcome.ExitInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := push(strings.ReplaceAll(tt.name, " ", "-"), tt.idx)
			d := mustDigest(t, reg.Ref("multi@"+h.String()))
			var sel []v1.Platform
			if tt.selection != "" {
				p, _ := registry.ParsePlatform(tt.selection)
				sel = append(sel, p)
			}
			_, err := c.Platforms(ctx, d, sel...)
			if !errors.Is(err, tt.want) || outcome.Code(err) != tt.wantCode {
				t.Errorf("Platforms = %v, want %v (exit %d)", err, tt.want, tt.wantCode)
			}
		})
	}
}

func TestParsePlatform(t *testing.T) {
	for _, s := range []string{"linux/amd64", "linux/arm/v7", "windows/amd64"} {
		if p, err := registry.ParsePlatform(s); err != nil || p.String() != s {
			t.Errorf("ParsePlatform(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "linux", "linux/", "/amd64", "linux/arm/v7/x"} {
		if _, err := registry.ParsePlatform(s); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("ParsePlatform(%q) = %v, want a usage error", s, err)
		}
	}
}

func TestPlatformsOne(t *testing.T) {
	d := mustDigest(t, "registry.example/app@sha256:"+strings.Repeat("a", 64))
	amd, arm := v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"}
	one := &registry.Platforms{Digest: d, Index: true, Images: []registry.PlatformImage{{Digest: d, Platform: &arm}}}
	if img, err := one.One(); err != nil || img.Name() != "linux/arm64" {
		t.Errorf("one platform: %v, %v", img, err)
	}
	two := &registry.Platforms{Digest: d, Index: true, Images: []registry.PlatformImage{{Digest: d, Platform: &amd}, {Digest: d, Platform: &arm}}}
	if _, err := two.One(); !errors.Is(err, registry.ErrSeveralPlatforms) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("two platforms: %v, want ErrSeveralPlatforms naming them", err)
	}
}

func TestParsePlatforms(t *testing.T) {
	got, err := registry.ParsePlatforms([]string{"linux/amd64", "linux/arm/v7"})
	if err != nil || len(got) != 2 || got[1].Variant != "v7" {
		t.Errorf("ParsePlatforms = %v, %v", got, err)
	}
	if got, err := registry.ParsePlatforms(nil); err != nil || got != nil {
		t.Errorf("ParsePlatforms(nil) = %v, %v; want no selection", got, err)
	}
	if _, err := registry.ParsePlatforms([]string{"linux/amd64", "arm64"}); outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), `"arm64"`) {
		t.Errorf("a bad entry: %v, want a usage error naming it", err)
	}
}

func mustRandom(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Resolving a single image and listing its platforms reads its manifest
// once: the HEAD that resolved it already said it is no index.
func TestPlatformsOfAResolvedImageReadNoManifest(t *testing.T) {
	f := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(f.Wrap))
	c := newClient()
	pushImage(t, c, reg.Ref("single:1"))
	f.Reset()
	ctx := context.Background()
	d, err := c.Resolve(ctx, reg.Ref("single:1"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.Platforms(ctx, d)
	if err != nil || ps.Index || len(ps.Images) != 1 {
		t.Fatalf("Platforms = %+v, %v", ps, err)
	}
	if n := f.Count(http.MethodGet, testutil.ClassManifest); n != 0 {
		t.Errorf("%d manifest GETs after the resolving HEAD, want 0", n)
	}
	// an index still gets its manifest read
	idx := platformIndex(t, types.OCIImageIndex, false, "linux/amd64", "linux/arm64")
	r, _ := c.ParseReference(reg.Ref("multi:1"))
	if err := remote.WriteIndex(r, idx, c.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	di, err := c.Resolve(ctx, reg.Ref("multi:1"))
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := c.Platforms(ctx, di); err != nil || !ps.Index || len(ps.Images) != 2 {
		t.Errorf("Platforms of the index = %+v, %v", ps, err)
	}
}
