package scan

import (
	"fmt"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// Sentinels for the outcomes callers branch on. Each belongs to an outcome
// class, so that the command line maps it to the right exit code.
var (
	// ErrPolicyViolation: the scan ran and found vulnerabilities the
	// policy does not accept. A check that failed (exit code 1); the
	// error is a *PolicyError.
	ErrPolicyViolation = outcome.CheckFailed("vulnerability policy violated")
	// ErrUnknownSeverity: a severity outside the vocabulary. Invalid usage.
	ErrUnknownSeverity = outcome.Invalid("unknown severity")
	// ErrInvalidPolicy: a policy that does not validate (an ignore rule
	// without a reason, a bad date or glob, warnOn above failOn). Invalid
	// usage.
	ErrInvalidPolicy = outcome.Invalid("invalid scan policy")
	// ErrMalformedVEX: a document that is not OpenVEX. Invalid input.
	ErrMalformedVEX = outcome.Invalid("malformed OpenVEX document")
	// ErrNoScanners: Run was given no scanner. Invalid usage.
	ErrNoScanners = outcome.Invalid("no vulnerability scanner to run")
	// ErrScannerNotFound: an external scanner (trivy) is not installed
	// where it was looked for. Operational (exit code 3).
	ErrScannerNotFound = outcome.Operational("vulnerability scanner not found")
	// ErrScannerVersion: an external scanner is older than sc supports.
	// Operational.
	ErrScannerVersion = outcome.Operational("unsupported vulnerability scanner version")
	// ErrScannerFailed: a scanner ran and did not produce a report, or
	// produced one that does not parse. Operational.
	ErrScannerFailed = outcome.Operational("vulnerability scanner failed")
)

// PolicyError is the error of a scan whose policy verdict is "fail" (and not
// soft-failed). It wraps ErrPolicyViolation.
type PolicyError struct {
	// Image is the scanned image, by digest.
	Image string
	// FailOn is the threshold that was met.
	FailOn Severity
	// IDs are the vulnerabilities at or above it, sorted.
	IDs []string
	// Findings counts the findings (a vulnerability in a package) at or
	// above it; at least len(IDs) is said when it is smaller.
	Findings int
}

func (e *PolicyError) Error() string {
	const show = 10
	ids := e.IDs
	more := ""
	if len(ids) > show {
		more = fmt.Sprintf(" and %d more", len(ids)-show)
		ids = ids[:show]
	}
	return fmt.Sprintf("%s: %s: %s at or above %s, of %s: %s%s",
		e.Image, ErrPolicyViolation, Findings(max(e.Findings, len(e.IDs))), e.FailOn, plural(len(e.IDs), "vulnerability", "vulnerabilities"),
		strings.Join(ids, ", "), more)
}

// Unwrap returns ErrPolicyViolation.
func (e *PolicyError) Unwrap() error { return ErrPolicyViolation }

// Findings says n findings, the unit every count of sc's outputs is in: "1
// finding", "3 findings". A finding is one vulnerability in one package.
func Findings(n int) string { return plural(n, "finding", "findings") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
