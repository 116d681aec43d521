package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/signing"
)

// attachSBOM attaches the SBOM as a signed attestation, to the image or to
// each platform image of an index (its own SBOM), unless the same
// statement by the same signer already verifies (a warm run attaching the
// cached document again), or the SBOM was taken from an attestation in the
// registry (reuseSBOM), which is then kept.
func (r *imageRun) attachSBOM(ctx context.Context, sr *StepResult) error {
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		res := &pr.sbom.Result
		if pr.sbom.Reused != "" {
			// sbom-generate took it from this verified attestation: it is
			// there already, and need not be looked for again
			r.keepExisting(sr, res.PredicateType, pr.sbom.Reused)
			pr.sbomAttested = pr.sbom.Reused
			return nil
		}
		key, err := sbomCacheKey(pr.image.Digest, r.sbomFormat, r.sbomScope)
		if err != nil {
			return err
		}
		// the annotations say how the SBOM was made: a later run, on any
		// machine, reuses it instead of reading the layers (reuseSBOM)
		p := attest.Predicate{Type: res.PredicateType, Data: pr.sbom.Document, Text: res.Format.TextPredicate(), Annotations: sbomAnnotations(key)}
		a, err := r.attach(ctx, sr, pr.image.Digest, p, true)
		pr.sbomAttested = a
		return err
	})...)
}

// verifySBOM checks that each SBOM attestation verifies.
func (r *imageRun) verifySBOM(ctx context.Context, sr *StepResult) error {
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		return r.verifyAttestation(ctx, sr, pr.image.Digest, pr.sbom.Result.PredicateType, pr.sbomAttested)
	})...)
}

// attachProvenance attaches the provenance as a signed attestation, to the
// image or to each platform image of an index; the statement of an index
// names the index and every platform image. Its times differ from run to
// run, so it is attached every time, unless WithProvenanceReuse: then a
// provenance attestation by the same signer that already verifies is
// kept.
func (r *imageRun) attachProvenance(ctx context.Context, sr *StepResult) error {
	p := attest.Predicate{Type: provenance.PredicateType, Data: r.provenance}
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		if r.rl.e.keepProv {
			existing, err := r.attestedBySigner(ctx, pr.image.Digest, p.Type, func([]byte) bool { return true })
			if err != nil {
				return err
			}
			if existing != "" {
				r.keepExisting(sr, p.Type, existing)
				pr.provenanceAttested = existing
				return nil
			}
		}
		a, err := r.attach(ctx, sr, pr.image.Digest, p, false)
		pr.provenanceAttested = a
		return err
	})...)
}

// verifyProvenance checks that each provenance attestation verifies.
func (r *imageRun) verifyProvenance(ctx context.Context, sr *StepResult) error {
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, pr *platformRun, sr *StepResult) error {
		return r.verifyAttestation(ctx, sr, pr.image.Digest, provenance.PredicateType, pr.provenanceAttested)
	})...)
}

// attestVerifier verifies this image's attestations whose signatures
// verify under policy, with the options of verification after writing
// (see verifyOptions).
func (r *imageRun) attestVerifier(policy signing.Policy) (*attest.Verifier, error) {
	e := r.rl.e
	sv, err := signing.NewVerifier(e.reg, e.trusted, policy, r.verifyOptions()...)
	if err != nil {
		return nil, err
	}
	return attest.NewVerifier(e.reg, sv), nil
}

