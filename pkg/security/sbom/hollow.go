package sbom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// longestCached returns the longest chain of img's lower layers the layer
// cache holds an entry for, by the image's config alone (no layer is
// fetched), and the chain ID of its bottom layer (empty when the config
// cannot be read: the full read reports that).
func longestCached(ctx context.Context, img v1.Image, c *config) (cachedChain, string, error) {
	cf, err := img.ConfigFile()
	if err != nil || cf == nil || len(cf.RootFS.DiffIDs) == 0 {
		return cachedChain{}, "", nil
	}
	diffIDs := make([]string, len(cf.RootFS.DiffIDs))
	for i, d := range cf.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chains := chainOf(diffIDs)
	for k := len(chains); k >= 1; k-- {
		key, err := layerKey(chains[k-1], c)
		if err != nil {
			return cachedChain{}, "", err
		}
		if rec, ok := getRecord(ctx, c, key); ok {
			return cachedChain{k: k, chain: chains[k-1], rec: rec}, chains[0], nil
		}
	}
	return cachedChain{}, chains[0], nil
}

// lookupOrLead is longestCached for an image that Generate calls sharing
// bases (Prepare's context) may be cataloguing siblings of right now: when
// the cache holds nothing for it and another call is cataloguing an image
// with the same bottom layer, it waits for that call to end (once: not
// for a second one) and looks again, since that call's entry may cover
// this image's lower layers. A call that finds nothing leads: the caller
// calls release when its entry is written.
func lookupOrLead(ctx context.Context, img v1.Image, c *config, b *bases) (_ cachedChain, release func(), err error) {
	waited := false
	for {
		cached, base, err := longestCached(ctx, img, c)
		if err != nil || cached.rec != nil || b == nil || base == "" || waited {
			return cached, func() {}, err
		}
		release, wait := b.claim(base)
		if release != nil {
			return cached, release, nil
		}
		c.logger.Debug("waiting for the cataloguing of an image with the same bottom layer", "base", base)
		select {
		case <-wait:
			waited = true
		case <-ctx.Done():
			return cachedChain{}, nil, ctx.Err()
		}
	}
}

// bases are the bottom layers being catalogued by the Generate calls that
// share a context from Prepare.
type bases struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// claim makes the caller the one cataloguing an image with bottom layer
// base and returns release, to call when its layer cache entry is
// written; or, when another caller holds base, returns a channel closed
// when that one releases it.
func (b *bases) claim(base string) (release func(), wait <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.m[base]; ok {
		return nil, ch
	}
	if b.m == nil {
		b.m = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	b.m[base] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.m, base)
			b.mu.Unlock()
			close(ch)
		})
	}, nil
}

// composeUpper composes img's SBOM from the entry rec of its lowest k
// layers reading only the layers above them: stereoscope gets the lower k
// hollow (their descriptors and diff IDs, an empty tar for content), so
// they are neither fetched nor unpacked, and the upper layers are read to
// find what they change. ok is false, with the reason in why, when the
// upper layers change what the entry asked about: then the image is to be
// catalogued whole.
//
// The document is the one the full read gives: the source is described
// from the image's manifest and config, and the sizes stereoscope counts
// while unpacking (the files of each layer) are the entry's for the hollow
// layers, which are the same layers.
func composeUpper(ctx context.Context, ref name.Digest, img v1.Image, c *config, k int, rec *layerRecord) (s *syftsbom.SBOM, ok bool, why string, err error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, false, "", fmt.Errorf("listing layers: %w", err)
	}
	if k > len(layers) {
		return nil, false, "", fmt.Errorf("the cache entry covers %d layers of an image with %d", k, len(layers))
	}
	dir, err := os.MkdirTemp(c.tempDir, "sc-sbom-")
	if err != nil {
		return nil, false, "", fmt.Errorf("creating a directory for the layers: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the unpacked layers: %w", rmErr)
		}
	}()
	hollowed := make([]v1.Layer, len(layers))
	for i, l := range layers {
		hollowed[i] = l
		if i < k {
			hollowed[i] = hollowLayer{Layer: l}
		}
	}
	simg := image.New(hollowImage{Image: img, layers: hollowed}, file.NewTempDirGenerator("sc-sbom"), dir, imageMetadata(ref, img)...)
	if err := simg.Read(image.WithLazyLayerSquashes(ctx)); err != nil {
		return nil, false, "", errors.Join(fmt.Errorf("reading image: %w", err), simg.Cleanup())
	}
	src := stereoscopesource.New(simg, stereoscopesource.ImageConfig{Reference: ref.String()})
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("releasing the image: %w", cerr)
		}
	}()
	cs, err := changes(simg, k)
	if err != nil {
		return nil, false, "", err
	}
	if why := rec.Queries.affectedBy(cs); why != "" {
		return nil, false, why, nil
	}
	s, err = rec.compose(src.Describe(), k)
	if err != nil {
		return nil, false, err.Error(), nil
	}
	return s, true, "", nil
}

