package registry

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sc-project/sc/pkg/outcome"
)

// MaxIndexManifests bounds the manifests of an image index sc considers. A
// multi-platform build has a handful (buildx adds one attestation manifest
// per platform); an index listing thousands is a registry answer to refuse,
// not to walk.
const MaxIndexManifests = 256

// Buildx marks the attestation manifests it adds to an index with this
// annotation (value "attestation-manifest") and the platform unknown/unknown.
const (
	AnnotationDockerReferenceType   = "vnd.docker.reference.type"
	AnnotationDockerReferenceDigest = "vnd.docker.reference.digest"
	dockerAttestationManifest       = "attestation-manifest"
)

// ErrNoPlatform: an index has no platform image that the selection names.
// Invalid usage: the selection (or the image) is wrong, retrying will not
// help.
var ErrNoPlatform = outcome.Invalid("no matching platform")

// ErrSeveralPlatforms: a command that works on one image was given an
// index of several platform images and no selection that leaves one.
// Invalid usage: the caller has to choose.
var ErrSeveralPlatforms = outcome.Invalid("an image index of several platforms")

// Platforms is what a digest holds in terms of content to secure: the image
// itself, or for an image index (OCI index or Docker manifest list) each of
// its platform images.
type Platforms struct {
	// Digest is the digest that was asked about: the image, or the index.
	Digest name.Digest `json:"digest"`
	// Index is true when Digest is an image index.
	Index bool `json:"index"`
	// Images are the platform images to work on, in index order: for a
	// single image, the image itself with the platform of its config
	// unknown (zero).
	Images []PlatformImage `json:"images"`
	// Skipped are manifests of the index that are not worked on, with the
	// reason: buildx attestation manifests, and platforms the selection
	// leaves out.
	Skipped []SkippedManifest `json:"skipped,omitempty"`
}

// PlatformImage is one platform image of an index.
type PlatformImage struct {
	// Digest is the platform manifest's digest, in the index's repository.
	Digest name.Digest `json:"digest"`
	// Platform is the platform the index gives it; nil for a single image.
	Platform *v1.Platform `json:"platform,omitempty"`
}

// Name is the platform as os/arch[/variant], or "" for a single image.
func (p PlatformImage) Name() string {
	if p.Platform == nil {
		return ""
	}
	return p.Platform.String()
}

// SkippedManifest is a manifest of an index that is not a platform image to
// work on.
type SkippedManifest struct {
	// Digest is the manifest's digest.
	Digest string `json:"digest"`
	// Platform is os/arch[/variant] as the index gives it, "" when none.
	Platform string `json:"platform,omitempty"`
	// Reason says why it is skipped.
	Reason string `json:"reason"`
}

// One returns the one image to work on: the image itself, or the single
// platform image of an index that the selection left. An index of several
// is ErrSeveralPlatforms, naming them.
func (ps *Platforms) One() (PlatformImage, error) {
	if len(ps.Images) == 1 {
		return ps.Images[0], nil
	}
	names := make([]string, len(ps.Images))
	for i, img := range ps.Images {
		names[i] = img.Name()
	}
	return PlatformImage{}, fmt.Errorf("%w: %s holds %s; choose one with --platform", ErrSeveralPlatforms, ps.Digest, strings.Join(names, ", "))
}

// ResolveOne resolves ref to the one image a command that works on a
// single image reads, signs or attests: the image itself, or the single
// platform image of an index that selection leaves (Resolve, Platforms,
// then Platforms.One). An index of several platform images without a
// selection that leaves one is ErrSeveralPlatforms. The listing says
// whether ref is an index, and which digest that is.
func (c *Client) ResolveOne(ctx context.Context, ref string, selection ...v1.Platform) (PlatformImage, *Platforms, error) {
	d, err := c.Resolve(ctx, ref)
	if err != nil {
		return PlatformImage{}, nil, err
	}
	ps, err := c.Platforms(ctx, d, selection...)
	if err != nil {
		return PlatformImage{}, nil, err
	}
	img, err := ps.One()
	if err != nil {
		return PlatformImage{}, nil, err
	}
	return img, ps, nil
}

// ParsePlatform reads os/arch[/variant] (linux/amd64, linux/arm/v7) as
// `docker --platform` does. Invalid usage for anything else.
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return v1.Platform{}, fmt.Errorf("%w: platform %q: want os/arch or os/arch/variant", ErrInvalidReference, s)
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%w: platform %q: %w", ErrInvalidReference, s, err)
	}
	return *p, nil
}

