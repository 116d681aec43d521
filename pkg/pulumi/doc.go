// Package pulumi hooks sc into a Pulumi program: ImageSecurity is a
// component that secures an image right after the program has built and
// pushed it, in the same resource graph, so that what deploys the image
// waits for the checks and never receives an image that failed them.
//
// Import it under another name, since the Pulumi SDK's package is also
// called pulumi:
//
//	import (
//		"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
//		scpulumi "github.com/sc-project/sc/pkg/pulumi"
//	)
//
//	pulumi.Run(func(ctx *pulumi.Context) error {
//		// Any resource that builds and pushes the image and outputs its
//		// digest reference, repo@sha256:…
//		img, err := dockerbuild.NewImage(ctx, "api", &dockerbuild.ImageArgs{…})
//		if err != nil {
//			return err
//		}
//		sec, err := scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
//			Image:    img.Ref, // a pulumi.StringOutput
//			Security: release.Services["api"].Security, // *api.Security from sc.yaml
//			Runner:   runner,
//		})
//		if err != nil {
//			return err
//		}
//		// The deployment takes the secured reference: it is created only
//		// once the image has passed, and depends on the build.
//		_, err = appsv1.NewDeployment(ctx, "api", &appsv1.DeploymentArgs{
//			Spec: … Image: sec.Image …,
//		})
//		if err != nil {
//			return err
//		}
//		// A resource that takes nothing from sec waits for it with Gate.
//		_, err = route53.NewRecord(ctx, "api", &route53.RecordArgs{…}, sec.Gate())
//		ctx.Export("signature", sec.SignatureDigest)
//		return err
//	})
//
// # When the runner runs
//
// The Runner runs once per ImageSecurity, when the image input resolves
// to a known value during an update (pulumi up). During a preview it never
// runs, even when the digest is already known (a build that did not
// change), because securing writes signatures and attestations; every
// output is then unknown, as a provider's output would be, and the
// registry is not asked anything. A Pulumi program runs whole on every
// update, so the runner runs on every update too, whether or not the
// digest changed. It must then find what it wrote rather than write it
// again: the engine reports the component unchanged whatever its outputs
// do, so new artifacts on every update would go unnoticed but for the
// changed digests. With sc's executor (pkg/pulumi/executor), build it with
// pipeline.WithCache (the SBOM and scan come from the cache, so the
// vulnerability attestation is the same statement and is kept) and
// pipeline.WithProvenanceReuse(true) (or every update attaches one more
// provenance attestation): a second update on the same digest then writes
// nothing and every output stays the same.
//
// # Identity and failure
//
// The image must be a digest reference (repo@sha256:…; a tag next to the
// digest is ignored): the digest is the identity, and a tag could move
// between the check and the deploy. A reference without one fails with
// ErrNoDigest, already in a preview when the reference is known. The
// runner is given the reference with the registry spelled out
// (index.docker.io/library/nginx@sha256:…), and the Image output is that
// reference.
//
// A runner's error, or a Summary whose verdict is fail (ErrVerdictFail),
// rejects every output. Pulumi then fails each resource that takes one of
// them as an input or is gated on them, and the deployment as a whole:
// pulumi.RunErr returns the error with its outcome class intact
// (outcome.ErrCheckFailed for a failing policy, outcome.ErrOperational for
// a runner that could not run), so outcome.Code maps it to sc's exit
// codes. Invalid arguments fail NewImageSecurity itself, in the
// outcome.ErrInvalid class.
//
// Under the engine (pulumi up, or the Automation API) only the message
// crosses: the engine's diagnostics say "an unhandled error occurred:
// waiting for RPCs: image security NAME: securing REF: …" with sc's
// reason, and pulumi exits with its own code, not sc's. Nothing gated or
// taking an output as an input of a custom resource is created; a
// component taking an output is still registered (components register at
// once, their outputs never resolve), and so is the ImageSecurity itself,
// without outputs.
//
// Depend on the checks through an output or Gate, not pulumi.DependsOn:
// Pulumi stands a component resource in for its children, and
// ImageSecurity has none (the runner is not a resource), so a DependsOn
// on it does not wait.
//
// # The runner
//
// Runner is the one method this package needs from sc's security
// executor. The executor's result maps into a Summary as follows:
//
//   - Summary.Digest: the digest the executor worked on (or leave it
//     empty).
//   - Summary.Verdict: the overall outcome; pass, warn (a soft-failed or
//     warning policy, an optional step that could not run) or fail.
//   - Summary.Steps: one Step per executor step, in order, with its status
//     (succeeded, warned, failed, skipped) and a one-line message.
//   - SignatureDigest, SBOMAttestationDigest, ProvenanceAttestationDigest:
//     the digests of the signature, SBOM attestation and provenance
//     attestation artifacts the executor wrote to the registry; empty for
//     a step that was off.
//   - The error: the executor's error unchanged, so that its class
//     (outcome.ErrCheckFailed, ErrInvalid, ErrOperational) survives.
//
// # What this package does not do
//
// It does not build or push images, talk to a registry, sign or scan:
// the Runner does all of that. It registers no custom resource and needs
// no Pulumi provider plugin; it builds on the Pulumi Go SDK alone and
// takes the image as a plain string output rather than a provider's image
// type. It does not log or print. The Pulumi SDK is imported here and
// nowhere else in sc: the command line and the security packages do not
// depend on this package.
package pulumi
