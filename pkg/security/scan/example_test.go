package scan_test

import (
	"fmt"
	"time"

	"github.com/sc-project/sc/pkg/security/scan"
)

// Evaluate merges what the scanners found and applies the policy; a fail
// verdict is returned by Result.Err after the result is shown (package
// report renders it: report.WriteTable).
func ExampleEvaluate() {
	grype := &scan.Report{
		Scanner: scan.ScannerInfo{Name: "grype", Version: "v0.121.2"},
		Matches: []scan.Match{{
			ID: "GHSA-2099-aaaa-0001", Aliases: []string{"CVE-2099-1001"}, Severity: scan.High,
			Package: scan.Package{Name: "lodash", Version: "4.17.20", Type: "npm"},
			Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21"}},
		}},
	}
	trivy := &scan.Report{
		Scanner: scan.ScannerInfo{Name: "trivy", Version: "0.74.0"},
		Matches: []scan.Match{{
			ID: "CVE-2099-1001", Severity: scan.Critical,
			Package: scan.Package{Name: "lodash", Version: "4.17.20"},
			Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21"}},
		}},
	}
	p := scan.DefaultPolicy()
	p.Ignore = []scan.IgnoreRule{{ID: "GHSA-2099-aaaa-0001", Reason: "lodash is only used at build time", Expires: "2026-12-31"}}

	res := scan.Evaluate("registry.example/shop@sha256:0123", []*scan.Report{grype, trivy}, p, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, m := range res.Matches {
		fmt.Println(m.ID, m.Severity, m.Package.Name, m.FoundBy)
	}
	for _, n := range res.Notices {
		fmt.Println(n.Message)
	}
	fmt.Println(res.Verdict.Status)
	fmt.Println(res.Err())
	// Output:
	// CVE-2099-1001 critical lodash [grype trivy]
	// ignore rule for GHSA-2099-aaaa-0001 expired on 2026-12-31 (reason was: lodash is only used at build time) and no longer applies; it would have set aside 1 finding(s)
	// fail
	// registry.example/shop@sha256:0123: vulnerability policy violated: 1 finding at or above high, of 1 vulnerability: CVE-2099-1001
}
