package defectdojo

import (
	"strings"
	"testing"
)

func TestAPIMessage(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"detail": "Invalid token."}`, "Invalid token."},
		{`{"message": "Internal server error, check logs for details"}`, "Internal server error, check logs for details"},
		{`["Product \"x\" does not exist"]`, `Product "x" does not exist`},
		{`{"scan_type": ["This field is required."], "file": ["Unsupported extension."]}`, "file: Unsupported extension.; scan_type: This field is required."},
		{`{"non_field_errors": ["Uploading a Report File is required for SARIF"]}`, "Uploading a Report File is required for SARIF"},
		{"<html><body><h1>502 Bad Gateway</h1></body></html>", ""},
		{"upstream timed out\nmore", "upstream timed out"},
		{"", ""},
		{`null`, ""},
		{`42`, "42"},
	} {
		if got := apiMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("apiMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// FuzzAPIMessage reads any answer body: the message is one line of
// bounded length.
func FuzzAPIMessage(f *testing.F) {
	for _, s := range []string{`{"detail":"x"}`, `["a",["b"]]`, `{"a":{"b":[1,null,true]}}`, "<html>", "plain\ntext", `{"detail": 5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := apiMessage(body)
		if strings.ContainsAny(m, "\n\r") {
			t.Errorf("message %q spans lines", m)
		}
		if len(m) > 1100 {
			t.Errorf("message of %d bytes", len(m))
		}
	})
}
