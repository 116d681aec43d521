package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/pkg/outcome"
)

var suffixPattern = regexp.MustCompile(`^[a-z0-9]{1,32}$`)

// LegacyTag is the tag under which cosign keeps artifacts of one kind for
// subject: sha256-<hex>.<suffix> in the subject's repository. The suffix is
// one of SuffixSignature, SuffixAttestation, SuffixSBOM or another short
// lower-case word.
func LegacyTag(subject name.Digest, suffix string) (name.Tag, error) {
	if !suffixPattern.MatchString(suffix) {
		return name.Tag{}, outcome.Invalidf("legacy tag suffix %q: want 1 to 32 lower-case letters or digits", suffix)
	}
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return name.Tag{}, outcome.Invalidf("subject %s: %w", subject, err)
	}
	return subject.Context().Tag(h.Algorithm + "-" + h.Hex + "." + suffix), nil
}

// emptyLegacy is the base of a new legacy tag image, as cosign makes it: an
// OCI manifest with an OCI config and no layers.
func emptyLegacy() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

// legacyImage reads the image under a legacy tag. found is false when the
// tag does not exist.
func (c *Client) legacyImage(ctx context.Context, tag name.Tag) (img v1.Image, m *v1.Manifest, found bool, err error) {
	desc, err := remote.Get(tag, c.RemoteOptions(ctx)...)
	if err != nil {
		if classify(err) == ErrNotFound {
			return nil, nil, false, nil
		}
		return nil, nil, false, err
	}
	if m, err = parseLegacy(tag.String(), desc.MediaType, desc.Manifest); err != nil {
		return nil, nil, false, err
	}
	img, err = desc.Image()
	if err != nil {
		return nil, nil, false, err
	}
	return img, m, true, nil
}

// parseLegacy reads the manifest of the legacy tag named tag: an image
// manifest with at most MaxLegacyLayers layers.
func parseLegacy(tag string, mt types.MediaType, raw []byte) (*v1.Manifest, error) {
	if !mt.IsImage() {
		return nil, fmt.Errorf("%s is a %s, not an image manifest: %w", tag, mt, ErrMalformed)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", tag, ErrMalformed, err)
	}
	if len(m.Layers) > MaxLegacyLayers {
		return nil, &LimitError{Limit: "MaxLegacyLayers", What: tag, Max: MaxLegacyLayers, Got: int64(len(m.Layers)), Unit: "layers"}
	}
	return m, nil
}

// layerLimit is the limit on one layer of a legacy tag with suffix, and
// its name.
func layerLimit(suffix string) (int64, string) {
	if suffix == SuffixSignature {
		return MaxSignatureSize, "MaxSignatureSize"
	}
	return MaxArtifactSize, "MaxArtifactSize"
}

// legacyLayers checks the layers of the legacy tag named tag against the
// limits before anything is downloaded: each at most max bytes (the limit
// named limit), the distinct ones at most MaxLegacyTotal together. It
// returns them without repeats (same digest, media type and annotations),
// in order of first appearance.
func legacyLayers(tag string, layers []v1.Descriptor, max int64, limit string) ([]v1.Descriptor, error) {
	seen := map[string]bool{}
	sizes := map[v1.Hash]int64{}
	var total int64
	out := make([]v1.Descriptor, 0, len(layers))
	for i, l := range layers {
		if l.Size < 0 || l.Size > max {
			return nil, &LimitError{Limit: limit, What: fmt.Sprintf("layer %d (%s) of %s", i, l.Digest, tag), Max: max, Got: l.Size, Unit: "bytes"}
		}
		key, err := json.Marshal([]any{l.Digest.String(), l.MediaType, l.Annotations})
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", tag, ErrMalformed, err)
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		out = append(out, l)
		if _, ok := sizes[l.Digest]; !ok {
			sizes[l.Digest] = l.Size
			if total += l.Size; total > MaxLegacyTotal {
				return nil, &LimitError{Limit: "MaxLegacyTotal", What: "the distinct layers of " + tag, Max: MaxLegacyTotal, Got: total, Unit: "bytes"}
			}
		}
	}
	return out, nil
}

// extensible checks an existing legacy tag against the limits before
// AttachLegacy extends it: mutate.Append reads its config at whatever size
// the manifest declares, and remote.Write copies any of its layers the
// registry does not have.
func extensible(tag, suffix string, m *v1.Manifest) error {
	if m.Config.Size < 0 || m.Config.Size > MaxConfigSize {
		return &LimitError{Limit: "MaxConfigSize", What: "the config of " + tag, Max: MaxConfigSize, Got: m.Config.Size, Unit: "bytes"}
	}
	max, limit := layerLimit(suffix)
	_, err := legacyLayers(tag, m.Layers, max, limit)
	return err
}

func hasLayer(m *v1.Manifest, digest v1.Hash, annotations map[string]string) bool {
	if m == nil {
		return false
	}
	for _, l := range m.Layers {
		if l.Digest == digest && sameAnnotations(l.Annotations, annotations) {
			return true
		}
	}
	return false
}

