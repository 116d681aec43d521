package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// AnnotationBundlePredicateType is set by cosign (and sc) on a Sigstore
	// bundle referrer: the predicate type of the statement inside
	// (https://sigstore.dev/cosign/sign/v1 for an image signature).
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
)

// Suffixes of the legacy tags cosign writes next to an image.
const (
	SuffixSignature   = "sig"
	SuffixAttestation = "att"
	SuffixSBOM        = "sbom"
)

// maxCommitTries bounds the write-then-check loop that repairs an
// attachment lost to a concurrent writer.
const maxCommitTries = 3

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

// fetchBlob reads the blob described by desc from repo: at most max bytes
// (the limit named limit), as many as the descriptor says, with the digest
// it says, hashed as it streams in. A descriptor over the limit is refused
// before any request (a *LimitError); content that does not match is
// ErrMalformed.
func (c *Client) fetchBlob(ctx context.Context, repo name.Repository, desc v1.Descriptor, max int64, limit string) ([]byte, error) {
	what := fmt.Sprintf("blob %s", desc.Digest)
	if desc.Size < 0 || desc.Size > max {
		return nil, &LimitError{Limit: limit, What: what, Max: max, Got: desc.Size, Unit: "bytes"}
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("%s: unsupported digest algorithm: %w", what, ErrMalformed)
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
	// Grow with what arrives rather than trusting the declared size.
	buf := bytes.NewBuffer(make([]byte, 0, min(desc.Size, 1<<20)))
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(buf, h), io.LimitReader(resp.Body, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if n != desc.Size {
		return nil, fmt.Errorf("%s: %d bytes where the descriptor says %d: %w", what, n, desc.Size, ErrMalformed)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != desc.Digest.Hex {
		return nil, fmt.Errorf("%s: content has digest sha256:%s: %w", what, got, ErrMalformed)
	}
	return buf.Bytes(), nil
}
