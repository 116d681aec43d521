package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

const (
	bundleType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	intotoType   = "application/vnd.in-toto+json"
	created1     = "2025-01-02T03:04:05Z"
	created2     = "2025-01-02T03:04:06Z"
	fixedNowText = "2030-06-07T08:09:10Z"
)

var fixedNow = time.Date(2030, 6, 7, 8, 9, 10, 0, time.UTC)

func bundleArtifact(data string) registry.Artifact {
	return registry.Artifact{MediaType: bundleType, Data: []byte(data)}
}

func TestSupportsReferrers(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		f := testutil.NewFaults()
		reg := k.start(t, testutil.WithHandler(f.Wrap))
		c := newClient()
		d := pushImage(t, c, reg.Ref("app:v1"))
		f.Reset()

		got, err := c.SupportsReferrers(ctx, d.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != k.referrers {
			t.Errorf("SupportsReferrers = %v, want %v", got, k.referrers)
		}
		// Asked once per repository, then remembered.
		if _, err := c.SupportsReferrers(ctx, d.Context()); err != nil {
			t.Fatal(err)
		}
		if n := f.Count(http.MethodGet, testutil.ClassReferrers); n != 1 {
			t.Errorf("%d referrers API requests for two questions, want 1", n)
		}
	})
}

// A registry with the API answers NAME_UNKNOWN for a repository it does
// not have: that says nothing about the API, so it is not remembered.
func TestSupportsReferrersUnknownRepository(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	c := newClient()
	repo, _ := name.NewRepository(reg.Ref("app"))
	got, err := c.SupportsReferrers(ctx, repo)
	if err != nil || got {
		t.Fatalf("SupportsReferrers of a missing repository = %v, %v; want false, nil", got, err)
	}
	pushImage(t, c, reg.Ref("app:v1"))
	if got, err := c.SupportsReferrers(ctx, repo); err != nil || !got {
		t.Errorf("SupportsReferrers once the repository exists = %v, %v; want true", got, err)
	}
}

func TestAttachFetchReferrers(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		reg := k.start(t)
		c := newClient(registry.WithClock(func() time.Time { return fixedNow }))
		d := pushImage(t, c, reg.Ref("team/app:v1"))
		other := pushImage(t, c, reg.Ref("team/app:v2"))

		bundle := bundleArtifact(`{"bundle":1}`)
		bundle.Annotations = map[string]string{"layer.note": "b"}
		h1, err := c.AttachReferrer(ctx, d, bundleType, bundle, map[string]string{
			registry.AnnotationCreated:          created1,
			"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1",
		})
		if err != nil {
			t.Fatalf("AttachReferrer: %v", err)
		}
		statement := registry.Artifact{MediaType: "application/vnd.dsse.envelope.v1+json", Data: []byte(`{"dsse":1}`)}
		h2, err := c.AttachReferrer(ctx, d, intotoType, statement, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A referrer of another image is not listed for this one.
		if _, err := c.AttachReferrer(ctx, other, bundleType, bundleArtifact("other"), nil); err != nil {
			t.Fatal(err)
		}

		all, err := c.Referrers(ctx, d, "")
		if err != nil {
			t.Fatalf("Referrers: %v", err)
		}
		type row struct {
			Digest       v1.Hash
			ArtifactType string
			Created      string
		}
		var rows []row
		for _, r := range all {
			rows = append(rows, row{r.Digest, r.ArtifactType, r.Annotations[registry.AnnotationCreated]})
		}
		want := []row{{h1, bundleType, created1}, {h2, intotoType, fixedNowText}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("Referrers (-want +got):\n%s", diff)
		}

		bundles, err := c.Referrers(ctx, d, bundleType)
		if err != nil {
			t.Fatal(err)
		}
		if len(bundles) != 1 || bundles[0].Digest != h1 {
			t.Fatalf("Referrers(%s) = %+v, want only %s", bundleType, bundles, h1)
		}
		if none, err := c.Referrers(ctx, d, "application/x-nothing"); err != nil || len(none) != 0 {
			t.Errorf("Referrers of an absent type = %v, %v; want none", none, err)
		}

		got, err := c.FetchReferrer(ctx, d, bundles[0])
		if err != nil {
			t.Fatalf("FetchReferrer: %v", err)
		}
		wantArt := bundle
		wantArt.Digest = sha(bundle.Data)
		wantArt.ManifestAnnotations = map[string]string{
			registry.AnnotationCreated:          created1,
			"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1",
		}
		if diff := cmp.Diff(wantArt, got); diff != "" {
			t.Errorf("FetchReferrer (-want +got):\n%s", diff)
		}

		// Through the API or the referrers tag schema fallback.
		fallback, _ := registry.FallbackTag(d)
		if got := tagExists(t, c, fallback); got == k.referrers {
			t.Errorf("fallback tag %s exists: %v; want it only without the referrers API", fallback, got)
		}
	})
}

