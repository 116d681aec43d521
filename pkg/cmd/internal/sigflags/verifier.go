package sigflags

import (
	"context"
	"log/slog"
	"os"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// Verification is the check the verification flags state: the public key
// of --key, or the certificate identity and issuer; the required signed
// annotations; the insecure opt-outs.
//
// An unanchored --certificate-identity-regexp or
// --certificate-oidc-issuer-regexp is accepted, as cosign accepts it, with
// a warning on logger naming the risk (a configuration file refuses it).
func Verification(ctx context.Context, root *options.Root, o *options.Verification, logger *slog.Logger) (setup.Verification, error) {
	for flag, p := range map[string]string{
		"--certificate-identity-regexp":    o.CertIdentityRegexp,
		"--certificate-oidc-issuer-regexp": o.CertOIDCIssuerRegexp,
	} {
		if p == "" {
			continue
		}
		if err := api.CheckAnchored(p); err != nil {
			logger.Warn(flag+" is not anchored", "reason", err.Error())
		}
	}
	annotations, err := options.AnnotationMap(o.Annotations)
	if err != nil {
		return setup.Verification{}, err
	}
	key, err := options.KeyRef(o.Key)
	if err != nil {
		return setup.Verification{}, err
	}
	return setup.NewVerification(ctx, setup.VerifyConfig{
		PublicKey: key,
		Identity:  o.CertIdentity, IdentityRegexp: o.CertIdentityRegexp,
		Issuer: o.CertOIDCIssuer, IssuerRegexp: o.CertOIDCIssuerRegexp,
		Annotations:        annotations,
		InsecureIgnoreTlog: o.InsecureIgnoreTlog,
		InsecureIgnoreSCT:  o.InsecureIgnoreSCT,
	}, root.LookupEnv, os.ReadFile)
}

// Trust is where the trust flags say trusted material comes from:
// --trusted-root, or TUF (--tuf-mirror, cached in --tuf-cache-dir).
func Trust(t *options.Trust) setup.Trust {
	return setup.Trust{TrustedRoot: t.TrustedRoot, TUF: signing.TUFOptions{MirrorURL: t.TUFMirror, CachePath: t.TUFCacheDir}}
}

// NewVerifier turns the attestation verification flags into an attestation
// verifier reading through client.
func NewVerifier(ctx context.Context, root *options.Root, o *options.AttestVerification, client *registry.Client, logger *slog.Logger) (*attest.Verifier, error) {
	v, err := Verification(ctx, root, &o.Verification, logger)
	if err != nil {
		return nil, err
	}
	if v.InsecureIgnoreTlog {
		logger.Warn("--insecure-ignore-tlog: attestations are accepted without a transparency log entry")
	}
	var opts []attest.Option
	if o.AnyRepository {
		opts = append(opts, attest.WithAnySubjectName())
	}
	trusted, err := Trust(&o.Trust).Material(ctx, v.NeedsTrustedMaterial(), logger)
	if err != nil {
		return nil, err
	}
	sv, err := signing.NewVerifier(client, trusted, v.Policy, append(v.SignatureOptions(), signing.WithLogger(logger))...)
	if err != nil {
		return nil, err
	}
	return attest.NewVerifier(client, sv, opts...), nil
}
