package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// pkgSummary is what the equality tests compare of a package: what an
// auditor reads in the SBOM.
type pkgSummary struct {
	ID, Name, Version, Type, PURL, FoundBy, Metadata string
	Locations                                        []string
	Licenses                                         []string
	CPEs                                             []string
}

// modelSummary is the packages, relationships and distribution of an SBOM.
type modelSummary struct {
	Packages      []pkgSummary
	Relationships []string
	Distro        string
}

func summarizeModel(t *testing.T, r *sbom.Result) modelSummary {
	t.Helper()
	var m modelSummary
	for _, p := range r.SBOM.Artifacts.Packages.Sorted() {
		s := pkgSummary{ID: string(p.ID()), Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL, FoundBy: p.FoundBy}
		if p.Metadata != nil {
			b, err := json.Marshal(p.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			s.Metadata = fmt.Sprintf("%T %s", p.Metadata, b)
		}
		for _, l := range p.Locations.ToSlice() {
			s.Locations = append(s.Locations, l.RealPath+"|"+l.AccessPath+"|"+l.FileSystemID+"|"+l.Annotations["evidence"])
		}
		for _, l := range p.Licenses.ToSlice() {
			s.Licenses = append(s.Licenses, l.Value+"|"+l.SPDXExpression+"|"+string(l.Type))
		}
		for _, c := range p.CPEs {
			s.CPEs = append(s.CPEs, c.Attributes.String())
		}
		slices.Sort(s.Locations)
		m.Packages = append(m.Packages, s)
	}
	for _, rel := range r.SBOM.Relationships {
		m.Relationships = append(m.Relationships, string(rel.From.ID())+" "+string(rel.Type)+" "+string(rel.To.ID()))
	}
	slices.Sort(m.Relationships)
	if d := r.SBOM.Artifacts.LinuxDistribution; d != nil {
		m.Distro = d.ID + " " + d.VersionID + " " + d.PrettyName
	}
	return m
}

func refOf(t *testing.T, img v1.Image) name.Digest {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest("registry.invalid/layers@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func newLayerCache(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func generate(t *testing.T, ctx context.Context, img v1.Image, opts ...sbom.Option) *sbom.Result {
	t.Helper()
	r, err := sbom.Generate(ctx, refOf(t, img), img, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// prepared is a context from sbom.Prepare, as a release shares one.
func prepared(t testing.TB) context.Context {
	t.Helper()
	ctx, err := sbom.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func layerCount(t *testing.T, img v1.Image) int {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

// TestLayerCacheEqualsWholeImage: an image whose lower layers are in the
// layer cache gets exactly the SBOM model syft makes of the whole image,
// whether it was composed (upper layers syft does not look at) or, because
// an upper layer replaces, upgrades or deletes what a lower one's packages
// come from, catalogued whole.
func TestLayerCacheEqualsWholeImage(t *testing.T) {
	ctx := prepared(t)
	base, err := fixture.Image(fixture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	siblings, err := fixture.Images(2)
	if err != nil {
		t.Fatal(err)
	}
	status := testutil.ImageFile(t, base, fixture.DpkgStatusPath)
	// bash upgraded, the last stanza (a package) removed
	upgraded := bytes.Replace(status, []byte("Version: 5.2.15-2+b2"), []byte("Version: 5.2.15-3"), 1)
	if bytes.Equal(upgraded, status) {
		t.Fatal("the fixture's dpkg status no longer has bash 5.2.15-2+b2")
	}
	stanzas := bytes.Split(bytes.TrimSpace(upgraded), []byte("\n\n"))
	rewritten := append(bytes.Join(stanzas[:len(stanzas)-1], []byte("\n\n")), '\n')
	lock := testutil.ImageFile(t, base, fixture.PackageLockPath)
	newLock := bytes.ReplaceAll(lock, []byte("4.17.20"), []byte("4.17.21"))
	if bytes.Equal(lock, newLock) {
		t.Fatal("the fixture's lock file no longer has lodash 4.17.20")
	}
	binary := testutil.ImageFile(t, base, fixture.BinaryPath)

	for _, tc := range []struct {
		name     string
		img      v1.Image
		composed bool
		// either: only equality is asserted
		either bool
	}{
		{"a sibling of the fixture image (another service layer)", siblings[1], true, false},
		{"plain: base plus an application layer of static files", testutil.AppendFiles(t, base, map[string][]byte{
			"srv": nil, "srv/www": nil, "srv/www/index.html": []byte("<h1>hi</h1>\n"), "srv/www/app.css": []byte("h1{}\n"),
		}), true, false},
		{"dpkg status rewritten: a package upgraded, one removed", testutil.AppendFiles(t, base, map[string][]byte{
			fixture.DpkgStatusPath: rewritten,
		}), false, false},
		{"npm lock file changed", testutil.AppendFiles(t, base, map[string][]byte{fixture.PackageLockPath: newLock}), false, false},
		{"lock file whited out", testutil.AppendFiles(t, base, map[string][]byte{"app/.wh.package-lock.json": {}}), false, false},
		{"a copyright file (license evidence) whited out", testutil.AppendFiles(t, base, map[string][]byte{"usr/share/doc/bash/.wh.copyright": {}}), false, false},
		{"the dpkg directory made opaque", testutil.AppendFiles(t, base, map[string][]byte{"var/lib/dpkg/.wh..wh..opq": {}, "var/lib/dpkg/status": status}), false, false},
		{"the Go binary replaced by the same bytes in a new layer", testutil.AppendFiles(t, base, map[string][]byte{fixture.BinaryPath: binary}), false, false},
		{"a Go binary added (found by its MIME type)", testutil.AppendFiles(t, base, map[string][]byte{"opt/bin/tool": binary}), false, false},
		{"a file in a Nix store added (syft walks every file for those)", testutil.AppendFiles(t, base, map[string][]byte{
			"nix/store/5b4ycbfvvjcmdrv8sqz3bcqy5a5xj3fl-hello-2.12.1/share/doc/hello/README": []byte("hello\n"),
		}), false, false},
		{"a file written below a link of the base (/lib -> usr/lib)", testutil.AppendFiles(t, base, map[string][]byte{
			"lib/x86_64-linux-gnu/notes.txt": []byte("x\n"),
		}), false, true},
		{"a text file written into /etc", testutil.AppendFiles(t, base, map[string][]byte{
			"etc/app.conf": []byte("port=8080\n"),
		}), true, false},
		{"an npm package added", testutil.AppendFiles(t, base, map[string][]byte{
			"app/node_modules/left-pad/package.json": []byte(`{"name":"left-pad","version":"1.3.0","license":"WTFPL"}`),
		}), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := newLayerCache(t)
			// the base's chain goes into the cache
			if r := generate(t, ctx, base, sbom.WithLayerCache(lc)); r.Layers == nil || r.Layers.Layers != 0 {
				t.Fatalf("base: Layers = %+v, want catalogued", r.Layers)
			}
			want := summarizeModel(t, generate(t, ctx, tc.img))
			if len(want.Packages) == 0 {
				t.Fatal("syft found no packages")
			}
			got := generate(t, ctx, tc.img, sbom.WithLayerCache(lc))
			if diff := cmp.Diff(want, summarizeModel(t, got)); diff != "" {
				t.Errorf("layer-cached SBOM differs from syft's whole image (-syft +cached):\n%s", diff)
			}
			if got.Layers == nil {
				t.Fatal("Layers is nil with a layer cache")
			}
			if composed := got.Layers.Layers > 0; !tc.either && composed != tc.composed {
				t.Errorf("composed = %v (%+v), want %v", composed, got.Layers, tc.composed)
			}
			if !tc.composed && !tc.either && got.Layers.Fallback == "" {
				t.Errorf("catalogued whole without a reason: %+v", got.Layers)
			}
			t.Logf("%+v", got.Layers)
		})
	}
}

// TestLayerCacheCataloguesBaseOnce: of three images sharing all but their
// top layer, only the first is catalogued; the others are composed from the
// first's record, and their documents name their own image.
func TestLayerCacheCataloguesBaseOnce(t *testing.T) {
	ctx := prepared(t)
	imgs, err := fixture.Images(3)
	if err != nil {
		t.Fatal(err)
	}
	lc := newLayerCache(t)
	var runs atomic.Int32
	hook := sbom.WithCatalogueHook(func() { runs.Add(1) })
	n := layerCount(t, imgs[0])
	for i, img := range imgs {
		r := generate(t, ctx, img, sbom.WithLayerCache(lc), hook)
		if got := runs.Load(); got != 1 {
			t.Fatalf("image %d: %d syft runs so far, want 1", i, got)
		}
		if i > 0 && (r.Layers == nil || r.Layers.Layers != n-1) {
			t.Errorf("image %d: Layers = %+v, want %d lower layers reused", i, r.Layers, n-1)
		}
		if !bytes.Contains(r.Document, []byte(refOf(t, img).DigestStr())) {
			t.Errorf("image %d: the document does not name the image's digest", i)
		}
		// the source as syft describes the image read whole: its ID, and
		// the layer and image sizes of layers that were not read
		if diff := cmp.Diff(generate(t, ctx, img).SBOM.Source, r.SBOM.Source); diff != "" {
			t.Errorf("image %d: source differs from syft's (-syft +composed):\n%s", i, diff)
		}
	}
}

// TestLayerCacheComposesWithoutLowerLayers: composing reads only the
// layers above the cached chain; the lower ones are not fetched at all.
// An image that cannot be composed is read whole.
func TestLayerCacheComposesWithoutLowerLayers(t *testing.T) {
	ctx := prepared(t)
	imgs, err := fixture.Images(2)
	if err != nil {
		t.Fatal(err)
	}
	lc := newLayerCache(t)
	generate(t, ctx, imgs[0], sbom.WithLayerCache(lc))

	sibling := testutil.NewCountingImage(t, imgs[1])
	r := generate(t, ctx, sibling, sbom.WithLayerCache(lc))
	n := layerCount(t, imgs[1])
	if r.Layers == nil || r.Layers.Layers != n-1 {
		t.Fatalf("Layers = %+v, want %d lower layers composed", r.Layers, n-1)
	}
	ls, err := imgs[1].Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		d, _ := l.Digest()
		got := sibling.Reads(d)
		if i < n-1 && got != 0 {
			t.Errorf("lower layer %d (%s) read %d times, want none", i, d, got)
		}
		if i == n-1 && got == 0 {
			t.Errorf("the top layer was not read: its changes decide whether the entry applies")
		}
	}

	// an upper layer that rules the entry out: every layer is read
	binary := testutil.ImageFile(t, imgs[0], fixture.BinaryPath)
	ruled := testutil.NewCountingImage(t, testutil.AppendFiles(t, imgs[0], map[string][]byte{"opt/bin/tool": binary}))
	r = generate(t, ctx, ruled, sbom.WithLayerCache(lc))
	if r.Layers == nil || r.Layers.Layers != 0 || r.Layers.Fallback == "" {
		t.Fatalf("Layers = %+v, want catalogued whole with a reason", r.Layers)
	}
	rls, err := ruled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rls {
		if d, _ := l.Digest(); ruled.Reads(d) == 0 {
			t.Errorf("layer %s of an image catalogued whole was not read", d)
		}
	}
}

// TestLayerCacheConcurrentSiblings: siblings whose SBOMs are made at the
// same time with one Prepare context are catalogued once: the others wait
// for the first and compose from its entry. Without a shared context each
// is catalogued.
func TestLayerCacheConcurrentSiblings(t *testing.T) {
	imgs, err := fixture.Images(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		prepared bool
		want     int32
	}{
		{"one Prepare context", true, 1},
		{"no shared context", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.prepared {
				ctx = prepared(t)
			}
			lc := newLayerCache(t)
			var runs atomic.Int32
			// the first run holds until every call has started, so that
			// they all find the cache empty
			var started sync.WaitGroup
			started.Add(len(imgs))
			hook := sbom.WithCatalogueHook(func() { runs.Add(1) })
			var wg sync.WaitGroup
			results := make([]*sbom.Result, len(imgs))
			errs := make([]error, len(imgs))
			for i, img := range imgs {
				wg.Go(func() {
					started.Done()
					started.Wait()
					results[i], errs[i] = sbom.Generate(ctx, refOf(t, img), img, sbom.WithLayerCache(lc), hook)
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("image %d: %v", i, err)
				}
			}
			// without a shared context nothing makes them wait: at least
			// two find the cache empty (all of them, unless one is
			// scheduled only after another has finished)
			if got := runs.Load(); tc.prepared && got != tc.want {
				t.Errorf("%d syft runs for %d siblings started together, want %d", got, len(imgs), tc.want)
			} else if !tc.prepared && got < tc.want {
				t.Errorf("%d syft runs for %d siblings started together, want at least %d", got, len(imgs), tc.want)
			}
			for i, r := range results {
				if diff := cmp.Diff(summarizeModel(t, generate(t, context.Background(), imgs[i])), summarizeModel(t, r)); diff != "" {
					t.Errorf("image %d differs from syft's whole image (-syft +got):\n%s", i, diff)
				}
			}
		})
	}
}

// TestLayerCacheDistrustsEntries: a malformed entry, another cataloguer
// selection and another scope are not reused.
func TestLayerCacheDistrustsEntries(t *testing.T) {
	ctx := prepared(t)
	imgs, err := fixture.Images(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("malformed entries", func(t *testing.T) {
		lc := newLayerCache(t)
		generate(t, ctx, imgs[0], sbom.WithLayerCache(lc))
		entries, err := lc.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			t.Fatal("no layer cache entry written")
		}
		for _, e := range entries {
			if err := lc.Put(ctx, e.Key, []byte(`{"version":1,"sbom":{"artifacts":"nonsense"}}`)); err != nil {
				t.Fatal(err)
			}
		}
		r := generate(t, ctx, imgs[1], sbom.WithLayerCache(lc))
		if r.Layers.Layers != 0 {
			t.Fatalf("reused a malformed entry: %+v", r.Layers)
		}
		if diff := cmp.Diff(summarizeModel(t, generate(t, ctx, imgs[1])), summarizeModel(t, r)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("another cataloguer selection", func(t *testing.T) {
		lc := newLayerCache(t)
		generate(t, ctx, imgs[0], sbom.WithLayerCache(lc))
		r := generate(t, ctx, imgs[1], sbom.WithLayerCache(lc), sbom.WithCatalogers("-javascript"))
		if r.Layers.Layers != 0 {
			t.Fatalf("reused an entry of another selection: %+v", r.Layers)
		}
		for _, p := range r.SBOM.Artifacts.Packages.Sorted() {
			if p.Type == syftpkg.NpmPkg {
				t.Fatalf("npm package %s with the JavaScript cataloguers removed", p.Name)
			}
		}
	})
	t.Run("all layers scope", func(t *testing.T) {
		lc := newLayerCache(t)
		generate(t, ctx, imgs[0], sbom.WithLayerCache(lc))
		r := generate(t, ctx, imgs[1], sbom.WithLayerCache(lc), sbom.WithScope(sbom.AllLayers))
		if r.Layers != nil {
			t.Fatalf("all-layers scope went through the layer cache: %+v", r.Layers)
		}
	})
}

// TestLayerCacheComposesWithoutLicenseScanner: an image composed from the
// layer cache never builds syft's license scanner (about a second of CPU
// and a large heap at its first use in a process), while one whose upper
// layers send it back to syft still gets it and syft's own answer.
func TestLayerCacheComposesWithoutLicenseScanner(t *testing.T) {
	imgs, err := fixture.Images(2)
	if err != nil {
		t.Fatal(err)
	}
	lc := newLayerCache(t)
	prepare := func() context.Context {
		ctx, err := sbom.Prepare(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ctx
	}
	first := prepare()
	generate(t, first, imgs[0], sbom.WithLayerCache(lc))
	if !sbom.LicenseScannerStarted(first) {
		t.Fatal("catalogued without the license scanner")
	}

	composed := prepare()
	r := generate(t, composed, imgs[1], sbom.WithLayerCache(lc))
	if r.Layers == nil || r.Layers.Layers == 0 {
		t.Fatalf("second image not composed: %+v", r.Layers)
	}
	if sbom.LicenseScannerStarted(composed) {
		t.Error("an image composed from the layer cache built the license scanner")
	}

	// an upper layer rewriting the dpkg database: catalogued after all
	status := testutil.ImageFile(t, imgs[0], fixture.DpkgStatusPath)
	rewritten := testutil.AppendFiles(t, imgs[1], map[string][]byte{fixture.DpkgStatusPath: status})
	fallback := prepare()
	got := generate(t, fallback, rewritten, sbom.WithLayerCache(lc))
	if got.Layers == nil || got.Layers.Layers != 0 || got.Layers.Fallback == "" {
		t.Fatalf("rewritten image: Layers = %+v, want catalogued whole with a reason", got.Layers)
	}
	if !sbom.LicenseScannerStarted(fallback) {
		t.Error("catalogued without the license scanner")
	}
	if diff := cmp.Diff(summarizeModel(t, generate(t, prepare(), rewritten)), summarizeModel(t, got)); diff != "" {
		t.Errorf("catalogued after a cache hit differs from syft's whole image (-syft +got):\n%s", diff)
	}
}
