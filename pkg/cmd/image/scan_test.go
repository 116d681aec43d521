package image_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/trivydb"
	"github.com/sc-project/sc/internal/testutil/trivytest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
)

// fixtureRef is the fixture image's reference in the SBOM in testdata.
const fixtureRef = "registry.example/shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"

// fixtureSBOM is the fixture image's CycloneDX SBOM, as `sc sbom generate`
// writes it.
var fixtureSBOM = filepath.Join("..", "..", "security", "scan", "testdata", "fixture.cdx.json")

// scanEnv returns an environment whose cache holds a database of the test
// advisories, imported with `sc scan db import`.
func scanEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{options.EnvCacheDir: t.TempDir()}
	if _, _, err := run(t, env, "scan", "db", "import", tv.DB(t, tv.FixtureAdvisories()...)); err != nil {
		t.Fatalf("importing the test database: %v", err)
	}
	return env
}

func scanJSON(t *testing.T, stdout string) *scan.Result {
	t.Helper()
	var r scan.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("result JSON: %v\n%s", err, stdout)
	}
	return &r
}

func TestScanOfflineWithoutDatabase(t *testing.T) {
	env := map[string]string{options.EnvCacheDir: t.TempDir()}
	_, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--db-no-update", fixtureRef)
	if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "sc scan db import") {
		t.Fatalf("scan = %v (exit %d), want exit 3 naming `sc scan db import`", err, outcome.Code(err))
	}
}

