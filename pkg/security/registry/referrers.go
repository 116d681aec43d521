package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/pkg/outcome"
)

// fetchJobs is how many referrer manifests are fetched at once.
const fetchJobs = 4

// apiSupport is what a referrers API probe found out.
type apiSupport int

const (
	apiUnknown apiSupport = iota // the repository does not exist yet: cannot tell
	apiSupported
	apiUnsupported
)

// FallbackTag is the tag of the referrers tag schema
// (sha256-<hex>): an OCI index listing the referrers of subject, kept by
// clients on registries without the referrers API.
func FallbackTag(subject name.Digest) (name.Tag, error) {
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return name.Tag{}, outcome.Invalidf("subject %s: %w", subject, err)
	}
	return subject.Context().Tag(h.Algorithm + "-" + h.Hex), nil
}

// SupportsReferrers reports whether the registry serves the OCI 1.1
// referrers API for repo. It asks once (GET /v2/<repo>/referrers/<digest>:
// an OCI index answer means yes; 404, 400, 405 or 406 means no) and
// remembers the answer for the repository. A repository the registry does
// not know yet cannot tell: the answer is false and is not remembered.
func (c *Client) SupportsReferrers(ctx context.Context, repo name.Repository) (bool, error) {
	repo = c.normalize(repo.Digest(emptyDigest.String())).Context()
	if s, ok := c.cachedSupport(repo); ok {
		return s, nil
	}
	_, s, err := c.referrersAPI(ctx, repo.Digest(emptyDigest.String()))
	if err != nil {
		return false, annotate(err, "probing the referrers API of %s", repo)
	}
	return s == apiSupported, nil
}

// emptyDigest is the digest of the empty JSON blob, a well-formed subject
// digest for probing.
var emptyDigest = v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}

func (c *Client) cachedSupport(repo name.Repository) (bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.referrers[repo.Name()]
	return s, ok
}

func (c *Client) remember(repo name.Repository, s apiSupport) {
	if s == apiUnknown {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.referrers[repo.Name()] = s == apiSupported
}

// referrersAPI lists the referrers of subject through the referrers API,
// following pagination. When the API is known or found to be unsupported it
// returns apiUnsupported and no descriptors.
func (c *Client) referrersAPI(ctx context.Context, subject name.Digest) ([]v1.Descriptor, apiSupport, error) {
	repo := subject.Context()
	if s, ok := c.cachedSupport(repo); ok && !s {
		return nil, apiUnsupported, nil
	}
	client, err := c.httpClient(ctx, repo)
	if err != nil {
		return nil, apiUnknown, err
	}
	u := &url.URL{
		Scheme: repo.Scheme(),
		Host:   repo.RegistryStr(),
		Path:   fmt.Sprintf("/v2/%s/referrers/%s", repo.RepositoryStr(), subject.DigestStr()),
	}
	var out []v1.Descriptor
	var total int64
	for page := 0; u != nil; page++ {
		if page == MaxReferrerPages {
			return nil, apiSupported, &LimitError{Limit: "MaxReferrerPages", What: "the referrers answer for " + subject.String(),
				Max: MaxReferrerPages, Got: -1, Unit: "pages"}
		}
		descs, size, next, s, err := c.referrersPage(ctx, client, u)
		if err != nil || s != apiSupported {
			c.remember(repo, s)
			return nil, s, err
		}
		c.remember(repo, apiSupported)
		if total += size; total > MaxManifestSize {
			return nil, apiSupported, &LimitError{Limit: "MaxManifestSize", What: fmt.Sprintf("the referrers answer for %s (%d pages)", subject, page+1),
				Max: MaxManifestSize, Got: total, Unit: "bytes"}
		}
		out = append(out, descs...)
		u = next
	}
	return out, apiSupported, nil
}

// referrersPage reads one page of a referrers answer: its descriptors, its
// size and the next page.
func (c *Client) referrersPage(ctx context.Context, client *http.Client, u *url.URL) ([]v1.Descriptor, int64, *url.URL, apiSupport, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, nil, apiUnknown, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, nil, apiUnknown, stripURLs(err)
	}
	defer drainClose(resp.Body)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusOK && mt == string(types.OCIImageIndex):
		// The transport holds the body to MaxManifestSize.
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, 0, nil, apiUnknown, err
		}
		descs, err := parseReferrersAnswer(b)
		if err != nil {
			return nil, 0, nil, apiSupported, err
		}
		var next *url.URL
		if link := resp.Header.Get("Link"); link != "" {
			next, _ = nextLink(link, resp.Request.URL)
		}
		return descs, int64(len(b)), next, apiSupported, nil
	case resp.StatusCode == http.StatusNotFound:
		if nameUnknown(resp.Body) {
			return nil, 0, nil, apiUnknown, nil
		}
		return nil, 0, nil, apiUnsupported, nil
	case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusBadRequest,
		resp.StatusCode == http.StatusMethodNotAllowed, resp.StatusCode == http.StatusNotAcceptable:
		return nil, 0, nil, apiUnsupported, nil
	default:
		return nil, 0, nil, apiUnknown, stripURLs(transport.CheckError(resp, http.StatusOK))
	}
}