// attach signs p about the image d, stores it next to d and returns its
// artifact digest; provenance of an index is about the index and every
// platform image. With reuse, an attestation of the same statement by the
// same signer that already verifies is reported instead, and nothing is
// written.
func (r *imageRun) attach(ctx context.Context, sr *StepResult, d name.Digest, p attest.Predicate, reuse bool) (string, error) {
	e := r.rl.e
	if reuse {
		existing, err := r.existingAttestation(ctx, d, p)
		if err != nil {
			return "", err
		}
		if existing != "" {
			r.keepExisting(sr, p.Type, existing)
			return existing, nil
		}
	}
	o := attest.AttachOptions{Format: r.format, Logger: e.logger}
	if r.isIndex && p.Type == provenance.PredicateType {
		o.Subjects = r.subjects()
	}
	mu := r.rl.writeLock(d)
	mu.Lock()
	defer mu.Unlock()
	att, err := attest.Attach(ctx, e.reg, r.signer, d, p, o)
	if err != nil {
		return "", err
	}
	sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "attestation", Digest: att.Artifact, Format: string(att.Format), PredicateType: p.Type,
		Storage: string(att.Stored.Storage), Location: att.Stored.Ref})
	sr.Detail = fmt.Sprintf("%s attested by %s (%s, %s)", p.Type, att.Signer, att.Format, digest.Short(att.Artifact))
	return att.Artifact, nil
}

// keepExisting reports the attestation artifact of predicateType already
// there as this step's, with nothing written.
func (r *imageRun) keepExisting(sr *StepResult, predicateType, artifact string) {
	at := signing.Locate(r.digest, r.format, artifact, signing.AttestationSuffix)
	sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "attestation", Digest: artifact, Format: string(r.format), PredicateType: predicateType,
		Storage: string(at.Storage), Location: at.Ref, Existing: true})
	sr.Detail = fmt.Sprintf("%s already attested by %s (%s); nothing written", predicateType, r.signed.Signer, digest.Short(artifact))
}

// existingAttestation returns the artifact of a verified attestation of d
// by this image's signer whose statement is exactly the one p makes, or "".
func (r *imageRun) existingAttestation(ctx context.Context, d name.Digest, p attest.Predicate) (string, error) {
	statement, err := attest.NewStatement(d, p)
	if err != nil {
		return "", err
	}
	return r.attestedBySigner(ctx, d, p.Type, func(s []byte) bool { return bytes.Equal(s, statement) })
}

// attestedBySigner returns the artifact of the first verified attestation
// of d of predicateType by this image's signer whose statement match
// accepts, or "".
func (r *imageRun) attestedBySigner(ctx context.Context, d name.Digest, predicateType string, match func(statement []byte) bool) (string, error) {
	id := r.signed.Signer
	policy := signing.Policy{Key: id.PublicKey}
	if id.Keyless() {
		policy = signing.Policy{Identity: &signing.IdentityPolicy{Subject: id.Subject, Issuer: id.Issuer}}
	}
	v, err := r.attestVerifier(policy)
	if err != nil {
		return "", err
	}
	res, err := v.VerifyDigest(ctx, d, predicateType)
	if err != nil && !errors.Is(err, outcome.ErrCheckFailed) {
		return "", err
	}
	if res == nil {
		return "", nil
	}
	for _, a := range res.Verified {
		if match(a.Statement) {
			return a.Artifact, nil
		}
	}
	return "", nil
}

// verifyAttestation checks that the attestation of d the attach step wrote
// (or found) verifies under signing.verify's policy and is about d.
func (r *imageRun) verifyAttestation(ctx context.Context, sr *StepResult, d name.Digest, predicateType, want string) error {
	v, err := r.attestVerifier(r.verifyPolicy)
	if err != nil {
		return err
	}
	res, err := v.VerifyDigest(ctx, d, predicateType)
	if err != nil {
		return err
	}
	for _, a := range res.Verified {
		if a.Artifact == want {
			sr.Detail = fmt.Sprintf("%d valid %s attestation(s), %d rejected; %s verifies",
				len(res.Verified), predicateType, len(res.Rejected), digest.Short(want))
			return nil
		}
	}
	return fmt.Errorf("%w for %s: the %s attestation %s is not among the %d valid one(s)",
		attest.ErrVerificationFailed, d, predicateType, digest.Short(want), len(res.Verified))
}
