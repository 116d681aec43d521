package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

// liar is a registry that stores what it is given, like any other, except
// for the paths it was told to lie about: a blob it serves without end, a
// manifest it serves as a stream of whitespace, referrers pages that never
// end. It counts the blob requests it serves.
type liar struct {
	mu        sync.Mutex
	endless   map[string]bool // blob digests served as endless zeros
	manifests map[string]bool // manifest paths served as endless whitespace
	length    string          // a Content-Length to declare on those
	pages     bool            // referrers pages: each links to the next, forever
	pageSize  int             // bytes of padding per referrers page
	blobGets  map[string]int
	served    map[string]servedManifest // manifest paths answered with these bytes
	done      chan struct{}             // closed when the test ends
}

type servedManifest struct {
	mt  types.MediaType
	raw []byte
}

// serve makes the liar answer GET and HEAD of tag with raw, which a
// registry that checks what it is given would not store.
func (l *liar) serve(tag name.Tag, mt types.MediaType, raw []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.served["/v2/"+tag.RepositoryStr()+"/manifests/"+tag.TagStr()] = servedManifest{mt, raw}
}

// liarRegistry starts the in-process registry behind a liar. When the test
// ends, the liar's endless answers end before the server waits for them.
func liarRegistry(t *testing.T, opts ...testutil.RegistryOption) (*liar, *testutil.Registry) {
	l := &liar{endless: map[string]bool{}, manifests: map[string]bool{}, blobGets: map[string]int{},
		served: map[string]servedManifest{}, done: make(chan struct{})}
	reg := testutil.NewRegistry(t, append([]testutil.RegistryOption{testutil.WithHandler(l.wrap)}, opts...)...)
	t.Cleanup(func() { close(l.done) })
	return l, reg
}

func (l *liar) blobRequests(d v1.Hash) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blobGets[d.String()]
}

func (l *liar) allBlobRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.blobGets {
		n += c
	}
	return n
}

func (l *liar) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		l.mu.Lock()
		class := testutil.Classify(r)
		if class == testutil.ClassBlob && r.Method == http.MethodGet {
			l.blobGets[last]++
		}
		endlessBlob := class == testutil.ClassBlob && l.endless[last]
		endlessManifest := class == testutil.ClassManifest && r.Method == http.MethodGet && l.manifests[r.URL.Path]
		pages, pageSize, length := l.pages && class == testutil.ClassReferrers, l.pageSize, l.length
		served, isServed := l.served[r.URL.Path]
		l.mu.Unlock()
		switch {
		case isServed && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", string(served.mt))
			w.Header().Set("Docker-Content-Digest", sha(served.raw).String())
			w.Header().Set("Content-Length", fmt.Sprint(len(served.raw)))
			if r.Method == http.MethodGet {
				_, _ = w.Write(served.raw)
			}
		case endlessBlob:
			if length != "" {
				w.Header().Set("Content-Length", length)
			}
			l.stream(w, make([]byte, 64<<10))
		case endlessManifest:
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			if length != "" {
				w.Header().Set("Content-Length", length)
			}
			_, _ = w.Write([]byte("{\"schemaVersion\":2,"))
			l.stream(w, bytes.Repeat([]byte(" "), 64<<10))
		case pages:
			page := 0
			_, _ = fmt.Sscanf(r.URL.Query().Get("page"), "%d", &page)
			im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
				MediaType: types.OCIManifestSchema1, ArtifactType: "application/x-page", Size: 1,
				Digest:      v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", page)},
				Annotations: map[string]string{"padding": strings.Repeat("x", pageSize)},
			}}}
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, page+1))
			_ = json.NewEncoder(w).Encode(im)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// stream writes chunk to w until the client goes away or the test ends.