// parseReferrersAnswer reads one page of a referrers API answer, an OCI
// index.
func parseReferrersAnswer(b []byte) ([]v1.Descriptor, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("referrers answer: %w: %w", ErrMalformed, err)
	}
	return im.Manifests, nil
}

// nameUnknown reports whether an error body carries NAME_UNKNOWN: the
// registry routed the referrers request (so it knows the API) but has no
// such repository.
func nameUnknown(body io.Reader) bool {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	b, err := io.ReadAll(io.LimitReader(body, 64<<10))
	if err != nil || json.Unmarshal(b, &e) != nil {
		return false
	}
	for _, d := range e.Errors {
		if d.Code == string(transport.NameUnknownErrorCode) {
			return true
		}
	}
	return false
}

// fallbackIndex reads the referrers tag schema index of subject; an absent
// tag is an empty list.
func (c *Client) fallbackIndex(ctx context.Context, subject name.Digest) ([]v1.Descriptor, error) {
	tag, err := FallbackTag(subject)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(tag, c.RemoteOptions(ctx)...)
	if err != nil {
		if classify(err) == ErrNotFound {
			return nil, nil
		}
		return nil, err
	}
	return parseFallbackIndex(tag.String(), desc.MediaType, desc.Manifest)
}

// parseFallbackIndex reads the index under the fallback tag named tag.
// Its size was held to MaxManifestSize by the transport.
func parseFallbackIndex(tag string, mt types.MediaType, raw []byte) ([]v1.Descriptor, error) {
	if mt != types.OCIImageIndex {
		return nil, fmt.Errorf("fallback tag %s is a %s, not an OCI index: %w", tag, mt, ErrMalformed)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("fallback tag %s: %w: %w", tag, ErrMalformed, err)
	}
	return im.Manifests, nil
}

// listReferrers lists the referrer descriptors of subject as the registry
// or the fallback tag has them, each digest once, and says which was used.
// More than MaxReferrers distinct ones is a *LimitError.
func (c *Client) listReferrers(ctx context.Context, subject name.Digest) ([]v1.Descriptor, bool, error) {
	descs, s, err := c.referrersAPI(ctx, subject)
	if err != nil {
		return nil, false, err
	}
	viaAPI := s == apiSupported
	if !viaAPI {
		if descs, err = c.fallbackIndex(ctx, subject); err != nil {
			return nil, false, err
		}
	}
	descs = dedupe(descs)
	if len(descs) > MaxReferrers {
		return nil, viaAPI, &LimitError{Limit: "MaxReferrers", What: "the referrers of " + subject.String(),
			Max: MaxReferrers, Got: int64(len(descs)), Unit: "referrers"}
	}
	return descs, viaAPI, nil
}

// Referrers lists the referrer manifests of subject whose artifact type is
// artifactType ("" for all): through the referrers API where the registry
// has it, from the fallback tag otherwise. The filter is applied here, not
// trusted to the registry. A descriptor that does not say its artifact type
// (or says the empty config media type, as registries that read it from the
// config do) gets it from its manifest. Sorted by creation annotation, then
// digest.
//
// Limits: the answer (all pages) or fallback index at most MaxManifestSize,
// at most MaxReferrerPages pages, at most MaxReferrers distinct referrers;
// going past one is a *LimitError. A listed manifest over
// MaxReferrerManifestSize is left out, with a warning.
func (c *Client) Referrers(ctx context.Context, subject name.Digest, artifactType string) ([]v1.Descriptor, error) {
	subject = c.normalize(subject)
	descs, _, err := c.listReferrers(ctx, subject)
	if err != nil {
		return nil, annotate(err, "listing referrers of %s", subject)
	}
	var unknown []int
	for i, d := range descs {
		if d.ArtifactType == "" || types.MediaType(d.ArtifactType) == MediaTypeEmpty {
			unknown = append(unknown, i)
		}
	}
	ms, err := c.referrerManifests(ctx, subject, descs, unknown)
	if err != nil {
		return nil, annotate(err, "listing referrers of %s", subject)
	}
	drop := map[int]bool{}
	for _, i := range unknown {
		if ms[i] == nil {
			drop[i] = true
			continue
		}
		completeDescriptor(&descs[i], ms[i])
	}
	out := make([]v1.Descriptor, 0, len(descs))
	for i, d := range descs {
		if !drop[i] && (artifactType == "" || d.ArtifactType == artifactType) {
			out = append(out, d)
		}
	}
	sortReferrers(out)
	return out, nil
}