// The referrer manifest is laid out as cosign v3's WriteReferrer writes it.
func TestReferrerLayout(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient(registry.WithClock(func() time.Time { return fixedNow }))
	d := pushImage(t, c, reg.Ref("app:v1"))
	a := bundleArtifact("bundle")
	a.Annotations = map[string]string{"k": "v"}
	h, err := c.AttachReferrer(ctx, d, bundleType, a, map[string]string{"dev.sigstore.bundle.content": "dsse-envelope"})
	if err != nil {
		t.Fatal(err)
	}
	sdesc, err := remote.Head(d, c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	desc := manifestOf(t, c, d.Context().Digest(h.String()))
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("media type %s", desc.MediaType)
	}
	var got map[string]any
	if err := json.Unmarshal(desc.Manifest, &got); err != nil {
		t.Fatal(err)
	}
	empty := sha([]byte("{}"))
	want := map[string]any{
		"schemaVersion": 2.0,
		"mediaType":     string(types.OCIManifestSchema1),
		"artifactType":  bundleType,
		"config": map[string]any{
			"mediaType":    "application/vnd.oci.empty.v1+json",
			"artifactType": bundleType,
			"digest":       empty.String(),
			"size":         2.0,
		},
		"layers": []any{map[string]any{
			"mediaType":   bundleType,
			"digest":      sha(a.Data).String(),
			"size":        float64(len(a.Data)),
			"annotations": map[string]any{"k": "v"},
		}},
		"subject": map[string]any{
			"mediaType": string(sdesc.MediaType),
			"digest":    d.DigestStr(),
			"size":      float64(sdesc.Size),
		},
		"annotations": map[string]any{
			"dev.sigstore.bundle.content": "dsse-envelope",
			registry.AnnotationCreated:    fixedNowText,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("referrer manifest (-want +got):\n%s", diff)
	}
	// The config blob is there.
	cfg, err := remote.Layer(d.Context().Digest(empty.String()), c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Compressed(); err != nil {
		t.Errorf("empty config blob: %v", err)
	}
}

// On a registry without the referrers API, the fallback index lists the
// referrer with its artifact type and annotations, and attaching the same
// referrer twice lists it once.
func TestReferrersFallbackIndex(t *testing.T) {
	for _, k := range kinds() {
		if k.referrers {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			ctx := context.Background()
			reg := k.start(t)
			c := newClient()
			d := pushImage(t, c, reg.Ref("app:v1"))
			ann := map[string]string{registry.AnnotationCreated: created1}
			h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), ann)
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), ann)
			if err != nil || again != h {
				t.Fatalf("attaching again = %s, %v; want %s", again, err, h)
			}
			fallback, _ := registry.FallbackTag(d)
			desc := manifestOf(t, c, fallback)
			if desc.MediaType != types.OCIImageIndex {
				t.Fatalf("fallback tag media type %s", desc.MediaType)
			}
			im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
			if err != nil {
				t.Fatal(err)
			}
			want := []v1.Descriptor{{
				MediaType:    types.OCIManifestSchema1,
				Digest:       h,
				Size:         manifestOf(t, c, d.Context().Digest(h.String())).Size,
				ArtifactType: bundleType,
				Annotations:  ann,
			}}
			if diff := cmp.Diff(want, im.Manifests); diff != "" {
				t.Errorf("fallback index (-want +got):\n%s", diff)
			}
		})
	}
}