func (l *liar) stream(w http.ResponseWriter, chunk []byte) {
	f, _ := w.(http.Flusher)
	for {
		select {
		case <-l.done:
			return
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
}

// bounded runs f and fails the test when it takes longer than d or
// allocates more than maxAlloc bytes in all (a bound on the peak heap too).
func bounded(t *testing.T, d time.Duration, maxAlloc uint64, f func()) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
	runtime.ReadMemStats(&after)
	if took := time.Since(start); took > d {
		t.Errorf("took %v, more than %v", took, d)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("allocated %d MiB, more than %d MiB", alloc>>20, maxAlloc>>20)
	}
}

// wantLimit checks that err is ErrMalformed and names the limit that was
// hit, as a *LimitError.
func wantLimit(t *testing.T, err error, limit string) {
	t.Helper()
	if !errors.Is(err, registry.ErrMalformed) {
		t.Errorf("error %v, want ErrMalformed", err)
	}
	var le *registry.LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Errorf("error %v, want a *LimitError for %s", err, limit)
	}
	if err != nil && !strings.Contains(err.Error(), limit) {
		t.Errorf("error %q does not name %s", err, limit)
	}
}

// layerDesc describes a blob of the given declared size, stored or not.
func layerDesc(mt types.MediaType, data []byte, size int64, ann map[string]string) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Digest: sha(data), Size: size, Annotations: ann}
}

