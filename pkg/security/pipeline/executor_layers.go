package pipeline

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrcache "github.com/google/go-containerregistry/pkg/v1/cache"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/sc-project/sc/pkg/outcome"
)

// layerCache shares image layers between the images of a release: a layer
// that several images have is downloaded once. It is go-containerregistry's
// filesystem layer cache (pkg/v1/cache, files named by layer digest) with
// two things that cache lacks, which a concurrent release needs:
//
//   - one download per layer: concurrent readers of a layer that is not
//     cached wait for the first one's download instead of starting their
//     own;
//   - no half-written entries: a layer is downloaded to a temporary file,
//     checked against its digest and renamed into place, so a reader never
//     sees a partial layer, and an interrupted download leaves nothing.
//
// Layers are stored compressed, as the registry serves them; reading one
// uncompressed decompresses the cached file.
type layerCache struct {
	dir string
	fs  ggcrcache.Cache

	mu       sync.Mutex
	inflight map[v1.Hash]*fill
}

// fill is a download in progress; done is closed when it ends.
type fill struct {
	done chan struct{}
	err  error
}

var _ ggcrcache.Cache = (*layerCache)(nil)

func newLayerCache(dir string) *layerCache {
	return &layerCache{dir: dir, fs: ggcrcache.NewFilesystemCache(dir), inflight: map[v1.Hash]*fill{}}
}

// Get returns the cached layer with digest h, or ggcrcache.ErrNotFound.
func (c *layerCache) Get(h v1.Hash) (v1.Layer, error) { return c.fs.Get(h) }

// Delete removes the layer with digest h.
func (c *layerCache) Delete(h v1.Hash) error { return c.fs.Delete(h) }

// Put returns l reading through the cache: its first read downloads the
// whole layer into the cache, later reads (of any image) use the file.
func (c *layerCache) Put(l v1.Layer) (v1.Layer, error) {
	return &cachedLayer{Layer: l, c: c}, nil
}

// ensure makes sure the compressed layer l, of digest h, is in the cache:
// it downloads it, or waits for the download another reader started.
func (c *layerCache) ensure(h v1.Hash, l v1.Layer) error {
	c.mu.Lock()
	if f, ok := c.inflight[h]; ok {
		c.mu.Unlock()
		<-f.done
		if f.err != nil {
			return f.err
		}
		return nil
	}
	if _, err := os.Stat(c.path(h)); err == nil {
		c.mu.Unlock()
		return nil
	}
	f := &fill{done: make(chan struct{})}
	c.inflight[h] = f
	c.mu.Unlock()

	f.err = c.download(h, l)

	c.mu.Lock()
	delete(c.inflight, h)
	c.mu.Unlock()
	close(f.done)
	return f.err
}

// download writes the compressed layer to a temporary file, checks its
// digest and renames it into place.
func (c *layerCache) download(h v1.Hash, l v1.Layer) (err error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return outcome.Operationalf("creating the layer cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-layer-*")
	if err != nil {
		return outcome.Operationalf("caching layer %s: %w", h, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("fetching layer %s: %w", h, err)
	}
	defer rc.Close()
	hasher, err := v1.Hasher(h.Algorithm)
	if err != nil {
		return fmt.Errorf("layer %s: %w", h, err)
	}
	if _, err := io.Copy(io.MultiWriter(tmp, hasher), rc); err != nil {
		return fmt.Errorf("fetching layer %s: %w", h, err)
	}
	if got := fmt.Sprintf("%x", hasher.Sum(nil)); got != h.Hex {
		return outcome.Operationalf("fetching layer %s: the registry sent content with digest %s:%s", h, h.Algorithm, got)
	}
	if err := tmp.Close(); err != nil {
		return outcome.Operationalf("caching layer %s: %w", h, err)
	}
	if err := os.Rename(tmp.Name(), c.path(h)); err != nil {
		return outcome.Operationalf("caching layer %s: %w", h, err)
	}
	return nil
}

// path is where go-containerregistry's filesystem cache keeps layer h.
func (c *layerCache) path(h v1.Hash) string { return filepath.Join(c.dir, h.String()) }

// image is img whose layers are read through the cache. It replaces
// go-containerregistry's cache.Image for this cache: that one opens a
// cached layer with tarball.LayerFromFile, which gunzips the whole layer to
// compute a diff ID the image's config already gives, at every read: a
// second full decompression of every layer an SBOM reads.
func (c *layerCache) image(img v1.Image) v1.Image { return cachedImage{Image: img, c: c} }

// cachedImage is an image whose layers are read through a layerCache.
type cachedImage struct {
	v1.Image
	c *layerCache
}

func (i cachedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = &cachedLayer{Layer: l, c: i.c}
	}
	return out, nil
}

func (i cachedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, c: i.c}, nil
}

func (i cachedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, c: i.c}, nil
}

// cachedLayer reads a layer through the cache. Its digest, diff ID, size
// and media type are the layer's own (from the manifest and config); only
// its content comes from the cached file.
type cachedLayer struct {
	v1.Layer
	c *layerCache
}

// Compressed reads the layer as the registry serves it, from the cache,
// downloading it first when it is not there. The file is checked against
// the layer's digest as it is read: a cache entry changed on disk since it
// was written is an error at the end of the read.
func (l *cachedLayer) Compressed() (io.ReadCloser, error) {
	h, err := l.Layer.Digest()
	if err != nil {
		return nil, err
	}
	if err := l.c.ensure(h, l.Layer); err != nil {
		return nil, err
	}
	f, err := os.Open(l.c.path(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, outcome.Operationalf("layer %s vanished from the layer cache", h)
	}
	if err != nil {
		return nil, outcome.Operationalf("reading layer %s from the layer cache: %w", h, err)
	}
	hasher, err := v1.Hasher(h.Algorithm)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("layer %s: %w", h, err), f.Close())
	}
	return &checkedFile{f: f, want: h, hasher: hasher}, nil
}

// Uncompressed reads the layer's tarball: the cached file, decompressed as
// go-containerregistry decompresses a compressed layer (gzip, zstd, or a
// tarball stored as it is).
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	ul, err := partial.CompressedToLayer(l)
	if err != nil {
		return nil, err
	}
	return ul.Uncompressed()
}

// checkedFile reads a cached layer file and, at its end, reports a content
// whose digest is not the layer's.
type checkedFile struct {
	f      *os.File
	want   v1.Hash
	hasher hash.Hash
}

func (c *checkedFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.hasher.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(c.hasher.Sum(nil)); got != c.want.Hex {
			return n, outcome.Operationalf("layer cache entry %s has digest %s:%s: the file changed since it was cached (remove it to fetch the layer again)", c.want, c.want.Algorithm, got)
		}
	}
	return n, err
}

func (c *checkedFile) Close() error { return c.f.Close() }
