package pulumi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The hook links the Pulumi SDK, the descriptor and the error classes, and
// parses references with go-containerregistry's name package; the
// executor arrives through the Runner interface, so none of the security
// packages, their heavy libraries or the command line are linked here.
// (cobra is linked all the same, by the Pulumi SDK's cmdutil; this package
// must not use it itself.)
func TestDependencies(t *testing.T) {
	list := func(format string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-f", format, ".").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	check := func(what string, pkgs, banned []string) {
		t.Helper()
		for _, p := range pkgs {
			for _, b := range banned {
				if strings.HasPrefix(p, b) {
					t.Errorf("%s %s", what, p)
				}
			}
		}
	}
	check("links", list(`{{join .Deps " "}}`), []string{
		"github.com/sc-project/sc/pkg/security/pipeline",
		"github.com/sc-project/sc/pkg/cmd",
		"github.com/sigstore/",
		"github.com/anchore/",
		"github.com/google/go-containerregistry/pkg/v1",
	})
	check("imports", list(`{{join .Imports " "}}`), []string{"github.com/spf13/"})
}
