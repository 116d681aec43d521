package options_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

func scanFlags(t *testing.T, args ...string) *options.Scan {
	t.Helper()
	var s options.Scan
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	s.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestScanConfig(t *testing.T) {
	dir := t.TempDir()
	ignore := filepath.Join(dir, "ignore.yaml")
	rules := "ignore:\n  - id: CVE-1\n    package: golang.org/x/*\n    reason: not reachable\n    expires: 2027-01-31\n  - id: CVE-2\n    reason: accepted\n"
	if err := os.WriteFile(ignore, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	grype := func(fail, warn api.Severity) api.Tool {
		return api.Tool{Name: api.ScannerGrype, Required: new(true), FailOn: fail, WarnOn: warn}
	}
	for _, tt := range []struct {
		name string
		args []string
		want *api.Scan
	}{
		{"defaults", nil, &api.Scan{FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium,
			Tools: []api.Tool{grype(api.SeverityHigh, api.SeverityMedium)}}},
		{"none is no threshold", []string{"--fail-on", "none", "--warn-on", "none"}, &api.Scan{Tools: []api.Tool{grype("", "")}}},
		// --warn-on not given is one step below --fail-on, as a
		// configuration file's warnOn is: a fixed medium would refuse
		// --fail-on low as a warnOn above failOn
		{"warn-on derived below low", []string{"--fail-on", "low"}, &api.Scan{FailOn: api.SeverityLow, WarnOn: api.SeverityNegligible,
			Tools: []api.Tool{grype(api.SeverityLow, api.SeverityNegligible)}}},
		{"warn-on derived below critical", []string{"--fail-on", "critical"}, &api.Scan{FailOn: api.SeverityCritical, WarnOn: api.SeverityHigh,
			Tools: []api.Tool{grype(api.SeverityCritical, api.SeverityHigh)}}},
		{"warn-on derived below negligible", []string{"--fail-on", "negligible"}, &api.Scan{FailOn: api.SeverityNegligible, WarnOn: api.SeverityUnknown,
			Tools: []api.Tool{grype(api.SeverityNegligible, api.SeverityUnknown)}}},
		{"nothing below unknown", []string{"--fail-on", "unknown"}, &api.Scan{FailOn: api.SeverityUnknown, Tools: []api.Tool{grype(api.SeverityUnknown, "")}}},
		{"nothing below none", []string{"--fail-on", "none"}, &api.Scan{Tools: []api.Tool{grype("", "")}}},
		{"warn-on given wins", []string{"--fail-on", "low", "--warn-on", "unknown"}, &api.Scan{FailOn: api.SeverityLow, WarnOn: api.SeverityUnknown,
			Tools: []api.Tool{grype(api.SeverityLow, api.SeverityUnknown)}}},
		{"warn-on none given with a threshold", []string{"--fail-on", "low", "--warn-on", "none"}, &api.Scan{FailOn: api.SeverityLow,
			Tools: []api.Tool{grype(api.SeverityLow, "")}}},
		{"any letter case", []string{"--fail-on", "CRITICAL", "--warn-on", "Low"}, &api.Scan{FailOn: api.SeverityCritical, WarnOn: api.SeverityLow,
			Tools: []api.Tool{grype(api.SeverityCritical, api.SeverityLow)}}},
		{"switches, VEX and ignore file", []string{"--only-fixed", "--soft-fail", "--vex", "a.json", "--vex", "b.json", "--ignore-file", ignore},
			&api.Scan{FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium, OnlyFixed: new(true), SoftFail: new(true),
				VEX: []string{"a.json", "b.json"}, Tools: []api.Tool{grype(api.SeverityHigh, api.SeverityMedium)},
				Ignore: []api.IgnoreRule{
					{ID: "CVE-1", Package: "golang.org/x/*", Reason: "not reachable", Expires: api.NewDate(2027, time.January, 31)},
					{ID: "CVE-2", Reason: "accepted"},
				}}},
		{"trivy alone is required", []string{"--tool", "trivy", "--trivy-path", "/opt/trivy"}, &api.Scan{FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium,
			Tools: []api.Tool{{Name: api.ScannerTrivy, Required: new(true), FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium, Path: "/opt/trivy"}}}},
		{"all: trivy is optional", []string{"--tool", "all"}, &api.Scan{FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium,
			Tools: []api.Tool{grype(api.SeverityHigh, api.SeverityMedium),
				{Name: api.ScannerTrivy, Required: new(false), FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium, Path: "trivy"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := scanFlags(t, tt.args...)
			before := *s
			got, err := s.Config()
			if err != nil {
				t.Fatalf("Config: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b api.Date) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("Config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, *s); diff != "" {
				t.Errorf("Config changed the flags:\n%s", diff)
			}
		})
	}
}

func TestScanConfigErrors(t *testing.T) {
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "ignore.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown severity", []string{"--fail-on", "severe"}, `--fail-on: unknown severity "severe"; valid: critical, high, medium, low, negligible, unknown`},
		{"unknown warn severity", []string{"--warn-on", "HIGHEST"}, "--warn-on"},
		{"unknown tool", []string{"--tool", "snyk"}, "--tool"},
		{"unknown output", []string{"-o", "cyclonedx-xml"}, "--output"},
		{"missing ignore file", []string{"--ignore-file", filepath.Join(t.TempDir(), "none.yaml")}, "--ignore-file"},
		{"unknown field", []string{"--ignore-file", write("ignore:\n  - id: CVE-1\n    reason: r\n    until: 2026-01-01\n")}, "until"},
		{"malformed date", []string{"--ignore-file", write("ignore:\n  - id: CVE-1\n    reason: r\n    expires: 31.01.2027\n")}, "YYYY-MM-DD"},
		{"not YAML", []string{"--ignore-file", write("ignore: [\n")}, "--ignore-file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scanFlags(t, tt.args...).Config()
			if outcome.Code(err) != outcome.ExitInvalid || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Config = %v, want a usage error with %q", err, tt.want)
			}
		})
	}
}
