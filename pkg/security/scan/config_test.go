package scan_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

const openVEX = `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.invalid/vex/1","author":"t",
"timestamp":"2026-11-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"CVE-2099-0001"},
"products":[{"@id":"pkg:deb/debian/openssl"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`

func TestPolicyFrom(t *testing.T) {
	yes := true
	files := map[string]string{"doc.openvex.json": openVEX, "bad.json": `{"@context":"https://example.invalid"}`}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	for _, tt := range []struct {
		name    string
		cfg     api.Scan
		want    scan.Policy
		wantVEX int
		wantErr error // nil for success
		errText string
	}{
		{name: "empty block: no threshold", cfg: api.Scan{}, want: scan.Policy{}},
		{
			name: "thresholds and switches",
			cfg:  api.Scan{FailOn: api.SeverityCritical, WarnOn: api.SeverityLow, SoftFail: &yes, OnlyFixed: &yes},
			want: scan.Policy{FailOn: scan.Critical, WarnOn: scan.Low, SoftFail: true, OnlyFixed: true},
		},
		{
			name: "a scanner with its own thresholds",
			cfg: api.Scan{FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium, Tools: []api.Tool{
				{Name: api.ScannerGrype, FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium},
				{Name: api.ScannerTrivy, FailOn: api.SeverityCritical},
			}},
			want: scan.Policy{FailOn: scan.High, WarnOn: scan.Medium, Scanners: map[string]scan.Thresholds{"trivy": {FailOn: scan.Critical}}},
		},
		{
			name: "ignore rules",
			cfg: api.Scan{Ignore: []api.IgnoreRule{
				{ID: "CVE-1", Package: "openssl*", Reason: "not reachable", Expires: api.NewDate(2027, time.January, 31)},
				{ID: "CVE-2", Reason: "accepted"},
			}},
			want: scan.Policy{Ignore: []scan.IgnoreRule{
				{ID: "CVE-1", Package: "openssl*", Reason: "not reachable", Expires: "2027-01-31"},
				{ID: "CVE-2", Reason: "accepted"},
			}},
		},
		{name: "a VEX document", cfg: api.Scan{VEX: []string{"doc.openvex.json"}}, want: scan.Policy{}, wantVEX: 1},
		{name: "a VEX document that cannot be read", cfg: api.Scan{VEX: []string{"missing.json"}}, wantErr: outcome.ErrInvalid, errText: "vex: reading missing.json"},
		{name: "a document that is not OpenVEX", cfg: api.Scan{VEX: []string{"bad.json"}}, wantErr: scan.ErrMalformedVEX, errText: "bad.json"},
		{name: "warnOn above failOn", cfg: api.Scan{FailOn: api.SeverityMedium, WarnOn: api.SeverityHigh}, wantErr: scan.ErrInvalidPolicy, errText: "above failOn"},
		{name: "an ignore rule without a reason", cfg: api.Scan{Ignore: []api.IgnoreRule{{ID: "CVE-1"}}}, wantErr: scan.ErrInvalidPolicy, errText: "no reason"},
		{name: "an unknown severity", cfg: api.Scan{FailOn: "severe"}, wantErr: scan.ErrUnknownSeverity, errText: "severe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scan.PolicyFrom(&tt.cfg, readFile)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("PolicyFrom = %v, want %v (exit 2) about %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("PolicyFrom: %v", err)
			}
			if len(got.VEX) != tt.wantVEX {
				t.Errorf("%d VEX documents, want %d", len(got.VEX), tt.wantVEX)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(scan.Policy{}, "VEX")); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
		})
	}
}

// Without a readFile, VEX paths are read from the file system as they are.
func TestPolicyFromReadsFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.openvex.json")
	if err := os.WriteFile(path, []byte(openVEX), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := scan.PolicyFrom(&api.Scan{VEX: []string{path}}, nil)
	if err != nil || len(p.VEX) != 1 {
		t.Fatalf("PolicyFrom = %d documents, %v; want the file read", len(p.VEX), err)
	}
	// the document suppresses the finding it names
	res := scan.Evaluate("registry.example/shop@sha256:0123", []*scan.Report{{
		Scanner: scan.ScannerInfo{Name: "grype"},
		Matches: []scan.Match{match("CVE-2099-0001", scan.High, "openssl", "3.0.11")},
	}}, p, now)
	if len(res.Ignored) != 1 || res.Ignored[0].SuppressedBy.Kind != scan.SuppressedByVEX {
		t.Errorf("ignored = %+v, want the finding set aside by the VEX document", res.Ignored)
	}
}
