package provenance

import (
	"errors"
	"fmt"

	"github.com/sc-project/sc/pkg/outcome"
)

// Sentinels for the outcomes callers branch on; each belongs to one outcome
// class.
var (
	// ErrInvalidBuild: the Build does not describe a build provenance can be
	// written for (see Build.Validate). Invalid usage.
	ErrInvalidBuild = outcome.Invalid("invalid build description")
	// ErrDockerfile: the Dockerfile does not parse, has no FROM, or names a
	// base image that is not a reference once its arguments are expanded.
	// Invalid usage.
	ErrDockerfile = outcome.Invalid("invalid Dockerfile")
	// ErrNoBuilderID: no builder id was given and none can be derived from
	// the CI run (see CI.BuilderID). Invalid usage.
	ErrNoBuilderID = outcome.Invalid("no builder id")
	// ErrBaseImage: a base image could not be resolved to a digest. The
	// error names the image and wraps the registry's error, whose class it
	// takes: a tag that does not exist is invalid usage (exit 2, the
	// registry package's one rule for a missing image), an unreachable
	// registry operational (exit 3).
	ErrBaseImage = errors.New("base image not resolved")
	// ErrMalformed: a statement is not SLSA v1 provenance (wrong statement
	// or predicate type, JSON that does not parse into the predicate).
	// Check failed: what was presented as provenance is not.
	ErrMalformed = outcome.CheckFailed("malformed provenance")
	// ErrMismatch: a predicate does not match the expectations. Every
	// *MismatchError wraps it. Check failed.
	ErrMismatch = outcome.CheckFailed("provenance does not match expectations")
	// ErrNoExpectations: Verify was given nothing to check. Invalid usage.
	ErrNoExpectations = outcome.Invalid("no provenance expectations given")
	// ErrInvalidExpectation: an expectation cannot be checked as given (a
	// commit prefix too short to identify a commit). Invalid usage.
	ErrInvalidExpectation = outcome.Invalid("invalid provenance expectation")
)

// MismatchError says which field of a predicate differs from what was
// expected. It wraps ErrMismatch (and so outcome.ErrCheckFailed).
type MismatchError struct {
	// Field is the path of the field in the predicate, as in its JSON form
	// ("runDetails.builder.id",
	// "buildDefinition.externalParameters.source.uri").
	Field string
	// Want is the expected value.
	Want string
	// Got is the value in the predicate; "" when the field is absent.
	Got string
}

// Error implements error.
func (e *MismatchError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("provenance %s is absent, expected %q", e.Field, e.Want)
	}
	return fmt.Sprintf("provenance %s is %q, expected %q", e.Field, e.Got, e.Want)
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }
