package scan_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func match(id string, sev scan.Severity, pkg, version string, fix ...string) scan.Match {
	m := scan.Match{
		ID: id, Severity: sev,
		Package: scan.Package{Name: pkg, Version: version, Type: "deb", PURL: "pkg:deb/debian/" + pkg + "@" + version + "?arch=amd64&distro=debian-12"},
		Fix:     scan.Fix{State: scan.FixStateNotFixed},
	}
	if len(fix) > 0 {
		m.Fix = scan.Fix{State: scan.FixStateFixed, Versions: fix}
	}
	return m
}

// findings is a grype report with one finding of each severity.
func findings() *scan.Report {
	return &scan.Report{
		Scanner: scan.ScannerInfo{Name: "grype", Version: "v0.121.2"},
		Matches: []scan.Match{
			match("CVE-2099-0001", scan.Critical, "libssl3", "3.0.11-1~deb12u2", "3.0.11-1~deb12u3"),
			match("CVE-2099-0002", scan.High, "openssl", "3.0.11-1~deb12u2"),
			match("CVE-2099-0003", scan.Medium, "zlib1g", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-2"),
			match("CVE-2099-0004", scan.Low, "curl", "7.88.1-10+deb12u5"),
			match("CVE-2099-0005", scan.Negligible, "libc6", "2.36-9+deb12u4"),
			match("CVE-2099-0006", scan.Unknown, "tar", "1.34+dfsg-1.2+deb12u1"),
		},
	}
}

func ids(ms []scan.Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func ignoredIDs(ms []scan.IgnoredMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID+":"+string(m.SuppressedBy.Kind))
	}
	return out
}

func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		name           string
		failOn, warnOn scan.Severity
		status         scan.VerdictStatus
		failing        []string
		warning        []string
	}{
		{"defaults", scan.High, scan.Medium, scan.Fail, []string{"CVE-2099-0001", "CVE-2099-0002"}, []string{"CVE-2099-0003"}},
		{"fail on critical", scan.Critical, scan.Low, scan.Fail, []string{"CVE-2099-0001"}, []string{"CVE-2099-0002", "CVE-2099-0003", "CVE-2099-0004"}},
		{"fail on unknown fails on all", scan.Unknown, "", scan.Fail,
			[]string{"CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003", "CVE-2099-0004", "CVE-2099-0005", "CVE-2099-0006"}, []string{}},
		{"warn only", "", scan.Negligible, scan.Warn, []string{},
			[]string{"CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003", "CVE-2099-0004", "CVE-2099-0005"}},
		{"nothing", "", "", scan.Pass, []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := scan.Policy{FailOn: tc.failOn, WarnOn: tc.warnOn}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			res := scan.Evaluate(image, []*scan.Report{findings()}, p, now)
			v := res.Verdict
			if v.Status != tc.status || !slices.Equal(v.Failing, tc.failing) || !slices.Equal(v.Warning, tc.warning) {
				t.Errorf("verdict = %s failing %v warning %v; want %s failing %v warning %v",
					v.Status, v.Failing, v.Warning, tc.status, tc.failing, tc.warning)
			}
			err := res.Err()
			var pe *scan.PolicyError
			if tc.status == scan.Fail {
				if !errors.As(err, &pe) || !errors.Is(err, scan.ErrPolicyViolation) || outcome.Code(err) != outcome.ExitCheckFailed {
					t.Errorf("Err = %v, want a *PolicyError, exit 1", err)
				} else if !slices.Equal(pe.IDs, tc.failing) || !strings.Contains(err.Error(), image) {
					t.Errorf("PolicyError = %v", err)
				}
			} else if err != nil {
				t.Errorf("Err = %v, want nil", err)
			}
		})
	}
}

