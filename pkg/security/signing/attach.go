package signing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	intotov1 "github.com/in-toto/attestation/go/v1"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Format is how a signature or attestation is stored next to an image.
type Format string

// The two storage formats cosign reads and writes.
const (
	// FormatBundle is cosign v3's default: a Sigstore bundle v0.3 holding a
	// DSSE envelope with an in-toto statement, stored as an OCI 1.1
	// referrer of the image (or under the referrers tag schema on
	// registries without the referrers API).
	FormatBundle Format = "bundle"
	// FormatLegacy is cosign v2's: layers of the sha256-<hex>.sig (or .att)
	// image, with the signature, certificate and Rekor bundle in layer
	// annotations.
	FormatLegacy Format = "legacy"
)

// ParseFormat parses "bundle" or "legacy".
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatBundle, FormatLegacy:
		return f, nil
	default:
		return "", outcome.Invalidf("unknown signature format %q: want %q or %q", s, FormatBundle, FormatLegacy)
	}
}

// Media types, predicate types and annotation keys of what sc writes, as
// cosign writes them, that readers of attestations (pkg/security/attest)
// need.
const (
	// BundleMediaType is the media type of a Sigstore bundle v0.3, and the
	// artifactType of bundle referrer manifests.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the in-toto predicate type of cosign v3 image
	// signatures.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// InTotoPayloadType is the DSSE payload type of in-toto statements.
	InTotoPayloadType = "application/vnd.in-toto+json"

	// AttestationSuffix names the legacy tag sha256-<hex>.att that holds
	// attestations.
	AttestationSuffix = "att"

	// AnnotationBundlePredicateType is the referrer manifest annotation
	// naming a bundle's predicate type (not signed); the registry's.
	AnnotationBundlePredicateType = registry.AnnotationBundlePredicateType
	// AnnotationCreated is the referrer manifest annotation saying when a
	// bundle was stored (not signed); the registry's.
	AnnotationCreated = registry.AnnotationCreated
	// AnnotationPredicateType is the layer annotation naming a legacy
	// attestation's predicate type (not signed).
	AnnotationPredicateType = "predicateType"
)

// The rest of cosign's layout, used only here.
const (
	// simpleSigningMediaType is the layer media type of legacy signatures.
	simpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// dsseMediaType is the layer media type of legacy attestations.
	dsseMediaType = "application/vnd.dsse.envelope.v1+json"
	// signatureSuffix names the legacy tag sha256-<hex>.sig.
	signatureSuffix = "sig"

	// annotationBundleContent is the referrer manifest annotation saying
	// what a bundle holds.
	annotationBundleContent = "dev.sigstore.bundle.content"

	// Layer annotations of legacy signatures and attestations.
	annotationSignature        = static.SignatureAnnotationKey
	annotationCertificate      = static.CertificateAnnotationKey
	annotationChain            = static.ChainAnnotationKey
	annotationRekorBundle      = static.BundleAnnotationKey
	annotationRFC3161Timestamp = static.RFC3161TimestampAnnotationKey
)

// Reader is the part of a registry client that verification uses; sc's
// registry.Client implements it.
type Reader interface {
	// Resolve resolves a reference (tag or digest) to a digest, once.
	Resolve(ctx context.Context, ref string) (name.Digest, error)
	// FetchLegacy returns the layers of the sha256-<hex>.<suffix> image,
	// or an error wrapping registry.ErrNotFound when there is none.
	FetchLegacy(ctx context.Context, subject name.Digest, suffix string) ([]registry.Artifact, error)
	// Referrers lists the manifests referring to subject with artifactType.
	Referrers(ctx context.Context, subject name.Digest, artifactType string) ([]v1.Descriptor, error)
	// FetchReferrer returns the single layer of a referrer manifest.
	FetchReferrer(ctx context.Context, subject name.Digest, desc v1.Descriptor) (registry.Artifact, error)
}

// Writer is the part of a registry client that stores signatures.
type Writer interface {
	// AttachLegacy appends a layer to the sha256-<hex>.<suffix> image.
	AttachLegacy(ctx context.Context, subject name.Digest, suffix string, a registry.Artifact) (v1.Hash, error)
	// AttachReferrer stores a one-layer referrer manifest of subject.
	AttachReferrer(ctx context.Context, subject name.Digest, artifactType string, a registry.Artifact, manifestAnnotations map[string]string) (v1.Hash, error)
}

