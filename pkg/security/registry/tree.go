package registry

import (
	"context"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Tree lists what is attached to an image digest, in both forms cosign
// uses. It holds descriptors only: no artifact content is downloaded.
type Tree struct {
	// Subject is the image digest the tree is about.
	Subject name.Digest `json:"subject"`
	// Legacy holds the legacy tags that exist, in the order sig, att, sbom.
	Legacy []LegacyImage `json:"legacy"`
	// ReferrersAPI is true when the referrers were listed through the
	// registry's referrers API, false when read from the fallback tag.
	ReferrersAPI bool `json:"referrersAPI"`
	// Referrers holds the referrers grouped by artifact type, sorted by
	// artifact type.
	Referrers []ReferrerGroup `json:"referrers"`
}

// LegacyImage is the image under one legacy tag (sha256-<hex>.<suffix>).
type LegacyImage struct {
	// Suffix is the kind of artifacts: sig, att or sbom.
	Suffix string `json:"suffix"`
	// Tag is the full tag.
	Tag name.Tag `json:"tag"`
	// Manifest describes the image manifest under the tag.
	Manifest v1.Descriptor `json:"manifest"`
	// Layers are its layers, one per artifact, with their annotations.
	Layers []v1.Descriptor `json:"layers"`
}

// ReferrerGroup is the referrers of one artifact type and, for Sigstore
// bundles, one predicate type (as `cosign tree` groups them).
type ReferrerGroup struct {
	// ArtifactType is the artifact type shared by the group.
	ArtifactType string `json:"artifactType"`
	// PredicateType is the bundle's dev.sigstore.bundle.predicateType
	// annotation shared by the group (cosign's sign predicate for image
	// signatures, the in-toto predicate type for attestations); "" for
	// artifacts that carry none.
	PredicateType string `json:"predicateType,omitempty"`
	// Referrers are sorted by creation annotation, then digest.
	Referrers []Referrer `json:"referrers"`
}

// Referrer is one referrer manifest of an image.
type Referrer struct {
	// Descriptor describes the referrer manifest, with its ArtifactType and
	// Annotations.
	Descriptor v1.Descriptor `json:"descriptor"`
	// Layers are the manifest's layers (the artifact), with their
	// annotations.
	Layers []v1.Descriptor `json:"layers"`
}

// legacySuffixes are the legacy tags Tree looks for, as `cosign tree` does.
func legacySuffixes() []string { return []string{SuffixSignature, SuffixAttestation, SuffixSBOM} }

// Tree lists the artifacts attached to subject, like `cosign tree`: the
// legacy .sig, .att and .sbom tags with their layers, and the referrers
// (through the API or the fallback tag) grouped by artifact type. Only
// manifests are fetched. ErrNotFound when subject does not exist.
func (c *Client) Tree(ctx context.Context, subject name.Digest) (*Tree, error) {
	subject = c.normalize(subject)
	if _, err := remote.Head(subject, c.RemoteOptions(ctx)...); err != nil {
		return nil, annotate(err, "listing artifacts of %s", subject)
	}
	t := &Tree{Subject: subject, Legacy: []LegacyImage{}, Referrers: []ReferrerGroup{}}
	for _, suffix := range legacySuffixes() {
		tag, err := LegacyTag(subject, suffix)
		if err != nil {
			return nil, err
		}
		img, m, found, err := c.legacyImage(ctx, tag)
		if err != nil {
			return nil, annotate(err, "listing artifacts of %s", subject)
		}
		if !found {
			continue
		}
		desc, err := remoteDescriptor(img)
		if err != nil {
			return nil, annotate(err, "listing artifacts of %s", subject)
		}
		t.Legacy = append(t.Legacy, LegacyImage{Suffix: suffix, Tag: tag, Manifest: desc, Layers: nonNil(m.Layers)})
	}

	descs, viaAPI, err := c.listReferrers(ctx, subject)
	if err != nil {
		return nil, annotate(err, "listing artifacts of %s", subject)
	}
	t.ReferrersAPI = viaAPI
	all := make([]int, len(descs))
	for i := range all {
		all[i] = i
	}
	ms, err := c.referrerManifests(ctx, subject, descs, all)
	if err != nil {
		return nil, annotate(err, "listing artifacts of %s", subject)
	}
	var refs []Referrer
	for i, d := range descs {
		if ms[i] == nil {
			continue
		}
		completeDescriptor(&d, ms[i])
		refs = append(refs, Referrer{Descriptor: d, Layers: nonNil(ms[i].Layers)})
	}
	slices.SortStableFunc(refs, func(a, b Referrer) int {
		if c := strings.Compare(a.Descriptor.ArtifactType, b.Descriptor.ArtifactType); c != 0 {
			return c
		}
		if c := strings.Compare(a.predicateType(), b.predicateType()); c != 0 {
			return c
		}
		if c := strings.Compare(a.Descriptor.Annotations[AnnotationCreated], b.Descriptor.Annotations[AnnotationCreated]); c != 0 {
			return c
		}
		return strings.Compare(a.Descriptor.Digest.String(), b.Descriptor.Digest.String())
	})
	for _, r := range refs {
		n := len(t.Referrers)
		if n == 0 || t.Referrers[n-1].ArtifactType != r.Descriptor.ArtifactType || t.Referrers[n-1].PredicateType != r.predicateType() {
			t.Referrers = append(t.Referrers, ReferrerGroup{ArtifactType: r.Descriptor.ArtifactType, PredicateType: r.predicateType()})
			n++
		}
		t.Referrers[n-1].Referrers = append(t.Referrers[n-1].Referrers, r)
	}
	return t, nil
}

// predicateType is the bundle predicate type annotation of the referrer.
func (r Referrer) predicateType() string {
	return r.Descriptor.Annotations[AnnotationBundlePredicateType]
}

func remoteDescriptor(img v1.Image) (v1.Descriptor, error) {
	h, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: h}, nil
}

func nonNil(ds []v1.Descriptor) []v1.Descriptor {
	if ds == nil {
		return []v1.Descriptor{}
	}
	return ds
}
