package signing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sc-project/sc/pkg/outcome"
)

// SignOptions configures SignImage.
type SignOptions struct {
	// Format is how the signature is stored. Default: FormatBundle.
	Format Format
	// Annotations are signed along with the image digest: in the
	// statement's subject annotations (bundle) or the simple-signing
	// payload's "optional" section (legacy). Default: none.
	Annotations map[string]string
	// Trusted is the Sigstore trusted material used to recognise existing
	// signatures by the same signer and to verify after signing. Required
	// when the signer is keyless or records signatures in a transparency
	// log; may be nil for key-based signing without a log. Default: nil.
	Trusted root.TrustedMaterial
	// VerifyAfterSign reads the signature back from the registry and
	// verifies it, failing the signing when it does not verify. Default:
	// off.
	VerifyAfterSign bool
	// InsecureIgnoreSCT accepts certificates without a signed certificate
	// timestamp when checking signatures (private Fulcio without CT).
	// Default: an SCT is required.
	InsecureIgnoreSCT bool
	// Logger receives progress at info level. Default: discard.
	Logger *slog.Logger
}

// Validate checks the options without changing them.
func (o SignOptions) Validate() error {
	if o.Format != "" {
		if _, err := ParseFormat(string(o.Format)); err != nil {
			return err
		}
	}
	for k := range o.Annotations {
		if k == "" {
			return outcome.Invalid("annotation with an empty key")
		}
	}
	return nil
}

// SignResult describes the outcome of SignImage.
type SignResult struct {
	// Image is the signed image, repo@sha256:….
	Image string `json:"image"`
	// Format is how the signature is stored.
	Format Format `json:"format"`
	// Signer is who signed.
	Signer Identity `json:"signer"`
	// Skipped is true when a valid signature by the same signer with the
	// same annotations was already attached: nothing was written.
	Skipped bool `json:"skipped"`
	// Artifact identifies the signature as Verified.Artifact does: the
	// digest of the referrer manifest (bundle) or of the layer in the
	// sha256-<hex>.sig image (legacy).
	Artifact string `json:"artifact"`
	// TlogIndex is the transparency log index of the signature, if logged.
	TlogIndex *int64 `json:"tlogIndex,omitempty"`
	// Stored is where the signature is: the referrer manifest (bundle) or
	// the .sig tag (legacy).
	Stored Location `json:"stored"`
}