// putLegacy stores a legacy tag whose manifest lists layers, with an
// empty config.
func putLegacy(t *testing.T, c *registry.Client, d name.Digest, suffix string, config v1.Descriptor, layers []v1.Descriptor) name.Tag {
	t.Helper()
	tag, err := registry.LegacyTag(d, suffix)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(d.Context(), static.NewLayer([]byte("{}"), types.OCIConfigJSON), c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	if config.Digest.Hex == "" {
		config = layerDesc(types.OCIConfigJSON, []byte("{}"), 2, nil)
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: config, Layers: layers}
	putRaw(t, c, tag, types.OCIManifestSchema1, mustJSON(t, m))
	return tag
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func uploadBlob(t *testing.T, c *registry.Client, repo name.Repository, data []byte) {
	t.Helper()
	if err := remote.WriteLayer(repo, static.NewLayer(data, types.OCILayer), c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
}

func TestFetchLegacyLimits(t *testing.T) {
	ctx := context.Background()
	l, reg := liarRegistry(t)
	c := newClient()
	const dsse = types.MediaType("application/vnd.dsse.envelope.v1+json")

	t.Run("one blob listed 1000 times", func(t *testing.T) {
		d := pushImage(t, c, reg.Ref("repeat:v1"))
		data := randomBytes(t, 1<<20)
		uploadBlob(t, c, d.Context(), data)
		var layers []v1.Descriptor
		for i := range registry.MaxLegacyLayers {
			// Half identical, half told apart by their annotations.
			layers = append(layers, layerDesc(dsse, data, int64(len(data)), map[string]string{"n": fmt.Sprint(i % 500)}))
		}
		putLegacy(t, c, d, registry.SuffixAttestation, v1.Descriptor{}, layers)
		var arts []registry.Artifact
		var err error
		bounded(t, 20*time.Second, 96<<20, func() { arts, err = c.FetchLegacy(ctx, d, registry.SuffixAttestation) })
		if err != nil {
			t.Fatal(err)
		}
		if len(arts) != 500 {
			t.Errorf("%d artifacts, want 500 (identical layers once)", len(arts))
		}
		if n := l.blobRequests(sha(data)); n != 1 {
			t.Errorf("the blob was fetched %d times, want once", n)
		}
		for i, a := range arts {
			if a.Annotations["n"] != fmt.Sprint(i) || !bytes.Equal(a.Data, data) {
				t.Fatalf("artifact %d: annotations %v, %d bytes", i, a.Annotations, len(a.Data))
			}
		}
	})

	for _, tt := range []struct {
		name   string
		suffix string
		sizes  []int64
		limit  string
	}{
		{"signature layer over its limit", registry.SuffixSignature, []int64{registry.MaxSignatureSize + 1}, "MaxSignatureSize"},
		{"attestation layer over its limit", registry.SuffixAttestation, []int64{200 << 20}, "MaxArtifactSize"},
		{"negative size", registry.SuffixAttestation, []int64{-1}, "MaxArtifactSize"},
		{"layers over the total", registry.SuffixAttestation, []int64{100 << 20, 100 << 20, 100 << 20}, "MaxLegacyTotal"},
		{"too many layers", registry.SuffixSignature, make([]int64, registry.MaxLegacyLayers+1), "MaxLegacyLayers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := pushImage(t, c, reg.Ref("declared:"+strings.ReplaceAll(tt.name, " ", "-")))
			var layers []v1.Descriptor
			for i, size := range tt.sizes {
				content := []byte(fmt.Sprintf("layer %d of %s", i, tt.name))
				layers = append(layers, layerDesc(dsse, content, size, nil))
				l.mu.Lock()
				l.endless[sha(content).String()] = true
				l.mu.Unlock()
			}
			putLegacy(t, c, d, tt.suffix, v1.Descriptor{}, layers)
			before := l.allBlobRequests()
			var err error
			bounded(t, 10*time.Second, 32<<20, func() { _, err = c.FetchLegacy(ctx, d, tt.suffix) })
			wantLimit(t, err, tt.limit)
			if n := l.allBlobRequests() - before; n != 0 {
				t.Errorf("%d blob requests, want none: the manifest says enough", n)
			}
		})
	}

	t.Run("endless manifest", func(t *testing.T) {
		for _, length := range []string{"", fmt.Sprint(1 << 30)} {
			d := pushImage(t, c, reg.Ref("endless:v1"))
			tag, _ := registry.LegacyTag(d, registry.SuffixSignature)
			l.mu.Lock()
			l.manifests["/v2/"+tag.RepositoryStr()+"/manifests/"+tag.TagStr()] = true
			l.length = length
			l.mu.Unlock()
			var err error
			bounded(t, 10*time.Second, 32<<20, func() { _, err = c.FetchLegacy(ctx, d, registry.SuffixSignature) })
			wantLimit(t, err, "MaxManifestSize")
			l.mu.Lock()
			l.length = ""
			l.mu.Unlock()
		}
	})
}

// AttachLegacy extends an existing tag's config: a config the manifest
// says is huge is refused before a byte of it is read.
func TestAttachLegacyConfigLimit(t *testing.T) {
	l, reg := liarRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	config := []byte(`{"architecture":"","os":"","rootfs":{"type":"layers"}}`)
	l.mu.Lock()
	l.endless[sha(config).String()] = true
	l.mu.Unlock()
	sig := sigArtifact("genuine", "x")
	uploadBlob(t, c, d.Context(), sig.Data)
	putLegacy(t, c, d, registry.SuffixSignature, layerDesc(types.OCIConfigJSON, config, 300<<20, nil),
		[]v1.Descriptor{layerDesc(simpleSigning, sig.Data, int64(len(sig.Data)), nil)})
	var err error
	bounded(t, 10*time.Second, 32<<20, func() {
		_, err = c.AttachLegacy(context.Background(), d, registry.SuffixSignature, sigArtifact("another", "y"))
	})
	wantLimit(t, err, "MaxConfigSize")
	if n := l.blobRequests(sha(config)); n != 0 {
		t.Errorf("the config was requested %d times", n)
	}

	// A tag listing a blob over the limit, which the registry does not
	// have: remote.Write would copy it from the liar's endless stream.
	d2 := pushImage(t, c, reg.Ref("app:v2"))
	huge := []byte("a huge signature")
	l.mu.Lock()
	l.endless[sha(huge).String()] = true
	l.mu.Unlock()
	layers := make([]v1.Descriptor, registry.MaxLegacyLayers)
	for i := range layers {
		layers[i] = layerDesc(simpleSigning, huge, 200<<20, nil)
	}
	putLegacy(t, c, d2, registry.SuffixSignature, v1.Descriptor{}, layers)
	bounded(t, 10*time.Second, 32<<20, func() {
		_, err = c.AttachLegacy(context.Background(), d2, registry.SuffixSignature, sigArtifact("another", "y"))
	})
	wantLimit(t, err, "MaxSignatureSize")
	if n := l.blobRequests(sha(huge)); n != 0 {
		t.Errorf("the listed blob was requested %d times", n)
	}
}

func TestReferrersLimits(t *testing.T) {
	ctx := context.Background()

	t.Run("1000 repeated descriptors", func(t *testing.T) {
		f := testutil.NewFaults()
		reg := testutil.NewRegistry(t, testutil.WithHandler(f.Wrap))
		c := newClient()
		d := pushImage(t, c, reg.Ref("app:v1"))
		h, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("one"), nil)
		if err != nil {
			t.Fatal(err)
		}
		fallback, _ := registry.FallbackTag(d)
		// No artifact type: each entry needs its manifest read.
		im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		for range 1000 {
			im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 1})
		}
		putRaw(t, c, fallback, types.OCIImageIndex, mustJSON(t, im))
		f.Reset()
		var got []v1.Descriptor
		bounded(t, 10*time.Second, 32<<20, func() { got, err = c.Referrers(ctx, d, "") })
		if err != nil || len(got) != 1 {
			t.Fatalf("Referrers = %d, %v; want one", len(got), err)
		}
		if n := f.Count(http.MethodGet, testutil.ClassManifest); n > 2 {
			t.Errorf("%d manifest reads, want the index and the referrer once", n)
		}
	})

	t.Run("more referrers than the limit", func(t *testing.T) {
		im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		for i := range registry.MaxReferrers + 1 {
			im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: bundleType,
				Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", i)}, Size: 1})
		}
		for _, api := range []bool{true, false} {
			var opts []testutil.RegistryOption
			if api {
				opts = append(opts, testutil.WithReferrers(), testutil.WithHandler(testutil.ServeReferrers(mustJSON(t, im))))
			}
			l, reg := liarRegistry(t, opts...)
			c := newClient()
			d := pushImage(t, c, reg.Ref("app:v1"))
			if !api {
				fallback, _ := registry.FallbackTag(d)
				l.serve(fallback, types.OCIImageIndex, mustJSON(t, im))
			}
			var err error
			bounded(t, 10*time.Second, 32<<20, func() { _, err = c.Referrers(ctx, d, bundleType) })
			wantLimit(t, err, "MaxReferrers")
			if _, err := c.Tree(ctx, d); !errors.Is(err, registry.ErrMalformed) {
				t.Errorf("Tree = %v, want ErrMalformed", err)
			}
		}
	})

	t.Run("endless pages", func(t *testing.T) {
		for _, tt := range []struct {
			pageSize int
			limit    string
		}{{0, "MaxReferrerPages"}, {1 << 20, "MaxManifestSize"}} {
			l, reg := liarRegistry(t, testutil.WithReferrers())
			l.mu.Lock()
			l.pages, l.pageSize = true, tt.pageSize
			l.mu.Unlock()
			c := newClient()
			d := pushImage(t, c, reg.Ref("app:v1"))
			var err error
			bounded(t, 10*time.Second, 64<<20, func() { _, err = c.Referrers(ctx, d, "") })
			wantLimit(t, err, tt.limit)
		}
	})

	t.Run("huge fallback index", func(t *testing.T) {
		l, reg := liarRegistry(t)
		c := newClient()
		d := pushImage(t, c, reg.Ref("app:v1"))
		im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1, ArtifactType: bundleType, Digest: sha([]byte("x")), Size: 1,
			Annotations: map[string]string{"padding": strings.Repeat("x", 20<<20)},
		}}}
		fallback, _ := registry.FallbackTag(d)
		l.serve(fallback, types.OCIImageIndex, mustJSON(t, im))
		var err error
		bounded(t, 10*time.Second, 48<<20, func() { _, err = c.Referrers(ctx, d, "") })
		wantLimit(t, err, "MaxManifestSize")
	})
}