// go-containerregistry's in-process registry reports the config media type
// as the artifact type in its referrers answer; Referrers reads the real one
// from the manifest.
func TestReferrersArtifactTypeFromManifest(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Referrers(ctx, d, bundleType)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != h || got[0].ArtifactType != bundleType {
		t.Errorf("Referrers = %+v, want %s with type %s", got, h, bundleType)
	}
}

// A paged referrers answer (Link: <…>; rel="next") is read to the end.
func TestReferrersPagination(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(pageReferrers))
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	var want []v1.Hash
	for _, data := range []string{"a", "b", "c"} {
		h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, h)
	}
	got, err := c.Referrers(ctx, d, "")
	if err != nil {
		t.Fatal(err)
	}
	var gotH []v1.Hash
	for _, r := range got {
		gotH = append(gotH, r.Digest)
	}
	slices.SortFunc(want, func(a, b v1.Hash) int { return cmpString(a.String(), b.String()) })
	slices.SortFunc(gotH, func(a, b v1.Hash) int { return cmpString(a.String(), b.String()) })
	if diff := cmp.Diff(want, gotH); diff != "" {
		t.Errorf("referrers over pages (-want +got):\n%s", diff)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pageReferrers serves the referrers answer one descriptor per page.
func pageReferrers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if testutil.Classify(r) != testutil.ClassReferrers {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		page := r.URL.Query().Get("page")
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = ""
		next.ServeHTTP(rec, r2)
		var im v1.IndexManifest
		if err := json.Unmarshal(rec.Body.Bytes(), &im); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		slices.SortFunc(im.Manifests, func(a, b v1.Descriptor) int { return cmpString(a.Digest.String(), b.Digest.String()) })
		i, _ := strconv.Atoi(page)
		total := len(im.Manifests)
		if i < total {
			im.Manifests = im.Manifests[i : i+1]
		}
		if i+1 < total {
			w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, i+1))
		}
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		_ = json.NewEncoder(w).Encode(im)
	})
}

