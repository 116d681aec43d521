package testutil

import (
	"encoding/json"
	"strings"
	"testing"
)

// DecodeOneJSON decodes out, a command's standard output, into v, and
// fails the test unless it holds exactly one JSON document: what every
// `-o json` of sc promises, whatever the outcome.
func DecodeOneJSON(t testing.TB, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("standard output is not a JSON document: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("more than one JSON document on standard output:\n%s", out)
	}
}
