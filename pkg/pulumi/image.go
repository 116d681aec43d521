package pulumi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// TypeToken is ImageSecurity's Pulumi type.
const TypeToken = "sc:index:ImageSecurity"

// ImageSecurityArgs are the inputs of an ImageSecurity.
type ImageSecurityArgs struct {
	// Image is the pushed image as a digest reference, repo@sha256:…,
	// typically the output of the resource that built and pushed it. A
	// reference with a tag and a digest (repo:tag@sha256:…) is secured by
	// its digest; one without a digest fails the deployment with
	// ErrNoDigest. Required.
	Image pulumi.StringInput
	// Security is the descriptor: what to do to the image. It is
	// validated when the component is created and copied, so later changes
	// to it have no effect. Required; &api.Security{} means every
	// default.
	Security *api.Security
	// Runner secures the image. Required.
	Runner Runner
}

// ImageSecurity is a Pulumi component that secures one pushed image when
// its digest is known, during an update. Its outputs resolve only after
// the Runner has succeeded, so a resource that takes one of them as an
// input is created only for an image that passed. During a preview the
// Runner never runs and every output is unknown.
type ImageSecurity struct {
	pulumi.ResourceState

	// Image is the secured reference, repo@sha256:…, with the registry
	// spelled out (docker.io images as index.docker.io/…). Deploy this.
	Image pulumi.StringOutput
	// Digest is the secured digest, "sha256:…".
	Digest pulumi.StringOutput
	// Verdict is the runner's verdict: pass or warn (fail never resolves:
	// it fails the deployment).
	Verdict pulumi.StringOutput
	// SignatureDigest is the digest of the signature artifact; empty when
	// signing is off.
	SignatureDigest pulumi.StringOutput
	// SBOMAttestationDigest is the digest of the SBOM attestation; empty
	// when none was attached.
	SBOMAttestationDigest pulumi.StringOutput
	// ProvenanceAttestationDigest is the digest of the provenance
	// attestation; empty when none was attached.
	ProvenanceAttestationDigest pulumi.StringOutput
	// Summary is the runner's Summary as JSON.
	Summary pulumi.StringOutput
}

// secured is what one run produced, from which every output is derived.
type secured struct {
	image   string
	summary Summary
	json    string
}

// NewImageSecurity registers an ImageSecurity named name.
//
// The Runner is called once, with ctx.Context(), when args.Image resolves
// to a known value during an update. It is not called during a preview,
// nor when the image stays unknown. An error from it, a Summary whose
// verdict is fail, or an image without a digest rejects every output, and
// with them the deployment: pulumi.RunErr returns the error, class kept.
//
// Invalid arguments (no runner, image or descriptor, or a descriptor that
// does not validate) are reported here, in the outcome.ErrInvalid class,
// before anything is registered.
func NewImageSecurity(ctx *pulumi.Context, name string, args *ImageSecurityArgs, opts ...pulumi.ResourceOption) (*ImageSecurity, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("image security %s: %w", name, err)
	}
	sec := args.Security.Clone()
	runner := args.Runner

	c := &ImageSecurity{}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering image security %s: %w", name, err)
	}

	// Joining the component's URN ties every output to the program, so
	// that Pulumi waits for them (and for applies on them) before it
	// finishes, even when the image is a plain string rather than another
	// resource's output.
	in := pulumi.All(c.URN(), args.Image)
	var run pulumi.AnyOutput
	if ctx.DryRun() {
		// Even a known image is not secured during a preview: securing
		// writes signatures and attestations. The reference is checked,
		// and the outputs stay unknown, as a provider's would.
		run = in.ApplyT(func(in []any) (pulumi.AnyOutput, error) {
			if _, err := digestRef(in[1].(string)); err != nil {
				return pulumi.AnyOutput{}, fmt.Errorf("image security %s: %w", name, err)
			}
			return pulumi.UnsafeUnknownOutput(nil).(pulumi.AnyOutput), nil
		}).(pulumi.AnyOutput)
	} else {
		run = in.ApplyTWithContext(ctx.Context(), func(goctx context.Context, in []any) (*secured, error) {
			d, err := digestRef(in[1].(string))
			if err != nil {
				return nil, fmt.Errorf("image security %s: %w", name, err)
			}
			s, err := secure(goctx, runner, d, sec)
			if err != nil {
				return nil, fmt.Errorf("image security %s: %w", name, err)
			}
			return s, nil
		}).(pulumi.AnyOutput)
	}

	field := func(get func(*secured) string) pulumi.StringOutput {
		return run.ApplyT(func(v any) string { return get(v.(*secured)) }).(pulumi.StringOutput)
	}
	c.Image = field(func(s *secured) string { return s.image })
	c.Digest = field(func(s *secured) string { return s.summary.Digest })
	c.Verdict = field(func(s *secured) string { return string(s.summary.Verdict) })
	c.SignatureDigest = field(func(s *secured) string { return s.summary.SignatureDigest })
	c.SBOMAttestationDigest = field(func(s *secured) string { return s.summary.SBOMAttestationDigest })
	c.ProvenanceAttestationDigest = field(func(s *secured) string { return s.summary.ProvenanceAttestationDigest })
	c.Summary = field(func(s *secured) string { return s.json })

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"image":                       c.Image,
		"digest":                      c.Digest,
		"verdict":                     c.Verdict,
		"signatureDigest":             c.SignatureDigest,
		"sbomAttestationDigest":       c.SBOMAttestationDigest,
		"provenanceAttestationDigest": c.ProvenanceAttestationDigest,
		"summary":                     c.Summary,
	}); err != nil {
		return nil, fmt.Errorf("registering outputs of image security %s: %w", name, err)
	}
	return c, nil
}

