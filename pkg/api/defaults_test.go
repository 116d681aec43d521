package api_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// TestDefaults pins the documented defaults table (doc.go): a change here
// is a change of behaviour that the README must follow.
func TestDefaults(t *testing.T) {
	want := &api.Security{
		Enabled: new(true),
		Signing: &api.Signing{
			Enabled:    new(false),
			Keyless:    new(false),
			Required:   new(true),
			Verify:     &api.Verify{Enabled: new(true)},
			FulcioURL:  "https://fulcio.sigstore.dev",
			RekorURL:   "https://rekor.sigstore.dev",
			TlogUpload: new(true),
			Format:     api.SignatureBundle,
			Recursive:  new(true),
		},
		SBOM: &api.SBOM{
			Enabled:  new(true),
			Format:   api.SBOMCycloneDXJSON,
			Attach:   new(true),
			Required: new(false),
			Scope:    api.ScopeSquashed,
		},
		Provenance: &api.Provenance{
			Enabled:           new(true),
			Builder:           &api.Builder{},
			IncludeGit:        new(true),
			IncludeDockerfile: new(true),
			Required:          new(false),
		},
		Scan: &api.Scan{
			Enabled:   new(true),
			Tools:     []api.Tool{{Name: api.ScannerGrype, Required: new(false), FailOn: api.SeverityHigh, WarnOn: api.SeverityMedium}},
			FailOn:    api.SeverityHigh,
			WarnOn:    api.SeverityMedium,
			SoftFail:  new(false),
			OnlyFixed: new(false),
			DBMaxAge:  api.Duration(120 * time.Hour),
		},
		Reporting: &api.Reporting{},
	}
	got := api.Defaults()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Defaults() (-want +got):\n%s", diff)
	}
	if !got.Active() || got.SigningEnabled() || got.VerifyEnabled() || !got.SBOMEnabled() || !got.ProvenanceEnabled() || !got.ScanEnabled() {
		t.Error("Defaults: want everything but signing (and so verification) on")
	}
}

func TestWithDefaults(t *testing.T) {
	var absent *api.Security
	if d := absent.WithDefaults(); d.Active() || d.ScanEnabled() || d.SBOMEnabled() || d.ProvenanceEnabled() {
		t.Error("no security block anywhere: want nothing to run")
	}
	if absent.Active() || absent.ScanEnabled() {
		t.Error("nil Security: want inactive")
	}

	in := &api.Security{Signing: &api.Signing{Keyless: new(true)}, Scan: &api.Scan{FailOn: api.SeverityCritical}}
	before := in.Clone()
	out := in.WithDefaults()
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("WithDefaults changed its receiver (-before +after):\n%s", diff)
	}
	if !out.SigningEnabled() || !out.VerifyEnabled() || !out.Signing.IsKeyless() {
		t.Error("a signing block turns signing and verification on")
	}
	*out.Signing.Keyless = false
	if !*in.Signing.Keyless {
		t.Error("WithDefaults shares memory with its receiver")
	}
}

func TestWarnOnDefaults(t *testing.T) {
	tests := []struct {
		scan       api.Scan
		warn       api.Severity
		toolWarn   api.Severity
		toolFailOn api.Severity
	}{
		{scan: api.Scan{}, warn: api.SeverityMedium, toolFailOn: api.SeverityHigh, toolWarn: api.SeverityMedium},
		{scan: api.Scan{FailOn: api.SeverityCritical}, warn: api.SeverityHigh, toolFailOn: api.SeverityCritical, toolWarn: api.SeverityHigh},
		{scan: api.Scan{FailOn: api.SeverityNegligible}, warn: api.SeverityUnknown, toolFailOn: api.SeverityNegligible, toolWarn: api.SeverityUnknown},
		{scan: api.Scan{FailOn: api.SeverityUnknown}, warn: "", toolFailOn: api.SeverityUnknown, toolWarn: ""},
		// A tool stricter than the scan: the scan's warnOn would be at its
		// failOn, so the tool warns one step below its own.
		{scan: api.Scan{Tools: []api.Tool{{Name: api.ScannerTrivy, FailOn: api.SeverityMedium}}},
			warn: api.SeverityMedium, toolFailOn: api.SeverityMedium, toolWarn: api.SeverityLow},
		// A tool laxer than the scan keeps the scan's warnOn.
		{scan: api.Scan{WarnOn: api.SeverityLow, Tools: []api.Tool{{Name: api.ScannerTrivy, FailOn: api.SeverityCritical}}},
			warn: api.SeverityLow, toolFailOn: api.SeverityCritical, toolWarn: api.SeverityLow},
	}
	for _, tt := range tests {
		s := (&api.Security{Scan: &tt.scan}).WithDefaults()
		if s.Scan.WarnOn != tt.warn || s.Scan.Tools[0].FailOn != tt.toolFailOn || s.Scan.Tools[0].WarnOn != tt.toolWarn {
			t.Errorf("scan %+v: got warnOn %q, tool failOn %q warnOn %q; want %q, %q, %q", tt.scan,
				s.Scan.WarnOn, s.Scan.Tools[0].FailOn, s.Scan.Tools[0].WarnOn, tt.warn, tt.toolFailOn, tt.toolWarn)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("defaults of %+v do not validate: %v", tt.scan, err)
		}
	}
}