// imageMetadata is what stereoscope is told of the image beyond its
// manifest and config: the digest it is known by.
func imageMetadata(ref name.Digest, img v1.Image) []image.AdditionalMetadata {
	meta := []image.AdditionalMetadata{image.WithRepoDigests(ref.String())}
	if raw, err := img.RawManifest(); err == nil {
		meta = append(meta, image.WithManifest(raw))
	}
	// last: the digest the image is known by, whatever WithManifest hashed
	return append(meta, image.WithManifestDigest(ref.DigestStr()))
}

// withRecordedSizes gives the lowest k layers of desc, read hollow, the
// sizes recorded describes for the same layers, and the image their sum.
func withRecordedSizes(desc, recorded source.Description, k int) (source.Description, error) {
	if k == 0 {
		return desc, nil
	}
	m, ok := desc.Metadata.(source.ImageMetadata)
	if !ok || len(m.Layers) < k {
		return desc, fmt.Errorf("the image's description has no %d layers", k)
	}
	rm, ok := recorded.Metadata.(source.ImageMetadata)
	if !ok || len(rm.Layers) < k {
		return desc, fmt.Errorf("the cache entry describes no %d layers", k)
	}
	m.Layers = append([]source.LayerMetadata(nil), m.Layers...)
	for i := range k {
		if m.Layers[i].Digest != rm.Layers[i].Digest {
			return desc, fmt.Errorf("the cache entry's layer %d is %s, not %s", i, rm.Layers[i].Digest, m.Layers[i].Digest)
		}
		m.Size += rm.Layers[i].Size - m.Layers[i].Size
		m.Layers[i].Size = rm.Layers[i].Size
	}
	desc.Metadata = m
	return desc, nil
}

// hollowImage is an image whose layers are the given ones.
type hollowImage struct {
	v1.Image
	layers []v1.Layer
}

func (h hollowImage) Layers() ([]v1.Layer, error) { return h.layers, nil }

func (h hollowImage) LayerByDigest(d v1.Hash) (v1.Layer, error) {
	for _, l := range h.layers {
		if got, err := l.Digest(); err == nil && got == d {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer with digest %s", d)
}

func (h hollowImage) LayerByDiffID(d v1.Hash) (v1.Layer, error) {
	for _, l := range h.layers {
		if got, err := l.DiffID(); err == nil && got == d {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer with diff ID %s", d)
}

// hollowLayer is a layer with its descriptor (digest, diff ID, size, media
// type) and no content: an empty tar. Reading it fetches nothing.
type hollowLayer struct{ v1.Layer }

// Uncompressed is a tar archive with no entries: its end-of-archive
// marker, two zero blocks.
func (hollowLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(make([]byte, 2*512))), nil
}

func (hollowLayer) Compressed() (io.ReadCloser, error) {
	return nil, errors.New("a hollow layer has no compressed form")
}
