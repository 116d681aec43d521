package export_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Exporting a policy is a transformation: it links no cataloguer or
// scanner, no command package, and neither engine's module.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/anchore/", "github.com/sc-project/sc/pkg/cmd",
			"github.com/kyverno/", "github.com/sigstore/policy-controller",
			"github.com/sc-project/sc/pkg/security/pipeline", "github.com/sc-project/sc/pkg/security/scan",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("imports %s", dep)
			}
		}
	}
}
