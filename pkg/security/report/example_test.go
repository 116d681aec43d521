package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

func exampleResult() *scan.Result {
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         "registry.example/shop/api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d",
		Digest:        "sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d",
		ScannedAt:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Scanners:      []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2"}},
		Matches: []scan.Match{{
			ID: "CVE-2099-0001", Severity: scan.High, FoundBy: []string{"grype"},
			Package:    scan.Package{Name: "openssl", Version: "3.0.11", Type: "deb", Locations: []string{"/var/lib/dpkg/status"}},
			Fix:        scan.Fix{State: scan.FixStateFixed, Versions: []string{"3.0.12"}},
			DataSource: "https://security-tracker.debian.org/tracker/CVE-2099-0001",
		}},
		Counts:  scan.Counts{High: 1, Total: 1},
		Verdict: scan.Verdict{Status: scan.Fail, FailOn: scan.High, WarnOn: scan.Medium, Failing: []string{"CVE-2099-0001"}, FailingFindings: 1},
	}
}

// The job summary of one image.
func ExampleWriteSummary() {
	if err := report.WriteSummary(os.Stdout, []*scan.Result{exampleResult()}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ## Vulnerability scan of `registry.example/shop/api`
	//
	// **FAIL**: 1 finding at or above high: CVE-2099-0001.
	//
	// Image `registry.example/shop/api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d`, scanned 2026-11-20 10:00 UTC with grype v0.121.2. Policy: fail on high, warn on medium.
	//
	// | Critical | High | Medium | Low | Negligible | Unknown | Total | Set aside |
	// | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
	// | 0 | 1 | 0 | 0 | 0 | 0 | 1 | 0 |
	//
	// ### Findings
	//
	// | ID | Package | Installed | Fixed in | Severity | Found by |
	// | --- | --- | --- | --- | --- | --- |
	// | [CVE-2099-0001](https://security-tracker.debian.org/tracker/CVE-2099-0001) | `openssl` | `3.0.11` | `3.0.12` | high | grype |
}

// SARIF for GitHub code scanning: one run per image, one rule per
// vulnerability, one result per vulnerable package.
func ExampleWriteSARIF() {
	var b bytes.Buffer
	if err := report.WriteSARIF(&b, []*scan.Result{exampleResult()}, report.WithToolVersion("v1.0.0")); err != nil {
		fmt.Println(err)
		return
	}
	var log struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
			Results           []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		fmt.Println(err)
		return
	}
	run := log.Runs[0]
	fmt.Println("category:", run.AutomationDetails.ID)
	for _, r := range run.Results {
		fmt.Println(r.RuleID, r.Level, r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
		fmt.Println(r.Message.Text)
	}
	// Output:
	// category: sc/registry.example/shop/api/
	// CVE-2099-0001 error var/lib/dpkg/status
	// CVE-2099-0001 in openssl@3.0.11 (deb, high): fixed in 3.0.12. Found by grype.
}

// The result of one image for a terminal, as `sc image scan` prints it.
func ExampleWriteTable() {
	if err := report.WriteTable(os.Stdout, exampleResult()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Image:    registry.example/shop/api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d
	// Scanners: grype v0.121.2
	//
	// ID             SEVERITY  PACKAGE  VERSION  FIXED IN  TYPE  FOUND BY
	// CVE-2099-0001  high      openssl  3.0.11   3.0.12    deb   grype
	//
	// 1 finding: 0 critical, 1 high, 0 medium, 0 low, 0 negligible, 0 unknown (0 set aside)
	// Verdict: FAIL (fail on high, warn on medium): 1 finding at or above high: CVE-2099-0001
}
