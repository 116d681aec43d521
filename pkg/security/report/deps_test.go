package report_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLight keeps scanners, Sigstore, registries and the command line out
// of the report packages: the release command and other programs render
// and upload reports without linking them.
func TestLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"github.com/sc-project/sc/pkg/security/report", "github.com/sc-project/sc/pkg/security/report/defectdojo").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/anchore/", "github.com/sigstore/", "github.com/google/go-containerregistry",
			"github.com/spf13/", "github.com/sc-project/sc/pkg/cmd"} {
			if strings.HasPrefix(p, heavy) {
				t.Errorf("the report packages depend on %s", p)
			}
		}
	}
}
