package signing

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/sc-project/sc/pkg/outcome"
)

// LoadTrustedRoot reads a Sigstore trusted root (trusted_root.json, as
// taken by `cosign verify --trusted-root`) from path. A missing or
// malformed file is an outcome.ErrInvalid error.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, outcome.Invalidf("trusted root %s does not exist", path)
		}
		return nil, outcome.Operationalf("reading trusted root %s: %w", path, err)
	}
	return ParseTrustedRoot(b)
}

// ParseTrustedRoot parses a Sigstore trusted root JSON document.
func ParseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, outcome.Invalidf("parsing trusted root: %w", err)
	}
	return tr, nil
}

// TUFOptions locates the TUF repository that distributes a trusted root.
type TUFOptions struct {
	// MirrorURL is the TUF repository. Default: tuf.DefaultMirror, the
	// public-good Sigstore repository.
	MirrorURL string
	// RootJSON is the initial TUF root.json. Default: the public-good root
	// embedded in sigstore-go.
	RootJSON []byte
	// CachePath is where TUF metadata is cached. Default: sigstore-go's
	// ($HOME/.sigstore/root, shared with cosign).
	CachePath string
}

// PublicGoodTrustedRoot fetches the trusted root through TUF, by default
// the public-good Sigstore one. It needs the network: offline it fails with
// an outcome.ErrOperational error advising --trusted-root.
func PublicGoodTrustedRoot(ctx context.Context, opts TUFOptions) (*root.TrustedRoot, error) {
	to := tuf.DefaultOptions().WithContext(ctx)
	if opts.MirrorURL != "" {
		to = to.WithRepositoryBaseURL(opts.MirrorURL)
	}
	if opts.RootJSON != nil {
		to = to.WithRoot(opts.RootJSON)
	}
	if opts.CachePath != "" {
		to = to.WithCachePath(opts.CachePath)
	}
	type result struct {
		tr  *root.TrustedRoot
		err error
	}
	done := make(chan result, 1)
	go func() {
		tr, err := root.FetchTrustedRootWithOptions(to)
		done <- result{tr, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return nil, outcome.Operationalf("fetching the Sigstore trusted root from %s: %w "+
				"(offline or air-gapped? pass a trusted_root.json with --trusted-root)", to.RepositoryBaseURL, r.err)
		}
		return r.tr, nil
	}
}