// completeDescriptor fills what a listing left out from the manifest itself.
func completeDescriptor(d *v1.Descriptor, m *v1.Manifest) {
	d.ArtifactType = manifestArtifactType(m)
	if len(d.Annotations) == 0 {
		d.Annotations = cloneAnnotations(m.Annotations)
	}
}

func manifestArtifactType(m *v1.Manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	return string(m.Config.MediaType)
}

func dedupe(descs []v1.Descriptor) []v1.Descriptor {
	seen := map[v1.Hash]bool{}
	out := make([]v1.Descriptor, 0, len(descs))
	for _, d := range descs {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}

func sortReferrers(descs []v1.Descriptor) {
	slices.SortStableFunc(descs, func(a, b v1.Descriptor) int {
		if c := strings.Compare(a.Annotations[AnnotationCreated], b.Annotations[AnnotationCreated]); c != 0 {
			return c
		}
		return strings.Compare(a.Digest.String(), b.Digest.String())
	})
}

// referrerManifests fetches the manifests of descs at the given indexes, at
// most fetchJobs at a time; the others stay nil. A manifest that is gone or
// that does not refer to subject (a stale or forged entry of a fallback
// index) stays nil too, and is logged.
func (c *Client) referrerManifests(ctx context.Context, subject name.Digest, descs []v1.Descriptor, which []int) ([]*v1.Manifest, error) {
	out := make([]*v1.Manifest, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchJobs)
	for _, i := range which {
		g.Go(func() error {
			m, err := c.referrerManifest(gctx, subject, descs[i].Digest)
			var le *LimitError
			switch {
			case err != nil && classify(err) == ErrNotFound:
				c.log.WarnContext(ctx, "ignoring a listed referrer whose manifest is gone",
					"subject", subject.String(), "referrer", descs[i].Digest.String())
				return nil
			case errors.As(err, &le) && le.Limit == "MaxReferrerManifestSize":
				c.log.WarnContext(ctx, "ignoring a listed referrer whose manifest is too large",
					"subject", subject.String(), "referrer", descs[i].Digest.String(), "reason", err.Error())
				return nil
			case err != nil:
				return err
			case m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr():
				c.log.WarnContext(ctx, "ignoring a listed referrer that refers to another subject",
					"subject", subject.String(), "referrer", descs[i].Digest.String())
				return nil
			}
			out[i] = m
			return nil
		})
	}
	return out, g.Wait()
}

// referrerManifest fetches and parses the manifest dgst in subject's
// repository; the digest of the content is checked by go-containerregistry.
func (c *Client) referrerManifest(ctx context.Context, subject name.Digest, dgst v1.Hash) (*v1.Manifest, error) {
	desc, err := remote.Get(subject.Context().Digest(dgst.String()), c.RemoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	return parseReferrerManifest(dgst.String(), desc.MediaType, desc.Manifest)
}

// parseReferrerManifest reads the referrer manifest named dgst: an image
// manifest of at most MaxReferrerManifestSize bytes.
func parseReferrerManifest(dgst string, mt types.MediaType, raw []byte) (*v1.Manifest, error) {
	if len(raw) > MaxReferrerManifestSize {
		return nil, &LimitError{Limit: "MaxReferrerManifestSize", What: "referrer " + dgst,
			Max: MaxReferrerManifestSize, Got: int64(len(raw)), Unit: "bytes"}
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("referrer %s is a %s, not an image manifest: %w", dgst, mt, ErrMalformed)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("referrer %s: %w: %w", dgst, ErrMalformed, err)
	}
	return m, nil
}

// AttachReferrer stores a as an OCI 1.1 referrer of subject, laid out as
// cosign v3 writes it: the empty config blob `{}` (media type
// application/vnd.oci.empty.v1+json), artifactType on the manifest (and, as
// cosign does, on the config descriptor), a as the one layer with its
// annotations, subject = the image's descriptor, and manifestAnnotations,
// to which org.opencontainers.image.created is added when missing. It
// returns the referrer manifest digest.
//
// On a registry without the referrers API the fallback tag sha256-<hex> (an
// OCI index of the referrers) is updated by go-containerregistry's
// remote.Put, which probes the API on every push of a manifest with a
// subject and, on 404/400, reads the index, adds the descriptor (with
// artifactType and annotations) and writes it back.
//
// Visibility: the blobs go first, then the manifest PUT; on a registry with
// the referrers API that PUT makes the referrer visible. Without it there is
// a window: the manifest is stored (by digest, untagged) before the fallback
// index lists it. If the index update fails, the referrer stays invisible,
// an error is returned, and calling AttachReferrer again with the same
// arguments and creation time writes the same manifest and repairs the
// index. The index is read, extended and written back without
// compare-and-swap (go-containerregistry and cosign work the same way): a
// concurrent writer replacing it between our write and our check is
// noticed, the index read again and the update repeated (up to 3 times);
// a writer that read before our write and writes after our check drops our
// entry unnoticed. Keep one writer per digest at a time on such registries;
// with the referrers API there is no index and no such race.
func (c *Client) AttachReferrer(ctx context.Context, subject name.Digest, artifactType string, a Artifact, manifestAnnotations map[string]string) (v1.Hash, error) {
	subject = c.normalize(subject)
	if artifactType == "" {
		return v1.Hash{}, outcome.Invalidf("attaching a referrer to %s: no artifact type", subject)
	}
	if a.MediaType == "" {
		return v1.Hash{}, outcome.Invalidf("attaching %s to %s: artifact has no media type", artifactType, subject)
	}
	fail := func(err error) (v1.Hash, error) {
		return v1.Hash{}, annotate(err, "attaching %s to %s", artifactType, subject)
	}
	opts := c.RemoteOptions(ctx)
	repo := subject.Context()

	sdesc, err := remote.Head(subject, opts...)
	if err != nil {
		return fail(err)
	}
	config := static.NewLayer(emptyJSON, MediaTypeEmpty)
	layer := static.NewLayer(a.Data, a.MediaType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return fail(err)
		}
	}
	ann := cloneAnnotations(manifestAnnotations)
	if ann[AnnotationCreated] == "" {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationCreated] = c.now().UTC().Format(time.RFC3339)
	}
	cd, _ := config.Digest()
	ld, _ := layer.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    MediaTypeEmpty,
			ArtifactType: artifactType,
			Digest:       cd,
			Size:         int64(len(emptyJSON)),
		},
		Layers: []v1.Descriptor{{
			MediaType:   a.MediaType,
			Digest:      ld,
			Size:        int64(len(a.Data)),
			Annotations: cloneAnnotations(a.Annotations),
		}},
		Subject: &v1.Descriptor{
			MediaType: sdesc.MediaType,
			Digest:    sdesc.Digest,
			Size:      sdesc.Size,
		},
		Annotations:  ann,
		ArtifactType: artifactType,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	md, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return fail(err)
	}
	for try := 1; try <= maxCommitTries; try++ {
		if err := remote.Put(repo.Digest(md.String()), rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}, opts...); err != nil {
			return fail(err)
		}
		descs, viaAPI, err := c.listReferrers(ctx, subject)
		if err != nil {
			return fail(fmt.Errorf("checking the referrers after the push: %w", err))
		}
		if viaAPI || slices.ContainsFunc(descs, func(d v1.Descriptor) bool { return d.Digest == md }) {
			return md, nil
		}
		c.log.WarnContext(ctx, "referrers fallback index changed by a concurrent writer; updating again",
			"subject", subject.String(), "referrer", md.String(), "try", try)
	}
	return v1.Hash{}, outcome.Operationalf("attaching %s to %s: the referrers fallback index kept changing under concurrent writers (%d tries)",
		artifactType, subject, maxCommitTries)
}

