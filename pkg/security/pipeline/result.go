package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/shard"
)

// StepName names a step of the executor's graph.
type StepName string

// The steps of one image, in the order the graph lists them. See the package
// documentation for what each one needs.
const (
	StepResolve          StepName = "resolve"
	StepSBOM             StepName = "sbom-generate"
	StepScan             StepName = "scan"
	StepProvenance       StepName = "provenance-generate"
	StepSign             StepName = "sign"
	StepVerify           StepName = "verify"
	StepSBOMAttach       StepName = "sbom-attach"
	StepSBOMVerify       StepName = "sbom-verify"
	StepProvenanceAttach StepName = "provenance-attach"
	StepProvenanceVerify StepName = "provenance-verify"
	StepVulnAttach       StepName = "vuln-attach"
	StepVulnVerify       StepName = "vuln-verify"
	StepVEXAttach        StepName = "vex-attach"
	StepVEXVerify        StepName = "vex-verify"
)

// Steps lists every step in graph order: a step comes after everything it
// waits for.
func Steps() []StepName {
	return []StepName{
		StepResolve, StepSBOM, StepScan, StepProvenance, StepSign, StepVerify,
		StepSBOMAttach, StepSBOMVerify, StepProvenanceAttach, StepProvenanceVerify,
		StepVulnAttach, StepVulnVerify, StepVEXAttach, StepVEXVerify,
	}
}

// StepStatus is how a step ended.
type StepStatus string

// Step statuses.
const (
	// StatusOK: the step did its work.
	StatusOK StepStatus = "ok"
	// StatusSkipped: the step did not run: it is disabled, the configuration
	// leaves it nothing to do, or a step it needs did not complete (Detail
	// says which). A skipped step never fails a release by itself.
	StatusSkipped StepStatus = "skipped"
	// StatusWarned: the step ran and has warnings (a scan verdict of warn, a
	// soft-failed policy), or it could not run and is not required
	// (fail-open; Error says why).
	StatusWarned StepStatus = "warned"
	// StatusFailed: a check failed (always), or a required step could not
	// run (fail-closed). Error says why.
	StatusFailed StepStatus = "failed"
)

// Artifact is something a step wrote, or found already written.
type Artifact struct {
	// Kind is "signature", "attestation" or "sbom-file".
	Kind string `json:"kind"`
	// Digest identifies it, in full (sha256:…): the referrer manifest
	// (bundle format) or the layer of the sha256-<hex>.sig/.att image
	// (legacy format), as verification reports it; for a file, the SHA-256
	// of its content.
	Digest string `json:"digest,omitempty"`
	// Format is the signature format (bundle or legacy).
	Format string `json:"format,omitempty"`
	// PredicateType is an attestation's predicate type.
	PredicateType string `json:"predicateType,omitempty"`
	// Storage is where it is kept: "referrer" (an OCI referrer manifest of
	// the image, the bundle format), "tag" (cosign's legacy .sig/.att tag)
	// or "file".
	Storage string `json:"storage,omitempty"`
	// Location is the manifest that holds a signature or attestation: the
	// referrer manifest repo@sha256:… or the legacy tag
	// repo:sha256-<hex>.sig (.att); see signing.Location.
	Location string `json:"location,omitempty"`
	// Path is a file's path.
	Path string `json:"path,omitempty"`
	// Existing is true when nothing was written because an equal artifact
	// by the same signer already verified.
	Existing bool `json:"existing,omitempty"`
	// Platform is, for an image index, the platform of the platform image
	// the artifact is about (os/arch[/variant]); empty for the index itself
	// and for an image that is not an index.
	Platform string `json:"platform,omitempty"`
	// Subject is, for an image index, the digest the artifact is about,
	// repo@sha256:… (the index, or a platform image); empty for an image
	// that is not an index, where it is always the image.
	Subject string `json:"subject,omitempty"`
}

// StepResult is how one step of one image ended.
type StepResult struct {
	// Name is the step.
	Name StepName `json:"name"`
	// Status is how it ended.
	Status StepStatus `json:"status"`
	// Required is true when the step is fail-closed: could it not run, the
	// image fails.
	Required bool `json:"required"`
	// Disabled is true when the configuration turns the step off (or
	// leaves it nothing to do); Detail says how. It is then skipped.
	Disabled bool `json:"disabled,omitempty"`
	// Cached is true when the answer came from the cache.
	Cached bool `json:"cached,omitempty"`
	// Duration is how long the step ran; zero when it did not run.
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for JSON.
	DurationMS int64 `json:"durationMs"`
	// Detail says what the step did, or why it was skipped.
	Detail string `json:"detail,omitempty"`
	// Warnings are what the reader should know (scan findings at warnOn,
	// notices).
	Warnings []string `json:"warnings,omitempty"`
	// Error is why the step failed or could not run.
	Error string `json:"error,omitempty"`
	// Artifacts are what the step wrote (or found already written).
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Err is the error behind Error, with its outcome class.
	Err error `json:"-"`

	// done: the step produced what the steps that need it use.
	done bool
	// blocked: the step was skipped because something it waited for
	// failed (or the run was cancelled); its dependents are skipped too.
	blocked bool
	// cause: for a step skipped because a step it needs did not complete,
	// the error that started the chain, when there was one.
	cause error
}

