package signing

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/empty"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// This file is the hook pkg/security/attest builds on: signing and storing
// an attestation statement whatever its predicate, and verifying one stored
// attestation (a bundle, or a layer of the .att image) under a Verifier's
// trusted material and policy with the same rules as image signatures.
// Listing, filtering by predicate type and decoding statements are attest's.

// AttachAttestation signs an in-toto statement about subject as a DSSE
// envelope and stores it next to subject in format, as AttachStatement
// does, with one difference: the predicate may be a JSON string as well as
// a JSON object. A string predicate is how cosign attests documents that are
// not JSON (`cosign attest --type spdx` with a tag-value SBOM); the in-toto
// protobuf types cannot hold one, so the statement is checked here with a
// plain JSON reading: its type is an in-toto statement type, it names a
// predicate type, and one of its subjects has subject's digest.
func AttachAttestation(ctx context.Context, w Writer, s Signer, subject name.Digest, statement []byte, format Format) (*Attached, error) {
	st, err := readStatement(statement)
	if err != nil {
		return nil, outcome.Invalidf("attestation statement: %w", err)
	}
	if st.Type != intotov1.StatementTypeUri && st.Type != statementTypeV01 {
		return nil, outcome.Invalidf("attestation statement: _type is %q, want %q", st.Type, intotov1.StatementTypeUri)
	}
	if st.PredicateType == "" {
		return nil, outcome.Invalid("attestation statement: no predicate type")
	}
	if p := bytes.TrimSpace(st.Predicate); len(p) == 0 || (p[0] != '{' && p[0] != '"') {
		return nil, outcome.Invalid("attestation statement: the predicate is neither a JSON object nor a JSON string")
	}
	if _, err := st.about(subject); err != nil {
		return nil, outcome.Invalidf("attestation statement: %w", err)
	}
	sig, err := s.Sign(ctx, &sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType})
	if err != nil {
		return nil, fmt.Errorf("signing the %s attestation for %s: %w", st.PredicateType, subject, err)
	}
	return attachSigned(ctx, w, subject, sig, nil, st.PredicateType, format)
}

// statementTypeV01 is the in-toto statement type cosign attest still
// writes.
const statementTypeV01 = "https://in-toto.io/Statement/v0.1"

// liteStatement is what this package reads of an in-toto statement: enough
// to check what it is about, as sigstore-go and cosign read it (plain JSON,
// so that a string predicate does not stop it).
type liteStatement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
	Subject       []struct {
		Name        string            `json:"name"`
		Digest      map[string]string `json:"digest"`
		Annotations map[string]any    `json:"annotations"`
	} `json:"subject"`
}

func readStatement(data []byte) (*liteStatement, error) {
	var st liteStatement
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("not an in-toto statement: %w", err)
	}
	return &st, nil
}

// about checks that the statement names d's digest among its subjects and
// returns that subject's annotations.
func (st *liteStatement) about(d name.Digest) (map[string]string, error) {
	alg, hexDigest, ok := strings.Cut(d.DigestStr(), ":")
	if !ok {
		return nil, fmt.Errorf("invalid image digest %q", d.DigestStr())
	}
	var names []string
	for _, s := range st.Subject {
		if s.Digest[alg] == hexDigest {
			ann := make(map[string]string, len(s.Annotations))
			for k, v := range s.Annotations {
				ann[k] = fmt.Sprint(v)
			}
			return ann, nil
		}
		for a, h := range s.Digest {
			names = append(names, a+":"+h)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("the statement names no subject digest, it is not about %s", d.DigestStr())
	}
	return nil, fmt.Errorf("the statement is about another image: it names %s, not %s", strings.Join(names, ", "), d.DigestStr())
}

// VerifyAttestationBundle verifies a stored Sigstore bundle (the content of
// a bundle referrer) holding a DSSE envelope over an in-toto statement about
// d, of any predicate type, under v's trusted material and policy, with the
// rules of image signatures: a key or certificate identity, a verified
// transparency log entry unless WithInsecureIgnoreTlog, an SCT unless
// WithInsecureIgnoreSCT, and the policy's annotations among the subject's.
//
// It returns the signature's description (Format set, Artifact left to the
// caller) and the statement exactly as signed. The error is the reason for
// rejecting the bundle, fit for a Rejected entry; it is never an
// operational failure (nothing is fetched).
func (v *Verifier) VerifyAttestationBundle(data []byte, d name.Digest) (*Verified, []byte, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, nil, errors.New("bundle holds no DSSE envelope (an attestation is a signed in-toto statement)")
	}
	if env.GetPayloadType() != InTotoPayloadType {
		return nil, nil, fmt.Errorf("DSSE payload type is %q, want %q", env.GetPayloadType(), InTotoPayloadType)
	}
	payload := env.GetPayload()
	st, err := readStatement(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("signed payload: %w", err)
	}
	annotations, err := st.about(d)
	if err != nil {
		return nil, nil, err
	}
	if err := v.checkAnnotations(annotations); err != nil {
		return nil, nil, err
	}
	out, err := v.verifyDSSEBundle(&b, d)
	if err != nil {
		return nil, nil, err
	}
	out.Format = FormatBundle
	out.Annotations = nonEmpty(annotations)
	if sigs := env.GetSignatures(); len(sigs) > 0 {
		out.signature = sigs[0].GetSig()
	}
	return out, payload, nil
}

