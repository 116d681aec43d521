package scan

import (
	"fmt"
	"strings"
)

// Severity is a vulnerability severity. From most to least severe: critical,
// high, medium, low, negligible, unknown. Scanners' spellings ("High",
// "CRITICAL") are normalised to these lower-case names.
type Severity string

// The severities, most severe first.
const (
	Critical   Severity = "critical"
	High       Severity = "high"
	Medium     Severity = "medium"
	Low        Severity = "low"
	Negligible Severity = "negligible"
	Unknown    Severity = "unknown"
)

// Severities returns the vocabulary, most severe first.
func Severities() []Severity {
	return []Severity{Critical, High, Medium, Low, Negligible, Unknown}
}

// ParseSeverity reads a severity in any letter case. The empty string is
// not a severity.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() < 0 {
		return "", fmt.Errorf("%w %q; valid: critical, high, medium, low, negligible, unknown", ErrUnknownSeverity, s)
	}
	return v, nil
}

// normalizeSeverity maps a scanner's severity to the vocabulary; anything
// it does not know is Unknown.
func normalizeSeverity(s string) Severity {
	v, err := ParseSeverity(s)
	if err != nil {
		return Unknown
	}
	return v
}

// Rank orders severities: unknown is 0, negligible 1 … critical 5. Anything
// else, the empty severity included, is -1.
func (s Severity) Rank() int {
	switch s {
	case Unknown:
		return 0
	case Negligible:
		return 1
	case Low:
		return 2
	case Medium:
		return 3
	case High:
		return 4
	case Critical:
		return 5
	}
	return -1
}

// AtLeast reports whether s is at or above threshold. The empty threshold is
// met by nothing: an unset failOn never fails.
func (s Severity) AtLeast(threshold Severity) bool {
	t := threshold.Rank()
	return t >= 0 && s.Rank() >= t
}
