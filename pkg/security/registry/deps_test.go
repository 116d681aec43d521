package registry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The registry layer links go-containerregistry and the standard library
// only: no sigstore or cosign (signing builds on this package, not the
// other way round), no cobra or command packages.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/sigstore/", "github.com/spf13/cobra", "github.com/sc-project/sc/pkg/cmd"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("imports %s", dep)
			}
		}
	}
}
