package report_test

import (
	"testing"

	"github.com/sc-project/sc/pkg/security/report"
)

// A reason carrying control characters (a crafted SAN or digest) stays one
// line and cannot rewrite the terminal or forge an "ok" line.
func TestOneLineEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                      "plain",
		"first\nsecond":              "first …",
		"evil\r  api ok  sign":       `evil\r  api ok  sign`,
		"\x1b[2Kfake ok":             `\x1b[2Kfake ok`,
		"rtl \u202egnirts\u202c end": `rtl \u202egnirts\u202c end`,
	} {
		if got := report.OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