// Completed reports whether the step produced its output: it is ok, or
// warned after running to the end (not because it could not run).
func (r *StepResult) Completed() bool { return r.done }

// Outcome is the overall outcome of an image or a release.
type Outcome string

// Outcomes, from best to worst.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeWarned Outcome = "warned"
	OutcomeFailed Outcome = "failed"
)

// SecurityResult is what the executor did for one image.
type SecurityResult struct {
	// Service is the service's name in the configuration.
	Service string `json:"service"`
	// Image is the image reference as configured.
	Image string `json:"image"`
	// Digest is the image's digest, bare (sha256:…); empty when it could
	// not be resolved.
	Digest string `json:"digest,omitempty"`
	// Reference is the image by digest, repo@sha256:…, the reference every
	// step worked on; empty when it could not be resolved.
	Reference string `json:"reference,omitempty"`
	// Outcome is ok (every step ok or skipped), warned (some warned) or
	// failed (some failed).
	Outcome Outcome `json:"outcome"`
	// ExitCode is the exit code of Err's class: 0, 1 (a check failed), 2
	// (invalid), 3 (could not run).
	ExitCode int `json:"exitCode"`
	// Steps are the steps in graph order (Steps), every one of them.
	Steps []StepResult `json:"steps"`
	// SBOM summarises the SBOM, when one was made or read from the cache;
	// nil for an image index, whose platforms each have one.
	SBOM *SBOMSummary `json:"sbom,omitempty"`
	// Scan is the scan result, when the scan ran; nil for an image index,
	// whose platforms each have one (ScanResults lists them).
	Scan *scan.Result `json:"scan,omitempty"`
	// Index is true when Digest is an image index (an OCI index or a
	// Docker manifest list): its content was read, scanned and attested
	// per platform image (Platforms), and its own digest is what was
	// signed.
	Index bool `json:"index,omitempty"`
	// Platforms are, for an image index, the platform images worked on, in
	// index order.
	Platforms []PlatformResult `json:"platforms,omitempty"`
	// Skipped are, for an image index, the manifests that were not worked
	// on, with the reason: buildx's attestation manifests and platforms
	// the selection leaves out.
	Skipped []registry.SkippedManifest `json:"skipped,omitempty"`
	// Duration is how long the image took.
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for JSON.
	DurationMS int64 `json:"durationMs"`
}

// SBOMSummary describes an image's SBOM.
type SBOMSummary struct {
	Format   string `json:"format"`
	Digest   string `json:"digest"`
	Packages int    `json:"packages"`
	Tool     string `json:"tool,omitempty"`
}

