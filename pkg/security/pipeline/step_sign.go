package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/signing"
)

// sign signs the image digest, unless this signer already signed it with
// the same annotations (signing.SignImage checks): then nothing is written
// and the existing signature is reported. For an image index it signs the
// index digest, what a deployment pins, and with signing.recursive (the
// default) each platform image too, as `cosign sign --recursive` does:
// the same signer, format and annotations.
func (r *imageRun) sign(ctx context.Context, sr *StepResult) error {
	res, err := r.signDigest(ctx, sr, r.digest)
	if err != nil {
		return err
	}
	r.signed = res
	if !r.isIndex {
		return nil
	}
	a := &sr.Artifacts[len(sr.Artifacts)-1]
	a.Subject = r.digest.String()
	sr.Detail = "index " + sr.Detail
	if !r.recursive() {
		sr.Detail += "; platform images not signed (signing.recursive: false)"
		return nil
	}
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, p *platformRun, sr *StepResult) error {
		res, err := r.signDigest(ctx, sr, p.image.Digest)
		p.signed = res
		return err
	})...)
}

// recursive reports whether the platform images of an index are signed.
func (r *imageRun) recursive() bool {
	return r.sec.Signing.Recursive == nil || *r.sec.Signing.Recursive
}

// signDigest signs d (signing.SignImage) and reports the signature in sr.
func (r *imageRun) signDigest(ctx context.Context, sr *StepResult, d name.Digest) (*signing.SignResult, error) {
	e := r.rl.e
	mu := r.rl.writeLock(d)
	mu.Lock()
	defer mu.Unlock()
	res, err := signing.SignImage(ctx, e.reg, d.String(), r.signer, signing.SignOptions{
		Format:      r.format,
		Annotations: r.sec.Signing.Annotations,
		Trusted:     e.trusted,
		Logger:      e.logger,
	})
	if err != nil {
		return nil, err
	}
	sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "signature", Digest: res.Artifact, Format: string(res.Format),
		Storage: string(res.Stored.Storage), Location: res.Stored.Ref, Existing: res.Skipped})
	if res.Skipped {
		sr.Detail = fmt.Sprintf("already signed by %s (%s, %s); nothing written", res.Signer, res.Format, digest.Short(res.Artifact))
	} else {
		sr.Detail = fmt.Sprintf("signed by %s (%s, %s)", res.Signer, res.Format, digest.Short(res.Artifact))
	}
	return res, nil
}

// verifyOptions are the options of verification after writing: the stored
// format only, and no transparency log when the signer does not log.
func (r *imageRun) verifyOptions() []signing.VerifyOption {
	opts := []signing.VerifyOption{signing.WithFormats(r.format), signing.WithLogger(r.rl.e.logger)}
	if r.ignoreTlog {
		opts = append(opts, signing.WithInsecureIgnoreTlog())
	}
	return opts
}

// verifySignature reads the image's signatures back and checks that the one
// sign wrote (or found) verifies under signing.verify's policy: the
// configured public key or certificate identity, not merely the signer's.
// For an index it checks the index's signature and each platform image's
// that sign wrote.
func (r *imageRun) verifySignature(ctx context.Context, sr *StepResult) error {
	if err := r.verifyDigest(ctx, sr, r.digest, r.signed); err != nil {
		return err
	}
	if !r.isIndex || !r.recursive() {
		return nil
	}
	sr.Detail = "index: " + sr.Detail
	return errors.Join(r.perPlatform(ctx, sr, func(ctx context.Context, p *platformRun, sr *StepResult) error {
		return r.verifyDigest(ctx, sr, p.image.Digest, p.signed)
	})...)
}

// verifyDigest checks that signed, the signature of d, verifies.
func (r *imageRun) verifyDigest(ctx context.Context, sr *StepResult, d name.Digest, signed *signing.SignResult) error {
	e := r.rl.e
	v, err := signing.NewVerifier(e.reg, e.trusted, r.verifyPolicy, r.verifyOptions()...)
	if err != nil {
		return err
	}
	res, err := v.VerifyDigest(ctx, d)
	if err != nil {
		return err
	}
	for _, ok := range res.Verified {
		if ok.Artifact == signed.Artifact {
			sr.Detail = fmt.Sprintf("%d valid signature(s), %d rejected; %s verifies", len(res.Verified), len(res.Rejected), digest.Short(ok.Artifact))
			return nil
		}
	}
	return fmt.Errorf("%w for %s: the signature sign wrote (%s) is not among the %d valid one(s)",
		signing.ErrVerificationFailed, d, digest.Short(signed.Artifact), len(res.Verified))
}