// FetchReferrer reads the artifact held by the referrer manifest described
// by manifest (as listed by Referrers): its one layer, with the manifest's
// annotations in Artifact.ManifestAnnotations. The manifest must refer to
// subject and hold exactly one layer; otherwise ErrMalformed. A manifest
// over MaxReferrerManifestSize or a layer over MaxArtifactSize is a
// *LimitError, refused before it is read.
func (c *Client) FetchReferrer(ctx context.Context, subject name.Digest, manifest v1.Descriptor) (Artifact, error) {
	subject = c.normalize(subject)
	fail := func(err error) (Artifact, error) {
		return Artifact{}, annotate(err, "fetching referrer %s of %s", manifest.Digest, subject)
	}
	if manifest.Digest.Algorithm == "" {
		return Artifact{}, outcome.Invalidf("fetching a referrer of %s: descriptor has no digest", subject)
	}
	m, err := c.referrerManifest(ctx, subject, manifest.Digest)
	if err != nil {
		return fail(err)
	}
	if m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr() {
		return fail(fmt.Errorf("manifest does not refer to this image: %w", ErrMalformed))
	}
	if len(m.Layers) != 1 {
		return fail(fmt.Errorf("manifest has %d layers, want 1: %w", len(m.Layers), ErrMalformed))
	}
	l := m.Layers[0]
	data, err := c.fetchBlob(ctx, subject.Context(), l, MaxArtifactSize, "MaxArtifactSize")
	if err != nil {
		return fail(err)
	}
	return Artifact{
		MediaType:           l.MediaType,
		Data:                data,
		Annotations:         cloneAnnotations(l.Annotations),
		Digest:              l.Digest,
		ManifestAnnotations: cloneAnnotations(m.Annotations),
	}, nil
}
