package vulndb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/scan"
)

// TestMergeWithTrivy merges grype's findings in the fixture image with
// Trivy's report on the same SBOM (a JSON report in testdata): findings
// that share an ID or alias on the same package become one.
func TestMergeWithTrivy(t *testing.T) {
	db := openFixtureDB(t)
	g, err := db.Scan(context.Background(), fixtureImage, fixtureInput())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "testdata", "trivy-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := scan.ParseTrivyReport(data)
	if err != nil {
		t.Fatal(err)
	}
	tr := &scan.Report{Scanner: scan.ScannerInfo{Name: "trivy", Version: "0.74.0"}, Matches: tm}
	res := scan.Evaluate(fixtureImage, []*scan.Report{g, tr}, scan.DefaultPolicy(), time.Now())

	type key struct{ id, pkg string }
	got := map[key]scan.Match{}
	for _, m := range res.Matches {
		got[key{m.ID, m.Package.Name}] = m
	}
	for _, tc := range []struct {
		id, pkg  string
		aliases  []string
		severity scan.Severity
		foundBy  []string
	}{
		// grype's GHSA with the CVE Trivy reports
		{tv.LodashCVE, "lodash", []string{tv.LodashGHSA}, scan.High, []string{"grype", "trivy"}},
		// grype's GO- with the CVE, Trivy's CVE with the GO- as vendor ID;
		// grype's critical wins over Trivy's medium
		{tv.XTextCVE, "golang.org/x/text", []string{tv.XTextGO}, scan.Critical, []string{"grype", "trivy"}},
		// the same CVE; Trivy's critical wins over grype's high, Trivy's DSA
		// becomes an alias
		{tv.OpenSSLFixed, "libssl3", []string{"DSA-2099-1"}, scan.Critical, []string{"grype", "trivy"}},
		{tv.OpenSSLFixed, "openssl", nil, scan.High, []string{"grype"}},
		{tv.ZlibUnfixed, "zlib1g", nil, scan.Medium, []string{"grype", "trivy"}},
		// Trivy only
		{"CVE-2099-3001", "semver", nil, scan.High, []string{"trivy"}},
		// grype only
		{tv.MinimistCVE, "minimist", []string{tv.MinimistGHSA}, scan.Medium, []string{"grype"}},
	} {
		m, ok := got[key{tc.id, tc.pkg}]
		if !ok {
			t.Errorf("no merged finding %s in %s", tc.id, tc.pkg)
			continue
		}
		if !slices.Equal(m.Aliases, tc.aliases) || m.Severity != tc.severity || !slices.Equal(m.FoundBy, tc.foundBy) {
			t.Errorf("%s in %s: aliases %v severity %s foundBy %v; want %v %s %v",
				tc.id, tc.pkg, m.Aliases, m.Severity, m.FoundBy, tc.aliases, tc.severity, tc.foundBy)
		}
	}
	if len(res.Matches) != len(wantFixtureMatches())+1 {
		t.Errorf("%d merged findings, want grype's %d and Trivy's one of its own", len(res.Matches), len(wantFixtureMatches()))
	}
	if len(res.Scanners) != 2 {
		t.Errorf("scanners = %+v", res.Scanners)
	}
}