// ParsePlatforms reads a selection of platforms (ParsePlatform each); an
// error names the entry. An empty list is no selection.
func ParsePlatforms(list []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range list {
		p, err := ParsePlatform(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Platforms lists the platform images of d. For an image it returns the
// image itself; for an index, each platform manifest in index order, with
// buildx attestation manifests (platform unknown/unknown, or annotated as
// attestation manifests) skipped and said so. When selection is not empty
// only the platforms it names are kept (a platform without a variant in the
// selection matches every variant); a selection that matches nothing is
// ErrNoPlatform. A nested index, or an index of more than MaxIndexManifests
// manifests, is ErrMalformed: sc will not sign an index whose content it
// cannot read. Only the index manifest is fetched.
func (c *Client) Platforms(ctx context.Context, d name.Digest, selection ...v1.Platform) (*Platforms, error) {
	if mt, ok := c.kinds.Load(d.String()); ok && mt.(types.MediaType).IsImage() {
		// Resolve already saw an image manifest here: nothing to list
		return &Platforms{Digest: d, Images: []PlatformImage{{Digest: d}}}, nil
	}
	desc, err := c.Descriptor(ctx, d)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return &Platforms{Digest: d, Images: []PlatformImage{{Digest: d}}}, nil
	}
	return indexPlatforms(d, desc.Manifest, selection)
}

// indexPlatforms lists the platform images of the index manifest raw at d
// (see Platforms): the parser of what a registry serves as an index.
func indexPlatforms(d name.Digest, raw []byte, selection []v1.Platform) (*Platforms, error) {
	out := &Platforms{Digest: d}
	out.Index = true
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w: %w", d, ErrMalformed, err)
	}
	if n := len(idx.Manifests); n > MaxIndexManifests {
		return nil, fmt.Errorf("reading the index %s: %w: %d manifests, more than the %d sc reads", d, ErrMalformed, n, MaxIndexManifests)
	}
	for _, m := range idx.Manifests {
		plat := ""
		if m.Platform != nil {
			plat = m.Platform.String()
		}
		skip := func(reason string) {
			out.Skipped = append(out.Skipped, SkippedManifest{Digest: m.Digest.String(), Platform: plat, Reason: reason})
		}
		switch {
		case m.Annotations[AnnotationDockerReferenceType] == dockerAttestationManifest,
			m.Platform != nil && m.Platform.OS == "unknown" && m.Platform.Architecture == "unknown":
			skip("a build attestation manifest (buildx), not a platform image")
			continue
		case m.MediaType.IsIndex():
			return nil, fmt.Errorf("reading the index %s: %w: manifest %s is itself an index; nested indexes are not supported", d, ErrMalformed, m.Digest)
		case !m.MediaType.IsImage():
			skip(fmt.Sprintf("media type %s is not an image manifest", m.MediaType))
			continue
		case m.Platform == nil:
			return nil, fmt.Errorf("reading the index %s: %w: image manifest %s names no platform", d, ErrMalformed, m.Digest)
		}
		if len(selection) > 0 && !selected(*m.Platform, selection) {
			skip("not among the selected platforms")
			continue
		}
		p := *m.Platform
		out.Images = append(out.Images, PlatformImage{Digest: d.Context().Digest(m.Digest.String()), Platform: &p})
	}
	if len(out.Images) == 0 {
		var want []string
		for _, s := range selection {
			want = append(want, s.String())
		}
		var have []string
		for _, s := range out.Skipped {
			if s.Platform != "" {
				have = append(have, s.Platform)
			}
		}
		if len(want) == 0 {
			return nil, fmt.Errorf("reading the index %s: %w: it holds no platform image", d, ErrMalformed)
		}
		return nil, fmt.Errorf("%w: the index %s has no %s (it has: %s)", ErrNoPlatform, d,
			strings.Join(want, ", "), strings.Join(have, ", "))
	}
	return out, nil
}

// selected reports whether p is one of sel; a selected platform without a
// variant matches every variant of its os/arch.
func selected(p v1.Platform, sel []v1.Platform) bool {
	for _, s := range sel {
		if s.OS == p.OS && s.Architecture == p.Architecture && (s.Variant == "" || s.Variant == p.Variant) {
			return true
		}
	}
	return false
}