// Registry reads and writes signatures; sc's registry.Client implements it.
type Registry interface {
	Reader
	Writer
}

// Attached describes a signed artifact stored next to an image.
type Attached struct {
	// Subject is the image the artifact is about.
	Subject name.Digest `json:"subject"`
	// Format is how it is stored.
	Format Format `json:"format"`
	// Digest is the manifest that holds it: the referrer manifest (bundle
	// format) or the sha256-<hex>.<suffix> image (legacy format).
	Digest v1.Hash `json:"digest"`
	// Layer is, in the legacy format, the digest of the layer written in
	// the sha256-<hex>.<suffix> image, which holds them all: what
	// Verified.Artifact names once verified. Zero in the bundle format.
	Layer v1.Hash `json:"layer,omitzero"`
	// Signature is what was signed.
	Signature *Signature `json:"-"`
}

// AttachEnvelope stores sig, a DSSE envelope over an in-toto statement
// about subject with predicate type predicateType (signed by a Signer from
// &sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}), next
// to subject in format: in the bundle format as a referrer with cosign's
// manifest annotations, in the legacy format as a layer of the
// sha256-<hex>.att image. Earlier attestations are kept.
//
// It does not read the statement: pkg/security/attest, which builds and
// checks statements, does. Bundle-format image signatures take the same
// path inside SignImage.
func AttachEnvelope(ctx context.Context, w Writer, subject name.Digest, sig *Signature, predicateType string, format Format) (*Attached, error) {
	if sig == nil || sig.Bundle.GetDsseEnvelope() == nil {
		return nil, outcome.Invalid("an attestation is a signed DSSE envelope: the signature holds none")
	}
	return attachSigned(ctx, w, subject, sig, nil, predicateType, format)
}

// attachSigned stores sig next to subject. payload is the signed message of
// a legacy simple-signing signature; nil for DSSE content.
func attachSigned(ctx context.Context, w Writer, subject name.Digest, sig *Signature, payload []byte, predicateType string, format Format) (*Attached, error) {
	var (
		h, layer v1.Hash
		err      error
	)
	switch format {
	case FormatBundle:
		var data []byte
		data, err = sig.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encoding bundle: %w", err)
		}
		h, err = w.AttachReferrer(ctx, subject, BundleMediaType,
			registry.Artifact{MediaType: BundleMediaType, Data: data},
			map[string]string{
				AnnotationCreated:             time.Now().UTC().Format(time.RFC3339),
				annotationBundleContent:       "dsse-envelope",
				AnnotationBundlePredicateType: predicateType,
			})
	case FormatLegacy:
		var a registry.Artifact
		var suffix string
		a, suffix, err = legacyArtifact(ctx, sig, payload, predicateType)
		if err != nil {
			return nil, err
		}
		if layer, _, err = v1.SHA256(bytes.NewReader(a.Data)); err != nil {
			return nil, fmt.Errorf("hashing the %s layer: %w", suffix, err)
		}
		h, err = w.AttachLegacy(ctx, subject, suffix, a)
	default:
		return nil, outcome.Invalidf("unknown signature format %q", format)
	}
	if err != nil {
		return nil, fmt.Errorf("storing %s signature for %s: %w", format, subject, err)
	}
	return &Attached{Subject: subject, Format: format, Digest: h, Layer: layer, Signature: sig}, nil
}

