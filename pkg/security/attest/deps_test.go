package attest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The attestation core links sigstore and cosign's pkg/ through signing,
// and nothing heavier: not syft (SBOM generation), not the command
// packages, not cosign's cmd/.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/anchore/", "github.com/sc-project/sc/pkg/cmd",
			"github.com/sigstore/cosign/v3/cmd", "github.com/sc-project/sc/pkg/security/sbom",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("imports %s", dep)
			}
		}
	}
}
