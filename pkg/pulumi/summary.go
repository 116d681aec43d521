package pulumi

import (
	"context"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// Runner secures one pushed image: it runs the steps the descriptor turns
// on (scan and policy, signing, SBOM and provenance attestations,
// verification) and reports what they did.
//
// image is always a digest reference, repo@sha256:…. A policy that fails
// is reported as an error in the outcome.ErrCheckFailed class; a step that
// could not run, as an error in the outcome.ErrOperational class. The
// security executor of pkg/security satisfies Runner through a small
// adapter, pkg/pulumi/executor, that maps its result into a Summary (see the package
// documentation).
type Runner interface {
	Run(ctx context.Context, image string, sec *api.Security) (*Summary, error)
}

// Summary is what a Runner reports about one image. It is also the JSON of
// ImageSecurity's Summary output.
type Summary struct {
	// Digest is the digest the runner secured, "sha256:…". A runner may
	// leave it empty; ImageSecurity fills it in with the digest it asked
	// for, and fails when a runner reports a different one.
	Digest string `json:"digest"`
	// Verdict is the overall outcome. A Summary with VerdictFail fails the
	// deployment even when the runner returned no error.
	Verdict Verdict `json:"verdict"`
	// Steps lists the steps in the order they ran, skipped ones included.
	Steps []Step `json:"steps,omitempty"`
	// SignatureDigest is the digest of the signature artifact written to
	// the registry (a Sigstore bundle or cosign's legacy signature
	// manifest); empty when signing is off.
	SignatureDigest string `json:"signatureDigest,omitempty"`
	// SBOMAttestationDigest is the digest of the signed SBOM attestation;
	// empty when no SBOM was attached.
	SBOMAttestationDigest string `json:"sbomAttestationDigest,omitempty"`
	// ProvenanceAttestationDigest is the digest of the signed SLSA
	// provenance attestation; empty when no provenance was attached.
	ProvenanceAttestationDigest string `json:"provenanceAttestationDigest,omitempty"`
}

// Step is the status of one security step.
type Step struct {
	// Name names the step: scan, sign, verify, sbom, provenance, report, …
	Name string `json:"name"`
	// Status is how the step ended.
	Status StepStatus `json:"status"`
	// Message says why a step failed, warned or was skipped; empty when
	// there is nothing to add.
	Message string `json:"message,omitempty"`
}

// StepStatus is how one step ended.
type StepStatus string

// Step statuses.
const (
	// StepSucceeded is a step that ran and passed.
	StepSucceeded StepStatus = "succeeded"
	// StepWarned is a step that ran and passed with warnings (findings
	// between warnOn and failOn, a soft-failed policy, an optional step
	// that could not run).
	StepWarned StepStatus = "warned"
	// StepFailed is a step that failed or could not run.
	StepFailed StepStatus = "failed"
	// StepSkipped is a step the descriptor turned off, or that did not run
	// because an earlier step failed.
	StepSkipped StepStatus = "skipped"
)

// Verdict is the overall outcome for one image.
type Verdict string

// Verdicts, the same words as the scan policy's.
const (
	// VerdictPass is an image every step passed.
	VerdictPass Verdict = "pass"
	// VerdictWarn is an image that passed with warnings.
	VerdictWarn Verdict = "warn"
	// VerdictFail is an image that must not be deployed.
	VerdictFail Verdict = "fail"
)

// Valid reports whether v is a known verdict.
func (v Verdict) Valid() bool {
	switch v {
	case VerdictPass, VerdictWarn, VerdictFail:
		return true
	}
	return false
}

// Errors callers can branch on with errors.Is.
var (
	// ErrNoDigest is an image reference without an @sha256: digest. The
	// digest is the image's identity: a tag can move between the check
	// and the deploy. Class: outcome.ErrInvalid.
	ErrNoDigest = outcome.Invalid("image reference has no @sha256: digest")
	// ErrVerdictFail is a runner's summary whose verdict is fail. Class:
	// outcome.ErrCheckFailed.
	ErrVerdictFail = outcome.CheckFailed("image security verdict is fail")
)
