package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/signing"
)

// attachSBOM attaches the SBOM as a signed attestation, unless the same
// statement by the same signer already verifies (a warm run attaching the
// cached document again).
func (r *imageRun) attachSBOM(ctx context.Context, sr *StepResult) error {
	res := &r.sbom.Result
	p := attest.Predicate{Type: res.PredicateType, Data: r.sbom.Document, Text: res.Format.TextPredicate()}
	a, err := r.attach(ctx, sr, p, true)
	r.sbomAttested = a
	return err
}

// verifySBOM checks that the SBOM attestation verifies.
func (r *imageRun) verifySBOM(ctx context.Context, sr *StepResult) error {
	return r.verifyAttestation(ctx, sr, r.sbom.Result.PredicateType, r.sbomAttested)
}

// attachProvenance attaches the provenance as a signed attestation. Its
// times differ from run to run, so it is attached every time.
func (r *imageRun) attachProvenance(ctx context.Context, sr *StepResult) error {
	p := attest.Predicate{Type: provenance.PredicateType, Data: r.provenance}
	a, err := r.attach(ctx, sr, p, false)
	r.provenanceAttested = a
	return err
}

// verifyProvenance checks that the provenance attestation verifies.
func (r *imageRun) verifyProvenance(ctx context.Context, sr *StepResult) error {
	return r.verifyAttestation(ctx, sr, provenance.PredicateType, r.provenanceAttested)
}

// attestOptions are the attestation verifier's options for what this image
// writes.
func (r *imageRun) attestOptions() []attest.Option {
	opts := []attest.Option{attest.WithFormats(r.format), attest.WithLogger(r.rl.e.logger)}
	if r.ignoreTlog {
		opts = append(opts, attest.WithInsecureIgnoreTlog())
	}
	return opts
}

// attach signs p about the image, stores it and returns its artifact
// digest. With reuse, an attestation of the same statement by the same
// signer that already verifies is reported instead, and nothing is written.
func (r *imageRun) attach(ctx context.Context, sr *StepResult, p attest.Predicate, reuse bool) (string, error) {
	e := r.rl.e
	if reuse {
		existing, err := r.existingAttestation(ctx, p)
		if err != nil {
			return "", err
		}
		if existing != "" {
			at := signing.Locate(r.digest, r.format, existing, signing.AttestationSuffix)
			sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "attestation", Digest: existing, Format: string(r.format), PredicateType: p.Type,
				Storage: string(at.Storage), Location: at.Ref, Existing: true})
			sr.Detail = fmt.Sprintf("%s already attested by %s (%s); nothing written", p.Type, r.signed.Signer, short(existing))
			return existing, nil
		}
	}
	mu := r.rl.writeLock(r.digest)
	mu.Lock()
	defer mu.Unlock()
	att, err := attest.Attach(ctx, e.reg, r.signer, r.digest, p, attest.AttachOptions{Format: r.format, Logger: e.logger})
	if err != nil {
		return "", err
	}
	sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "attestation", Digest: att.Artifact, Format: string(att.Format), PredicateType: p.Type,
		Storage: string(att.Stored.Storage), Location: att.Stored.Ref})
	sr.Detail = fmt.Sprintf("%s attested by %s (%s, %s)", p.Type, att.Signer, att.Format, short(att.Artifact))
	return att.Artifact, nil
}

// existingAttestation returns the artifact of a verified attestation by
// this image's signer whose statement is exactly the one p makes, or "".
func (r *imageRun) existingAttestation(ctx context.Context, p attest.Predicate) (string, error) {
	e := r.rl.e
	statement, err := attest.NewStatement(r.digest, p)
	if err != nil {
		return "", err
	}
	id := r.signed.Signer
	policy := signing.Policy{Key: id.PublicKey}
	if id.Keyless() {
		policy = signing.Policy{Identity: &signing.IdentityPolicy{Subject: id.Subject, Issuer: id.Issuer}}
	}
	v, err := attest.NewVerifier(e.reg, e.trusted, policy, r.attestOptions()...)
	if err != nil {
		return "", err
	}
	res, err := v.VerifyDigest(ctx, r.digest, p.Type)
	if err != nil && !errors.Is(err, outcome.ErrCheckFailed) {
		return "", err
	}
	if res == nil {
		return "", nil
	}
	for _, a := range res.Verified {
		if bytes.Equal(a.Statement, statement) {
			return a.Artifact, nil
		}
	}
	return "", nil
}

// verifyAttestation checks that the attestation the attach step wrote (or
// found) verifies under signing.verify's policy and is about this image.
func (r *imageRun) verifyAttestation(ctx context.Context, sr *StepResult, predicateType, want string) error {
	e := r.rl.e
	v, err := attest.NewVerifier(e.reg, e.trusted, r.verifyPolicy, r.attestOptions()...)
	if err != nil {
		return err
	}
	res, err := v.VerifyDigest(ctx, r.digest, predicateType)
	if err != nil {
		return err
	}
	for _, a := range res.Verified {
		if a.Artifact == want {
			sr.Detail = fmt.Sprintf("%d valid %s attestation(s), %d rejected; %s verifies",
				len(res.Verified), predicateType, len(res.Rejected), short(want))
			return nil
		}
	}
	return fmt.Errorf("%w for %s: the %s attestation %s is not among the %d valid one(s)",
		attest.ErrVerificationFailed, r.digest, predicateType, short(want), len(res.Verified))
}