func TestSecurityValidate(t *testing.T) {
	s := &api.Security{
		Signing: &api.Signing{},
		SBOM:    &api.SBOM{Format: "spdx"},
		Scan:    &api.Scan{FailOn: api.SeverityLow, WarnOn: api.SeverityMedium},
	}
	before := s.Clone()
	err := s.Validate()
	var verr *api.ValidationError
	if !errors.As(err, &verr) || outcome.Code(err) != outcome.ExitInvalid {
		t.Fatalf("Validate = %v, want an invalid-class *ValidationError", err)
	}
	var paths []string
	for _, p := range verr.Problems {
		paths = append(paths, p.Path)
	}
	if diff := cmp.Diff([]string{"sbom.format", "signing", "scan.warnOn"}, paths); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s\n%v", diff, err)
	}
	if diff := cmp.Diff(before, s); diff != "" {
		t.Errorf("Validate changed its receiver:\n%s", diff)
	}
	if err := (*api.Security)(nil).Validate(); err != nil {
		t.Errorf("nil Validate = %v", err)
	}
	if err := api.Defaults().Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v", err)
	}
}

func TestSeverity(t *testing.T) {
	order := []api.Severity{api.SeverityUnknown, api.SeverityNegligible, api.SeverityLow, api.SeverityMedium, api.SeverityHigh, api.SeverityCritical}
	for i, s := range order {
		if s.Rank() != i || !s.Valid() {
			t.Errorf("%s: rank %d valid %v, want %d", s, s.Rank(), s.Valid(), i)
		}
	}
	for _, c := range []struct {
		s, threshold api.Severity
		want         bool
	}{
		{api.SeverityHigh, api.SeverityHigh, true},
		{api.SeverityCritical, api.SeverityHigh, true},
		{api.SeverityMedium, api.SeverityHigh, false},
		{api.SeverityUnknown, api.SeverityUnknown, true},
		{api.SeverityCritical, "", false},
		{"bogus", api.SeverityUnknown, false},
	} {
		if got := c.s.AtLeast(c.threshold); got != c.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", c.s, c.threshold, got, c.want)
		}
	}
	for in, want := range map[string]api.Severity{"Critical": api.SeverityCritical, "HIGH": api.SeverityHigh, " negligible ": api.SeverityNegligible} {
		if got, err := api.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := api.ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity(severe): want an error")
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"120h", 120 * time.Hour, "5d"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"5d", 5 * 24 * time.Hour, "5d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"45s", 45 * time.Second, "45s"},
	} {
		d, err := api.ParseDuration(c.in)
		if err != nil || time.Duration(d) != c.want || d.String() != c.str {
			t.Errorf("ParseDuration(%q) = %v (%q), %v; want %v (%q)", c.in, time.Duration(d), d, err, c.want, c.str)
		}
	}
	for _, bad := range []string{"", "0", "0h", "120", "-5h", "1d-2h", "d", "5 days", "99999d", "1.5d"} {
		if d, err := api.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := api.ParseDate("2025-06-30")
	if err != nil || d.String() != "2025-06-30" || !d.Equal(api.NewDate(2025, time.June, 30)) {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2025, 7, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), false}, // 2025-06-30 23:00 UTC
	} {
		if got := d.Expired(c.now); got != c.want {
			t.Errorf("Expired(%v) = %v, want %v", c.now, got, c.want)
		}
	}
	if (api.Date{}).Expired(time.Now()) {
		t.Error("an unset date expired")
	}
	for _, bad := range []string{"2025-6-30", "2025-02-30", "30/06/2025", "2025-06-30T00:00:00Z", ""} {
		if _, err := api.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q): want an error", bad)
		}
	}
}
