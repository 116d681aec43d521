package scan

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// DateLayout is the layout of IgnoreRule.Expires: a calendar day, YYYY-MM-DD.
const DateLayout = "2006-01-02"

// Policy decides which findings are accepted and whether a scan fails. The
// zero Policy fails and warns on nothing and accepts every finding as it is;
// DefaultPolicy is sc's default.
type Policy struct {
	// FailOn fails the scan on a finding at or above this severity. ""
	// never fails.
	FailOn Severity
	// WarnOn makes the verdict "warn" on a finding at or above this
	// severity (and below FailOn). "" never warns.
	WarnOn Severity
	// Scanners replaces FailOn and WarnOn for the findings of one scanner,
	// by scanner name. A finding several scanners report meets a threshold
	// when any of them does under its own thresholds.
	Scanners map[string]Thresholds
	// SoftFail reports a fail verdict without failing: Result.Err is nil.
	SoftFail bool
	// OnlyFixed sets aside findings that have no fix.
	OnlyFixed bool
	// Ignore lists accepted findings.
	Ignore []IgnoreRule
	// VEX are OpenVEX documents whose not_affected and fixed statements
	// set findings aside.
	VEX []*VEX
}

// DefaultPolicy is sc's default: fail on high and critical, warn on medium.
func DefaultPolicy() Policy {
	return Policy{FailOn: High, WarnOn: Medium}
}

// CanFail reports whether a scan under p can fail: it has a FailOn, its own
// or a scanner's. Soft-fail does not change the answer.
func (p Policy) CanFail() bool {
	if p.FailOn != "" {
		return true
	}
	for _, t := range p.Scanners {
		if t.FailOn != "" {
			return true
		}
	}
	return false
}

// Thresholds are the severities at which one scanner's findings fail and
// warn; "" for none.
type Thresholds struct {
	// FailOn fails on a finding at or above it.
	FailOn Severity `json:"failOn,omitempty"`
	// WarnOn warns on a finding at or above it.
	WarnOn Severity `json:"warnOn,omitempty"`
}

// IgnoreRule accepts the findings of one vulnerability.
type IgnoreRule struct {
	// ID is the vulnerability (CVE-…, GHSA-…), or one of its aliases; any
	// letter case.
	ID string `json:"id"`
	// Package limits the rule to packages whose name matches this glob
	// (path.Match syntax: *, ?, [a-z]). "" matches every package.
	Package string `json:"package,omitempty"`
	// Reason says why the finding is accepted. Required.
	Reason string `json:"reason"`
	// Expires is the last day the rule applies, YYYY-MM-DD in UTC; from the
	// next day on it no longer applies, and the result says so. "" never
	// expires.
	Expires string `json:"expires,omitempty"`
}

// expired reports whether the rule no longer applies at now. The rule must
// be valid.
func (r *IgnoreRule) expired(now time.Time) bool {
	if r.Expires == "" {
		return false
	}
	d, err := time.Parse(DateLayout, r.Expires)
	if err != nil {
		return true
	}
	return !now.UTC().Before(d.AddDate(0, 0, 1))
}

// matches reports whether the rule names m, ignoring expiry.
func (r *IgnoreRule) matches(m *Match) bool {
	if !m.hasIdentity(r.ID) {
		return false
	}
	if r.Package == "" {
		return true
	}
	ok, err := path.Match(r.Package, m.Package.Name)
	return err == nil && ok
}

