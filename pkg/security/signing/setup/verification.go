package setup

import (
	"context"
	"crypto"
	"fmt"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/kms"
)

// Verification is what a check of signatures or attestations accepts:
// whose signatures, and what evidence of when they were made.
type Verification struct {
	// Policy is whose signatures are accepted: a public key, or a
	// certificate identity and issuer; and the signed annotations required.
	Policy signing.Policy
	// InsecureIgnoreTlog accepts signatures without a transparency log
	// entry. No log time is trusted then: a keyless certificate is checked
	// at the time of a signed timestamp when the signature has one, else at
	// the current time. Default: a verified log entry is required, and its
	// integrated time is when the signature was made.
	InsecureIgnoreTlog bool
	// InsecureIgnoreSCT accepts Fulcio certificates without a certificate
	// transparency timestamp (a private Fulcio without CT). Default: one
	// verified SCT is required.
	InsecureIgnoreSCT bool
}

// NeedsTrustedMaterial reports whether the check needs Sigstore trusted
// material: always for a certificate identity (the Fulcio CAs), and for a
// public key unless the transparency log is ignored.
func (v Verification) NeedsTrustedMaterial() bool {
	return needsTrust(v.Policy.Key != nil, v.InsecureIgnoreTlog)
}

// SignatureOptions are the signing.Verifier options of the check's opt-outs.
func (v Verification) SignatureOptions() []signing.VerifyOption {
	var opts []signing.VerifyOption
	if v.InsecureIgnoreTlog {
		opts = append(opts, signing.WithInsecureIgnoreTlog())
	}
	if v.InsecureIgnoreSCT {
		opts = append(opts, signing.WithInsecureIgnoreSCT())
	}
	return opts
}

// VerifyConfig is a check as a user states it (sc maps the verification
// flags onto it): a public key, or a certificate identity and issuer, each
// exact or as a regular expression; the annotations required; the
// opt-outs.
type VerifyConfig struct {
	// PublicKey is the public key: a path to a PEM file, ${env:…}/${file:…}
	// holding PEM, PEM content, or an awskms:// or hashivault:// key URI
	// whose public key the KMS gives. Unset: keyless, by certificate
	// identity.
	PublicKey api.KeyRef
	// Identity or IdentityRegexp is the certificate subject (an e-mail or
	// a URI) to accept; Issuer or IssuerRegexp its OIDC issuer. Keyless
	// checks need one of each.
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	// Annotations are signed annotations every accepted signature carries.
	Annotations map[string]string
	// InsecureIgnoreTlog and InsecureIgnoreSCT are Verification's.
	InsecureIgnoreTlog, InsecureIgnoreSCT bool
}

// NewVerification returns the check c states, reading its public key with
// lookupEnv and readFile, or from the KMS. A key that cannot be read or
// parsed, an unsupported KMS URI, or a policy that is neither a key nor
// both an identity and an issuer is an outcome.ErrInvalid error; a KMS
// that cannot be reached or does not know the key is an
// outcome.ErrOperational one.
func NewVerification(ctx context.Context, c VerifyConfig, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (Verification, error) {
	v := Verification{
		Policy:             signing.Policy{Annotations: c.Annotations},
		InsecureIgnoreTlog: c.InsecureIgnoreTlog,
		InsecureIgnoreSCT:  c.InsecureIgnoreSCT,
	}
	if !c.PublicKey.IsZero() {
		pub, err := PublicKey(ctx, c.PublicKey, lookupEnv, readFile)
		if err != nil {
			return Verification{}, err
		}
		v.Policy.Key = pub
	} else {
		v.Policy.Identity = &signing.IdentityPolicy{
			Subject: c.Identity, SubjectRegexp: c.IdentityRegexp,
			Issuer: c.Issuer, IssuerRegexp: c.IssuerRegexp,
		}
	}
	if err := v.Policy.Validate(); err != nil {
		return Verification{}, err
	}
	return v, nil
}

// AfterSigning is the check of what was signed under cfg, right after
// signing: the certificate identity and issuer of signing.verify for
// keyless signing; for a key, signing.publicKey when set (read with
// readFile, or from the KMS for a KMS key URI), else signerKey, the signing key's own public key. The
// transparency log is required exactly when the signer records in it
// (Logged).
func AfterSigning(ctx context.Context, cfg *api.Signing, readFile func(string) ([]byte, error), signerKey crypto.PublicKey) (Verification, error) {
	v := Verification{InsecureIgnoreTlog: !Logged(cfg)}
	if cfg.IsKeyless() {
		want := cfg.Verify
		if want == nil {
			want = &api.Verify{}
		}
		v.Policy = signing.Policy{Identity: &signing.IdentityPolicy{Subject: want.Identity, SubjectRegexp: want.IdentityRegexp, Issuer: want.OIDCIssuer}}
		if err := v.Policy.Validate(); err != nil {
			return Verification{}, fmt.Errorf("signing.verify: %w", err)
		}
		return v, nil
	}
	if cfg.PublicKey == "" {
		v.Policy = signing.Policy{Key: signerKey}
		return v, nil
	}
	ref, err := api.ParseKeyRef(cfg.PublicKey)
	if err != nil {
		return Verification{}, outcome.Invalidf("public key: %w", err)
	}
	pub, err := PublicKey(ctx, ref, nil, readFile)
	if err != nil {
		return Verification{}, err
	}
	v.Policy = signing.Policy{Key: pub}
	return v, nil
}

// PublicKey reads and parses the public key ref names: for an awskms://
// or hashivault:// key URI, the key the KMS gives (package kms, the one
// place that talks to a KMS); otherwise the PEM of the file, reference or
// content, with lookupEnv and readFile. An unreadable or unparsable key or
// an unsupported KMS URI is an outcome.ErrInvalid error; a KMS that cannot
// be reached or does not know the key is an outcome.ErrOperational one.
func PublicKey(ctx context.Context, ref api.KeyRef, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (crypto.PublicKey, error) {
	if ref.IsKMS() {
		pub, err := kms.PublicKey(ctx, ref.String())
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return pub, nil
	}
	pemText, err := ref.Resolve(lookupEnv, readFile)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, err := signing.LoadPublicKey([]byte(pemText))
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", ref, err)
	}
	return pub, nil
}
