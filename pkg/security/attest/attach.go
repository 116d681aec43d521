package attest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// AttachOptions configures Attach.
type AttachOptions struct {
	// Format is how the attestation is stored. Default:
	// signing.FormatBundle.
	Format signing.Format
	// Logger receives progress at info level. Default: discard.
	Logger *slog.Logger
	// Subjects are the statement's subjects, in order, when it is about
	// more images than the one it is stored next to (NewStatementAbout):
	// the provenance of an image index, attached to each platform image,
	// names the index and every platform image. They must include the
	// subject Attach is given. Default: that subject alone.
	Subjects []name.Digest
}

// Validate checks the options without changing them.
func (o AttachOptions) Validate() error {
	if o.Format != "" {
		if _, err := signing.ParseFormat(string(o.Format)); err != nil {
			return err
		}
	}
	return nil
}

// subjects are the statement's subjects for an attestation stored next to
// subject.
func (o AttachOptions) subjects(subject name.Digest) ([]name.Digest, error) {
	if len(o.Subjects) == 0 {
		return []name.Digest{subject}, nil
	}
	for _, d := range o.Subjects {
		if d.DigestStr() == subject.DigestStr() && d.Context().Name() == subject.Context().Name() {
			return o.Subjects, nil
		}
	}
	return nil, outcome.Invalidf("the statement's subjects do not include %s, which it would be stored next to", subject)
}

// Attached describes an attestation Attach stored.
type Attached struct {
	// Image is the image the attestation is about, repo@sha256:….
	Image string `json:"image"`
	// PredicateType is the attestation's predicate type.
	PredicateType string `json:"predicateType"`
	// Format is how it is stored.
	Format signing.Format `json:"format"`
	// Signer is who signed it.
	Signer signing.Identity `json:"signer"`
	// Artifact identifies it as Attestation.Artifact does once verified:
	// the digest of the referrer manifest (bundle) or of the layer in the
	// sha256-<hex>.att image (legacy).
	Artifact string `json:"artifact"`
	// TlogIndex is its transparency log index, when it was logged.
	TlogIndex *int64 `json:"tlogIndex,omitempty"`
	// Stored is where it is: the referrer manifest (bundle) or the .att
	// tag (legacy).
	Stored signing.Location `json:"stored"`
	// Statement is the signed in-toto statement.
	Statement []byte `json:"-"`
}

// String is the line the commands print for an attestation they wrote:
// "Attached TYPE attestation to IMAGE (FORMAT, SIGNER), artifact DIGEST",
// with the tlog index when there is one.
func (a *Attached) String() string {
	line := fmt.Sprintf("Attached %s attestation to %s (%s, %s), artifact %s", a.PredicateType, a.Image, a.Format, a.Signer, a.Artifact)
	if a.TlogIndex != nil {
		line += fmt.Sprintf(", tlog index %d", *a.TlogIndex)
	}
	return line
}

// Attach signs the statement that says p about the image subject (see
// NewStatement; about opts.Subjects when set) with s and stores it next to
// subject in opts.Format. It never reads the image: subject is the digest
// the caller resolved once. Earlier attestations are kept, of this
// predicate type or another.
//
// Errors: outcome.ErrInvalid for a bad predicate or options; the signer's
// and the registry's errors (operational) otherwise, naming the image.
func Attach(ctx context.Context, w signing.Writer, s signing.Signer, subject name.Digest, p Predicate, opts AttachOptions) (*Attached, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	subjects, err := opts.subjects(subject)
	if err != nil {
		return nil, err
	}
	statement, err := NewStatementAbout(subjects, p)
	if err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" {
		format = signing.FormatBundle
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	id, err := s.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("attesting %s: %w", subject, err)
	}
	sig, err := s.Sign(ctx, &sign.DSSEData{Data: statement, PayloadType: signing.InTotoPayloadType})
	if err != nil {
		return nil, fmt.Errorf("signing the %s attestation for %s: %w", p.Type, subject, err)
	}
	att, err := signing.AttachEnvelope(ctx, w, subject, sig, p.Type, format)
	if err != nil {
		return nil, err
	}
	res := &Attached{
		Image:         subject.String(),
		PredicateType: p.Type,
		Format:        format,
		Signer:        id,
		Artifact:      att.Digest.String(),
		Statement:     statement,
	}
	if format == signing.FormatLegacy {
		// Name the layer, as verification does: the .att image holds them all.
		res.Artifact = att.Layer.String()
	}
	res.Stored = signing.Locate(subject, format, res.Artifact, signing.AttestationSuffix)
	if entries := att.Signature.Bundle.GetVerificationMaterial().GetTlogEntries(); len(entries) > 0 {
		idx := entries[0].GetLogIndex()
		res.TlogIndex = &idx
	}
	logger.Info("attached attestation", "image", res.Image, "predicateType", p.Type, "format", string(format),
		"signer", id.String(), "artifact", res.Artifact)
	return res, nil
}