func TestFetchReferrerAdversarial(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	other := pushImage(t, c, reg.Ref("app:v2"))
	hOther, err := c.AttachReferrer(ctx, other, bundleType, bundleArtifact("for v2"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("referrer of another image", func(t *testing.T) {
		_, err := c.FetchReferrer(ctx, d, v1.Descriptor{Digest: hOther})
		if !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("FetchReferrer = %v, want ErrMalformed", err)
		}
	})
	t.Run("missing referrer", func(t *testing.T) {
		_, err := c.FetchReferrer(ctx, d, v1.Descriptor{Digest: sha([]byte("nothing"))})
		if !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("FetchReferrer = %v, want ErrNotFound", err)
		}
	})
	t.Run("no digest", func(t *testing.T) {
		if _, err := c.FetchReferrer(ctx, d, v1.Descriptor{}); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("FetchReferrer = %v, want exit 2", err)
		}
	})
	t.Run("forged fallback entry", func(t *testing.T) {
		// The fallback index of d lists a manifest of another image: it is
		// dropped from listings when its type has to be read, and refused
		// when fetched.
		fallback, _ := registry.FallbackTag(d)
		forged := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{
			{MediaType: types.OCIManifestSchema1, Digest: hOther, Size: 1},
		}}
		putRaw(t, c, fallback, types.OCIImageIndex, mustJSON(t, forged))
		got, err := c.Referrers(ctx, d, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("Referrers listed a forged entry: %+v", got)
		}
		if _, err := c.FetchReferrer(ctx, d, forged.Manifests[0]); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("FetchReferrer of the forged entry = %v, want ErrMalformed", err)
		}
	})
	t.Run("fallback tag is not an index", func(t *testing.T) {
		d3 := pushImage(t, c, reg.Ref("app:v3"))
		fallback, _ := registry.FallbackTag(d3)
		pushThis(t, c, fallback.String(), mustImage(t))
		_, err := c.Referrers(ctx, d3, "")
		if !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("Referrers = %v, want ErrMalformed", err)
		}
	})
	t.Run("tampered blob", func(t *testing.T) {
		tamper := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && testutil.Classify(r) == testutil.ClassBlob {
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					b := rec.Body.Bytes()
					if len(b) > 0 {
						b[0] ^= 1
					}
					w.WriteHeader(rec.Code)
					_, _ = w.Write(b)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
		reg := testutil.NewRegistry(t, testutil.WithHandler(tamper))
		d := pushImage(t, c, reg.Ref("app:v1"))
		h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("genuine"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.FetchReferrer(ctx, d, v1.Descriptor{Digest: h})
		if !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("FetchReferrer of a tampered blob = %v, want ErrMalformed", err)
		}
		if _, err := c.AttachLegacy(ctx, d, "sig", sigArtifact("genuine", "x")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FetchLegacy(ctx, d, "sig"); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("FetchLegacy of a tampered blob = %v, want ErrMalformed", err)
		}
	})
	t.Run("two layers", func(t *testing.T) {
		sdesc, err := remote.Head(d, c.RemoteOptions(ctx)...)
		if err != nil {
			t.Fatal(err)
		}
		l := v1.Descriptor{MediaType: bundleType, Digest: sha([]byte("x")), Size: 1}
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
			Config:  v1.Descriptor{MediaType: registry.MediaTypeEmpty, Digest: sha([]byte("{}")), Size: 2},
			Layers:  []v1.Descriptor{l, l},
			Subject: &v1.Descriptor{MediaType: sdesc.MediaType, Digest: sdesc.Digest, Size: sdesc.Size}}
		raw := mustJSON(t, m)
		ref := d.Context().Digest(sha(raw).String())
		putRaw(t, c, ref, types.OCIManifestSchema1, raw)
		if _, err := c.FetchReferrer(ctx, d, v1.Descriptor{Digest: sha(raw)}); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("FetchReferrer of a two-layer manifest = %v, want ErrMalformed", err)
		}
	})
}

func TestAttachReferrerInvalid(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	if _, err := c.AttachReferrer(ctx, d, "", bundleArtifact("x"), nil); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("no artifact type: %v, want exit 2", err)
	}
	if _, err := c.AttachReferrer(ctx, d, bundleType, registry.Artifact{Data: []byte("x")}, nil); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("no media type: %v, want exit 2", err)
	}
	missing := d.Context().Digest("sha256:" + hex64('0'))
	if _, err := c.AttachReferrer(ctx, missing, bundleType, bundleArtifact("x"), nil); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("missing subject: %v, want ErrNotFound", err)
	}
}

// A concurrent writer replacing the fallback index between our push and
// our check is noticed, and the index updated again.
func TestAttachReferrerRepairsLostFallbackUpdate(t *testing.T) {
	ctx := context.Background()
	clobber := &clobberer{}
	reg := testutil.NewRegistry(t, testutil.WithHandler(clobber.wrap))
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	hOther, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("other writer"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fallback, _ := registry.FallbackTag(d)
	clobber.arm(t, c, fallback)

	mine, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("mine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !clobber.fired() {
		t.Fatal("the concurrent write was not simulated")
	}
	got, err := c.Referrers(ctx, d, "")
	if err != nil {
		t.Fatal(err)
	}
	var hs []v1.Hash
	for _, r := range got {
		hs = append(hs, r.Digest)
	}
	if !slices.Contains(hs, mine) || !slices.Contains(hs, hOther) {
		t.Errorf("referrers %v, want both %s and %s", hs, hOther, mine)
	}
}

func putRaw(t testing.TB, c *registry.Client, ref name.Reference, mt types.MediaType, raw []byte) {
	t.Helper()
	if err := remote.Put(ref, rawTaggable{raw, mt}, c.RemoteOptions(context.Background())...); err != nil {
		t.Fatalf("PUT %s: %v", ref, err)
	}
}

type rawTaggable struct {
	raw []byte
	mt  types.MediaType
}

func (r rawTaggable) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawTaggable) MediaType() (types.MediaType, error) { return r.mt, nil }
