package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types and annotations of the layouts cosign uses.
const (
	// MediaTypeEmpty is the media type of the empty JSON blob `{}` that
	// referrer manifests use as config (OCI image-spec 1.1).
	MediaTypeEmpty types.MediaType = "application/vnd.oci.empty.v1+json"
	// AnnotationCreated is the manifest annotation recording when a referrer
	// was written (RFC 3339, UTC).
	AnnotationCreated = "org.opencontainers.image.created"
)

// Suffixes of the legacy tags cosign writes next to an image.
const (
	SuffixSignature   = "sig"
	SuffixAttestation = "att"
	SuffixSBOM        = "sbom"
)

// Limits on what the client reads from a registry.
const (
	// MaxArtifactSize is the largest artifact (one layer) FetchLegacy and
	// FetchReferrer read into memory. SBOMs of large images are the biggest
	// artifacts sc stores.
	MaxArtifactSize = 256 << 20
	// MaxLegacyLayers is the largest number of layers read from a legacy
	// tag, as in cosign.
	MaxLegacyLayers = 1000
	// maxCommitTries bounds the write-then-check loop that repairs an
	// attachment lost to a concurrent writer.
	maxCommitTries = 3
)

// emptyJSON is the content of the empty config blob.
var emptyJSON = []byte("{}")

// Artifact is one piece of data attached to an image digest: a signature, an
// attestation, an SBOM. It is stored as one layer.
type Artifact struct {
	// MediaType is the layer media type.
	MediaType types.MediaType
	// Data is the layer content.
	Data []byte
	// Annotations are the layer (descriptor) annotations.
	Annotations map[string]string
	// Digest is the layer digest; filled when fetched, ignored by Attach*.
	Digest v1.Hash
	// ManifestAnnotations are the annotations of the referrer manifest that
	// holds the layer; filled by FetchReferrer, ignored by Attach*.
	ManifestAnnotations map[string]string
}

// sameAnnotations compares annotations, a nil map being equal to an empty one.
func sameAnnotations(a, b map[string]string) bool {
	return maps.Equal(a, b)
}

// cloneAnnotations copies m, returning nil for an empty map so that no
// "annotations": {} appears in manifests.
func cloneAnnotations(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// rawManifest is a manifest given as bytes, for remote.Put.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// fetchBlob reads the blob described by desc from repo, checking its size
// against the descriptor and MaxArtifactSize and its digest against the
// descriptor: content that does not match is ErrMalformed.
func (c *Client) fetchBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	if desc.Size < 0 || desc.Size > MaxArtifactSize {
		return nil, fmt.Errorf("blob %s: size %d outside 0..%d: %w", desc.Digest, desc.Size, MaxArtifactSize, ErrMalformed)
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: unsupported digest algorithm: %w", desc.Digest, ErrMalformed)
	}
	client, err := c.httpClient(ctx, repo)
	if err != nil {
		return nil, err
	}
	u := url.URL{
		Scheme: repo.Scheme(),
		Host:   repo.RegistryStr(),
		Path:   fmt.Sprintf("/v2/%s/blobs/%s", repo.RepositoryStr(), desc.Digest),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, stripURLs(err)
	}
	defer drainClose(resp.Body)
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, stripURLs(err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != desc.Size {
		return nil, fmt.Errorf("blob %s: %d bytes where the descriptor says %d: %w", desc.Digest, len(data), desc.Size, ErrMalformed)
	}
	got, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if got != desc.Digest {
		return nil, fmt.Errorf("blob %s: content has digest %s: %w", desc.Digest, got, ErrMalformed)
	}
	return data, nil
}
