package scan_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

// fakeScanner is a scanner that returns a fixed report or error.
type fakeScanner struct {
	name   string
	report *scan.Report
	err    error
}

func (f *fakeScanner) Name() string { return f.name }

func (f *fakeScanner) Scan(context.Context, string, scan.SBOM) (*scan.Report, error) {
	return f.report, f.err
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	clock := scan.WithClock(func() time.Time { return now })
	grype := &fakeScanner{name: "grype", report: findings()}
	broken := &fakeScanner{name: "broken", err: scan.ErrScannerFailed}
	noTrivy := scan.NewTrivy(t.TempDir(), scan.WithTrivyPath(filepath.Join(t.TempDir(), "trivy")))

	t.Run("optional scanner missing", func(t *testing.T) {
		res, err := scan.Run(ctx, image, cdx(`{}`), []scan.Tool{{Scanner: grype, Required: true}, {Scanner: noTrivy}}, scan.DefaultPolicy(), clock)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if len(res.Scanners) != 1 || res.Scanners[0].Name != "grype" || len(res.Matches) != 6 {
			t.Errorf("result: scanners %+v, %d matches; want grype's 6", res.Scanners, len(res.Matches))
		}
		if len(res.Notices) != 1 || res.Notices[0].Kind != scan.NoticeScannerFailed || res.Notices[0].Scanner != "trivy" ||
			!strings.Contains(res.Notices[0].Message, "not found") {
			t.Errorf("notices = %+v, want one saying trivy was not found", res.Notices)
		}
		if res.Digest != "sha256:749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d" || !res.ScannedAt.Equal(now) {
			t.Errorf("digest %q, scannedAt %s", res.Digest, res.ScannedAt)
		}
	})
	t.Run("required scanner missing", func(t *testing.T) {
		_, err := scan.Run(ctx, image, cdx(`{}`), []scan.Tool{{Scanner: grype}, {Scanner: noTrivy, Required: true}}, scan.DefaultPolicy(), clock)
		if !errors.Is(err, scan.ErrScannerNotFound) || outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), image) {
			t.Errorf("Run = %v, want ErrScannerNotFound naming the image, exit 3", err)
		}
	})
	t.Run("every scanner failed", func(t *testing.T) {
		_, err := scan.Run(ctx, image, cdx(`{}`), []scan.Tool{{Scanner: broken}, {Scanner: noTrivy}}, scan.DefaultPolicy(), clock)
		if !errors.Is(err, scan.ErrScannerFailed) || outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("Run = %v, want ErrScannerFailed, exit 3", err)
		}
	})
	t.Run("no scanners", func(t *testing.T) {
		_, err := scan.Run(ctx, image, cdx(`{}`), nil, scan.DefaultPolicy())
		if !errors.Is(err, scan.ErrNoScanners) || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Run = %v, want ErrNoScanners, exit 2", err)
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		_, err := scan.Run(ctx, image, cdx(`{}`), []scan.Tool{{Scanner: grype}}, scan.Policy{FailOn: "severe"})
		if outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Run = %v, want exit 2", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := scan.Run(cctx, image, cdx(`{}`), []scan.Tool{{Scanner: grype}}, scan.DefaultPolicy())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// TestResultJSON pins the JSON form of a result (the schema in the package
// comment) with a golden file.
func TestResultJSON(t *testing.T) {
	doc, err := scan.LoadVEX(filepath.Join("testdata", "vex", "fixture.openvex.json"))
	if err != nil {
		t.Fatal(err)
	}
	trivy, err := scan.ParseTrivyReport(readTestdata(t, "trivy-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := scan.DefaultPolicy()
	p.VEX = []*scan.VEX{doc}
	p.Ignore = []scan.IgnoreRule{
		{ID: "CVE-2099-0004", Package: "curl", Reason: "curl is not used at run time"},
		{ID: "CVE-2099-3001", Reason: "accepted for one release", Expires: "2026-11-01"},
	}
	built := time.Date(2026, 11, 19, 6, 0, 0, 0, time.UTC)
	res := scan.Evaluate(image, []*scan.Report{
		{Scanner: scan.ScannerInfo{Name: "grype", Version: "v0.121.2", DB: &scan.DBInfo{Built: built, Schema: "6.1.10", Source: "manual import"}}, Matches: findings().Matches},
		{Scanner: scan.ScannerInfo{Name: "trivy", Version: "0.74.0", DB: &scan.DBInfo{Built: built, Schema: "2", Source: "trivy-db"}}, Matches: trivy},
	}, p, now)
	golden(t, "result.golden.json", res)
}