// Validate reports whether the rule is usable, without changing it.
func (r *IgnoreRule) Validate() error {
	var errs []error
	if strings.TrimSpace(r.ID) == "" {
		errs = append(errs, errors.New("no vulnerability id"))
	}
	if strings.TrimSpace(r.Reason) == "" {
		errs = append(errs, errors.New("no reason: every ignore rule needs one"))
	}
	if r.Package != "" {
		if _, err := path.Match(r.Package, ""); err != nil {
			errs = append(errs, fmt.Errorf("package glob %q: %w", r.Package, err))
		}
	}
	if r.Expires != "" {
		if _, err := time.Parse(DateLayout, r.Expires); err != nil {
			errs = append(errs, fmt.Errorf("expires %q is not a date YYYY-MM-DD", r.Expires))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ignore rule %q: %w", r.ID, errors.Join(errs...))
	}
	return nil
}

// Validate reports whether the policy is usable, without changing it: known
// severities, warnOn not above failOn, valid ignore rules. Errors are
// ErrInvalidPolicy.
func (p *Policy) Validate() error {
	var errs []error
	check := func(scope string, t Thresholds) {
		for _, s := range []Severity{t.FailOn, t.WarnOn} {
			if s != "" && s.Rank() < 0 {
				errs = append(errs, fmt.Errorf("%s: %w %q", scope, ErrUnknownSeverity, s))
			}
		}
		if t.FailOn != "" && t.WarnOn != "" && t.WarnOn.Rank() > t.FailOn.Rank() {
			errs = append(errs, fmt.Errorf("%s: warnOn %s is above failOn %s and could never apply", scope, t.WarnOn, t.FailOn))
		}
	}
	check("policy", Thresholds{FailOn: p.FailOn, WarnOn: p.WarnOn})
	names := make([]string, 0, len(p.Scanners))
	for n := range p.Scanners {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		check("scanner "+n, p.Scanners[n])
	}
	for i := range p.Ignore {
		if err := p.Ignore[i].Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, v := range p.VEX {
		if v == nil {
			errs = append(errs, fmt.Errorf("VEX document %d is nil", i))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, errors.Join(errs...))
	}
	return nil
}

// thresholds returns the thresholds that apply to a finding by scanner.
func (p *Policy) thresholds(scanner string) Thresholds {
	if t, ok := p.Scanners[scanner]; ok {
		return t
	}
	return Thresholds{FailOn: p.FailOn, WarnOn: p.WarnOn}
}

// Evaluate merges the reports of the scanners that ran on image
// ("registry/repo@sha256:…") and applies the policy at time now (for ignore
// rules' expiry). It does no I/O and always returns a result; a fail verdict
// shows in Result.Err. The policy should have been validated: an ignore rule
// with an unreadable date counts as expired.
//
// The policy applies in this order, and a finding set aside records the
// first that applied: VEX statements (not_affected, fixed), ignore rules
// (expired ones are skipped and reported as notices, with the findings they
// would have covered), onlyFixed.
func Evaluate(image string, reports []*Report, p Policy, now time.Time) *Result {
	now = now.UTC().Truncate(time.Second)
	res := &Result{
		SchemaVersion: SchemaVersion,
		Image:         image,
		ScannedAt:     now,
		Scanners:      []ScannerInfo{},
		Matches:       []Match{},
		Ignored:       []IgnoredMatch{},
		Notices:       []Notice{},
	}
	if _, d, ok := strings.Cut(image, "@"); ok {
		res.Digest = d
	}
	for _, r := range reports {
		if r == nil {
			continue
		}
		res.Scanners = append(res.Scanners, r.Scanner)
		res.Notices = append(res.Notices, r.Notices...)
		res.Cached = res.Cached || r.Scanner.Cached
		// findings replayed from a cache are as old as their report
		if t := r.Scanner.ScannedAt.UTC().Truncate(time.Second); !t.IsZero() && t.Before(res.ScannedAt) {
			res.ScannedAt = t
		}
	}

	products := imageProducts(image)
	expiredHits := make([][]string, len(p.Ignore))
	for _, m := range Merge(reports...) {
		stmt := lookupVEX(p.VEX, products, &m)
		if stmt != nil && stmt.suppresses() {
			res.Ignored = append(res.Ignored, IgnoredMatch{Match: m, SuppressedBy: Suppression{
				Kind: SuppressedByVEX, Reason: stmt.reason(), VEX: stmt,
			}})
			continue
		}
		m.VEX = stmt
		if rule := applicableRule(p.Ignore, &m, now, expiredHits); rule != nil {
			r := *rule
			res.Ignored = append(res.Ignored, IgnoredMatch{Match: m, SuppressedBy: Suppression{
				Kind: SuppressedByRule, Reason: r.Reason, Rule: &r,
			}})
			continue
		}
		if p.OnlyFixed && m.Fix.State != FixStateFixed {
			res.Ignored = append(res.Ignored, IgnoredMatch{Match: m, SuppressedBy: Suppression{
				Kind: SuppressedByOnlyFixed, Reason: "no fix available (onlyFixed)",
			}})
			continue
		}
		res.Matches = append(res.Matches, m)
	}
	for i := range p.Ignore {
		r := p.Ignore[i]
		if !r.expired(now) {
			continue
		}
		msg := fmt.Sprintf("ignore rule for %s expired on %s (reason was: %s) and no longer applies", r.ID, r.Expires, r.Reason)
		if n := len(expiredHits[i]); n > 0 {
			msg += fmt.Sprintf("; it would have set aside %d finding(s)", n)
		}
		res.Notices = append(res.Notices, Notice{Kind: NoticeExpiredRule, Message: msg, Rule: &r, IDs: expiredHits[i]})
	}

	for _, m := range res.Matches {
		res.Counts.add(m.Severity)
	}
	res.Counts.Ignored = len(res.Ignored)
	res.Verdict = verdict(&p, res.Matches)
	return res
}

// applicableRule returns the first unexpired rule that matches m, and notes
// in expiredHits which expired rules would have.
func applicableRule(rules []IgnoreRule, m *Match, now time.Time, expiredHits [][]string) *IgnoreRule {
	for i := range rules {
		r := &rules[i]
		if !r.matches(m) {
			continue
		}
		if r.expired(now) {
			expiredHits[i] = appendNew(expiredHits[i], m.ID)
			continue
		}
		return r
	}
	return nil
}

// verdict decides pass, warn or fail over the counted findings.
func verdict(p *Policy, ms []Match) Verdict {
	v := Verdict{
		Status:    Pass,
		FailOn:    p.FailOn,
		WarnOn:    p.WarnOn,
		OnlyFixed: p.OnlyFixed,
		SoftFail:  p.SoftFail,
		Failing:   []string{},
		Warning:   []string{},
	}
	if len(p.Scanners) > 0 {
		v.Scanners = make(map[string]Thresholds, len(p.Scanners))
		for k, t := range p.Scanners {
			v.Scanners[k] = t
		}
	}
	for i := range ms {
		m := &ms[i]
		fail, warn := false, false
		for _, s := range m.FoundBy {
			t := p.thresholds(s)
			fail = fail || m.Severity.AtLeast(t.FailOn)
			warn = warn || m.Severity.AtLeast(t.WarnOn)
		}
		if len(m.FoundBy) == 0 {
			fail = m.Severity.AtLeast(p.FailOn)
			warn = m.Severity.AtLeast(p.WarnOn)
		}
		switch {
		case fail:
			v.Failing = appendNew(v.Failing, m.ID)
			v.FailingFindings++
		case warn:
			v.Warning = appendNew(v.Warning, m.ID)
			v.WarningFindings++
		}
	}
	// an ID failing in one package and only warning in another is failing
	v.Warning = slices.DeleteFunc(v.Warning, func(id string) bool { return slices.Contains(v.Failing, id) })
	slices.Sort(v.Failing)
	slices.Sort(v.Warning)
	switch {
	case len(v.Failing) > 0:
		v.Status = Fail
	case len(v.Warning) > 0:
		v.Status = Warn
	}
	return v
}