func TestFetchReferrerLimits(t *testing.T) {
	ctx := context.Background()
	l, reg := liarRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	sdesc, err := remote.Head(d, c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	referrer := func(layer v1.Descriptor, ann map[string]string) v1.Descriptor {
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: bundleType,
			Config:      v1.Descriptor{MediaType: registry.MediaTypeEmpty, Digest: sha([]byte("{}")), Size: 2},
			Layers:      []v1.Descriptor{layer},
			Subject:     &v1.Descriptor{MediaType: sdesc.MediaType, Digest: sdesc.Digest, Size: sdesc.Size},
			Annotations: ann}
		raw := mustJSON(t, m)
		putRaw(t, c, d.Context().Digest(sha(raw).String()), types.OCIManifestSchema1, raw)
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: sha(raw), Size: int64(len(raw)), ArtifactType: bundleType}
	}

	t.Run("blob over the limit", func(t *testing.T) {
		content := []byte("a huge bundle")
		l.mu.Lock()
		l.endless[sha(content).String()] = true
		l.mu.Unlock()
		desc := referrer(layerDesc(bundleType, content, registry.MaxArtifactSize+1, nil), nil)
		bounded(t, 10*time.Second, 32<<20, func() { _, err = c.FetchReferrer(ctx, d, desc) })
		wantLimit(t, err, "MaxArtifactSize")
		if n := l.blobRequests(sha(content)); n != 0 {
			t.Errorf("the blob was requested %d times", n)
		}
	})
	t.Run("manifest over the limit", func(t *testing.T) {
		data := []byte("bundle")
		uploadBlob(t, c, d.Context(), data)
		desc := referrer(layerDesc(bundleType, data, int64(len(data)), nil),
			map[string]string{"padding": strings.Repeat("x", registry.MaxReferrerManifestSize)})
		bounded(t, 10*time.Second, 32<<20, func() { _, err = c.FetchReferrer(ctx, d, desc) })
		wantLimit(t, err, "MaxReferrerManifestSize")
		// Listed, it is left out (with a warning) when its type has to be
		// read from it.
		desc.ArtifactType = ""
		fallback, _ := registry.FallbackTag(d)
		putRaw(t, c, fallback, types.OCIImageIndex, mustJSON(t, v1.IndexManifest{SchemaVersion: 2,
			MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc}}))
		if got, err := c.Referrers(ctx, d, ""); err != nil || len(got) != 0 {
			t.Errorf("Referrers = %+v, %v; want the oversize referrer left out", got, err)
		}
	})
}

