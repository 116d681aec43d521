// Package attestation holds what the attestation commands (`sc sbom
// verify`, `sc provenance verify`) share: turning the verification flags
// into an attest.Verifier. It is internal to pkg/cmd; libraries get their
// verifier from pkg/security/attest directly.
package attestation

import (
	"context"
	"log/slog"

	sgroot "github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// NewVerifier turns the verification flags into an attestation verifier
// reading through client.
func NewVerifier(ctx context.Context, root *options.Root, o *options.AttestVerification, client *registry.Client, logger *slog.Logger) (*attest.Verifier, error) {
	annotations, err := options.AnnotationMap(o.Annotations)
	if err != nil {
		return nil, err
	}
	policy := signing.Policy{Annotations: annotations}
	if o.Key != "" {
		pemBytes, err := signing.ReadKeyRef(o.Key, root.Getenv)
		if err != nil {
			return nil, err
		}
		if policy.Key, err = signing.LoadPublicKey(pemBytes); err != nil {
			return nil, err
		}
	} else {
		policy.Identity = &signing.IdentityPolicy{
			Subject: o.CertIdentity, SubjectRegexp: o.CertIdentityRegexp,
			Issuer: o.CertOIDCIssuer, IssuerRegexp: o.CertOIDCIssuerRegexp,
		}
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	opts := []attest.Option{attest.WithLogger(logger)}
	if o.InsecureIgnoreTlog {
		opts = append(opts, attest.WithInsecureIgnoreTlog())
		logger.Warn("--insecure-ignore-tlog: attestations are accepted without a transparency log entry")
	}
	if o.InsecureIgnoreSCT {
		opts = append(opts, attest.WithInsecureIgnoreSCT())
	}
	if o.AnyRepository {
		opts = append(opts, attest.WithAnySubjectName())
	}
	var trusted sgroot.TrustedMaterial
	if o.Key == "" || !o.InsecureIgnoreTlog || o.TrustedRoot != "" {
		if o.TrustedRoot != "" {
			trusted, err = signing.LoadTrustedRoot(o.TrustedRoot)
		} else {
			trusted, err = signing.PublicGoodTrustedRoot(ctx, signing.TUFOptions{MirrorURL: o.TUFMirror, CachePath: o.TUFCacheDir})
		}
		if err != nil {
			return nil, err
		}
	}
	return attest.NewVerifier(client, trusted, policy, opts...)
}
