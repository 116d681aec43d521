package api

import (
	"fmt"
	"strings"
)

// Severity is a vulnerability severity. From most to least severe:
// critical, high, medium, low, negligible, unknown.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical   Severity = "critical"
	SeverityHigh       Severity = "high"
	SeverityMedium     Severity = "medium"
	SeverityLow        Severity = "low"
	SeverityNegligible Severity = "negligible"
	SeverityUnknown    Severity = "unknown"
)

// severities lists the vocabulary from least to most severe: the index is
// the rank.
func severities() []Severity {
	return []Severity{SeverityUnknown, SeverityNegligible, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// ParseSeverity reads a severity in any letter case, as scanners print them
// ("Critical", "HIGH").
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return "", fmt.Errorf("unknown severity %q; valid: %s", s, joinValues(severitiesDesc()))
	}
	return v, nil
}

func severitiesDesc() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityNegligible, SeverityUnknown}
}

// Rank orders severities: unknown is 0 and critical 5. Anything else,
// including the empty severity, is -1.
func (s Severity) Rank() int {
	for i, v := range severities() {
		if v == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is in the vocabulary.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// AtLeast reports whether s is at or above threshold. An empty or invalid
// threshold is met by nothing, so an unset warnOn never warns.
func (s Severity) AtLeast(threshold Severity) bool {
	t := threshold.Rank()
	return t >= 0 && s.Rank() >= t
}

// Below returns the severity one step below s, or "" when there is none
// (below unknown, and below the empty severity). It is the default warnOn
// for a failOn of s, in a configuration file and on the command line.
func (s Severity) Below() Severity {
	r := s.Rank()
	if r <= 0 {
		return ""
	}
	return severities()[r-1]
}
