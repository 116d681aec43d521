package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/internal/testutil/trivytest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got, as indented JSON, with testdata/name, or rewrites
// the file with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(data)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseTrivyReport(t *testing.T) {
	ms, err := scan.ParseTrivyReport(readTestdata(t, "trivy-fixture.json"))
	if err != nil {
		t.Fatalf("ParseTrivyReport: %v", err)
	}
	golden(t, "trivy-fixture.golden.json", ms)

	// the fields a merge and a policy rely on, spelled out
	byID := map[string]scan.Match{}
	for _, m := range ms {
		byID[m.ID+"/"+m.Package.Name] = m
	}
	ssl := byID["CVE-2099-0001/libssl3"]
	if ssl.Severity != scan.Critical || !slices.Equal(ssl.Aliases, []string{"DSA-2099-1"}) ||
		ssl.Fix.State != scan.FixStateFixed || !slices.Equal(ssl.Fix.Versions, []string{"3.0.11-1~deb12u3"}) ||
		ssl.Package.Type != "deb" || ssl.Package.Version != "3.0.11-1~deb12u2" {
		t.Errorf("libssl3 = %+v", ssl)
	}
	if z := byID["CVE-2099-0003/zlib1g"]; z.Fix.State != scan.FixStateNotFixed || len(z.Fix.Versions) != 0 || z.Package.Version != "1:1.2.13.dfsg-1" {
		t.Errorf("zlib1g = %+v", z)
	}
	if s := byID["CVE-2099-3001/semver"]; !slices.Equal(s.Fix.Versions, []string{"7.5.2", "6.3.1", "5.7.2"}) {
		t.Errorf("semver fixed versions = %v", s.Fix.Versions)
	}
	if x := byID["CVE-2099-2001/golang.org/x/text"]; x.Package.Type != "go-module" || len(x.CVSS) != 1 || x.CVSS[0].Version != "4.0" {
		t.Errorf("x/text = %+v", x)
	}
}

func TestParseTrivyReportMalformed(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"empty", ""},
		{"not json", "CVE-2099-0001 libssl3"},
		{"array (schema 1)", `[{"Target":"x","Vulnerabilities":[]}]`},
		{"schema 3", `{"SchemaVersion":3,"Results":[]}`},
		{"no schema", `{"Results":[]}`},
		{"no id", `{"SchemaVersion":2,"Results":[{"Target":"t","Vulnerabilities":[{"PkgName":"x"}]}]}`},
		{"no package", `{"SchemaVersion":2,"Results":[{"Target":"t","Vulnerabilities":[{"VulnerabilityID":"CVE-1"}]}]}`},
		{"wrong type", `{"SchemaVersion":2,"Results":[{"Vulnerabilities":"none"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scan.ParseTrivyReport([]byte(tc.doc))
			if !errors.Is(err, scan.ErrScannerFailed) || outcome.Code(err) != outcome.ExitOperational {
				t.Errorf("ParseTrivyReport = %v, want ErrScannerFailed (exit 3)", err)
			}
		})
	}
	ms, err := scan.ParseTrivyReport([]byte(`{"SchemaVersion":2}`))
	if err != nil || len(ms) != 0 || ms == nil {
		t.Errorf("a report without results = %v, %v; want an empty list", ms, err)
	}
}

func FuzzParseTrivyReport(f *testing.F) {
	f.Add(readTestdata(f, "trivy-fixture.json"))
	f.Add([]byte(`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","FixedVersion":",,","CVSS":{"x":{"V3Vector":"CVSS:"}}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := scan.ParseTrivyReport(data)
		if err != nil {
			if !errors.Is(err, scan.ErrScannerFailed) {
				t.Fatalf("error %v is not ErrScannerFailed", err)
			}
			return
		}
		for _, m := range ms {
			if m.ID == "" || m.Package.Name == "" || m.Severity.Rank() < 0 {
				t.Fatalf("match without ID, package or a known severity: %+v", m)
			}
		}
	})
}

// cdx is an SBOM that is already a CycloneDX document.
type cdx []byte

func (c cdx) CycloneDX() ([]byte, error) { return c, nil }

const image = "registry.example/shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"

func TestTrivyMissing(t *testing.T) {
	tr := scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(filepath.Join(t.TempDir(), "no-trivy-here")))
	_, err := tr.Scan(context.Background(), image, cdx(`{}`))
	if !errors.Is(err, scan.ErrScannerNotFound) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Scan without trivy = %v, want ErrScannerNotFound, exit 3", err)
	}
}

