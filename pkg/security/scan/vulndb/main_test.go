package vulndb_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	testvulndb "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// Built once in TestMain, before any test runs: grype's archive builder
// changes the working directory (see internal/testutil/vulndb).
var (
	fixtureArchive *testvulndb.Archive
	fixtureSBOM    *sbom.Result
	fixtureImage   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "vulndb-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	fixtureArchive, err = testvulndb.BuildIn(tmp, testvulndb.FixtureAdvisories()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	img, err := fixture.Image(fixture.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := img.Digest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ref, err := name.NewDigest("registry.example/shop/orders-api@" + h.String())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fixtureImage = ref.String()
	fixtureSBOM, err = sbom.Generate(context.Background(), ref, img)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generating the fixture SBOM:", err)
		return 1
	}
	return m.Run()
}

// fixtureInput wraps the fixture's SBOM for scanning.
func fixtureInput() *vulndb.SBOM { return vulndb.NewSBOM(fixtureSBOM.SBOM) }
