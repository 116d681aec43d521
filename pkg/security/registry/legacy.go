package registry

import (
	"bytes"
	"context"
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
	if !desc.MediaType.IsImage() {
		return nil, nil, false, fmt.Errorf("%s is a %s, not an image manifest: %w", tag, desc.MediaType, ErrMalformed)
	}
	m, err = v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w: %w", tag, ErrMalformed, err)
	}
	if len(m.Layers) > MaxLegacyLayers {
		return nil, nil, false, fmt.Errorf("%s has %d layers, more than %d: %w", tag, len(m.Layers), MaxLegacyLayers, ErrMalformed)
	}
	img, err = desc.Image()
	if err != nil {
		return nil, nil, false, err
	}
	return img, m, true, nil
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
// Existing layers are never downloaded.
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
// under the given suffix, one per layer, in layer order. ErrNotFound when
// the tag does not exist.
func (c *Client) FetchLegacy(ctx context.Context, subject name.Digest, suffix string) ([]Artifact, error) {
	subject = c.normalize(subject)
	tag, err := LegacyTag(subject, suffix)
	if err != nil {
		return nil, err
	}
	_, m, found, err := c.legacyImage(ctx, tag)
	if err != nil {
		return nil, annotate(err, "fetching %s artifacts of %s", suffix, subject)
	}
	if !found {
		return nil, fmt.Errorf("fetching %s artifacts of %s: %s: %w", suffix, subject, tag, ErrNotFound)
	}
	out := make([]Artifact, 0, len(m.Layers))
	for _, l := range m.Layers {
		data, err := c.fetchBlob(ctx, subject.Context(), l)
		if err != nil {
			return nil, annotate(err, "fetching %s artifacts of %s", suffix, subject)
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
