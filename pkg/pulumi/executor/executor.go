// Package executor runs pkg/security's Executor as the Runner of a Pulumi
// ImageSecurity component (pkg/pulumi), so that `pulumi up` secures an image
// with sc's real pipeline in the same resource graph that built it.
//
// It only adapts: it hands the image and its descriptor to the executor as a
// release of one service and maps the executor's SecurityResult into a
// pulumi.Summary. It is separate from pkg/pulumi so that the hook stays
// light for programs that bring their own Runner; this package links the
// whole pipeline (sigstore, syft, grype).
//
// A Pulumi program runs whole on every `pulumi up`, so the executor runs
// on every update, on the same digest until the image is rebuilt. Build
// it with pipeline.WithCache and pipeline.WithProvenanceReuse(true): the
// SBOM and scan then come from the cache, the signature and every
// attestation are found in the registry, and a second update writes
// nothing and changes no output (internal/pulumiint shows it under the
// real engine). Without the cache every update scans afresh and attaches
// a new vulnerability attestation (the scan's times differ); without
// provenance reuse, a new provenance attestation.
package executor

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// Runner secures images with an Executor.
type Runner struct {
	ex *pipeline.Executor
}

var _ scpulumi.Runner = (*Runner)(nil)

// New returns a Runner that runs ex. The executor carries everything that
// does not come with the image: registry access, signers, scanners, cache.
func New(ex *pipeline.Executor) *Runner { return &Runner{ex: ex} }

// Run secures image (repo@sha256:…) as the descriptor says. The service
// is named after the image's repository. The error, if any, is the
// executor's, with its outcome class: a policy violation fails the
// deployment as a failed check.
func (r *Runner) Run(ctx context.Context, image string, sec *api.Security) (*scpulumi.Summary, error) {
	if r == nil || r.ex == nil {
		return nil, outcome.Invalid("the Pulumi runner has no executor")
	}
	d, err := name.NewDigest(image)
	if err != nil {
		return nil, outcome.Invalidf("image %q is not a digest reference: %w", image, err)
	}
	svc := api.Service{
		Name:     serviceName(d),
		Image:    d.String(),
		Security: *sec.WithDefaults(),
	}
	res, err := r.ex.Run(ctx, []api.Service{svc})
	if res == nil || len(res.Services) == 0 {
		if err == nil {
			err = outcome.Operationalf("the executor returned no result for %s", image)
		}
		return nil, err
	}
	return Summary(res.Services[0]), err
}

func serviceName(d name.Digest) string {
	repo := d.Context().RepositoryStr()
	return repo[strings.LastIndex(repo, "/")+1:]
}

// Summary maps an executor result into the summary ImageSecurity exposes:
// the verdict from the image's outcome, one step per executor step, and the
// digests of the signature and the attestations written (or found).
func Summary(r *pipeline.SecurityResult) *scpulumi.Summary {
	s := &scpulumi.Summary{Verdict: verdict(r.Outcome), Digest: r.Digest}
	for _, step := range r.Steps {
		s.Steps = append(s.Steps, scpulumi.Step{
			Name:    string(step.Name),
			Status:  status(step.Status),
			Message: message(step),
		})
		switch step.Name {
		case pipeline.StepSign:
			s.SignatureDigest = first(step, "signature")
		case pipeline.StepSBOMAttach:
			s.SBOMAttestationDigest = first(step, "attestation")
		case pipeline.StepProvenanceAttach:
			s.ProvenanceAttestationDigest = first(step, "attestation")
		}
	}
	return s
}

func first(step pipeline.StepResult, kind string) string {
	for _, a := range step.Artifacts {
		if a.Kind == kind {
			return a.Digest
		}
	}
	return ""
}

func message(step pipeline.StepResult) string {
	switch {
	case step.Error != "":
		return step.Error
	case step.Status == pipeline.StatusOK:
		return ""
	case len(step.Warnings) > 0:
		return strings.Join(step.Warnings, "; ")
	default:
		return step.Detail
	}
}

func verdict(o pipeline.Outcome) scpulumi.Verdict {
	switch o {
	case pipeline.OutcomeOK:
		return scpulumi.VerdictPass
	case pipeline.OutcomeWarned:
		return scpulumi.VerdictWarn
	default:
		return scpulumi.VerdictFail
	}
}

func status(s pipeline.StepStatus) scpulumi.StepStatus {
	switch s {
	case pipeline.StatusOK:
		return scpulumi.StepSucceeded
	case pipeline.StatusWarned:
		return scpulumi.StepWarned
	case pipeline.StatusSkipped:
		return scpulumi.StepSkipped
	default: // StatusFailed, and anything this adapter does not know
		return scpulumi.StepFailed
	}
}
