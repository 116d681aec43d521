package kms

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/aws"
	"github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// ErrUnsupported is returned for a key URI of a scheme sc does not support
// (gcpkms://, azurekms://, k8s://, …) or a malformed one. It is in the
// outcome.ErrInvalid class.
var ErrUnsupported = outcome.Invalid("unsupported KMS key URI")

// provider is one supported scheme: how a reference is checked and loaded.
type provider struct {
	scheme string
	valid  func(uri string) error
	load   func(ctx context.Context, uri string) (signature.SignerVerifier, error)
}

// providers are the schemes of api.KMSSchemes, each with its sigstore
// provider.
func providers() []provider {
	return []provider{
		{
			scheme: aws.ReferenceScheme,
			valid:  aws.ValidReference,
			load: func(ctx context.Context, uri string) (signature.SignerVerifier, error) {
				return aws.LoadSignerVerifier(ctx, uri)
			},
		},
		{
			scheme: hashivault.ReferenceScheme,
			valid:  hashivault.ValidReference,
			load: func(ctx context.Context, uri string) (signature.SignerVerifier, error) {
				return hashivault.LoadSignerVerifier(uri, crypto.SHA256, sigopts.WithContext(ctx))
			},
		},
	}
}

func find(uri string) (provider, error) {
	for _, p := range providers() {
		if strings.HasPrefix(uri, p.scheme) {
			if err := p.valid(uri); err != nil {
				return provider{}, fmt.Errorf("%w %s: %w", ErrUnsupported, uri, err)
			}
			return p, nil
		}
	}
	return provider{}, fmt.Errorf("%w %s: sc signs and verifies with %s keys only", ErrUnsupported, uri, strings.Join(api.KMSSchemes(), " and "))
}

// Supported returns nil when uri is a well-formed key URI of a supported
// scheme, else an ErrUnsupported error. It does no I/O.
func Supported(uri string) error {
	_, err := find(uri)
	return err
}

// Load returns the signer-verifier of the KMS key uri names, having read
// its public key once (so that an unknown key, missing credentials or an
// unreachable KMS fail now). An unsupported or malformed URI is
// ErrUnsupported; a KMS that cannot be reached or does not know the key is
// in the outcome.ErrOperational class.
func Load(ctx context.Context, uri string) (signature.SignerVerifier, error) {
	p, err := find(uri)
	if err != nil {
		return nil, err
	}
	sv, err := p.load(ctx, uri)
	if err != nil {
		return nil, outcome.Operationalf("KMS key %s: %w", uri, err)
	}
	if _, err := sv.PublicKey(sigopts.WithContext(ctx)); err != nil {
		return nil, outcome.Operationalf("KMS key %s: reading its public key: %w", uri, err)
	}
	return sv, nil
}

// PublicKey reads the public key of the KMS key uri names; errors are
// Load's.
func PublicKey(ctx context.Context, uri string) (crypto.PublicKey, error) {
	sv, err := Load(ctx, uri)
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey(sigopts.WithContext(ctx))
	if err != nil {
		return nil, outcome.Operationalf("KMS key %s: reading its public key: %w", uri, err)
	}
	if pub == nil {
		return nil, outcome.Operationalf("KMS key %s: the KMS returned no public key", uri)
	}
	return pub, nil
}