// verifyDSSEBundle checks a bundle's signature, certificate, log entry and
// timestamps for d, as checkBundle does for image signatures.
func (v *Verifier) verifyDSSEBundle(b *bundle.Bundle, d name.Digest) (*Verified, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fmt.Errorf("reading verification material: %w", err)
	}
	cert := vc.Certificate()
	if err := v.checkKind(cert); err != nil {
		return nil, err
	}
	if entries, err := b.TlogEntries(); err == nil && len(entries) == 0 && !v.ignoreTlog {
		return nil, errNoTlogEntry
	}

	// The predicate is read from the verified payload by the caller;
	// sigstore-go's own reading cannot hold a string predicate.
	sev, popts, err := v.bundleVerifier(b, verify.WithoutStatementPredicate())
	if err != nil {
		return nil, err
	}
	alg, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	raw, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, fmt.Errorf("image digest %s: %w", d.DigestStr(), err)
	}
	vr, err := sev.Verify(b, verify.NewPolicy(verify.WithArtifactDigest(alg, raw), popts...))
	if err != nil {
		return nil, explain(err, v.policy.Key != nil)
	}

	out := &Verified{KeyID: v.keyID}
	if cert != nil {
		if err := summarize(out, cert); err != nil {
			return nil, err
		}
	}
	if entries, err := b.TlogEntries(); err == nil && len(entries) > 0 && !v.ignoreTlog {
		idx := entries[0].LogIndex()
		out.TlogIndex = &idx
	}
	for _, t := range vr.VerifiedTimestamps {
		tt := t.Timestamp.UTC()
		out.SignedAt = &tt
		break
	}
	return out, nil
}

