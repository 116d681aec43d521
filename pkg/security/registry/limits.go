package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Limits on what the client reads from a registry. Everything a registry
// answers is bounded in size, count or time before it is read, so that a
// registry that lies (a size of gigabytes in a manifest, one blob listed a
// thousand times, referrers pages without end) costs sc an error, not its
// memory or the pipeline's time. Going past a limit is a *LimitError,
// which wraps ErrMalformed: the registry is misbehaving. Verifiers reject
// what they cannot read (exit 1 when nothing else verifies), as they do
// with any malformed artifact; other callers fail operationally (exit 3).
const (
	// MaxManifestSize bounds every manifest and index the client reads, and
	// all pages of one referrers answer together: 4 MiB, the largest
	// manifest distribution (the reference registry, and with it most
	// others) accepts on push, so no registry can legitimately serve more.
	// go-containerregistry alone would read up to 100 MiB.
	MaxManifestSize = 4 << 20
	// MaxReferrerManifestSize bounds one referrer manifest: 64 KiB. The
	// ones cosign and sc write (empty config, one layer, subject, a few
	// annotations) are about 1 KiB; up to MaxReferrers of them are read,
	// and their annotations kept, for one listing.
	MaxReferrerManifestSize = 64 << 10
	// MaxReferrers bounds how many distinct referrers of one image are
	// considered: 1000, the number of layers cosign reads from a legacy
	// tag. An image signed and attested on every deploy for years stays
	// below it; each one costs a manifest read and a verification.
	MaxReferrers = 1000
	// MaxReferrerPages bounds how many pages of one referrers answer are
	// read: 100. With MaxManifestSize across all pages, this only stops a
	// registry whose pages link to each other without end.
	MaxReferrerPages = 100
	// MaxLegacyLayers bounds the layers of a legacy tag: 1000, as in cosign.
	MaxLegacyLayers = 1000
	// MaxSignatureSize bounds one layer of a legacy .sig tag: 1 MiB. The
	// layer is a simple-signing payload of a few hundred bytes (the
	// signature and certificate are annotations, inside the manifest).
	MaxSignatureSize = 1 << 20
	// MaxArtifactSize bounds every other artifact layer read into memory (a
	// DSSE envelope of a legacy .att tag, a Sigstore bundle of a referrer):
	// 128 MiB, cosign's COSIGN_MAX_ATTACHMENT_SIZE default. An SBOM
	// attestation of a large image is some MiB; base64 in DSSE adds a third.
	MaxArtifactSize = 128 << 20
	// MaxLegacyTotal bounds the sum of the distinct layers of one legacy tag
	// that FetchLegacy reads, which it holds in memory at once: 256 MiB, two
	// artifacts at MaxArtifactSize. Repeated layers are read once.
	MaxLegacyTotal = 256 << 20
	// MaxConfigSize bounds the config blob of a legacy tag, which
	// AttachLegacy reads to extend: 4 MiB. It lists one diff ID and history
	// entry per layer, some 150 bytes each, so 150 KiB at MaxLegacyLayers.
	MaxConfigSize = 4 << 20
	// MaxVerifyTime is the deadline (see Deadline) of all registry reads for
	// one verification of one image: 10 minutes. Each request is bounded
	// only by the stall timeout, which a registry sending a byte a minute
	// never trips; a verification normally takes seconds, and reading
	// MaxLegacyTotal at 1 MB/s takes under 5 minutes.
	MaxVerifyTime = 10 * time.Minute
)

// LimitError reports a registry answer that went past one of the limits
// above. It wraps ErrMalformed.
type LimitError struct {
	// Limit names the limit: "MaxManifestSize", …, or "deadline".
	Limit string
	// What is what went past it: "layer sha256:… of …", "referrers of …".
	What string
	// Max is the limit's value, in Unit.
	Max int64
	// Got is how much there was or would have been, in Unit; -1 when not
	// known (a body that did not end).
	Got int64
	// Unit is "bytes", "layers", "referrers", "pages" or "time" (Max and
	// Got in nanoseconds).
	Unit string
}

func (e *LimitError) Error() string {
	switch {
	case e.Unit == "time":
		return fmt.Sprintf("%s: not done within the deadline of %v", e.What, time.Duration(e.Max))
	case e.Got < 0:
		return fmt.Sprintf("%s: more than %d %s (registry.%s)", e.What, e.Max, e.Unit, e.Limit)
	}
	return fmt.Sprintf("%s: %d %s, more than the %d of registry.%s", e.What, e.Got, e.Unit, e.Max, e.Limit)
}

// Unwrap makes a LimitError an ErrMalformed.
func (e *LimitError) Unwrap() error { return ErrMalformed }

// Deadline returns ctx with a deadline d from now (use MaxVerifyTime for
// one verification). Client calls made with it that run out of time fail
// with an error wrapping a *LimitError for "deadline", rather than like an
// unreachable registry; a deadline or cancellation of ctx's own is
// reported as before.
func Deadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, &LimitError{
		Limit: "deadline", What: "reading from the registry", Max: int64(d), Got: -1, Unit: "time"})
}

// limitTransport enforces MaxManifestSize on every manifest and referrers
// body, whoever reads it (go-containerregistry's remote package too), and
// puts the *LimitError of a Deadline into the errors of requests it ended.
type limitTransport struct{ inner http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return nil, deadlineCause(req.Context(), err)
	}
	body := resp.Body
	if req.Method == http.MethodGet && manifestPath(req.URL.Path) {
		what := "the manifest at " + req.URL.Path
		if resp.ContentLength > MaxManifestSize {
			drainClose(resp.Body)
			return nil, &LimitError{Limit: "MaxManifestSize", What: what, Max: MaxManifestSize, Got: resp.ContentLength, Unit: "bytes"}
		}
		body = &limitedBody{ReadCloser: body, left: MaxManifestSize, what: what}
	}
	resp.Body = &causeBody{ReadCloser: body, ctx: req.Context()}
	return resp, nil
}

// manifestPath reports whether path is /v2/<name>/manifests/<reference> or
// /v2/<name>/referrers/<digest>. The reference is one path element; the
// name may contain "manifests" itself.
func manifestPath(path string) bool {
	elems := strings.Split(path, "/")
	if len(elems) < 5 || elems[1] != "v2" {
		return false
	}
	kind := elems[len(elems)-2]
	return kind == "manifests" || kind == "referrers"
}

// limitedBody fails a read past left bytes with a *LimitError.
type limitedBody struct {
	io.ReadCloser
	left int64
	what string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, &LimitError{Limit: "MaxManifestSize", What: b.what, Max: MaxManifestSize, Got: -1, Unit: "bytes"}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// causeBody puts the *LimitError of a Deadline into the errors of reads it
// ended.
type causeBody struct {
	io.ReadCloser
	ctx context.Context
}

func (b *causeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = deadlineCause(b.ctx, err)
	}
	return n, err
}

// deadlineCause wraps err with the *LimitError that ended ctx, if that is
// what happened.
func deadlineCause(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	var le *LimitError
	if errors.As(err, &le) || !errors.As(context.Cause(ctx), &le) {
		return err
	}
	return fmt.Errorf("%w: %w", le, err)
}
