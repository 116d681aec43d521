package sbom_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The SBOM layer links syft, stereoscope and go-containerregistry: no
// cosign (attaching an SBOM builds on this package, not the other way
// round), no command packages, and not modernc.org/sqlite's driver, which
// would clash with grype's (see sqlite.go). It does not import cobra itself;
// syft links it (through anchore/clio), which no package of sc can change.
func TestDependencies(t *testing.T) {
	list := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	for _, imp := range list("-f", `{{join .Imports "\n"}}`, ".") {
		if strings.HasPrefix(imp, "github.com/spf13/cobra") {
			t.Errorf("imports %s", imp)
		}
	}
	deps := list("-deps", ".")
	for _, dep := range deps {
		for _, banned := range []string{"github.com/sigstore/cosign", "github.com/sc-project/sc/pkg/cmd"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("links %s", dep)
			}
		}
		if dep == "modernc.org/sqlite" {
			t.Errorf("links %s, whose driver name clashes with github.com/glebarez/go-sqlite", dep)
		}
	}
	for _, want := range []string{"github.com/glebarez/go-sqlite", "github.com/anchore/syft/syft"} {
		if !slices.Contains(deps, want) {
			t.Errorf("does not link %s", want)
		}
	}
}
