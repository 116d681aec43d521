package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/registry"
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

// SignRegistry is what SignImage and VerifyImage need of a registry:
// resolving, listing the platform images of an index, and reading and
// writing signatures. pkg/security/registry's Client implements it.
type SignRegistry interface {
	signing.Registry
	Platforms(ctx context.Context, d name.Digest, selection ...v1.Platform) (*registry.Platforms, error)
}

// SignOptions configure SignImage.
type SignOptions struct {
	signing.SignOptions
	// Recursive also signs each platform image of an image index, as
	// `cosign sign --recursive` and the executor's sign step with
	// signing.recursive do. Default: false, the index alone.
	Recursive bool
	// Platforms selects the platform images Recursive signs (see
	// registry.Client.Platforms). Default: every one.
	Platforms []v1.Platform
}

// Signed is what SignImage signed: the image or the index (the embedded
// result, whose JSON is signing.SignResult's), and with Recursive each
// platform image of an index.
type Signed struct {
	*signing.SignResult
	// Index is true when the image is an image index.
	Index bool `json:"index,omitempty"`
	// Platforms are the platform images' signatures, in index order.
	Platforms []SignedPlatform `json:"platforms,omitempty"`
	// Unsigned are the manifests of the index that were not signed, with
	// the reason (buildx attestation manifests, platforms not selected).
	// (Skipped, the embedded result's, says the index was already signed.)
	Unsigned []registry.SkippedManifest `json:"unsigned,omitempty"`
}

// SignedPlatform is the signature of one platform image of an index.
type SignedPlatform struct {
	// Platform is os/arch[/variant].
	Platform string `json:"platform"`
	*signing.SignResult
}

// SignImage signs the image ref names as the executor's sign step does: it
// resolves ref once and signs the digest (signing.SignImage: nothing is
// written when this signer already signed it with the same annotations);
// for an image index with o.Recursive it lists the platform images first,
// so that a selection the index does not have (registry.ErrNoPlatform)
// writes nothing, then signs the index and each platform image, one after
// the other. An error naming a platform leaves the signatures made before
// it in place; signing again completes the set.
func SignImage(ctx context.Context, reg SignRegistry, ref string, s signing.Signer, o SignOptions) (*Signed, error) {
	d, err := reg.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var ps *registry.Platforms
	if o.Recursive {
		if ps, err = reg.Platforms(ctx, d, o.Platforms...); err != nil {
			return nil, err
		}
	}
	res, err := signing.SignImage(ctx, reg, d.String(), s, o.SignOptions)
	if err != nil {
		return nil, err
	}
	out := &Signed{SignResult: res}
	if ps == nil || !ps.Index {
		return out, nil
	}
	out.Index, out.Unsigned = true, ps.Skipped
	for _, img := range ps.Images {
		pr, err := signing.SignImage(ctx, reg, img.Digest.String(), s, o.SignOptions)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Name(), err)
		}
		out.Platforms = append(out.Platforms, SignedPlatform{Platform: img.Name(), SignResult: pr})
	}
	return out, nil
}

// Verified is what VerifyImage found: the signatures of the image or the
// index (the embedded result, whose JSON is signing.Result's), and when
// asked each platform image's.
type Verified struct {
	*signing.Result
	// Index is true when the image is an image index.
	Index bool `json:"index,omitempty"`
	// Platforms are the platform images' results, in index order.
	Platforms []VerifiedPlatform `json:"platforms,omitempty"`
	// Unverified are the manifests of the index that were not verified,
	// with the reason.
	Unverified []registry.SkippedManifest `json:"unverified,omitempty"`
}

// VerifiedPlatform is the verification of one platform image of an index.
type VerifiedPlatform struct {
	// Platform is os/arch[/variant].
	Platform string `json:"platform"`
	*signing.Result
}

// VerifyImage verifies the signatures of the image ref names with v, and
// for an image index with recursive each selected platform image's too
// (platforms; default every one), as `cosign verify` of each digest would.
// The result holds whatever was verified; the error joins each digest's
// (signing.ErrNotSigned, signing.ErrVerificationFailed, or why it could
// not run), a platform's naming the platform. A selection the index does
// not have is registry.ErrNoPlatform, before anything is verified.
func VerifyImage(ctx context.Context, reg SignRegistry, v *signing.Verifier, ref string, recursive bool, platforms []v1.Platform) (*Verified, error) {
	d, err := reg.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var ps *registry.Platforms
	if recursive {
		if ps, err = reg.Platforms(ctx, d, platforms...); err != nil {
			return nil, err
		}
	}
	res, err := v.VerifyDigest(ctx, d)
	if res == nil {
		return nil, err
	}
	out := &Verified{Result: res}
	errs := []error{err}
	if ps == nil || !ps.Index {
		return out, err
	}
	out.Index, out.Unverified = true, ps.Skipped
	for _, img := range ps.Images {
		pr, err := v.VerifyDigest(ctx, img.Digest)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", img.Name(), err))
		}
		if pr != nil {
			out.Platforms = append(out.Platforms, VerifiedPlatform{Platform: img.Name(), Result: pr})
		}
	}
	return out, errors.Join(errs...)
}
