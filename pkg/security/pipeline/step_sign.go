package pipeline

import (
	"context"
	"fmt"

	"github.com/sc-project/sc/pkg/security/signing"
)

// sign signs the image digest, unless this signer already signed it with
// the same annotations (signing.SignImage checks): then nothing is written
// and the existing signature is reported.
func (r *imageRun) sign(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	mu := r.rl.writeLock(r.digest)
	mu.Lock()
	defer mu.Unlock()
	res, err := signing.SignImage(ctx, e.reg, r.digest.String(), r.signer, signing.SignOptions{
		Format:      r.format,
		Annotations: r.sec.Signing.Annotations,
		Trusted:     e.trusted,
		Logger:      e.logger,
	})
	if err != nil {
		return err
	}
	r.signed = res
	sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "signature", Digest: res.Artifact, Format: string(res.Format),
		Storage: string(res.Stored.Storage), Location: res.Stored.Ref, Existing: res.Skipped})
	if res.Skipped {
		sr.Detail = fmt.Sprintf("already signed by %s (%s, %s); nothing written", res.Signer, res.Format, short(res.Artifact))
	} else {
		sr.Detail = fmt.Sprintf("signed by %s (%s, %s)", res.Signer, res.Format, short(res.Artifact))
	}
	return nil
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
func (r *imageRun) verifySignature(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	v, err := signing.NewVerifier(e.reg, e.trusted, r.verifyPolicy, r.verifyOptions()...)
	if err != nil {
		return err
	}
	res, err := v.VerifyDigest(ctx, r.digest)
	if err != nil {
		return err
	}
	for _, ok := range res.Verified {
		if ok.Artifact == r.signed.Artifact {
			sr.Detail = fmt.Sprintf("%d valid signature(s), %d rejected; %s verifies", len(res.Verified), len(res.Rejected), short(ok.Artifact))
			return nil
		}
	}
	return fmt.Errorf("%w for %s: the signature sign wrote (%s) is not among the %d valid one(s)",
		signing.ErrVerificationFailed, r.digest, short(r.signed.Artifact), len(res.Verified))
}