func readCalls(t *testing.T, calls string) []string {
	t.Helper()
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func TestTrivyScan(t *testing.T) {
	report, err := filepath.Abs(filepath.Join("testdata", "trivy-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	exe, cacheDir, calls := trivytest.Fake(t, "0.74.0", report)
	before := func() time.Time { return time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC) }
	tr := scan.NewTrivy(cacheDir, scan.WithTrivyPath(exe), scan.WithTrivyClock(before))
	ctx := context.Background()

	r, err := tr.Scan(ctx, image, cdx(`{"bomFormat":"CycloneDX"}`))
	if err != nil {
		t.Fatalf("first Scan: %v", err)
	}
	if r.Scanner.Name != "trivy" || r.Scanner.Version != "0.74.0" || r.Scanner.DB == nil || r.Scanner.DB.Schema != "2" ||
		!r.Scanner.DB.Built.Equal(time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)) || len(r.Matches) != 5 {
		t.Errorf("report = %+v, want trivy 0.74.0 with DB 2 built 2026-11-20T06:00Z and 5 matches", r)
	}
	if _, err := tr.Scan(ctx, image, cdx(`{"bomFormat":"CycloneDX"}`)); err != nil {
		t.Fatalf("second Scan: %v", err)
	}
	got := readCalls(t, calls)
	var downloads, sboms int
	for _, c := range got {
		if strings.HasPrefix(c, "image --download-db-only --cache-dir "+cacheDir) {
			downloads++
		}
		if strings.HasPrefix(c, "sbom ") {
			sboms++
			for _, want := range []string{"--format json", "--cache-dir " + cacheDir, "--skip-db-update", "--offline-scan", "--scanners vuln"} {
				if !strings.Contains(c, want) {
					t.Errorf("trivy %q lacks %q", c, want)
				}
			}
		}
	}
	if downloads != 1 || sboms != 2 {
		t.Errorf("calls %q: want one database download for two scans", got)
	}

	// past NextUpdate the database is refreshed, once
	after := func() time.Time { return time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC) }
	tr = scan.NewTrivy(cacheDir, scan.WithTrivyPath(exe), scan.WithTrivyClock(after))
	if _, err := tr.Scan(ctx, image, cdx(`{}`)); err != nil {
		t.Fatalf("Scan past NextUpdate: %v", err)
	}
	n := 0
	for _, c := range readCalls(t, calls) {
		if strings.HasPrefix(c, "image --download-db-only") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("database downloads = %d, want 2 (one more past NextUpdate)", n)
	}
}

func TestTrivyTooOld(t *testing.T) {
	exe, cacheDir, _ := trivytest.Fake(t, "0.73.9", "/dev/null")
	_, err := scan.NewTrivy(cacheDir, scan.WithTrivyPath(exe)).Scan(context.Background(), image, cdx(`{}`))
	if !errors.Is(err, scan.ErrScannerVersion) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Scan with trivy 0.73.9 = %v, want ErrScannerVersion, exit 3", err)
	}
}

// The failures below cannot be had from the real trivy: it does not write
// garbage, or exit non-zero from `version`. The real binary's own failures
// (a corrupt or locked database) are tested in scan/vulndb.

// script writes an executable shell script standing in for trivy.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trivy")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrivyGarbage(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(garbage, []byte("\x00\x01 CVE-2099-0001 libssl3 <html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := func() time.Time { return time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC) }
	exe, cacheDir, _ := trivytest.Fake(t, "0.74.0", garbage)
	for _, tc := range []struct {
		name string
		tr   *scan.Trivy
	}{
		{"report", scan.NewTrivy(cacheDir, scan.WithTrivyPath(exe), scan.WithTrivyClock(before))},
		{"version", scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(script(t, "echo 'Version: 0.74.0'")))},
		{"version without a version", scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(script(t, `echo '{"Version":"dev"}'`)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.tr.Scan(context.Background(), image, cdx(`{}`))
			if outcome.Code(err) != outcome.ExitOperational || !(errors.Is(err, scan.ErrScannerFailed) || errors.Is(err, scan.ErrScannerVersion)) {
				t.Fatalf("Scan = %v, want ErrScannerFailed or ErrScannerVersion, exit 3", err)
			}
		})
	}
}

func TestTrivyExitsNonZero(t *testing.T) {
	tr := scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(script(t, "echo 'FATAL\tinit error: out of cheese' >&2; exit 1")))
	_, err := tr.Scan(context.Background(), image, cdx(`{}`))
	if !errors.Is(err, scan.ErrScannerFailed) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Scan = %v, want ErrScannerFailed, exit 3", err)
	}
	if !strings.Contains(err.Error(), "out of cheese") {
		t.Errorf("error %q lacks trivy's standard error", err)
	}
}

// A trivy that hangs and leaves a child holding its output open does not
// hold sc past its deadline: the pipes are closed soon after it is killed.
func TestTrivyHangWithChild(t *testing.T) {
	script := filepath.Join(t.TempDir(), "trivy")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 30 &\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(script)).Version(ctx)
	if err == nil {
		t.Fatal("Version of a hanging trivy succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Version returned after %s: the child's open pipe held it", d)
	}
}