// AttachLegacy stores a in the legacy form next to subject: it appends one
// layer (with a's annotations) to the image tagged sha256-<hex>.<suffix> in
// the subject's repository, creating it as cosign does when absent. An
// identical layer (same digest and same annotations) already there is not
// added again. It returns the digest of the manifest now under the tag.
//
// Nothing is half-written: the layer and config blobs are uploaded first,
// and only the manifest PUT under the tag makes the artifact visible.
// Existing layers are never downloaded. An existing tag past the limits of
// FetchLegacy, or whose config is over MaxConfigSize, is not extended (a
// *LimitError).
//
// Concurrency: the tag is read, extended and written back, and registries
// offer no compare-and-swap on tags (cosign has the same limit). When a
// concurrent writer replaces the tag between our write and our check, the
// tag is read once more after the write and the append repeated (up to 3
// times). What cannot be detected is the reverse: a writer that read the tag
// before our write and writes after our check drops our layer. Callers
// therefore keep one writer per digest and suffix at a time (sc's executor
// does); concurrent attaches to different digests are safe.
func (c *Client) AttachLegacy(ctx context.Context, subject name.Digest, suffix string, a Artifact) (v1.Hash, error) {
	subject = c.normalize(subject)
	tag, err := LegacyTag(subject, suffix)
	if err != nil {
		return v1.Hash{}, err
	}
	if a.MediaType == "" {
		return v1.Hash{}, outcome.Invalidf("attaching %s to %s: artifact has no media type", suffix, subject)
	}
	layer := static.NewLayer(a.Data, a.MediaType)
	ld, err := layer.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	opts := c.RemoteOptions(ctx)
	for try := 1; try <= maxCommitTries; try++ {
		base, m, found, err := c.legacyImage(ctx, tag)
		if err != nil {
			return v1.Hash{}, annotate(err, "attaching %s to %s", suffix, subject)
		}
		if hasLayer(m, ld, a.Annotations) {
			h, err := base.Digest()
			return h, annotate(err, "attaching %s to %s", suffix, subject)
		}
		if !found {
			base = emptyLegacy()
		} else if err := extensible(tag.String(), suffix, m); err != nil {
			return v1.Hash{}, annotate(err, "attaching %s to %s", suffix, subject)
		}
		img, err := mutate.Append(base, mutate.Addendum{
			Layer:       layer,
			Annotations: cloneAnnotations(a.Annotations),
			MediaType:   a.MediaType,
		})
		if err != nil {
			return v1.Hash{}, annotate(err, "attaching %s to %s", suffix, subject)
		}
		if err := remote.Write(tag, img, opts...); err != nil {
			return v1.Hash{}, annotate(err, "attaching %s to %s", suffix, subject)
		}
		now, m, _, err := c.legacyImage(ctx, tag)
		if err != nil {
			return v1.Hash{}, annotate(err, "checking %s after attaching %s to %s", tag, suffix, subject)
		}
		if hasLayer(m, ld, a.Annotations) {
			h, err := now.Digest()
			return h, annotate(err, "attaching %s to %s", suffix, subject)
		}
		c.log.WarnContext(ctx, "legacy tag changed by a concurrent writer; attaching again",
			"tag", tag.String(), "try", try)
	}
	return v1.Hash{}, outcome.Operationalf("attaching %s to %s: %s kept changing under concurrent writers (%d tries)",
		suffix, subject, tag, maxCommitTries)
}

// FetchLegacy reads the artifacts stored in the legacy form next to subject
// under the given suffix, one per layer, in layer order. A layer repeated
// with the same annotations is returned once; a blob listed several times
// is downloaded once, and the artifacts holding it share its Data (do not
// modify it). ErrNotFound when the tag does not exist.
//
// Limits, checked against the manifest before any download: at most
// MaxLegacyLayers layers, each at most MaxSignatureSize for the "sig"
// suffix and MaxArtifactSize for others, the distinct ones at most
// MaxLegacyTotal together (they are held in memory at once). Going past one
// is a *LimitError.
func (c *Client) FetchLegacy(ctx context.Context, subject name.Digest, suffix string) ([]Artifact, error) {
	subject = c.normalize(subject)
	tag, err := LegacyTag(subject, suffix)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]Artifact, error) {
		return nil, annotate(err, "fetching %s artifacts of %s", suffix, subject)
	}
	_, m, found, err := c.legacyImage(ctx, tag)
	if err != nil {
		return fail(err)
	}
	if !found {
		return nil, fmt.Errorf("fetching %s artifacts of %s: %s: %w", suffix, subject, tag, ErrNotFound)
	}
	max, limit := layerLimit(suffix)
	layers, err := legacyLayers(tag.String(), m.Layers, max, limit)
	if err != nil {
		return fail(err)
	}
	blobs := map[v1.Hash][]byte{}
	out := make([]Artifact, 0, len(layers))
	for _, l := range layers {
		data, ok := blobs[l.Digest]
		if !ok {
			if data, err = c.fetchBlob(ctx, subject.Context(), l, max, limit); err != nil {
				return fail(err)
			}
			blobs[l.Digest] = data
		} else if int64(len(data)) != l.Size {
			return fail(fmt.Errorf("blob %s listed with sizes %d and %d: %w", l.Digest, len(data), l.Size, ErrMalformed))
		}
		out = append(out, Artifact{
			MediaType:   l.MediaType,
			Data:        data,
			Annotations: cloneAnnotations(l.Annotations),
			Digest:      l.Digest,
		})
	}
	return out, nil
}
