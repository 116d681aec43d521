// Package cosigntest verifies what sc wrote the way cosign v3's CLI does,
// with cosign's pkg/, for tests: `cosign verify --key` and `cosign
// verify-attestation --key --type`, without a transparency log
// (--insecure-ignore-tlog), against a registry reached over plain HTTP.
//
// Signer signs as the CLI does, for the interop tests of
// pkg/security/signing and pkg/security/attest, key-based or keylessly
// against the virtual Sigstore (sigstoretest), and Signer.Attest writes an
// attestation as `cosign attest` does. VerifyAttestationKeyless is `cosign
// verify-attestation` by certificate identity; other keyless checks use
// cosign's verification functions directly.
package cosigntest

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// signPredicateType is the predicate type of cosign v3 image signatures in
// the bundle format.
const signPredicateType = "https://sigstore.dev/cosign/sign/v1"

// Verify is `cosign verify --key pub --insecure-ignore-tlog ref`: image
// signatures in the bundle format (bundle true) through
// VerifyImageAttestations with NewBundleFormat, legacy ones (the .sig tag)
// through VerifyImageSignatures. It returns how many signatures verified.
func Verify(ctx context.Context, ref string, pub crypto.PublicKey, bundle bool) (int, error) {
	co, r, err := checkOpts(ref, pub)
	if err != nil {
		return 0, err
	}
	if !bundle {
		co.ClaimVerifier = cosign.SimpleClaimVerifier
		sigs, _, err := cosign.VerifyImageSignatures(ctx, r, co)
		return len(sigs), err
	}
	co.NewBundleFormat = true
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	sigs, _, err := cosign.VerifyImageAttestations(ctx, r, co, name.Insecure)
	if err != nil {
		return 0, err
	}
	return count(sigs, signPredicateType)
}

// VerifyAttestation is `cosign verify-attestation --key pub
// --insecure-ignore-tlog --type predicateType ref` (with --check-claims,
// the default): how many attestations of that predicate type verified.
func VerifyAttestation(ctx context.Context, ref string, pub crypto.PublicKey, bundle bool, predicateType string) (int, error) {
	co, r, err := checkOpts(ref, pub)
	if err != nil {
		return 0, err
	}
	co.NewBundleFormat = bundle
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, r, co, name.Insecure)
	if err != nil {
		return 0, err
	}
	return count(atts, predicateType)
}

// VerifyAttestationKeyless is `cosign verify-attestation
// --certificate-identity identity --certificate-oidc-issuer issuer
// --trusted-root … --type predicateType ref`: how many attestations of that
// predicate type verified, with their transparency log entries, against
// trusted.
func VerifyAttestationKeyless(ctx context.Context, ref string, trusted root.TrustedMaterial, identity, issuer string, bundle bool, predicateType string) (int, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return 0, err
	}
	co := &cosign.CheckOpts{
		RegistryClientOpts: remoteOptions(),
		TrustedMaterial:    trusted,
		Identities:         []cosign.Identity{{Subject: identity, Issuer: issuer}},
		NewBundleFormat:    bundle,
		ClaimVerifier:      cosign.IntotoSubjectClaimVerifier,
	}
	atts, _, err := cosign.VerifyImageAttestations(ctx, r, co, name.Insecure)
	if err != nil {
		return 0, err
	}
	return count(atts, predicateType)
}

func checkOpts(ref string, pub crypto.PublicKey) (*cosign.CheckOpts, name.Reference, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, nil, err
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return &cosign.CheckOpts{
		RegistryClientOpts: remoteOptions(),
		SigVerifier:        sv,
		IgnoreTlog:         true,
	}, r, nil
}

// remoteOptions are cosign's registry options for the tests' registries:
// anonymous, plain HTTP.
func remoteOptions() []ociremote.Option {
	return []ociremote.Option{
		ociremote.WithRemoteOptions(remote.WithAuth(authn.Anonymous)),
		ociremote.WithNameOptions(name.Insecure),
	}
}

// count counts the verified signatures whose DSSE envelope holds a
// statement of predicateType.
func count(sigs []oci.Signature, predicateType string) (int, error) {
	n := 0
	for _, s := range sigs {
		p, err := s.Payload()
		if err != nil {
			return 0, err
		}
		var env struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(p, &env); err != nil {
			return 0, fmt.Errorf("reading the envelope: %w", err)
		}
		st, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return 0, fmt.Errorf("reading the envelope's payload: %w", err)
		}
		var statement struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(st, &statement); err != nil {
			return 0, fmt.Errorf("reading the statement: %w", err)
		}
		if statement.PredicateType == predicateType {
			n++
		}
	}
	return n, nil
}
