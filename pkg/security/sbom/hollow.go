package sbom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

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
		// a config listing more layers than the manifest: the whole
		// read says what is wrong with the image
		return nil, false, fmt.Sprintf("the config lists more layers than the manifest's %d", len(layers)), nil
	}
	hollowed := make([]v1.Layer, len(layers))
	for i, l := range layers {
		hollowed[i] = l
		if i < k {
			hollowed[i] = hollowLayer{Layer: l}
		}
	}
	simg, src, release, err := readImage(ctx, ref, hollowImage{Image: img, layers: hollowed}, c)
	if err != nil {
		return nil, false, "", err
	}
	defer func() {
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
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
		c.logger.Warn("reading a layer cache entry", "image", ref.String(), "error", err)
		return nil, false, err.Error(), nil
	}
	return s, true, "", nil
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