// PlatformResult is what the executor did for one platform image of an
// image index.
type PlatformResult struct {
	// Platform is os/arch[/variant].
	Platform string `json:"platform"`
	// Digest is the platform image's digest, bare (sha256:…).
	Digest string `json:"digest"`
	// Reference is the platform image by digest, repo@sha256:…, what its
	// steps worked on.
	Reference string `json:"reference"`
	// SBOM summarises its SBOM, when one was made or read from the cache.
	SBOM *SBOMSummary `json:"sbom,omitempty"`
	// Scan is its scan result, when the scan ran.
	Scan *scan.Result `json:"scan,omitempty"`
	// Artifacts are the signatures and attestations written (or found)
	// for it, in step order.
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// ScanResults are the image's scan results: its own, or for an image index
// each platform's, in index order; none when nothing was scanned.
func (r *SecurityResult) ScanResults() []*scan.Result {
	if r.Scan != nil {
		return []*scan.Result{r.Scan}
	}
	var out []*scan.Result
	for _, p := range r.Platforms {
		if p.Scan != nil {
			out = append(out, p.Scan)
		}
	}
	return out
}

// summary describes the SBOM; nil for none.
func (s *SBOM) summary() *SBOMSummary {
	if s == nil {
		return nil
	}
	return &SBOMSummary{
		Format:   string(s.Result.Format),
		Digest:   s.Result.Digest,
		Packages: s.Result.Packages,
		Tool:     s.Result.Tool.Name + " " + s.Result.Tool.Version,
	}
}

// result is the platform's part of the image's result: what its steps
// wrote, picked from steps by subject.
func (p *platformRun) result(steps []StepResult) PlatformResult {
	pr := PlatformResult{Platform: p.name(), Digest: p.image.Digest.DigestStr(), Reference: p.image.Digest.String(), SBOM: p.sbom.summary(), Scan: p.scan}
	for _, s := range steps {
		for _, a := range s.Artifacts {
			if a.Subject == pr.Reference {
				pr.Artifacts = append(pr.Artifacts, a)
			}
		}
	}
	return pr
}

// Step returns the result of the named step, or nil.
func (r *SecurityResult) Step(name StepName) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// Err joins the errors of the failed steps, each naming the service, the
// image and the step; nil when no step failed. Its outcome class gives the
// exit code (outcome.Code): operational over invalid over check-failed.
func (r *SecurityResult) Err() error {
	var errs []error
	for _, s := range r.Steps {
		if s.Status != StatusFailed {
			continue
		}
		err := s.Err
		if err == nil {
			err = outcome.Operational(s.Error)
		}
		errs = append(errs, fmt.Errorf("service %s (%s): %s: %w", r.Service, r.imageName(), s.Name, err))
	}
	return errors.Join(errs...)
}

func (r *SecurityResult) imageName() string {
	if r.Reference != "" {
		return r.Reference
	}
	return r.Image
}

// finish sets the outcome and exit code from the steps.
func (r *SecurityResult) finish() {
	r.Outcome = OutcomeOK
	for _, s := range r.Steps {
		switch s.Status {
		case StatusFailed:
			r.Outcome = OutcomeFailed
		case StatusWarned:
			if r.Outcome == OutcomeOK {
				r.Outcome = OutcomeWarned
			}
		}
	}
	r.ExitCode = outcome.Code(r.Err())
	r.DurationMS = r.Duration.Milliseconds()
}

// ReleaseResult is what the executor did for every image of a release, in
// the order the services were given.
type ReleaseResult struct {
	// Release names the release and the shard the result is of, set by
	// whoever ran it (the executor does not know the configuration file);
	// results of the same release merge (Merge). Nil when not set.
	Release *shard.Identity `json:"release,omitempty"`
	// Services holds one result per service, in the order given.
	Services []*SecurityResult `json:"services"`
	// Outcome is the worst outcome of the services.
	Outcome Outcome `json:"outcome"`
	// ExitCode is the exit code of Err.
	ExitCode int `json:"exitCode"`
	// Cancelled is true when the run was cancelled before it finished.
	Cancelled bool `json:"cancelled,omitempty"`
	// Duration is how long the release took.
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for JSON.
	DurationMS int64 `json:"durationMs"`
}

// Err joins the errors of every service (see SecurityResult.Err); nil when
// nothing failed.
func (r *ReleaseResult) Err() error {
	var errs []error
	for _, s := range r.Services {
		if err := s.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Counts returns how many services ended with each outcome.
func (r *ReleaseResult) Counts() map[Outcome]int {
	m := map[Outcome]int{}
	for _, s := range r.Services {
		m[s.Outcome]++
	}
	return m
}

func (r *ReleaseResult) finish() {
	r.Outcome = OutcomeOK
	for _, s := range r.Services {
		switch s.Outcome {
		case OutcomeFailed:
			r.Outcome = OutcomeFailed
		case OutcomeWarned:
			if r.Outcome == OutcomeOK {
				r.Outcome = OutcomeWarned
			}
		}
	}
	r.ExitCode = outcome.Code(r.Err())
	if r.Cancelled {
		r.ExitCode = outcome.ExitOperational
	}
	r.DurationMS = r.Duration.Milliseconds()
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order they occur for one image.
const (
	// EventImageStarted: the executor started an image; Steps lists its
	// steps.
	EventImageStarted EventKind = "image-started"
	// EventStepStarted: a step started running.
	EventStepStarted EventKind = "step-started"
	// EventStepFinished: a step ended (ran, or was skipped); Result says
	// how.
	EventStepFinished EventKind = "step-finished"
	// EventImageFinished: every step of the image ended; Image holds the
	// result.
	EventImageFinished EventKind = "image-finished"
)

// Event is progress the executor reports to an Observer.
type Event struct {
	Kind EventKind
	// Service is the service the event is about.
	Service string
	// Index is the service's position in the release, from 0.
	Index int
	// Step is the step, for step events.
	Step StepName
	// Steps lists the image's steps, for EventImageStarted.
	Steps []StepName
	// Result is the step's result, for EventStepFinished.
	Result *StepResult
	// Image is the image's result, for EventImageFinished.
	Image *SecurityResult
	// Time is when it happened.
	Time time.Time
}

// Observer receives the executor's progress. Observe is called from many
// goroutines at once and must not block for long; the executor never
// prints anything itself.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }
