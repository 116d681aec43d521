package pulumiint

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/pkg/api"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
)

// deployment stands in for what deploys the image (a Kubernetes
// Deployment, a Cloud Run service): a component whose input is the
// secured image, and whose outputs record when it received it.
type deployment struct {
	pulumi.ResourceState

	Image      pulumi.StringOutput
	DeployedAt pulumi.IntOutput
}

func newDeployment(ctx *pulumi.Context, c clock, name string, image pulumi.StringOutput, opts ...pulumi.ResourceOption) (*deployment, error) {
	d := &deployment{}
	if err := ctx.RegisterComponentResource("test:index:Deployment", name, d, opts...); err != nil {
		return nil, err
	}
	d.Image = image
	d.DeployedAt = image.ApplyT(func(string) int { return c.now() }).(pulumi.IntOutput)
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"image": d.Image, "deployedAt": d.DeployedAt})
}

// record stands in for a resource that takes nothing from the image but
// must wait for it (a DNS switch-over): gated with Gate(), its URN
// resolves when the engine has registered it.
type record struct {
	pulumi.ResourceState
}

// program is the inline Pulumi program: a stand-in build whose digest
// output resolves only after an Apply on a delayed value, as a real
// build-and-push's does; ImageSecurity on that output with sc's executor;
// a deployment taking the secured image and a record gated on the
// verdict. The stack outputs carry the component's outputs and, in ticks
// of w.clock, when the digest was pushed, the verdict known, the
// deployment given its image and the record registered.
func (w *world) program(sec *api.Security) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		pushedAt := make(chan int, 1)
		image := pulumi.String(w.image).ToStringOutput().ApplyT(func(ref string) string {
			time.Sleep(pushDelay)
			pushedAt <- w.clock.now()
			return ref
		}).(pulumi.StringOutput)
		pushed := image.ApplyT(func(string) int { return <-pushedAt }).(pulumi.IntOutput)

		s, err := scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
			Image: image, Security: sec, Runner: w.runner,
		})
		if err != nil {
			return err
		}
		d, err := newDeployment(ctx, w.clock, "api", s.Image)
		if err != nil {
			return err
		}
		r := &record{}
		if err := ctx.RegisterComponentResource("test:index:Record", "api", r, s.Gate()); err != nil {
			return err
		}
		ctx.Export("image", s.Image)
		ctx.Export("digest", s.Digest)
		ctx.Export("verdict", s.Verdict)
		ctx.Export("signatureDigest", s.SignatureDigest)
		ctx.Export("sbomAttestationDigest", s.SBOMAttestationDigest)
		ctx.Export("provenanceAttestationDigest", s.ProvenanceAttestationDigest)
		ctx.Export("summary", s.Summary)
		ctx.Export("pushedAt", pushed)
		ctx.Export("verdictAt", s.Verdict.ApplyT(func(string) int { return w.clock.now() }))
		ctx.Export("deployedImage", d.Image)
		ctx.Export("deployedAt", d.DeployedAt)
		ctx.Export("recordAt", r.URN().ApplyT(func(pulumi.URN) int { return w.clock.now() }))
		return nil
	}
}
