package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const (
	ordersImage  = "registry.example/shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"
	ordersDigest = "sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"
	cartImage    = "registry.example:5000/shop/cart@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	cartDigest   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

var scannedAt = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// ordersResult is a failing result with every kind of content: two
// scanners, every severity, a finding both scanners found, one
// vulnerability in two packages, packages with and without files, a VEX
// statement that did not suppress a finding, findings set aside by VEX, an
// ignore rule and onlyFixed, and notices. Its text has characters markdown
// must escape.
func ordersResult() *scan.Result {
	built := time.Date(2026, 11, 19, 6, 0, 0, 0, time.UTC)
	vexTime := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	expiredRule := &scan.IgnoreRule{ID: "CVE-2099-3001", Reason: "accepted for one release", Expires: "2026-11-01"}
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         ordersImage,
		Digest:        ordersDigest,
		ScannedAt:     scannedAt,
		Scanners: []scan.ScannerInfo{
			{Name: "grype", Version: "v0.121.2", DB: &scan.DBInfo{Built: built, Schema: "6.1.10", Source: "manual import"}},
			{Name: "trivy", Version: "0.74.0", DB: &scan.DBInfo{Built: built, Schema: "2", Source: "trivy-db", Stale: true}},
		},
		Matches: []scan.Match{
			{
				ID: "CVE-2099-0001", Aliases: []string{"DSA-2099-1"}, Severity: scan.Critical,
				CVSS:        []scan.CVSS{{Source: "nvd", Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", BaseScore: 9.8}},
				Description: "Test record, not real vulnerability data.",
				Package: scan.Package{Name: "libssl3", Version: "3.0.11-1~deb12u2", Type: "deb",
					PURL:      "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
					Locations: []string{"/var/lib/dpkg/status", "/usr/share/doc/libssl3/copyright"}},
				Fix:        scan.Fix{State: scan.FixStateFixed, Versions: []string{"3.0.11-1~deb12u3"}},
				DataSource: "https://security-tracker.debian.org/tracker/CVE-2099-0001",
				URLs:       []string{"https://nvd.nist.gov/vuln/detail/CVE-2099-0001"},
				FoundBy:    []string{"grype", "trivy"},
			},
			{
				ID: "CVE-2099-0001", Aliases: []string{"DSA-2099-1"}, Severity: scan.High,
				Package: scan.Package{Name: "openssl", Version: "3.0.11-1~deb12u2", Type: "deb",
					PURL:      "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
					Locations: []string{"/var/lib/dpkg/status"}},
				Fix:        scan.Fix{State: scan.FixStateFixed, Versions: []string{"3.0.11-1~deb12u3"}},
				DataSource: "https://security-tracker.debian.org/tracker/CVE-2099-0001",
				FoundBy:    []string{"grype"},
			},
			{
				ID: "CVE-2099-0002", Severity: scan.High,
				Package: scan.Package{Name: "libcurl4", Version: "7.88.1-10+deb12u5", Type: "deb",
					PURL: "pkg:deb/debian/libcurl4@7.88.1-10+deb12u5?arch=amd64&distro=debian-12"},
				Fix:     scan.Fix{State: scan.FixStateNotFixed},
				FoundBy: []string{"grype"},
				VEX: &scan.VEXStatement{
					Document: "https://example.invalid/vex/orders-api-2026-11", Vulnerability: "CVE-2099-0002",
					Product: ordersDigest, Status: "under_investigation",
					StatusNotes: "Assessing whether the CLI is reachable.", Timestamp: &vexTime,
				},
			},
			{
				ID: "CVE-2099-3001", Severity: scan.High,
				Description: "Test record, not real vulnerability data.",
				Package: scan.Package{Name: "semver", Version: "7.5.1", Type: "npm", PURL: "pkg:npm/semver@7.5.1",
					Locations: []string{"/app/package-lock.json"}},
				Fix:        scan.Fix{State: scan.FixStateFixed, Versions: []string{"7.5.2", "6.3.1"}},
				DataSource: "https://avd.aquasec.com/nvd/cve-2099-3001",
				URLs:       []string{"https://github.com/advisories/GHSA-2099-cccc-0001"},
				FoundBy:    []string{"trivy"},
			},
			{
				ID: "CVE-2099-2001", Aliases: []string{"GO-2099-0001"}, Severity: scan.Medium,
				CVSS: []scan.CVSS{{Source: "ghsa", Version: "4.0",
					Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", BaseScore: 8.7}},
				Description: "Test record, not real vulnerability data.",
				Package: scan.Package{Name: "golang.org/x/text", Version: "v0.43.0", Type: "go-module",
					PURL: "pkg:golang/golang.org/x/text@v0.43.0", Locations: []string{"/usr/local/bin/healthcheck"}},
				Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"0.44.0"}},
				URLs:    []string{"https://pkg.go.dev/vuln/GO-2099-0001"},
				FoundBy: []string{"trivy"},
			},
			{
				ID: "GHSA-2099-dddd-0001", Severity: scan.Low,
				CVSS: []scan.CVSS{{Source: "ghsa", Version: "3.1", Vector: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", BaseScore: 1.9}},
				Package: scan.Package{Name: "left|pad", Version: "1.3.0", Type: "npm", PURL: "pkg:npm/left%7Cpad@1.3.0",
					Locations: []string{"/app/node_modules/left|pad/package.json"}},
				Fix:        scan.Fix{State: scan.FixStateWontFix},
				DataSource: "https://github.com/advisories/GHSA-2099-dddd-0001",
				FoundBy:    []string{"grype"},
			},
			{
				ID: "CVE-2099-0005", Severity: scan.Negligible,
				Package: scan.Package{Name: "libc6", Version: "2.36-9+deb12u4", Type: "deb",
					PURL: "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12"},
				Fix:     scan.Fix{State: scan.FixStateNotFixed},
				FoundBy: []string{"grype"},
			},
			{
				ID: "CVE-2099-0006", Severity: scan.Unknown,
				Package: scan.Package{Name: "tar", Version: "1.34+dfsg-1.2+deb12u1", Type: "deb",
					PURL: "pkg:deb/debian/tar@1.34+dfsg-1.2+deb12u1?arch=amd64&distro=debian-12"},
				Fix:     scan.Fix{State: scan.FixStateUnknown},
				FoundBy: []string{"grype"},
			},
		},
		Ignored: []scan.IgnoredMatch{
			{
				Match: scan.Match{
					ID: "CVE-2099-1001", Severity: scan.High,
					Package:    scan.Package{Name: "lodash", Version: "4.17.20", Type: "npm", Locations: []string{"/app/package-lock.json"}},
					Fix:        scan.Fix{State: scan.FixStateFixed, Versions: []string{"4.17.21"}},
					DataSource: "https://avd.aquasec.com/nvd/cve-2099-1001",
					FoundBy:    []string{"trivy"},
				},
				SuppressedBy: scan.Suppression{Kind: scan.SuppressedByVEX, Reason: "VEX: not_affected: inline_mitigations_already_exist"},
			},
			{
				Match: scan.Match{
					ID: "CVE-2099-0004", Severity: scan.Low,
					Package: scan.Package{Name: "curl", Version: "7.88.1-10+deb12u5", Type: "deb"},
					Fix:     scan.Fix{State: scan.FixStateNotFixed},
					FoundBy: []string{"grype"},
				},
				SuppressedBy: scan.Suppression{
					Kind:   scan.SuppressedByRule,
					Reason: "curl is not used at run time | reviewed by @shop/security\nsee *SEC-12*",
					Rule:   &scan.IgnoreRule{ID: "CVE-2099-0004", Package: "curl", Reason: "curl is not used at run time", Expires: "2027-01-31"},
				},
			},
			{
				Match: scan.Match{
					ID: "CVE-2099-0007", Severity: scan.Medium,
					Package: scan.Package{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Type: "deb"},
					Fix:     scan.Fix{State: scan.FixStateNotFixed},
					FoundBy: []string{"grype"},
				},
				SuppressedBy: scan.Suppression{Kind: scan.SuppressedByOnlyFixed, Reason: "no fix available"},
			},
		},
		Counts: scan.Counts{Critical: 1, High: 3, Medium: 1, Low: 1, Negligible: 1, Unknown: 1, Total: 8, Ignored: 3},
		Verdict: scan.Verdict{
			Status: scan.Fail, FailOn: scan.High, WarnOn: scan.Medium,
			Scanners: map[string]scan.Thresholds{"trivy": {FailOn: scan.High, WarnOn: scan.Low}},
			Failing:  []string{"CVE-2099-0001", "CVE-2099-0002", "CVE-2099-3001"},
			Warning:  []string{"CVE-2099-2001"},
			// CVE-2099-0001 in two packages: 4 findings of 3 vulnerabilities
			FailingFindings: 4, WarningFindings: 1,
		},
		Notices: []scan.Notice{
			{
				Kind: scan.NoticeExpiredRule, Rule: expiredRule, IDs: []string{"CVE-2099-3001"},
				Message: "ignore rule for CVE-2099-3001 expired on 2026-11-01 (reason was: accepted for one release) and no longer applies; it would have set aside 1 finding(s)",
			},
			{Kind: scan.NoticeStaleDB, Scanner: "trivy", Message: "trivy used a database built 2026-11-19, past its maximum age, because --insecure-allow-stale-db was given <b>on purpose</b>"},
		},
	}
}

// cartResult is a passing result without findings, in a registry with a
// port.
func cartResult() *scan.Result {
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         cartImage,
		Digest:        cartDigest,
		ScannedAt:     scannedAt,
		Scanners:      []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2"}},
		Matches:       []scan.Match{},
		Ignored:       []scan.IgnoredMatch{},
		Verdict:       scan.Verdict{Status: scan.Pass, FailOn: scan.High, WarnOn: scan.Medium},
		Notices: []scan.Notice{{Kind: scan.NoticeScannerFailed, Scanner: "trivy",
			Message: "optional scanner trivy could not run, its findings are missing: vulnerability scanner not found"}},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
