// Package sigflags turns the signing and verification flag groups of
// pkg/cmd/options into what pkg/security/signing and pkg/security/attest
// take: signers, verification policies, trusted material, attestation
// verifiers. It is shared by the image, sbom, provenance and release
// commands and internal to pkg/cmd; libraries build these values directly.
package sigflags

import (
	"context"
	"log/slog"

	sgroot "github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// Policy is the verification policy of the flags: the public key of
// --key, or the certificate identity and issuer; and the required signed
// annotations.
func Policy(root *options.Root, o *options.Verification) (signing.Policy, error) {
	annotations, err := options.AnnotationMap(o.Annotations)
	if err != nil {
		return signing.Policy{}, err
	}
	policy := signing.Policy{Annotations: annotations}
	if o.Key != "" {
		pemBytes, err := signing.ReadKeyRef(o.Key, root.Getenv)
		if err != nil {
			return signing.Policy{}, err
		}
		if policy.Key, err = signing.LoadPublicKey(pemBytes); err != nil {
			return signing.Policy{}, err
		}
	} else {
		policy.Identity = &signing.IdentityPolicy{
			Subject: o.CertIdentity, SubjectRegexp: o.CertIdentityRegexp,
			Issuer: o.CertOIDCIssuer, IssuerRegexp: o.CertOIDCIssuerRegexp,
		}
	}
	if err := policy.Validate(); err != nil {
		return signing.Policy{}, err
	}
	return policy, nil
}

// Trusted is the Sigstore trusted material verification needs, or nil
// when none is needed: a key-based check that explicitly ignores the
// transparency log and names no trusted root.
func Trusted(ctx context.Context, o *options.Verification, logger *slog.Logger) (sgroot.TrustedMaterial, error) {
	if o.Key != "" && o.InsecureIgnoreTlog && o.TrustedRoot == "" {
		return nil, nil
	}
	tr, err := LoadTrust(ctx, &o.Trust, logger)
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// LoadTrust reads --trusted-root, or fetches the public-good trusted root
// through TUF (from --tuf-mirror, cached in --tuf-cache-dir).
func LoadTrust(ctx context.Context, t *options.Trust, logger *slog.Logger) (*sgroot.TrustedRoot, error) {
	if t.TrustedRoot != "" {
		return signing.LoadTrustedRoot(t.TrustedRoot)
	}
	logger.Debug("fetching the Sigstore trusted root through TUF", "mirror", t.TUFMirror)
	return signing.PublicGoodTrustedRoot(ctx, signing.TUFOptions{MirrorURL: t.TUFMirror, CachePath: t.TUFCacheDir})
}

// NewVerifier turns the attestation verification flags into an attestation
// verifier reading through client.
func NewVerifier(ctx context.Context, root *options.Root, o *options.AttestVerification, client *registry.Client, logger *slog.Logger) (*attest.Verifier, error) {
	policy, err := Policy(root, &o.Verification)
	if err != nil {
		return nil, err
	}
	sopts := []signing.VerifyOption{signing.WithLogger(logger)}
	if o.InsecureIgnoreTlog {
		sopts = append(sopts, signing.WithInsecureIgnoreTlog())
		logger.Warn("--insecure-ignore-tlog: attestations are accepted without a transparency log entry")
	}
	if o.InsecureIgnoreSCT {
		sopts = append(sopts, signing.WithInsecureIgnoreSCT())
	}
	var opts []attest.Option
	if o.AnyRepository {
		opts = append(opts, attest.WithAnySubjectName())
	}
	trusted, err := Trusted(ctx, &o.Verification, logger)
	if err != nil {
		return nil, err
	}
	sv, err := signing.NewVerifier(client, trusted, policy, sopts...)
	if err != nil {
		return nil, err
	}
	return attest.NewVerifier(client, sv, opts...), nil
}
