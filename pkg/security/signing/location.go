package signing

import (
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/security/registry"
)

// Storage is how a signature or attestation is kept in the registry.
type Storage string

// Storages.
const (
	// StorageReferrer: an OCI 1.1 referrer manifest of the image (the
	// bundle format), listed by the referrers API or its fallback tag.
	StorageReferrer Storage = "referrer"
	// StorageTag: a layer of cosign's legacy sha256-<hex>.sig or .att tag
	// (the legacy format).
	StorageTag Storage = "tag"
)

// Location is where a signature or attestation is stored, for a reader to
// fetch it without listing the image's artifacts.
type Location struct {
	// Storage is referrer or tag.
	Storage Storage `json:"storage"`
	// Ref is the manifest that holds it: the referrer manifest,
	// repo@sha256:…, or the legacy tag, repo:sha256-<hex>.sig (or .att).
	Ref string `json:"ref"`
}

// Locate returns where an artifact about subject is stored in format:
// artifact is its identifier as Verified.Artifact gives it (the referrer
// manifest's digest in the bundle format), suffix the legacy tag's
// (signatureSuffix or AttestationSuffix). It returns the zero Location for
// an unknown format or an artifact or subject that is not a digest.
func Locate(subject name.Digest, format Format, artifact, suffix string) Location {
	switch format {
	case FormatBundle:
		return Location{Storage: StorageReferrer, Ref: subject.Context().Digest(artifact).String()}
	case FormatLegacy:
		tag, err := registry.LegacyTag(subject, suffix)
		if err != nil {
			return Location{}
		}
		return Location{Storage: StorageTag, Ref: tag.String()}
	}
	return Location{}
}