// signStatement builds the statement cosign v3 signs for an image: subject
// the image digest with the annotations, predicate type SignPredicateType
// and an empty predicate (cosign's signDigestBundle).
func signStatement(subject name.Digest, annotations map[string]string) ([]byte, error) {
	alg, hexDigest, ok := strings.Cut(subject.DigestStr(), ":")
	if !ok {
		return nil, outcome.Invalidf("invalid subject digest %q", subject.DigestStr())
	}
	rd := &intotov1.ResourceDescriptor{Digest: map[string]string{alg: hexDigest}}
	if len(annotations) > 0 {
		m := make(map[string]any, len(annotations))
		for k, v := range annotations {
			m[k] = v
		}
		st, err := structpb.NewStruct(m)
		if err != nil {
			return nil, outcome.Invalidf("encoding annotations: %w", err)
		}
		rd.Annotations = st
	}
	b, err := protojson.Marshal(&intotov1.Statement{
		Type:          intotov1.StatementTypeUri,
		Subject:       []*intotov1.ResourceDescriptor{rd},
		PredicateType: SignPredicateType,
		Predicate:     &structpb.Struct{},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	return b, nil
}

// legacyArtifact turns a signature into the layer cosign v2 writes: the
// simple-signing payload with the signature in an annotation (payload not
// nil), or the DSSE envelope with a predicateType annotation. Certificate,
// chain, Rekor bundle (the signed entry timestamp) and RFC 3161 timestamp
// go into annotations as cosign writes them. An attestation's RFC 3161
// timestamp is cosign v2's: over the envelope as stored, asked of the
// signature's timestamp authority here (the bundle's own one covers the
// signature only, which cosign does not accept for a .att layer).
func legacyArtifact(ctx context.Context, sig *Signature, payload []byte, predicateType string) (registry.Artifact, string, error) {
	b := sig.Bundle
	ann := map[string]string{}
	a := registry.Artifact{Annotations: ann}
	suffix := signatureSuffix
	switch {
	case payload != nil:
		ms := b.GetMessageSignature()
		if ms == nil {
			return a, "", fmt.Errorf("legacy signature needs a message signature")
		}
		a.MediaType = simpleSigningMediaType
		a.Data = payload
		ann[annotationSignature] = base64.StdEncoding.EncodeToString(ms.GetSignature())
	default:
		env := b.GetDsseEnvelope()
		if env == nil {
			return a, "", fmt.Errorf("legacy attestation needs a DSSE envelope")
		}
		data, err := json.Marshal(env)
		if err != nil {
			return a, "", fmt.Errorf("encoding DSSE envelope: %w", err)
		}
		a.MediaType = dsseMediaType
		a.Data = data
		ann[annotationSignature] = ""
		ann[AnnotationPredicateType] = predicateType
		suffix = AttestationSuffix
	}
	vm := b.GetVerificationMaterial()
	var certs []*protocommon.X509Certificate
	if chain := vm.GetX509CertificateChain(); chain != nil {
		certs = chain.GetCertificates()
	} else if c := vm.GetCertificate(); c != nil {
		certs = []*protocommon.X509Certificate{c}
	}
	if len(certs) > 0 {
		certPEM, chainPEM, err := certsToPEM(certs)
		if err != nil {
			return a, "", err
		}
		ann[annotationCertificate] = string(certPEM)
		ann[annotationChain] = string(chainPEM)
	}
	if entries := vm.GetTlogEntries(); len(entries) > 0 {
		rb, err := json.Marshal(rekorBundle(entries[0]))
		if err != nil {
			return a, "", fmt.Errorf("encoding Rekor bundle: %w", err)
		}
		ann[annotationRekorBundle] = string(rb)
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		signed := ts[0].GetSignedTimestamp()
		if suffix == AttestationSuffix {
			if sig.timestamp == nil {
				return a, "", fmt.Errorf("legacy attestation: the envelope must be timestamped, and the signature names no timestamp authority")
			}
			var err error
			if signed, err = sig.timestamp(ctx, a.Data); err != nil {
				if ctx.Err() != nil {
					return a, "", ctx.Err()
				}
				return a, "", outcome.Operationalf("timestamping the legacy attestation: %w", err)
			}
		}
		tb, err := json.Marshal(cbundle.TimestampToRFC3161Timestamp(signed))
		if err != nil {
			return a, "", fmt.Errorf("encoding RFC 3161 timestamp: %w", err)
		}
		ann[annotationRFC3161Timestamp] = string(tb)
	}
	return a, suffix, nil
}

// rekorBundle is cosign's legacy "bundle" annotation for a log entry: the
// signed entry timestamp and the entry (cosign's
// RekorBundleFromProtoTlogEntry).
func rekorBundle(e *protorekor.TransparencyLogEntry) *cbundle.RekorBundle {
	return &cbundle.RekorBundle{
		SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
		Payload: cbundle.RekorPayload{
			Body:           e.GetCanonicalizedBody(),
			IntegratedTime: e.GetIntegratedTime(),
			LogIndex:       e.GetLogIndex(),
			LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
		},
	}
}

// certsToPEM encodes the leaf and the rest of a chain as PEM.
func certsToPEM(certs []*protocommon.X509Certificate) (leaf, chain []byte, err error) {
	for i, c := range certs {
		p := cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, c.GetRawBytes())
		if i == 0 {
			leaf = p
		} else {
			chain = append(chain, p...)
		}
	}
	return leaf, chain, nil
}
