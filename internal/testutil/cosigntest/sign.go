package cosigntest

import (
	"context"
	"crypto"

	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// Signer signs the way the cosign CLI does: a sigstore-go ephemeral key
// pair, and for keyless an identity token plus a signing configuration
// naming Fulcio and Rekor. The interop tests write what it signs with
// cosign's own writers.
type Signer struct {
	keypair sign.Keypair
	idToken string
	config  *root.SigningConfig
	trusted root.TrustedMaterial
}

// NewKeySigner is `cosign sign --key` with a fresh key and no log; it
// returns the public key to verify with.
func NewKeySigner() (*Signer, crypto.PublicKey, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil, nil, root.ServiceConfiguration{}, nil, root.ServiceConfiguration{})
	if err != nil {
		return nil, nil, err
	}
	return &Signer{keypair: kp, config: cfg}, kp.GetPublicKey(), nil
}

// NewKeylessSigner is keyless `cosign sign` with the identity token token
// against the services signingConfig (a signing configuration, JSON) names,
// checked with trusted: cosign's NewSigningConfigFromKeyOpts with
// --fulcio-url and --rekor-url.
func NewKeylessSigner(signingConfig []byte, token string, trusted root.TrustedMaterial) (*Signer, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	cfg, err := root.NewSigningConfigFromJSON(signingConfig)
	if err != nil {
		return nil, err
	}
	return &Signer{keypair: kp, idToken: token, config: cfg, trusted: trusted}, nil
}

// SignData is cosign's bundle.SignData for content with this signer: the
// Sigstore bundle JSON.
func (s *Signer) SignData(ctx context.Context, content sign.Content) ([]byte, error) {
	return cbundle.SignData(ctx, content, s.keypair, s.idToken, nil, nil, s.config, s.trusted, cbundle.SignOptions{})
}
