package scan_test

import (
	"fmt"
	"os"
	"time"

	"github.com/sc-project/sc/pkg/security/scan"
)

// Evaluate merges what the scanners found and applies the policy; a fail
// verdict is returned by Result.Err after the result is shown.
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
	_ = scan.WriteTable(os.Stdout, res)
	fmt.Println(res.Err())
	// Output:
	// Image:    registry.example/shop@sha256:0123
	// Scanners: grype v0.121.2
	//           trivy 0.74.0
	//
	// ID             SEVERITY  PACKAGE  VERSION  FIXED IN  TYPE  FOUND BY
	// CVE-2099-1001  critical  lodash   4.17.20  4.17.21   npm   grype,trivy
	//
	// Notices:
	//   - ignore rule for GHSA-2099-aaaa-0001 expired on 2026-12-31 (reason was: lodash is only used at build time) and no longer applies; it would have set aside 1 finding(s)
	//
	// 1 vulnerabilities: 1 critical, 0 high, 0 medium, 0 low, 0 negligible, 0 unknown (0 set aside)
	// Verdict: FAIL (fail on high, warn on medium): CVE-2099-1001
	// registry.example/shop@sha256:0123: vulnerability policy violated: 1 vulnerabilities at or above high: CVE-2099-1001
}