// A registry that sends a byte now and then never stalls long enough for
// the per-request timeout; Deadline bounds the whole.
func TestDeadline(t *testing.T) {
	var dripping atomic.Bool
	drip := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || testutil.Classify(r) != testutil.ClassBlob || !dripping.Load() {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Length", "1000")
			f, _ := w.(http.Flusher)
			for range 1000 {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				f.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	reg := testutil.NewRegistry(t, testutil.WithHandler(drip))
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	if _, err := c.AttachLegacy(context.Background(), d, registry.SuffixSignature, sigArtifact(strings.Repeat("x", 1000), "y")); err != nil {
		t.Fatal(err)
	}
	dripping.Store(true)
	ctx, cancel := registry.Deadline(context.Background(), 300*time.Millisecond)
	defer cancel()
	var err error
	bounded(t, 5*time.Second, 32<<20, func() { _, err = c.FetchLegacy(ctx, d, registry.SuffixSignature) })
	wantLimit(t, err, "deadline")
	wantContains(t, err, "300ms")

	// A deadline of the caller's own is not dressed up as sc's limit.
	own, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	_, err = c.FetchLegacy(own, d, registry.SuffixSignature)
	var le *registry.LimitError
	if err == nil || errors.As(err, &le) {
		t.Errorf("FetchLegacy under the caller's deadline = %v, want a plain deadline error", err)
	}
}
