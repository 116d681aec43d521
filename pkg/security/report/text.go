package report

import (
	"strconv"
	"strings"
	"unicode"
)

// OneLine is a message as one line of text output: its first line, with
// every other control character escaped (\x1b, \r…), so that a value read
// from a registry (a digest in a statement, a certificate's SAN) cannot
// move the cursor or forge a line of its own.
func OneLine(s string) string {
	more := ""
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s, more = s[:i], " …"
	}
	return escapeControls(s) + more
}

// escapeControls writes each control character of s as a Go escape.
func escapeControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