func TestScanSBOM(t *testing.T) {
	env := scanEnv(t)
	t.Run("table, default policy", func(t *testing.T) {
		stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, fixtureRef)
		// a finding is named by its CVE when it has one: XTextCVE for
		// grype's XTextGO
		if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), tv.XTextCVE) {
			t.Fatalf("scan = %v (exit %d), want a policy violation naming %s, exit 1", err, outcome.Code(err), tv.XTextCVE)
		}
		for _, want := range []string{fixtureRef, tv.OpenSSLFixed, "libssl3", "3.0.11-1~deb12u3", tv.LodashCVE, "Verdict: FAIL (fail on high, warn on medium)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("json, only fixed, fail on critical", func(t *testing.T) {
		stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "-o", "json", "--only-fixed", "--fail-on", "critical", "--warn-on", "none", fixtureRef)
		if outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("scan = %v, want exit 1", err)
		}
		r := scanJSON(t, stdout)
		if r.Image != fixtureRef || !slices.Equal(r.Verdict.Failing, []string{tv.XTextCVE}) || r.Verdict.WarnOn != "" {
			t.Errorf("verdict = %+v", r.Verdict)
		}
		for _, m := range r.Matches {
			if m.Fix.State != scan.FixStateFixed {
				t.Errorf("%s (%s) counted with --only-fixed", m.ID, m.Fix.State)
			}
		}
		if r.Counts.Ignored == 0 {
			t.Error("nothing set aside by --only-fixed")
		}
	})
	t.Run("fail on low derives warn on", func(t *testing.T) {
		// --warn-on is not given: it is one step below --fail-on, not a
		// fixed medium that would be refused as above low
		for _, fail := range []string{"low", "negligible", "unknown", "none"} {
			stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "-o", "json", "--fail-on", fail, fixtureRef)
			want := outcome.ExitCheckFailed
			if fail == "none" {
				want = outcome.ExitOK
			}
			if outcome.Code(err) != want {
				t.Fatalf("scan --fail-on %s = %v (exit %d), want exit %d", fail, err, outcome.Code(err), want)
			}
			r := scanJSON(t, stdout)
			if below := map[string]string{"low": "negligible", "negligible": "unknown"}[fail]; string(r.Verdict.WarnOn) != below {
				t.Errorf("--fail-on %s: warnOn %q, want %q", fail, r.Verdict.WarnOn, below)
			}
		}
	})
	t.Run("soft fail", func(t *testing.T) {
		stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--soft-fail", fixtureRef)
		if err != nil || !strings.Contains(stdout, "soft fail") {
			t.Fatalf("scan --soft-fail = %v, want success reporting the soft fail:\n%s", err, stdout)
		}
	})
	t.Run("ignore file and VEX", func(t *testing.T) {
		ignore := filepath.Join(t.TempDir(), "ignore.yaml")
		rules := "ignore:\n" +
			"  - id: " + tv.XTextCVE + "\n    package: golang.org/x/*\n    reason: the healthcheck never parses text\n" +
			"  - id: " + tv.OpenSSLFixed + "\n    reason: expired acceptance\n    expires: 2020-01-01\n"
		if err := os.WriteFile(ignore, []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
		vex := filepath.Join(t.TempDir(), "doc.openvex.json")
		doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.invalid/vex/1","author":"t","timestamp":"2026-11-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"` + tv.LodashCVE + `"},"products":[{"@id":"pkg:npm/lodash"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`
		if err := os.WriteFile(vex, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "-o", "json", "--ignore-file", ignore, "--vex", vex, fixtureRef)
		if outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("scan = %v, want exit 1 (the expired rule no longer applies)", err)
		}
		r := scanJSON(t, stdout)
		by := map[string]scan.SuppressionKind{}
		for _, m := range r.Ignored {
			by[m.ID] = m.SuppressedBy.Kind
		}
		if by[tv.XTextCVE] != scan.SuppressedByRule || by[tv.LodashCVE] != scan.SuppressedByVEX {
			t.Errorf("set aside: %v", by)
		}
		if !slices.Equal(r.Verdict.Failing, []string{tv.OpenSSLFixed}) {
			t.Errorf("failing = %v, want only %s (its rule expired)", r.Verdict.Failing, tv.OpenSSLFixed)
		}
		if len(r.Notices) != 1 || r.Notices[0].Kind != scan.NoticeExpiredRule {
			t.Errorf("notices = %+v, want the expired rule", r.Notices)
		}
	})
	t.Run("trivy required and missing", func(t *testing.T) {
		_, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--tool", "trivy", "--trivy-path", filepath.Join(t.TempDir(), "trivy"), fixtureRef)
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "trivy") {
			t.Fatalf("scan --tool trivy = %v, want exit 3", err)
		}
		// the hint names the flag, not the config key, on the command line
		if !strings.Contains(err.Error(), "--trivy-path") || strings.Contains(err.Error(), "scan.tools") {
			t.Errorf("error %q should point at --trivy-path", err)
		}
	})
	t.Run("trivy optional and missing", func(t *testing.T) {
		stdout, stderr, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--tool", "all", "--soft-fail", "--trivy-path", filepath.Join(t.TempDir(), "trivy"), fixtureRef)
		if err != nil {
			t.Fatalf("scan --tool all = %v, want success without trivy", err)
		}
		if !strings.Contains(stdout, "optional scanner trivy could not run") || !strings.Contains(stderr, "optional scanner could not run") {
			t.Errorf("no warning about trivy:\nstdout %s\nstderr %s", stdout, stderr)
		}
	})
}

func TestScanStaleDatabase(t *testing.T) {
	env := map[string]string{options.EnvCacheDir: t.TempDir()}
	old := tv.DBBuiltAt(t, time.Now().Add(-6*24*time.Hour), tv.FixtureAdvisories()...)
	if _, _, err := run(t, env, "scan", "db", "import", old); err != nil {
		t.Fatalf("importing the test database: %v", err)
	}
	_, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--db-no-update", fixtureRef)
	if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "maximum age") {
		t.Fatalf("scan with a 6-day-old database = %v, want exit 3", err)
	}
	if _, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--db-no-update", "--db-max-age", "168h", "--soft-fail", fixtureRef); err != nil {
		t.Fatalf("scan with --db-max-age 168h = %v, want the 6-day-old database used", err)
	}
	stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--db-no-update",
		"--insecure-allow-stale-db", "--soft-fail", "-o", "json", fixtureRef)
	if err != nil {
		t.Fatalf("scan --insecure-allow-stale-db = %v", err)
	}
	r := scanJSON(t, stdout)
	if !r.Scanners[0].DB.Stale || len(r.Notices) != 1 || r.Notices[0].Kind != scan.NoticeStaleDB {
		t.Errorf("scanners %+v, notices %+v; want the stale database said", r.Scanners, r.Notices)
	}
}

func TestScanUsage(t *testing.T) {
	env := scanEnv(t)
	garbage := filepath.Join(t.TempDir(), "sbom.json")
	if err := os.WriteFile(garbage, []byte(`{"not":"an sbom"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"fail-on", []string{"--fail-on", "severe"}},
		{"warn-on", []string{"--warn-on", "HIGHEST"}},
		{"warn above fail", []string{"--fail-on", "medium", "--warn-on", "high"}},
		{"output", []string{"-o", "spdx"}},
		{"tool", []string{"--tool", "snyk"}},
		{"missing sbom", []string{"--sbom", filepath.Join(t.TempDir(), "none.json")}},
		{"malformed sbom", []string{"--sbom", garbage}},
		{"missing vex", []string{"--sbom", fixtureSBOM, "--vex", filepath.Join(t.TempDir(), "none.json")}},
		{"ignore rule without reason", []string{"--sbom", fixtureSBOM, "--ignore-file", writeFile(t, "ignore:\n  - id: CVE-1\n")}},
		{"ignore file with unknown field", []string{"--sbom", fixtureSBOM, "--ignore-file", writeFile(t, "ignore:\n  - id: CVE-1\n    reason: r\n    until: 2026-01-01\n")}},
		{"db max age", []string{"--db-max-age", "-1h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, env, append(append([]string{"image", "scan"}, tc.args...), fixtureRef)...)
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("scan %v = %v (exit %d), want exit 2", tc.args, err, outcome.Code(err))
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pushFixture pushes the fixture image to reg as shop/orders-api:1.4.2.
func pushFixture(t *testing.T, reg *testutil.Registry) string {
	t.Helper()
	c := registry.New()
	ref, err := c.ParseReference(reg.Ref("shop/orders-api:1.4.2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, testutil.FixtureImage(t, fixture.Options{}), c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// TestScanFromRegistry scans the fixture image pushed to a registry: the
// SBOM is generated from the image, pulled once.
func TestScanFromRegistry(t *testing.T) {
	env := scanEnv(t)
	reg := testutil.NewRegistry(t)
	ref := pushFixture(t, reg)
	stdout, _, err := run(t, env, "image", "scan", "--allow-insecure-registry", "-o", "json", "--soft-fail", ref)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	r := scanJSON(t, stdout)
	if want := reg.Ref("shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"); r.Image != want {
		t.Errorf("image = %s, want %s", r.Image, want)
	}
	if r.Counts.Total != 11 {
		t.Errorf("%d findings, want the 11 of the test advisories", r.Counts.Total)
	}
}

func TestScanReports(t *testing.T) {
	env := scanEnv(t)
	dir := t.TempDir()
	sarifPath := filepath.Join(dir, "scan.sarif")
	summaryPath := filepath.Join(dir, "summary.md")
	stepSummary := filepath.Join(dir, "step-summary.md")
	env["GITHUB_STEP_SUMMARY"] = stepSummary
	_, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--sarif", sarifPath, "--summary", summaryPath, fixtureRef)
	// The policy fails, and the reports are written all the same.
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("scan = %v (exit %d), want the policy violation, exit 1", err, outcome.Code(err))
	}
	sarif, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version": "2.1.0"`, tv.OpenSSLFixed, "var/lib/dpkg/status"} {
		if !strings.Contains(string(sarif), want) {
			t.Errorf("SARIF lacks %q", want)
		}
	}
	summary, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "FAIL") || !strings.Contains(string(summary), tv.OpenSSLFixed) {
		t.Errorf("summary lacks the verdict or the finding:\n%s", summary)
	}
	// --summary names the file: $GITHUB_STEP_SUMMARY is only the default.
	if _, err := os.Stat(stepSummary); err == nil {
		t.Error("the step summary was written although --summary named a file")
	}
}

// A second scan of the same digest takes the SBOM's reports from the cache
// (<cache-dir>, as `sc release create` does): it reads no blob of the image
// at all, and applies its own policy. A scan of a given SBOM (--sbom) is of
// that document: it neither reads nor writes the reports cached for the
// image.
func TestScanCachesByDigest(t *testing.T) {
	env := scanEnv(t)
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	ref := pushFixture(t, reg)
	digestRef := reg.Ref("shop/orders-api@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d")
	blobGets := func() int {
		n := 0
		for _, r := range faults.Requests() {
			if r.Method == "GET" && r.Class == testutil.ClassBlob {
				n++
			}
		}
		return n
	}
	// an SBOM of the same digest that lists no package: nothing to find
	var doc map[string]any
	data, err := os.ReadFile(fixtureSBOM)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["components"], doc["dependencies"] = []any{}, []any{}
	emptySBOM := filepath.Join(t.TempDir(), "empty.cdx.json")
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptySBOM, data, 0o644); err != nil {
		t.Fatal(err)
	}
	scanGiven := func(t *testing.T) {
		t.Helper()
		stdout, _, err := run(t, env, "image", "scan", "--sbom", emptySBOM, "-o", "json", digestRef)
		if err != nil {
			t.Fatalf("scan --sbom: %v", err)
		}
		if r := scanJSON(t, stdout); r.Counts.Total != 0 {
			t.Errorf("scan --sbom of an SBOM without packages: %d findings, want 0 (a cached report of the image was used)", r.Counts.Total)
		}
	}

	t.Run("given SBOM first", scanGiven)

	faults.Reset()
	stdout, _, err := run(t, env, "image", "scan", "--allow-insecure-registry", "-o", "json", "--soft-fail", ref)
	if err != nil {
		t.Fatalf("cold scan: %v", err)
	}
	cold := scanJSON(t, stdout)
	if cold.Counts.Total != 11 {
		t.Errorf("cold scan: %d findings, want the 11 of the test advisories (the --sbom report was cached?)", cold.Counts.Total)
	}
	if blobGets() == 0 {
		t.Fatal("the cold scan read no blob: the test counts the wrong requests")
	}

	// without --soft-fail: the cached reports are judged by this policy
	faults.Reset()
	stdout, _, err = run(t, env, "image", "scan", "--allow-insecure-registry", "-o", "json", ref)
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("warm scan without --soft-fail = %v (exit %d), want the policy violation, exit 1", err, outcome.Code(err))
	}
	if n := blobGets(); n != 0 {
		t.Errorf("the warm scan read %d blobs, want none: %v", n, faults.Requests())
	}
	warm := scanJSON(t, stdout)
	if warm.Image != cold.Image || warm.Counts != cold.Counts || warm.Verdict.SoftFail || warm.Verdict.Status != scan.Fail {
		t.Errorf("warm scan: image %s counts %+v verdict %+v; want cold's %s %+v, failing", warm.Image, warm.Counts, warm.Verdict, cold.Image, cold.Counts)
	}

	t.Run("given SBOM after", scanGiven)
}

// Every output is checked before the scan starts: without a database and
// with --db-no-update the scan could not run (exit 3), yet an unwritable
// report is said first, as a usage error naming the flag and the path.
func TestScanOutputsCheckedFirst(t *testing.T) {
	env := map[string]string{options.EnvCacheDir: t.TempDir()}
	dir := t.TempDir()
	missing := filepath.Join(dir, "nonexistent", "x.sarif")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"sarif", []string{"--sarif", missing}, nil, "--sarif " + missing},
		{"summary is a directory", []string{"--summary", dir}, nil, "--summary " + dir + ": is a directory"},
		{"pr comment", []string{"--pr-comment", missing}, nil, "--pr-comment " + missing},
		{"step summary", nil, map[string]string{options.EnvGitHubStepSummary: missing}, "$" + options.EnvGitHubStepSummary + " " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := maps.Clone(env)
			maps.Copy(e, tc.env)
			args := append(append([]string{"image", "scan", "--sbom", fixtureSBOM, "--db-no-update"}, tc.args...), fixtureRef)
			_, _, err := run(t, e, args...)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("scan = %v (exit %d), want exit 2 naming %q", err, outcome.Code(err), tc.want)
			}
		})
	}
}

