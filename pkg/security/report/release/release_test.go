package release_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/release"
	"github.com/sc-project/sc/pkg/security/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

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

const ordersDigest = "registry.example/shop/orders@sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"

func ordersScan() *scan.Result {
	return &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         ordersDigest,
		Digest:        "sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d",
		ScannedAt:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Scanners:      []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2"}},
		Matches: []scan.Match{{
			ID: "CVE-2099-0001", Severity: scan.High, FoundBy: []string{"grype"},
			Package: scan.Package{Name: "openssl", Version: "3.0.11", Type: "deb"},
			Fix:     scan.Fix{State: scan.FixStateFixed, Versions: []string{"3.0.12"}},
		}},
		Ignored: []scan.IgnoredMatch{},
		Counts:  scan.Counts{High: 1, Total: 1},
		Verdict: scan.Verdict{Status: scan.Fail, FailOn: scan.High, WarnOn: scan.Medium, Failing: []string{"CVE-2099-0001"}},
	}
}

// releaseResult has a failed service with every kind of step mark (ok,
// from the cache, failed with a message of two lines, skipped, turned off,
// warned with warnings and with an error, already there, not in the
// graph) and text markdown must escape, a service that passed, and one
// that could not be resolved; the run was cancelled.
func releaseResult() *pipeline.ReleaseResult {
	return &pipeline.ReleaseResult{
		Outcome: pipeline.OutcomeFailed, ExitCode: 3, Cancelled: true, Duration: 83 * time.Second, DurationMS: 83000,
		Services: []*pipeline.SecurityResult{
			{
				Service: "orders|api", Image: "registry.example/shop/orders:1.4.2", Digest: ordersDigest[strings.Index(ordersDigest, "@")+1:], Reference: ordersDigest,
				Outcome: pipeline.OutcomeFailed, ExitCode: 1, Scan: ordersScan(), Duration: 41234 * time.Millisecond, DurationMS: 41234,
				Steps: []pipeline.StepResult{
					{Name: pipeline.StepResolve, Status: pipeline.StatusOK},
					{Name: pipeline.StepSBOM, Status: pipeline.StatusOK, Cached: true},
					{Name: pipeline.StepScan, Status: pipeline.StatusFailed, Error: "1 vulnerability at or above high: CVE-2099-0001\nsee the scan report"},
					{Name: pipeline.StepProvenance, Status: pipeline.StatusOK},
					{Name: pipeline.StepSign, Status: pipeline.StatusSkipped, Detail: "the scan failed"},
					{Name: pipeline.StepVerify, Status: pipeline.StatusSkipped, Disabled: true},
					{Name: pipeline.StepSBOMAttach, Status: pipeline.StatusWarned, Warnings: []string{"the registry has no referrers API", "kept `legacy|tags`"},
						Artifacts: []pipeline.Artifact{{Kind: "attestation", Digest: "sha256:aaaa", Format: "legacy", PredicateType: "https://cyclonedx.org/bom",
							Storage: "tag", Location: "registry.example/shop/orders:sha256-749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d.att", Existing: true}}},
					{Name: pipeline.StepSBOMVerify, Status: pipeline.StatusOK},
					{Name: pipeline.StepProvenanceAttach, Status: pipeline.StatusWarned, Error: "timestamp authority unavailable"},
				},
			},
			{
				Service: "cart", Image: "registry.example/shop/cart:2.0.0", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
				Reference: "registry.example/shop/cart@sha256:1111111111111111111111111111111111111111111111111111111111111111",
				Outcome:   pipeline.OutcomeOK, Duration: 2 * time.Second, DurationMS: 2000,
				Steps: []pipeline.StepResult{
					{Name: pipeline.StepResolve, Status: pipeline.StatusOK},
					{Name: pipeline.StepSign, Status: pipeline.StatusOK, Artifacts: []pipeline.Artifact{{Kind: "signature",
						Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", Format: "bundle", Storage: "referrer",
						Location: "registry.example/shop/cart@sha256:2222222222222222222222222222222222222222222222222222222222222222"}}},
					{Name: pipeline.StepVerify, Status: pipeline.StatusOK},
					{Name: pipeline.StepSBOMVerify, Status: pipeline.StatusOK},
					{Name: pipeline.StepProvenanceVerify, Status: pipeline.StatusOK},
					{Name: pipeline.StepVulnVerify, Status: pipeline.StatusOK},
				},
			},
			{
				Service: "web", Image: "registry.example/shop/web:missing", Outcome: pipeline.OutcomeFailed, ExitCode: 3,
				Steps: []pipeline.StepResult{{Name: pipeline.StepResolve, Status: pipeline.StatusFailed, Error: "registry.example: connection refused"}},
			},
		},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := release.WriteTable(&b, releaseResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "release.table.txt", b.Bytes())
	if !strings.Contains(b.String(), release.Legend+"\n") {
		t.Error("the table has no legend")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := release.WriteJSON(&b, releaseResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "release.json", b.Bytes())
	var got pipeline.ReleaseResult
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Services) != 3 || got.Services[0].Scan == nil || got.Services[0].Scan.Verdict.Status != scan.Fail || got.DurationMS != 83000 {
		t.Errorf("the JSON does not hold the release: %+v", got)
	}
}

func TestWriteSummary(t *testing.T) {
	var b bytes.Buffer
	if err := release.WriteSummary(&b, releaseResult(), report.WithToolVersion("v1.2.3")); err != nil {
		t.Fatal(err)
	}
	golden(t, "release.summary.md", b.Bytes())

	// the scan report of the scanned images follows the release table,
	// as report.WriteSummary writes it
	var scanPart bytes.Buffer
	if err := report.WriteSummary(&scanPart, []*scan.Result{ordersScan()}, report.WithToolVersion("v1.2.3")); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "|\n\n"+scanPart.String()) {
		t.Errorf("the summary does not end with the scan report:\n%s", b.String())
	}

	t.Run("nothing scanned", func(t *testing.T) {
		res := releaseResult()
		for _, s := range res.Services {
			s.Scan = nil
		}
		var b bytes.Buffer
		if err := release.WriteSummary(&b, res); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "Vulnerability scan") || !strings.HasSuffix(b.String(), "|\n\n") {
			t.Errorf("summary without scans:\n%s", b.String())
		}
	})
}