// SignImage signs the image ref names. It resolves ref to a digest once
// and signs that digest, never a tag; it never reads the image's layers.
//
// It is idempotent per signer: when a signature of the requested format by
// the same key (or the same certificate subject and issuer), with the same
// annotations, already verifies, nothing is signed or written and the
// result says Skipped. Key-based ECDSA signatures are not deterministic, so
// this check is what keeps repeated runs from piling up signatures.
func SignImage(ctx context.Context, reg Registry, ref string, s Signer, opts SignOptions) (*SignResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" {
		format = FormatBundle
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d, err := reg.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	id, err := s.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", d, err)
	}
	if opts.Trusted == nil && (id.Keyless() || id.TransparencyLog) {
		return nil, outcome.Invalid("signing keylessly or with a transparency log needs trusted material (a Sigstore trusted root) to check existing signatures")
	}
	res := &SignResult{Image: d.String(), Format: format, Signer: id}

	v, err := selfVerifier(reg, id, opts, format)
	if err != nil {
		return nil, err
	}
	existing, err := v.VerifyDigest(ctx, d)
	if err != nil && !errors.Is(err, outcome.ErrCheckFailed) {
		return nil, fmt.Errorf("checking existing signatures of %s: %w", d, err)
	}
	if existing != nil {
		for _, e := range existing.Verified {
			if sameAnnotations(e.Annotations, opts.Annotations) {
				logger.Info("already signed by this signer; nothing written", "image", d.String(), "signer", id.String(), "format", string(format))
				res.Skipped, res.Artifact, res.TlogIndex = true, e.Artifact, e.TlogIndex
				res.Stored = Locate(d, format, res.Artifact, signatureSuffix)
				return res, nil
			}
		}
	}

	var att *Attached
	switch format {
	case FormatBundle:
		stmt, err := signStatement(d, opts.Annotations)
		if err != nil {
			return nil, err
		}
		sig, err := s.Sign(ctx, &sign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType})
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", d, err)
		}
		att, err = attachSigned(ctx, reg, d, sig, nil, SignPredicateType, format)
		if err != nil {
			return nil, err
		}
	case FormatLegacy:
		payload, err := legacyPayload(d, opts.Annotations)
		if err != nil {
			return nil, err
		}
		sig, err := s.Sign(ctx, &sign.PlainData{Data: payload})
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", d, err)
		}
		att, err = attachSigned(ctx, reg, d, sig, payload, "", format)
		if err != nil {
			return nil, err
		}
	}
	res.Artifact = att.Digest.String()
	if format == FormatLegacy {
		// Name the layer, as Verified does: the .sig image holds them all.
		res.Artifact = att.Layer.String()
	}
	res.Stored = Locate(d, format, res.Artifact, signatureSuffix)
	if entries := att.Signature.Bundle.GetVerificationMaterial().GetTlogEntries(); len(entries) > 0 {
		idx := entries[0].GetLogIndex()
		res.TlogIndex = &idx
	}
	logger.Info("signed", "image", d.String(), "signer", id.String(), "format", string(format), "artifact", res.Artifact)

	if opts.VerifyAfterSign {
		if err := verifyWritten(ctx, v, d, att.Signature); err != nil {
			return nil, err
		}
		logger.Info("verified after signing", "image", d.String())
	}
	return res, nil
}

// selfVerifier verifies signatures by id only, in one format, with the
// transparency log required exactly when id logs its signatures.
func selfVerifier(reg Reader, id Identity, opts SignOptions, format Format) (*Verifier, error) {
	vopts := []VerifyOption{WithFormats(format)}
	if !id.TransparencyLog {
		vopts = append(vopts, WithInsecureIgnoreTlog())
	}
	if opts.InsecureIgnoreSCT {
		vopts = append(vopts, WithInsecureIgnoreSCT())
	}
	policy := identityPolicy(id)
	policy.Annotations = opts.Annotations
	return NewVerifier(reg, opts.Trusted, policy, vopts...)
}

// verifyWritten checks that the signature just written is among the valid
// signatures of d.
func verifyWritten(ctx context.Context, v *Verifier, d name.Digest, sig *Signature) error {
	var raw []byte
	if env := sig.Bundle.GetDsseEnvelope(); env != nil && len(env.GetSignatures()) > 0 {
		raw = env.GetSignatures()[0].GetSig()
	} else {
		raw = sig.Bundle.GetMessageSignature().GetSignature()
	}
	res, err := v.VerifyDigest(ctx, d)
	if err != nil && !errors.Is(err, outcome.ErrCheckFailed) {
		return fmt.Errorf("verifying %s after signing: %w", d, err)
	}
	if res != nil {
		for _, ok := range res.Verified {
			if bytes.Equal(ok.signature, raw) {
				return nil
			}
		}
	}
	if err == nil {
		err = errors.New("the new signature was not found among the valid ones")
	}
	return fmt.Errorf("%w: signature written for %s does not verify: %w", ErrVerificationFailed, d, err)
}

// legacyPayload is cosign's simple-signing payload for d.
func legacyPayload(d name.Digest, annotations map[string]string) ([]byte, error) {
	var ann map[string]any
	if len(annotations) > 0 {
		ann = make(map[string]any, len(annotations))
		for k, v := range annotations {
			ann[k] = v
		}
	}
	b, err := sigpayload.Cosign{Image: d, Annotations: ann}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding signature payload: %w", err)
	}
	return b, nil
}

// sameAnnotations compares annotations, nil and empty being equal.
func sameAnnotations(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}
