package signing

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sc-project/sc/pkg/security/registry"
)

// This file is what pkg/security/attest builds on: a DSSE envelope stored
// next to an image, read, then verified under a Verifier's trusted material
// and policy with the same rules as image signatures. What the envelope
// says (the in-toto statement: its subject, predicate type, annotations)
// is attest's to read, with its one parser; this package reads the payload
// only as the libraries verifying the signature do.

// Envelope is a DSSE envelope over an in-toto statement as stored next to
// an image, read but not verified: the content of a bundle referrer, or a
// layer of the sha256-<hex>.att image.
type Envelope struct {
	// Format is how it is stored.
	Format Format
	// Payload is the statement exactly as signed. It is not verified until
	// Verifier.VerifyEnvelope accepts the envelope.
	Payload []byte

	bundle    *bundle.Bundle    // FormatBundle
	layer     registry.Artifact // FormatLegacy
	signature []byte
}

// ReadEnvelope reads a stored attestation in format f: a Sigstore bundle
// holding a DSSE envelope (FormatBundle, a.Data), or a DSSE envelope layer
// with cosign's annotations (FormatLegacy). The payload type must be
// InTotoPayloadType. The error is the reason for rejecting the artifact.
func ReadEnvelope(f Format, a registry.Artifact) (*Envelope, error) {
	switch f {
	case FormatBundle:
		b, err := readBundle(a.Data, "an attestation is a signed in-toto statement")
		if err != nil {
			return nil, err
		}
		env := b.GetDsseEnvelope()
		e := &Envelope{Format: f, Payload: env.GetPayload(), bundle: b}
		if sigs := env.GetSignatures(); len(sigs) > 0 {
			e.signature = sigs[0].GetSig()
		}
		return e, nil
	case FormatLegacy:
		if string(a.MediaType) != dsseMediaType {
			return nil, fmt.Errorf("layer media type is %q, want %q", a.MediaType, dsseMediaType)
		}
		var env struct {
			PayloadType string `json:"payloadType"`
			Payload     []byte `json:"payload"`
			Signatures  []struct {
				Sig []byte `json:"sig"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal(a.Data, &env); err != nil {
			return nil, fmt.Errorf("layer is not a DSSE envelope: %w", err)
		}
		if env.PayloadType != InTotoPayloadType {
			return nil, fmt.Errorf("DSSE payload type is %q, want %q", env.PayloadType, InTotoPayloadType)
		}
		e := &Envelope{Format: f, Payload: env.Payload, layer: a}
		if len(env.Signatures) > 0 {
			e.signature = env.Signatures[0].Sig
		}
		return e, nil
	}
	return nil, fmt.Errorf("unknown signature format %q", f)
}

// readBundle decodes a stored bundle that must hold a DSSE envelope of
// in-toto payload type; why ends the message for one that holds none.
func readBundle(data []byte, why string) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("bundle holds no DSSE envelope (%s)", why)
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type is %q, want %q", env.GetPayloadType(), InTotoPayloadType)
	}
	return &b, nil
}

// VerifyEnvelope verifies e, an envelope over an in-toto statement about d
// of any predicate type, under v's trusted material and policy with the
// rules of image signatures: a key or certificate identity, a verified
// transparency log entry unless WithInsecureIgnoreTlog, an SCT unless
// WithInsecureIgnoreSCT. The libraries check that the statement names d's
// digest.
//
// annotations are the signed annotations of the statement's subject for d,
// as the caller read them from e.Payload: the policy's annotations must be
// among them, and they are reported in Verified.Annotations.
//
// It returns the signature's description (Format set, Artifact left to the
// caller). The error is the reason for rejecting the envelope, fit for a
// rejection; it is never an operational failure (nothing is fetched).
func (v *Verifier) VerifyEnvelope(ctx context.Context, e *Envelope, d name.Digest, annotations map[string]string) (*Verified, error) {
	if err := v.checkAnnotations(annotations); err != nil {
		return nil, err
	}
	var (
		out *Verified
		err error
	)
	switch e.Format {
	case FormatBundle:
		// The predicate is read from the payload by the caller;
		// sigstore-go's own reading cannot hold a string predicate.
		out, err = v.verifyBundle(e.bundle, d, verify.WithoutStatementPredicate())
	case FormatLegacy:
		out, err = v.verifyLegacyEnvelope(ctx, e.layer, d)
	default:
		err = fmt.Errorf("unknown signature format %q", e.Format)
	}
	if err != nil {
		return nil, err
	}
	out.Annotations = nonEmpty(annotations)
	out.signature = e.signature
	return out, nil
}

// verifyLegacyEnvelope verifies one layer of the legacy sha256-<hex>.att
// image (cosign v2's attestations: a DSSE envelope with the certificate,
// Rekor bundle and timestamp in annotations) for d with cosign.
func (v *Verifier) verifyLegacyEnvelope(ctx context.Context, a registry.Artifact, d name.Digest) (*Verified, error) {
	sig, err := legacyAttestation(a)
	if err != nil {
		return nil, err
	}
	if err := v.checkLayerKind(sig); err != nil {
		return nil, err
	}
	if rb, _ := sig.Bundle(); rb == nil && !v.ignoreTlog {
		return nil, errNoTlogEntry
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("image digest %s: %w", d.DigestStr(), err)
	}
	// VerifyBlobAttestation is VerifyImageAttestation's check of one
	// attestation, without folding its error into a string.
	return v.verifyLayer(ctx, sig, h, cosign.IntotoSubjectClaimVerifier, cosign.VerifyBlobAttestation, "attestation")
}

// legacyAttestation rebuilds cosign's view of a legacy attestation layer
// from its content and annotations (cosign's attestations carry an empty
// signature annotation: the signature is inside the envelope).
func legacyAttestation(a registry.Artifact) (oci.Signature, error) {
	opts, err := layerOptions(a.MediaType, a.Annotations)
	if err != nil {
		return nil, err
	}
	sig, err := static.NewAttestation(a.Data, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading attestation layer: %w", err)
	}
	return sig, nil
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
