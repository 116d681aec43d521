package scan_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/scan"
)

func TestMerge(t *testing.T) {
	ghsa := scan.Match{
		ID: "GHSA-2099-aaaa-0001", Aliases: []string{"CVE-2099-1001"}, Severity: scan.High,
		Package:     scan.Package{Name: "lodash", Version: "4.17.20", Type: "npm", PURL: "pkg:npm/lodash@4.17.20", Locations: []string{"/app/package-lock.json"}},
		Fix:         scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21"}},
		Description: "from grype", DataSource: "https://github.com/advisories/GHSA-2099-aaaa-0001",
		CVSS: []scan.CVSS{{Source: "ghsa", Version: "3.1", Vector: "CVSS:3.1/AV:N", BaseScore: 7.2}},
	}
	cve := scan.Match{
		ID: "CVE-2099-1001", Severity: scan.Critical,
		Package: scan.Package{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", Locations: []string{"/app/package-lock.json"}},
		Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21", "3.10.2"}},
		CVSS: []scan.CVSS{
			{Source: "ghsa", Version: "3.1", Vector: "CVSS:3.1/AV:N", BaseScore: 7.2},
			{Source: "nvd", Version: "3.1", Vector: "CVSS:3.1/AV:L", BaseScore: 9.1},
		},
		URLs: []string{"https://nvd.nist.gov/vuln/detail/CVE-2099-1001"},
	}
	// the same CVE in another version of the package is another finding
	other := cve
	other.Package.Version = "3.10.1"
	// a finding linked to the GHSA only through a third identifier
	debian := scan.Match{ID: "DLA-2099-1", Aliases: []string{"CVE-2099-1001"}, Severity: scan.Low,
		Package: scan.Package{Name: "LODASH", Version: "4.17.20"}, Fix: scan.Fix{State: scan.FixStateWontFix}}

	got := scan.Merge(
		&scan.Report{Scanner: scan.ScannerInfo{Name: "grype"}, Matches: []scan.Match{ghsa}},
		&scan.Report{Scanner: scan.ScannerInfo{Name: "trivy"}, Matches: []scan.Match{cve, other, debian}},
	)
	want := []scan.Match{
		{
			ID: "CVE-2099-1001", Severity: scan.Critical,
			Package: scan.Package{Name: "lodash", Version: "3.10.1", PURL: "pkg:npm/lodash@4.17.20", Locations: []string{"/app/package-lock.json"}},
			Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21", "3.10.2"}},
			CVSS:    cve.CVSS, URLs: cve.URLs, FoundBy: []string{"trivy"},
		},
		{
			ID: "CVE-2099-1001", Aliases: []string{"DLA-2099-1", "GHSA-2099-aaaa-0001"}, Severity: scan.Critical,
			Package:     scan.Package{Name: "lodash", Version: "4.17.20", Type: "npm", PURL: "pkg:npm/lodash@4.17.20", Locations: []string{"/app/package-lock.json"}},
			Fix:         scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21", "3.10.2"}},
			Description: "from grype", DataSource: "https://github.com/advisories/GHSA-2099-aaaa-0001",
			CVSS: []scan.CVSS{
				{Source: "ghsa", Version: "3.1", Vector: "CVSS:3.1/AV:N", BaseScore: 7.2},
				{Source: "nvd", Version: "3.1", Vector: "CVSS:3.1/AV:L", BaseScore: 9.1},
			},
			URLs:    []string{"https://nvd.nist.gov/vuln/detail/CVE-2099-1001"},
			FoundBy: []string{"grype", "trivy"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

func TestMergeKeepsDistinct(t *testing.T) {
	a := match("CVE-2099-0001", scan.High, "libssl3", "1")
	b := match("CVE-2099-0002", scan.High, "libssl3", "1")
	c := match("CVE-2099-0001", scan.High, "openssl", "1")
	got := scan.Merge(&scan.Report{Scanner: scan.ScannerInfo{Name: "grype"}, Matches: []scan.Match{a, b, c}})
	if len(got) != 3 {
		t.Fatalf("Merge = %d matches, want 3 distinct", len(got))
	}
	for _, m := range got {
		if !slices.Equal(m.FoundBy, []string{"grype"}) {
			t.Errorf("%s foundBy %v", m.ID, m.FoundBy)
		}
	}
}

// What grype's JSON carries per match survives a merge with another
// scanner's finding of the same vulnerability: unions of the lists, the
// first namespace, the highest risk.
func TestMergeKeepsGrypeDetails(t *testing.T) {
	pkg := scan.Package{Name: "lodash", Version: "4.17.20", Type: "npm", CPEs: []string{"cpe:2.3:a:lodash:lodash:4.17.20:*:*:*:*:*:*:*"}}
	grype := &scan.Report{Scanner: scan.ScannerInfo{Name: "grype"}, Matches: []scan.Match{{
		ID: "GHSA-35jh-r3h4-6jhm", Aliases: []string{"CVE-2021-23337"}, Severity: scan.High, Package: pkg,
		Namespace: "github:language:javascript", Risk: 1.5,
		CWEs:                   []scan.CWE{{CVE: "CVE-2021-23337", CWE: "CWE-94"}},
		RelatedVulnerabilities: []scan.RelatedVulnerability{{ID: "CVE-2021-23337", Namespace: "nvd:cpe", Severity: scan.High}},
		MatchDetails:           []scan.MatchDetail{{Type: "exact-direct-match", Matcher: "javascript-matcher", SuggestedVersion: "4.17.21"}},
	}}}
	pkg.CPEs = []string{"cpe:2.3:a:lodash:lodash:*:*:*:*:*:node.js:*:*"}
	trivy := &scan.Report{Scanner: scan.ScannerInfo{Name: "trivy"}, Matches: []scan.Match{{
		ID: "CVE-2021-23337", Severity: scan.High, Package: pkg, Risk: 3,
		CWEs:           []scan.CWE{{CVE: "CVE-2021-23337", CWE: "CWE-94"}, {CVE: "CVE-2021-23337", CWE: "CWE-77"}},
		KnownExploited: []scan.KnownExploited{{CVE: "CVE-2021-23337"}},
	}}}
	ms := scan.Merge(grype, trivy)
	if len(ms) != 1 {
		t.Fatalf("%d findings, want one", len(ms))
	}
	m := ms[0]
	if m.ID != "CVE-2021-23337" || m.Namespace != "github:language:javascript" || m.Risk != 3 ||
		len(m.CWEs) != 2 || len(m.KnownExploited) != 1 || len(m.RelatedVulnerabilities) != 1 || len(m.MatchDetails) != 1 || len(m.Package.CPEs) != 2 {
		t.Errorf("merged %+v", m)
	}
}