// The verdict counts findings, the unit of Counts: a vulnerability in two
// packages is one failing ID and two failing findings, and the error says
// so in that unit.
func TestVerdictCountsFindings(t *testing.T) {
	r := findings()
	r.Matches = append(r.Matches, match("CVE-2099-0001", scan.High, "libssl-dev", "3.0.11-1~deb12u2"),
		match("CVE-2099-0003", scan.Medium, "zlib1g-dev", "1:1.2.13.dfsg-1"))
	res := scan.Evaluate(image, []*scan.Report{r}, scan.DefaultPolicy(), now)
	v := res.Verdict
	if !slices.Equal(v.Failing, []string{"CVE-2099-0001", "CVE-2099-0002"}) || v.FailingFindings != 3 || v.WarningFindings != 2 {
		t.Errorf("verdict failing %v (%d findings), warning %v (%d findings); want 2 IDs in 3 findings, 2 warning findings",
			v.Failing, v.FailingFindings, v.Warning, v.WarningFindings)
	}
	if res.Counts.High+res.Counts.Critical != v.FailingFindings {
		t.Errorf("counts %+v and failing findings %d are not in one unit", res.Counts, v.FailingFindings)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "3 findings at or above high, of 2 vulnerabilities: CVE-2099-0001, CVE-2099-0002") {
		t.Errorf("Err = %v, want the findings counted", err)
	}
}

func TestSoftFail(t *testing.T) {
	p := scan.DefaultPolicy()
	p.SoftFail = true
	res := scan.Evaluate(image, []*scan.Report{findings()}, p, now)
	if res.Verdict.Status != scan.Fail || !res.Verdict.SoftFail || len(res.Verdict.Failing) != 2 {
		t.Errorf("verdict = %+v, want fail, soft, with the failing IDs reported", res.Verdict)
	}
	if err := res.Err(); err != nil {
		t.Errorf("Err = %v, want nil: softFail never fails", err)
	}
}

func TestOnlyFixed(t *testing.T) {
	p := scan.DefaultPolicy()
	p.OnlyFixed = true
	res := scan.Evaluate(image, []*scan.Report{findings()}, p, now)
	if got, want := ids(res.Matches), []string{"CVE-2099-0001", "CVE-2099-0003"}; !slices.Equal(got, want) {
		t.Errorf("matches = %v, want only the fixed ones %v", got, want)
	}
	if len(res.Ignored) != 4 || res.Ignored[0].SuppressedBy.Kind != scan.SuppressedByOnlyFixed {
		t.Errorf("ignored = %v, want the 4 unfixed, set aside by onlyFixed", ignoredIDs(res.Ignored))
	}
	if !slices.Equal(res.Verdict.Failing, []string{"CVE-2099-0001"}) || !res.Verdict.OnlyFixed {
		t.Errorf("verdict = %+v, want only CVE-2099-0001 failing", res.Verdict)
	}
	if res.Counts.Total != 2 || res.Counts.Critical != 1 || res.Counts.Medium != 1 || res.Counts.Ignored != 4 {
		t.Errorf("counts = %+v", res.Counts)
	}
}

