package setup

import (
	"context"
	"log/slog"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sc-project/sc/pkg/security/signing"
)

// Trust says where Sigstore trusted material (Fulcio CAs, Rekor, CT log
// and timestamp authority keys) comes from.
type Trust struct {
	// TrustedRoot is a trusted_root.json, for a private or offline
	// Sigstore. Default: the trusted root fetched through TUF.
	TrustedRoot string
	// TUF locates the TUF repository. Default: the public-good Sigstore
	// repository, cached in $HOME/.sigstore/root (see signing.TUFOptions).
	TUF signing.TUFOptions
}

// Material returns the trusted material of a check: nil when needed is
// false (see NeedsTrustedMaterial and Verification.NeedsTrustedMaterial)
// and no trusted root is named; else TrustedRoot, read from its file, or
// the root TUF serves (which needs the network). A named trusted root is
// read even when not needed, so that a wrong one is reported, not ignored.
func (t Trust) Material(ctx context.Context, needed bool, logger *slog.Logger) (root.TrustedMaterial, error) {
	if !needed && t.TrustedRoot == "" {
		return nil, nil
	}
	var (
		tr  *root.TrustedRoot
		err error
	)
	if t.TrustedRoot != "" {
		tr, err = signing.LoadTrustedRoot(t.TrustedRoot)
	} else {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		logger.Debug("fetching the Sigstore trusted root through TUF", "mirror", t.TUF.MirrorURL)
		tr, err = signing.PublicGoodTrustedRoot(ctx, t.TUF)
	}
	if err != nil {
		// not a nil *TrustedRoot in a non-nil interface
		return nil, err
	}
	return tr, nil
}
