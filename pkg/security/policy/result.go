package policy

import (
	"fmt"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// Outcomes of a check, for errors.Is.
var (
	// ErrRequirementFailed: the image does not satisfy a requirement of
	// the policy (outcome.ErrCheckFailed, exit 1).
	ErrRequirementFailed = outcome.CheckFailed("the image does not satisfy the policy")
	// ErrNotChecked: a requirement could not be checked, and none failed
	// (outcome.ErrOperational, exit 3).
	ErrNotChecked = outcome.Operational("could not check the policy")
)

// Status is the outcome of one requirement.
type Status string

// Statuses.
const (
	// StatusOK: the requirement holds.
	StatusOK Status = "ok"
	// StatusFailed: it does not.
	StatusFailed Status = "failed"
	// StatusError: it could not be checked (a registry or Sigstore
	// failure); Reason says why.
	StatusError Status = "error"
)

// Result is what a check found for one image. It marshals to the JSON
// `sc verify --output json` prints.
type Result struct {
	// Policy is the policy's name.
	Policy string `json:"policy"`
	// Reference is the image reference as given.
	Reference string `json:"reference"`
	// Image is the image checked, repo@sha256:….
	Image string `json:"image"`
	// Index is true when Image is an image index: its signature is the
	// index's, its attestations those of each platform image.
	Index bool `json:"index,omitempty"`
	// Requirements are the checks in order: the signature, then for the
	// image (each platform image of an index) each attestation followed by
	// the checks of its content.
	Requirements []Requirement `json:"requirements"`
}

// Requirement is one check of the policy on one digest.
type Requirement struct {
	// Name says what is required: "signature", "attestation cyclonedx",
	// "provenance builderID", "provenance sourceRepository", "vuln
	// maxAge", "vuln maxSeverity".
	Name string `json:"name"`
	// Image is the digest checked, repo@sha256:…: the image, the index, or
	// a platform image of the index.
	Image string `json:"image"`
	// Platform is the platform image's platform (os/arch[/variant]); empty
	// for an image that is not an index and for the index itself.
	Platform string `json:"platform,omitempty"`
	// Status is ok, failed or error.
	Status Status `json:"status"`
	// Reason says why: who signed, what was rejected and why, what the
	// content says.
	Reason string `json:"reason"`
}

// OK reports whether every requirement holds.
func (r *Result) OK() bool { return r.Err() == nil }

// Err is nil when every requirement holds; an error wrapping
// ErrRequirementFailed naming the failed requirements when any failed;
// else one wrapping ErrNotChecked naming those that could not be checked.
func (r *Result) Err() error {
	var failed, unchecked []string
	for _, q := range r.Requirements {
		name := q.Name
		if q.Platform != "" {
			name = q.Platform + " " + name
		}
		switch q.Status {
		case StatusOK:
		case StatusFailed:
			failed = append(failed, name)
		default:
			unchecked = append(unchecked, name)
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("%w %s: %s", ErrRequirementFailed, r.Policy, strings.Join(failed, ", "))
	case len(unchecked) > 0:
		return fmt.Errorf("%w %s: %s", ErrNotChecked, r.Policy, strings.Join(unchecked, ", "))
	}
	return nil
}