func TestIgnoreRules(t *testing.T) {
	r := &scan.Report{
		Scanner: scan.ScannerInfo{Name: "grype"},
		Matches: []scan.Match{
			match("CVE-2099-0001", scan.Critical, "libssl3", "3.0.11-1~deb12u2"),
			match("CVE-2099-0001", scan.Critical, "openssl", "3.0.11-1~deb12u2"),
			func() scan.Match {
				m := match("GHSA-2099-aaaa-0001", scan.High, "lodash", "4.17.20")
				m.Aliases = []string{"CVE-2099-1001"}
				return m
			}(),
			match("CVE-2099-0007", scan.High, "libc6", "2.36-9+deb12u4"),
		},
	}
	p := scan.DefaultPolicy()
	p.Ignore = []scan.IgnoreRule{
		{ID: "cve-2099-0001", Package: "libssl*", Reason: "not reachable: TLS is terminated by the proxy"},
		{ID: "CVE-2099-1001", Reason: "alias rule", Expires: "2026-11-20"},                           // last day: still applies
		{ID: "CVE-2099-0007", Reason: "accepted until the base image update", Expires: "2026-11-19"}, // expired yesterday
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	res := scan.Evaluate(image, []*scan.Report{r}, p, now)
	if got, want := ignoredIDs(res.Ignored), []string{"CVE-2099-0001:ignore-rule", "CVE-2099-1001:ignore-rule"}; !slices.Equal(got, want) {
		t.Errorf("ignored = %v, want %v", got, want)
	}
	if got := res.Ignored[0]; got.Package.Name != "libssl3" || got.SuppressedBy.Rule == nil || got.SuppressedBy.Reason != p.Ignore[0].Reason {
		t.Errorf("ignored[0] = %+v, want libssl3 with the rule and its reason", got)
	}
	if got, want := res.Matches, 2; len(got) != want {
		t.Errorf("matches = %v, want openssl (outside the glob) and libc6 (rule expired)", ids(got))
	}
	if !slices.Equal(res.Verdict.Failing, []string{"CVE-2099-0001", "CVE-2099-0007"}) {
		t.Errorf("failing = %v", res.Verdict.Failing)
	}
	want := []scan.Notice{{
		Kind:    scan.NoticeExpiredRule,
		Message: "ignore rule for CVE-2099-0007 expired on 2026-11-19 (reason was: accepted until the base image update) and no longer applies; it would have set aside 1 finding(s)",
		Rule:    &p.Ignore[2],
		IDs:     []string{"CVE-2099-0007"},
	}}
	if diff := cmp.Diff(want, res.Notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    scan.Policy
		want string
	}{
		{"unknown severity", scan.Policy{FailOn: "severe"}, `unknown severity "severe"`},
		{"warnOn above failOn", scan.Policy{FailOn: scan.Medium, WarnOn: scan.High}, "warnOn high is above failOn medium"},
		{"scanner threshold", scan.Policy{Scanners: map[string]scan.Thresholds{"trivy": {FailOn: "HIGH"}}}, `scanner trivy: unknown severity "HIGH"`},
		{"no reason", scan.Policy{Ignore: []scan.IgnoreRule{{ID: "CVE-1"}}}, "no reason"},
		{"no id", scan.Policy{Ignore: []scan.IgnoreRule{{Reason: "r"}}}, "no vulnerability id"},
		{"bad date", scan.Policy{Ignore: []scan.IgnoreRule{{ID: "CVE-1", Reason: "r", Expires: "20/11/2026"}}}, "not a date"},
		{"bad glob", scan.Policy{Ignore: []scan.IgnoreRule{{ID: "CVE-1", Reason: "r", Package: "lib[ssl"}}}, "package glob"},
		{"nil VEX", scan.Policy{VEX: []*scan.VEX{nil}}, "VEX document 0 is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if !errors.Is(err, scan.ErrInvalidPolicy) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want ErrInvalidPolicy (exit 2) saying %q", err, tc.want)
			}
		})
	}
	p := scan.DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
}

func TestPerScannerThresholds(t *testing.T) {
	g := &scan.Report{Scanner: scan.ScannerInfo{Name: "grype"}, Matches: []scan.Match{match("CVE-2099-0002", scan.High, "openssl", "1")}}
	tr := &scan.Report{Scanner: scan.ScannerInfo{Name: "trivy"}, Matches: []scan.Match{match("CVE-2099-0009", scan.High, "bash", "5")}}
	p := scan.DefaultPolicy()
	p.Scanners = map[string]scan.Thresholds{"trivy": {FailOn: scan.Critical, WarnOn: scan.High}}
	res := scan.Evaluate(image, []*scan.Report{g, tr}, p, now)
	if !slices.Equal(res.Verdict.Failing, []string{"CVE-2099-0002"}) || !slices.Equal(res.Verdict.Warning, []string{"CVE-2099-0009"}) {
		t.Errorf("verdict = %+v, want grype's high failing and trivy's only warning", res.Verdict)
	}
}

func TestSeverity(t *testing.T) {
	for _, s := range []string{"Critical", "HIGH", " medium ", "low", "Negligible", "UNKNOWN"} {
		if _, err := scan.ParseSeverity(s); err != nil {
			t.Errorf("ParseSeverity(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "severe", "none"} {
		if _, err := scan.ParseSeverity(s); !errors.Is(err, scan.ErrUnknownSeverity) {
			t.Errorf("ParseSeverity(%q) = %v, want ErrUnknownSeverity", s, err)
		}
	}
	if !scan.Critical.AtLeast(scan.High) || scan.Medium.AtLeast(scan.High) || scan.Critical.AtLeast("") {
		t.Error("AtLeast is wrong")
	}
}

func TestPolicyCanFail(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    scan.Policy
		want bool
	}{
		{"zero policy", scan.Policy{}, false},
		{"default", scan.DefaultPolicy(), true},
		{"soft fail still has a failOn", scan.Policy{FailOn: scan.Critical, SoftFail: true}, true},
		{"warn only", scan.Policy{WarnOn: scan.Low}, false},
		{"one scanner fails", scan.Policy{Scanners: map[string]scan.Thresholds{"trivy": {FailOn: scan.High}}}, true},
	} {
		if got := tt.p.CanFail(); got != tt.want {
			t.Errorf("%s: CanFail() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