// A report that cannot be written once the scan is done (a full disk:
// /dev/full passes the check, as any device does, and refuses every write)
// never hides the verdict: the policy violation keeps exit code 1, and the
// error says both.
func TestScanReportFailureKeepsVerdict(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	env := scanEnv(t)
	_, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--sarif", "/dev/full", fixtureRef)
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("scan = %v (exit %d), want the policy violation, exit 1", err, outcome.Code(err))
	}
	for _, want := range []string{tv.XTextCVE, "--sarif", "/dev/full"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// without a violation, the unwritable report is the error
	_, _, err = run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--soft-fail", "--sarif", "/dev/full", fixtureRef)
	if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "--sarif") {
		t.Errorf("scan --soft-fail = %v (exit %d), want exit 3 naming --sarif", err, outcome.Code(err))
	}
}

// -o sarif and -o cyclonedx print the documents, with the exit code of the
// verdict.
func TestScanOutputFormats(t *testing.T) {
	env := scanEnv(t)
	for _, tc := range []struct {
		format string
		check  func(t *testing.T, doc map[string]any)
	}{
		{"sarif", func(t *testing.T, doc map[string]any) {
			runs, _ := doc["runs"].([]any)
			if doc["version"] != "2.1.0" || len(runs) != 1 {
				t.Errorf("SARIF version %v with %d runs", doc["version"], len(runs))
			}
		}},
		{"cyclonedx", func(t *testing.T, doc map[string]any) {
			vulns, _ := doc["vulnerabilities"].([]any)
			if doc["bomFormat"] != "CycloneDX" || doc["specVersion"] != "1.6" || len(vulns) == 0 {
				t.Errorf("CycloneDX %v %v with %d vulnerabilities", doc["bomFormat"], doc["specVersion"], len(vulns))
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "-o", tc.format, fixtureRef)
			if outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("scan -o %s = %v, want the policy violation, exit 1", tc.format, err)
			}
			var doc map[string]any
			testutil.DecodeOneJSON(t, stdout, &doc)
			tc.check(t, doc)
			if !strings.Contains(stdout, tv.XTextCVE) {
				t.Errorf("-o %s does not name %s", tc.format, tv.XTextCVE)
			}
		})
	}
}