// Gate returns a resource option that holds a resource back until the
// image has passed, for a resource that takes none of c's outputs as an
// input. A failed image fails that resource's registration. During a
// preview the option adds nothing.
//
// pulumi.DependsOn(c) is no substitute: Pulumi stands a component in for
// its children, and ImageSecurity has none, so it would not wait.
func (c *ImageSecurity) Gate() pulumi.ResourceOrInvokeOption {
	passed := c.Digest.ApplyT(func(string) []pulumi.Resource { return nil }).(pulumi.ResourceArrayOutput)
	return pulumi.DependsOnInputs(passed)
}

func (a *ImageSecurityArgs) validate() error {
	switch {
	case a == nil:
		return outcome.Invalid("no arguments")
	case a.Image == nil:
		return outcome.Invalid("no image: pass the pushed reference with its digest")
	case a.Security == nil:
		return outcome.Invalid("no security descriptor: &api.Security{} means every default")
	case a.Runner == nil:
		return outcome.Invalid("no runner")
	}
	if err := a.Security.Validate(); err != nil {
		return fmt.Errorf("security descriptor: %w", err)
	}
	return nil
}

// digestRef parses ref and returns its digest form, repo@sha256:….
func digestRef(ref string) (name.Digest, error) {
	if !strings.Contains(ref, "@") {
		return name.Digest{}, fmt.Errorf("image %q: %w: a tag can move; pass the pushed digest, repo@sha256:…", ref, ErrNoDigest)
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		return name.Digest{}, outcome.Invalidf("image %q: %w", ref, err)
	}
	if !strings.HasPrefix(d.DigestStr(), "sha256:") {
		return name.Digest{}, fmt.Errorf("image %q: %w", ref, ErrNoDigest)
	}
	return d, nil
}

// secure runs the runner on ref and checks what it reports.
func secure(ctx context.Context, r Runner, ref name.Digest, sec *api.Security) (*secured, error) {
	image := ref.Name()
	sum, err := r.Run(ctx, image, sec)
	if err != nil {
		return nil, fmt.Errorf("securing %s: %w", image, err)
	}
	if sum == nil {
		return nil, outcome.Operationalf("securing %s: the runner returned no summary", image)
	}
	s := *sum
	switch {
	case s.Digest == "":
		s.Digest = ref.DigestStr()
	case s.Digest != ref.DigestStr():
		return nil, outcome.Operationalf("securing %s: the runner reports digest %s", image, s.Digest)
	}
	switch {
	case s.Verdict == VerdictFail:
		return nil, fmt.Errorf("securing %s: %w", image, ErrVerdictFail)
	case !s.Verdict.Valid():
		return nil, outcome.Operationalf("securing %s: the runner returned verdict %q (want pass, warn or fail)", image, s.Verdict)
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, outcome.Operationalf("encoding the summary of %s: %w", image, err)
	}
	return &secured{image: image, summary: s, json: string(b)}, nil
}