func TestScanResults(t *testing.T) {
	res := releaseResult()
	res.Services[2].Scan = ordersScan()
	got := release.ScanResults(res)
	if len(got) != 2 || got[0] != res.Services[0].Scan || got[1] != res.Services[2].Scan {
		t.Errorf("ScanResults = %v, want the scans of the first and third services, in order", got)
	}
	if got := release.ScanResults(&pipeline.ReleaseResult{}); got != nil {
		t.Errorf("ScanResults of nothing = %v", got)
	}
}

// An image index: its platforms' scans are the release's, in index order,
// and the summary names its platforms and lists the findings they share
// once.
func TestIndex(t *testing.T) {
	amd, arm := ordersScan(), ordersScan()
	amd.Platform, arm.Platform = "linux/amd64", "linux/arm64"
	res := &pipeline.ReleaseResult{Outcome: pipeline.OutcomeFailed, Services: []*pipeline.SecurityResult{{
		Service: "orders", Image: "registry.example/shop/orders:1.4.2", Reference: ordersDigest, Outcome: pipeline.OutcomeFailed, Index: true,
		Platforms: []pipeline.PlatformResult{{Platform: "linux/amd64", Scan: amd}, {Platform: "linux/arm64", Scan: arm}},
		Steps:     []pipeline.StepResult{{Name: pipeline.StepScan, Status: pipeline.StatusFailed, Error: "linux/amd64: 1 vulnerability at or above high"}},
	}}}
	if got := release.ScanResults(res); len(got) != 2 || got[0] != amd || got[1] != arm {
		t.Errorf("ScanResults = %v, want each platform's scan in order", got)
	}
	var b bytes.Buffer
	if err := release.WriteSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| orders | `" + ordersDigest + "` (index: linux/amd64, linux/arm64) | failed |",
		"1 finding shared by all 2 platforms",
		"None beyond those all platforms share, listed above.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "| CVE-2099-0001 |"); n != 1 {
		t.Errorf("the shared finding is listed %d times, want once:\n%s", n, md)
	}
}

func TestWriteErrors(t *testing.T) {
	want := errors.New("disk full")
	w := failingWriter{want}
	if err := release.WriteTable(w, releaseResult()); !errors.Is(err, want) {
		t.Errorf("WriteTable = %v", err)
	}
	if err := release.WriteJSON(w, releaseResult()); !errors.Is(err, want) {
		t.Errorf("WriteJSON = %v", err)
	}
	if err := release.WriteSummary(w, releaseResult()); !errors.Is(err, want) {
		t.Errorf("WriteSummary = %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// An image signed although its scan could not run (softFail) is named in
// the first lines of the table and of the markdown summary.
func TestSignedUnscanned(t *testing.T) {
	step := func(n pipeline.StepName, st pipeline.StepStatus, errText string) pipeline.StepResult {
		return pipeline.StepResult{Name: n, Status: st, Error: errText}
	}
	res := &pipeline.ReleaseResult{Outcome: pipeline.OutcomeWarned, Services: []*pipeline.SecurityResult{
		{Service: "api", Outcome: pipeline.OutcomeWarned, Steps: []pipeline.StepResult{
			step(pipeline.StepScan, pipeline.StatusWarned, "no vulnerability database"),
			step(pipeline.StepSign, pipeline.StatusWarned, ""),
		}},
		{Service: "web", Outcome: pipeline.OutcomeWarned, Steps: []pipeline.StepResult{
			step(pipeline.StepScan, pipeline.StatusWarned, ""), // findings at warnOn: it ran
			step(pipeline.StepSign, pipeline.StatusOK, ""),
		}},
		{Service: "db", Outcome: pipeline.OutcomeFailed, Steps: []pipeline.StepResult{
			step(pipeline.StepScan, pipeline.StatusSkipped, ""),
			step(pipeline.StepSign, pipeline.StatusFailed, "sign refused because scan did not complete"),
		}},
	}}
	if got := release.SignedUnscanned(res); len(got) != 1 || got[0] != "api" {
		t.Fatalf("SignedUnscanned = %v, want [api]", got)
	}
	var table, md bytes.Buffer
	if err := release.WriteTable(&table, res); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(table.String(), "\n"); !strings.Contains(first, "signed without a scan") || !strings.Contains(first, "api") {
		t.Errorf("table's first line %q does not say api was signed without a scan", first)
	}
	if err := release.WriteSummary(&md, res); err != nil {
		t.Fatal(err)
	}
	head := strings.SplitN(md.String(), "\n", 5)
	if !strings.Contains(strings.Join(head, "\n"), "Signed without a scan (softFail): api") {
		t.Errorf("summary's first lines do not say api was signed without a scan:\n%s", md.String())
	}
}