// --log-level debug says what happens: each registry request, where the
// credentials came from, cache misses and hits, the database used.
func TestScanDebugLog(t *testing.T) {
	env := scanEnv(t)
	reg := testutil.NewRegistry(t)
	ref := pushFixture(t, reg)
	scanDebug := func() string {
		t.Helper()
		_, stderr, err := run(t, env, "image", "scan", "--log-level", "debug", "--allow-insecure-registry", "--soft-fail", ref)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		return stderr
	}
	cold := scanDebug()
	for _, want := range []string{`msg="registry request" method=HEAD host=` + reg.Host, "attempt=1", "status=200",
		`msg="registry credentials"`, `msg="cache miss"`, `msg="cache store"`, `msg="using vulnerability database"`} {
		if !strings.Contains(cold, want) {
			t.Errorf("cold scan's debug log lacks %q:\n%s", want, cold)
		}
	}
	if warm := scanDebug(); !strings.Contains(warm, `msg="cache hit"`) {
		t.Errorf("warm scan's debug log has no cache hit:\n%s", warm)
	}
}

// `sc image scan --tool all` with the real trivy: its database (built by
// trivydb) in <cache-dir>/trivy, where sc keeps it; grype's and Trivy's
// findings merged in one result.
func TestScanWithRealTrivy(t *testing.T) {
	exe := trivytest.Binary(t)
	env := scanEnv(t)
	if err := trivydb.Write(filepath.Join(env[options.EnvCacheDir], "trivy"), trivydb.Options{}, tv.FixtureAdvisories()...); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, env, "image", "scan", "--sbom", fixtureSBOM, "--tool", "all", "--trivy-path", exe, "-o", "json", fixtureRef)
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("scan = %v (exit %d), want the default policy's violation, exit 1", err, outcome.Code(err))
	}
	r := scanJSON(t, stdout)
	var names []string
	for _, s := range r.Scanners {
		names = append(names, s.Name+" "+s.Version)
	}
	if !slices.Contains(names, "trivy "+trivytest.Version) || len(names) != 2 {
		t.Errorf("scanners = %v, want grype and trivy %s", names, trivytest.Version)
	}
	byBoth := map[string]bool{}
	for _, m := range r.Matches {
		if slices.Equal(m.FoundBy, []string{"grype", "trivy"}) {
			byBoth[m.ID+" "+m.Package.Name] = true
		}
	}
	for _, want := range []string{tv.OpenSSLFixed + " libssl3", tv.ZlibUnfixed + " zlib1g", tv.LodashCVE + " lodash", tv.XTextCVE + " golang.org/x/text"} {
		if !byBoth[want] {
			t.Errorf("%s is not one finding of both scanners; found by both: %v", want, slices.Sorted(maps.Keys(byBoth)))
		}
	}
}
