package httpretry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The retry policy links the standard library and cenkalti/backoff only, so
// that any HTTP client of sc can use it without weight.
func TestDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/sc-project/sc/pkg/security/httpretry" && dep != "github.com/cenkalti/backoff/v5" {
			t.Errorf("imports %s", dep)
		}
	}
}
