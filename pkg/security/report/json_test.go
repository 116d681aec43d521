package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

func TestWriteJSON(t *testing.T) {
	results := []*scan.Result{ordersResult(), cartResult()}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, results); err != nil {
		t.Fatal(err)
	}
	golden(t, "release.json", b.Bytes())
	var doc report.Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != scan.SchemaVersion || doc.Verdict != scan.Fail {
		t.Errorf("schemaVersion %q, verdict %q", doc.SchemaVersion, doc.Verdict)
	}
	if diff := cmp.Diff(results, doc.Results); diff != "" {
		t.Errorf("results do not round-trip (-want +got):\n%s", diff)
	}
	if err := report.WriteJSON(&bytes.Buffer{}, nil); !errors.Is(err, report.ErrNoResults) {
		t.Errorf("WriteJSON of nothing = %v", err)
	}
}

func TestWorst(t *testing.T) {
	res := func(s scan.VerdictStatus) *scan.Result { return &scan.Result{Verdict: scan.Verdict{Status: s}} }
	for _, tt := range []struct {
		in   []*scan.Result
		want scan.VerdictStatus
	}{
		{[]*scan.Result{res(scan.Pass)}, scan.Pass},
		{[]*scan.Result{res(scan.Pass), res(scan.Warn)}, scan.Warn},
		{[]*scan.Result{res(scan.Warn), res(scan.Fail), res(scan.Pass)}, scan.Fail},
		{[]*scan.Result{nil, res(scan.Warn)}, scan.Warn},
	} {
		if got := report.Worst(tt.in); got != tt.want {
			t.Errorf("Worst = %s, want %s", got, tt.want)
		}
	}
}