// VerifyAttestationLayer verifies one layer of the legacy sha256-<hex>.att
// image (cosign v2's attestations: a DSSE envelope with the certificate,
// Rekor bundle and timestamp in annotations) for d, with cosign's
// VerifyImageAttestation, under the same rules as VerifyAttestationBundle.
// It returns the signature's description and the statement exactly as
// signed; the error is the reason for rejecting the layer.
func (v *Verifier) VerifyAttestationLayer(ctx context.Context, a registry.Artifact, d name.Digest) (*Verified, []byte, error) {
	if string(a.MediaType) != DSSEMediaType {
		return nil, nil, fmt.Errorf("layer media type is %q, want %q", a.MediaType, DSSEMediaType)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
		Signatures  []struct {
			Sig []byte `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(a.Data, &env); err != nil {
		return nil, nil, fmt.Errorf("layer is not a DSSE envelope: %w", err)
	}
	if env.PayloadType != InTotoPayloadType {
		return nil, nil, fmt.Errorf("DSSE payload type is %q, want %q", env.PayloadType, InTotoPayloadType)
	}
	st, err := readStatement(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("signed payload: %w", err)
	}
	annotations, err := st.about(d)
	if err != nil {
		return nil, nil, err
	}
	if err := v.checkAnnotations(annotations); err != nil {
		return nil, nil, err
	}
	sig, err := legacyAttestation(a)
	if err != nil {
		return nil, nil, err
	}
	cert, err := sig.Cert()
	if err != nil {
		return nil, nil, fmt.Errorf("unreadable certificate annotation: %w", err)
	}
	if err := v.checkKind(cert); err != nil {
		return nil, nil, err
	}
	rb, _ := sig.Bundle()
	if rb == nil && !v.ignoreTlog {
		return nil, nil, errNoTlogEntry
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, nil, fmt.Errorf("image digest %s: %w", d.DigestStr(), err)
	}
	co := &cosign.CheckOpts{
		ClaimVerifier:   cosign.IntotoSubjectClaimVerifier,
		TrustedMaterial: v.trusted,
		IgnoreTlog:      v.ignoreTlog,
		IgnoreSCT:       v.ignoreSCT,
		Offline:         true,
	}
	if ts, _ := sig.RFC3161Timestamp(); ts != nil && v.trusted != nil {
		co.UseSignedTimestamps = true
	}
	if v.policy.Key != nil {
		co.SigVerifier = v.keyVerifier
	} else {
		id := v.policy.Identity
		co.Identities = []cosign.Identity{{Subject: id.Subject, SubjectRegExp: id.SubjectRegexp, Issuer: id.Issuer, IssuerRegExp: id.IssuerRegexp}}
	}
	tlogVerified, err := verifyImageAttestation(ctx, sig, h, co)
	if err != nil {
		return nil, nil, explainAttestation(err, v.policy.Key != nil)
	}

	out := &Verified{Format: FormatLegacy, KeyID: v.keyID, Annotations: nonEmpty(annotations)}
	if cert != nil {
		if err := summarize(out, cert); err != nil {
			return nil, nil, err
		}
	}
	if rb != nil && tlogVerified {
		idx := rb.Payload.LogIndex
		out.TlogIndex = &idx
		t := time.Unix(rb.Payload.IntegratedTime, 0).UTC()
		out.SignedAt = &t
	}
	if len(env.Signatures) > 0 {
		out.signature = env.Signatures[0].Sig
	}
	return out, env.Payload, nil
}

// verifyImageAttestation runs cosign's check of one attestation, turning a
// panic on hostile input into a rejection.
func verifyImageAttestation(ctx context.Context, sig oci.Signature, h v1.Hash, co *cosign.CheckOpts) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("malformed attestation: %v", r)
		}
	}()
	atts, err := mutate.AppendSignatures(empty.Signatures(), false, sig)
	if err != nil {
		return false, fmt.Errorf("reading attestation layer: %w", err)
	}
	_, ok, err = cosign.VerifyImageAttestation(ctx, atts, h, co)
	return ok, err
}

// explainAttestation is explain for cosign's attestation checks, whose
// DSSE failure reads differently from a signature's.
func explainAttestation(err error, keyPolicy bool) error {
	msg := err.Error()
	if strings.Contains(msg, "accepted signatures do not match threshold") || strings.Contains(msg, "no valid signatures") {
		if keyPolicy {
			return fmt.Errorf("signature does not verify with the given key (wrong key, or tampered content): %w", err)
		}
		return fmt.Errorf("signature does not match the signed content (tampered): %w", err)
	}
	return explain(err, keyPolicy)
}

// legacyAttestation rebuilds cosign's view of a legacy attestation layer
// from its content and annotations (cosign's attestations carry an empty
// signature annotation: the signature is inside the envelope).
func legacyAttestation(a registry.Artifact) (oci.Signature, error) {
	ann := make(map[string]string, len(a.Annotations))
	for k, val := range a.Annotations {
		ann[k] = val
	}
	opts, err := layerOptions(a.MediaType, ann)
	if err != nil {
		return nil, err
	}
	sig, err := static.NewAttestation(a.Data, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading attestation layer: %w", err)
	}
	return sig, nil
}

// LegacyLayerDigest is the digest of the layer AttachAttestation writes in
// the legacy format for sig: Verified.Artifact of that attestation.
func LegacyLayerDigest(sig *Signature) (v1.Hash, error) {
	a, _, err := legacyArtifact(sig, nil, "")
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(a.Data))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("hashing the attestation layer: %w", err)
	}
	return h, nil
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
