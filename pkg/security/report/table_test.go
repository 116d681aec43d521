package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

func TestWriteTable(t *testing.T) {
	for name, r := range map[string]*scan.Result{"orders.table.txt": ordersResult(), "cart.table.txt": cartResult()} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteTable(&b, r); err != nil {
				t.Fatal(err)
			}
			golden(t, name, b.Bytes())
		})
	}
}

// The verdict line says the thresholds and why the verdict is what it is.
func TestWriteTableVerdict(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    scan.Verdict
		want string
	}{
		{"pass", scan.Verdict{Status: scan.Pass, FailOn: scan.High, WarnOn: scan.Medium}, "Verdict: PASS (fail on high, warn on medium)\n"},
		{"no thresholds", scan.Verdict{Status: scan.Pass}, "Verdict: PASS (fail on none, warn on none)\n"},
		{"warn", scan.Verdict{Status: scan.Warn, FailOn: scan.Critical, WarnOn: scan.High, Warning: []string{"CVE-1", "CVE-2"}, WarningFindings: 2},
			"Verdict: WARN (fail on critical, warn on high): 2 findings at or above high: CVE-1, CVE-2\n"},
		{"fail, only fixed", scan.Verdict{Status: scan.Fail, FailOn: scan.High, OnlyFixed: true, Failing: []string{"CVE-1"}, FailingFindings: 1},
			"Verdict: FAIL (fail on high, warn on none, only fixed): 1 finding at or above high: CVE-1\n"},
		// the unit is the finding, as in the counts line: one ID in three
		// packages is three
		{"one vulnerability in three packages", scan.Verdict{Status: scan.Fail, FailOn: scan.High, Failing: []string{"CVE-1"}, FailingFindings: 3},
			"Verdict: FAIL (fail on high, warn on none): 3 findings at or above high: CVE-1\n"},
		{"made without counts", scan.Verdict{Status: scan.Fail, FailOn: scan.High, Failing: []string{"CVE-1", "CVE-2"}},
			"Verdict: FAIL (fail on high, warn on none): 2 findings at or above high: CVE-1, CVE-2\n"},
		{"soft fail", scan.Verdict{Status: scan.Fail, FailOn: scan.High, SoftFail: true, Failing: []string{"CVE-1"}, FailingFindings: 1},
			"Verdict: FAIL (fail on high, warn on none): 1 finding at or above high: CVE-1 — soft fail: not failing the scan\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteTable(&b, &scan.Result{Image: "registry.example/shop@sha256:0123", Verdict: tt.v}); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); !strings.HasSuffix(got, "\n"+tt.want) || !strings.Contains(got, "No vulnerabilities found.\n") {
				t.Errorf("table:\n%s\nwant it to end with %q", got, tt.want)
			}
		})
	}
}

func TestWriteResultJSON(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteResultJSON(&b, ordersResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "orders.json", b.Bytes())
	if strings.Contains(b.String(), `\u0026`) {
		t.Error("HTML escaping in the JSON: package URLs do not read as they are")
	}
	var got scan.Result
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ordersResult(), &got); diff != "" {
		t.Errorf("the result does not round-trip (-want +got):\n%s", diff)
	}
}

func TestWriteOneResultErrors(t *testing.T) {
	if err := report.WriteTable(&bytes.Buffer{}, nil); !errors.Is(err, report.ErrNoResults) {
		t.Errorf("WriteTable(nil) = %v, want ErrNoResults", err)
	}
	if err := report.WriteResultJSON(&bytes.Buffer{}, nil); !errors.Is(err, report.ErrNoResults) {
		t.Errorf("WriteResultJSON(nil) = %v, want ErrNoResults", err)
	}
	want := errors.New("disk full")
	if err := report.WriteTable(failingWriter{want}, cartResult()); !errors.Is(err, want) {
		t.Errorf("WriteTable to a failing writer = %v", err)
	}
	if err := report.WriteResultJSON(failingWriter{want}, cartResult()); !errors.Is(err, want) {
		t.Errorf("WriteResultJSON to a failing writer = %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// A result whose report was replayed from the cache says so, and when the
// report was made, in the table and the summary.
func TestCachedResultSaysSo(t *testing.T) {
	r := cartResult()
	made := scannedAt.Add(-26 * time.Hour)
	r.ScannedAt, r.Cached = made, true
	r.Scanners[0].ScannedAt, r.Scanners[0].Cached = made, true
	var table, summary bytes.Buffer
	if err := report.WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteSummary(&summary, []*scan.Result{r}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Scanned:  2026-11-19T08:00:00Z (a report from the cache", "grype v0.121.2, report from the cache of 2026-11-19T08:00:00Z"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if want := "scanned 2026-11-19 08:00 UTC (a report from the cache)"; !strings.Contains(summary.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, summary.String())
	}
}
