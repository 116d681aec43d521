package pipeline

import (
	"context"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// SignerSource gives the signer for a service's signing configuration. The
// executor asks once per service before anything runs, so that a key that
// cannot be loaded stops the release before any work is done.
// pkg/security/signing/setup's Signers is the one sc uses.
type SignerSource interface {
	// Signer returns the signer cfg describes. Errors in the
	// outcome.ErrInvalid class (a missing key, a wrong password) stop the
	// release.
	Signer(ctx context.Context, cfg *api.Signing) (signing.Signer, error)
}

var _ SignerSource = (*setup.Signers)(nil)
