// Package outcome classifies how an sc operation ended badly, so that the
// command line can turn any error into one of its documented exit codes.
//
// There are three classes, and every sentinel or typed error that a caller
// might branch on wraps exactly one of them:
//
//   - ErrCheckFailed: the check ran and said no (a policy violation, a
//     signature that does not verify, an unsigned image). Exit code 1.
//   - ErrInvalid: the request itself is wrong (bad flags, a configuration that
//     does not validate, a wrong key password). Exit code 2.
//   - ErrOperational: the check could not run (registry unreachable, tool
//     missing, I/O failure, cancellation). Exit code 3.
//
// Keeping "the check failed" apart from "the check could not run" matters to
// pipelines: the first blocks a deploy on purpose, the second is retried.
//
// The package does not log, print or exit; it only names the classes.
package outcome

import (
	"context"
	"errors"
	"fmt"
)

// The three classes. Packages define their own sentinels on top of these, for
// example:
//
//	var ErrNotSigned = outcome.CheckFailed("image is not signed")
var (
	// ErrCheckFailed marks a check that ran and failed (exit code 1).
	ErrCheckFailed = errors.New("check failed")
	// ErrInvalid marks a usage or configuration error (exit code 2).
	ErrInvalid = errors.New("invalid usage or configuration")
	// ErrOperational marks a check that could not run (exit code 3).
	ErrOperational = errors.New("operational failure")
)

// Exit codes documented in the README and in `sc --help`.
const (
	ExitOK          = 0
	ExitCheckFailed = 1
	ExitInvalid     = 2
	ExitOperational = 3
)

// classed is a sentinel that belongs to one class. Its message is only its
// own text: the class shows in errors.Is, not in what the user reads.
type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string        { return e.msg }
func (e *classed) Is(target error) bool { return target == e.class }

// CheckFailed returns a new sentinel in the ErrCheckFailed class.
func CheckFailed(msg string) error { return &classed{msg: msg, class: ErrCheckFailed} }

// Invalid returns a new sentinel in the ErrInvalid class.
func Invalid(msg string) error { return &classed{msg: msg, class: ErrInvalid} }

// Operational returns a new sentinel in the ErrOperational class.
func Operational(msg string) error { return &classed{msg: msg, class: ErrOperational} }

// Invalidf formats an error in the ErrInvalid class; %w verbs in format keep
// their targets reachable through errors.Is and errors.As.
func Invalidf(format string, args ...any) error {
	return &wrapped{err: fmt.Errorf(format, args...), class: ErrInvalid}
}

// Operationalf formats an error in the ErrOperational class.
func Operationalf(format string, args ...any) error {
	return &wrapped{err: fmt.Errorf(format, args...), class: ErrOperational}
}

// CheckFailedf formats an error in the ErrCheckFailed class.
func CheckFailedf(format string, args ...any) error {
	return &wrapped{err: fmt.Errorf(format, args...), class: ErrCheckFailed}
}

type wrapped struct {
	err   error
	class error
}

func (e *wrapped) Error() string        { return e.err.Error() }
func (e *wrapped) Unwrap() error        { return e.err }
func (e *wrapped) Is(target error) bool { return target == e.class }

// Code maps an error to the exit code of its class. When an error chain holds
// more than one class (a check that failed because something could not run),
// the operational class wins over invalid, and invalid over check-failed:
// the more fundamental problem is the one to fix first. Cancellation and
// deadlines are operational. An unclassified error is operational: sc could
// not finish what it was asked to do.
func Code(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrOperational),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return ExitOperational
	case errors.Is(err, ErrInvalid):
		return ExitInvalid
	case errors.Is(err, ErrCheckFailed):
		return ExitCheckFailed
	default:
		return ExitOperational
	}
}
