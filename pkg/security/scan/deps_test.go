package scan_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLight keeps grype, syft and cobra out of this package's dependencies:
// reports and policies must stay cheap to build and test.
func TestLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sc-project/sc/pkg/security/scan").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/anchore/", "github.com/spf13/cobra", "github.com/sc-project/sc/pkg/cmd"} {
			if strings.HasPrefix(p, heavy) {
				t.Errorf("package scan depends on %s", p)
			}
		}
	}
}
