package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/scan"
)

// Names sc gives things in SARIF.
const (
	// SARIFToolName is the name of every run's tool driver.
	SARIFToolName = "sc"
	// SARIFCategoryPrefix starts every run's category
	// (runAutomationDetails.id "sc/<repository>/").
	SARIFCategoryPrefix = "sc/"
	// FingerprintKey is sc's partial fingerprint of a result: the image
	// repository, the vulnerability, the package (type, name, version) and
	// its primary location, hashed. It is also given as
	// primaryLocationLineHash, the one GitHub reads.
	FingerprintKey = "scFinding/v1"
	// maxLocations is how many locations of a result GitHub shows.
	maxLocations = 100
)

// WriteSARIF writes results as a SARIF 2.1.0 log for GitHub code scanning
// (and DefectDojo's SARIF parser): one run per image, in the order given.
// See the package comment for the layout. Options: WithToolVersion,
// WithInformationURI.
//
// Errors: ErrNoResults; ErrTooManyImages beyond MaxSARIFRuns images; the
// writer's error.
func WriteSARIF(w io.Writer, results []*scan.Result, opts ...Option) error {
	log, err := SARIF(results, opts...)
	if err != nil {
		return err
	}
	// go-sarif's own writers escape HTML (package URLs would read
	// "\u0026"); the structure is go-sarif's either way
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("encoding SARIF: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// SARIF builds the SARIF log that WriteSARIF writes.
func SARIF(results []*scan.Result, opts ...Option) (*sarif.Report, error) {
	if err := check(results); err != nil {
		return nil, err
	}
	if len(results) > MaxSARIFRuns {
		return nil, fmt.Errorf("%w: %d images, GitHub accepts at most %d runs in a file", ErrTooManyImages, len(results), MaxSARIFRuns)
	}
	c := newConfig(opts)
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, fmt.Errorf("creating SARIF log: %w", err)
	}
	seen := map[string]bool{}
	for i, r := range results {
		category := SARIFCategoryPrefix + Repository(r.Image)
		if r.Platform != "" {
			// each platform image of an index is an analysis of its own,
			// stable across builds
			category += "/" + r.Platform
		}
		if seen[category] {
			// two results of one repository (two platforms, two builds):
			// keep their analyses apart
			category += "@" + digest.ShortHex(r.Digest)
		}
		if seen[category] {
			category += "#" + strconv.Itoa(i+1)
		}
		seen[category] = true
		log.AddRun(sarifRun(r, category, &c))
	}
	return log, nil
}

func sarifRun(r *scan.Result, category string, c *config) *sarif.Run {
	driver := sarif.NewDriver(SARIFToolName).
		WithVersion(c.toolVersion).
		WithInformationURI(c.informationURI)
	run := sarif.NewRun(sarif.Tool{Driver: driver})
	for _, s := range r.Scanners {
		ext := &sarif.ToolComponent{Name: s.Name, Rules: []*sarif.ReportingDescriptor{}}
		if s.Version != "" {
			ext.WithVersion(s.Version)
		}
		if s.DB != nil {
			ext.PropertyBag = sarif.PropertyBag{Properties: sarif.Properties{"database": s.DB}}
		}
		run.Tool.AddExtension(ext)
	}
	run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID(category + "/"))

	inv := run.AddInvocation(true)
	if !r.ScannedAt.IsZero() {
		inv.WithEndTimeUTC(r.ScannedAt)
	}
	for _, n := range r.Notices {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &sarif.Notification{
			Level:   "warning",
			Message: sarif.NewTextMessage(n.Message),
		})
	}

	repo := Repository(r.Image)
	byID := map[string][]scan.Match{}
	var ids []string
	rule := func(m scan.Match) {
		if _, ok := byID[m.ID]; !ok {
			ids = append(ids, m.ID)
		}
		byID[m.ID] = append(byID[m.ID], m)
	}
	for _, m := range r.Matches {
		rule(m)
	}
	if !c.noSuppressed {
		for _, m := range r.Ignored {
			rule(m.Match)
		}
	}
	for _, id := range ids {
		run.Tool.Driver.AddRule(sarifRule(id, byID[id]))
	}
	for _, m := range r.Matches {
		run.AddResult(sarifResult(repo, r.Platform, m))
	}
	if !c.noSuppressed {
		for _, m := range r.Ignored {
			run.AddResult(suppressedResult(repo, r.Platform, m))
		}
	}

	run.PropertyBag = sarif.PropertyBag{Properties: sarif.Properties{
		"image":      r.Image,
		"digest":     r.Digest,
		"repository": repo,
		"verdict":    r.Verdict.Status,
		"failOn":     r.Verdict.FailOn,
		"warnOn":     r.Verdict.WarnOn,
		"counts":     r.Counts,
		"ignored":    ignoredSummary(r.Ignored),
	}}
	if r.Platform != "" {
		run.PropertyBag.Properties["platform"] = r.Platform
	}
	return run
}

// ignoredEntry is a set-aside finding as the run's properties list it.
type ignoredEntry struct {
	ID           string               `json:"id"`
	Package      string               `json:"package"`
	Version      string               `json:"version"`
	Severity     scan.Severity        `json:"severity"`
	SuppressedBy scan.SuppressionKind `json:"suppressedBy"`
	Reason       string               `json:"reason"`
}

func ignoredSummary(ignored []scan.IgnoredMatch) []ignoredEntry {
	out := []ignoredEntry{}
	for _, m := range ignored {
		out = append(out, ignoredEntry{
			ID: m.ID, Package: m.Package.Name, Version: m.Package.Version, Severity: m.Severity,
			SuppressedBy: m.SuppressedBy.Kind, Reason: m.SuppressedBy.Reason,
		})
	}
	return out
}

// sarifRule describes one vulnerability; ms are its matches in the image,
// most severe first.
func sarifRule(id string, ms []scan.Match) *sarif.ReportingDescriptor {
	sev := ms[0].Severity
	var pkgs []string
	var cvss []scan.CVSS
	desc := ""
	help := ""
	var urls []string
	for _, m := range ms {
		if m.Severity.Rank() > sev.Rank() {
			sev = m.Severity
		}
		if !slices.Contains(pkgs, m.Package.Name) {
			pkgs = append(pkgs, m.Package.Name)
		}
		cvss = append(cvss, m.CVSS...)
		if desc == "" {
			desc = strings.TrimSpace(m.Description)
		}
		if help == "" {
			help = helpURI(m)
		}
		for _, u := range append([]string{m.DataSource}, m.URLs...) {
			if webURL(u) && !slices.Contains(urls, u) {
				urls = append(urls, u)
			}
		}
	}
	short := fmt.Sprintf("%s: %s vulnerability in %s", id, sev, strings.Join(pkgs, ", "))
	if desc == "" {
		desc = short
	}
	rule := sarif.NewRule(id).
		WithName(id).
		WithShortDescription(sarif.NewMultiformatMessageString(short)).
		WithFullDescription(sarif.NewMultiformatMessageString(desc)).
		WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(level(sev)))
	if help != "" {
		rule.WithHelpURI(help)
	}
	text, md := ruleHelp(id, sev, ms, urls)
	rule.WithTextHelp(text).WithMarkdownHelp(md)
	props := sarif.Properties{"tags": []string{"security", string(sev)}}
	if s, ok := securitySeverity(sev, cvss); ok {
		props["security-severity"] = s
	}
	rule.WithProperties(props)
	return rule
}

func ruleHelp(id string, sev scan.Severity, ms []scan.Match, urls []string) (string, string) {
	var t, m strings.Builder
	fmt.Fprintf(&t, "%s (%s)\n", id, sev)
	fmt.Fprintf(&m, "**%s** (%s)\n\n", mdText(id), sev)
	if aliases := ms[0].Aliases; len(aliases) > 0 {
		fmt.Fprintf(&t, "Aliases: %s\n", strings.Join(aliases, ", "))
		fmt.Fprintf(&m, "Aliases: %s\n\n", mdText(strings.Join(aliases, ", ")))
	}
	m.WriteString("| Package | Installed | Fixed in | Found by |\n| --- | --- | --- | --- |\n")
	for _, x := range ms {
		fmt.Fprintf(&t, "%s %s: %s (found by %s)\n", x.Package.Name, x.Package.Version, fixText(x.Fix), strings.Join(x.FoundBy, ", "))
		fmt.Fprintf(&m, "| %s | %s | %s | %s |\n", mdCode(x.Package.Name), mdCode(x.Package.Version), fixedIn(x.Fix), mdText(strings.Join(x.FoundBy, ", ")))
	}
	for _, c := range ms[0].CVSS {
		line := fmt.Sprintf("CVSS %s %s", c.Version, c.Vector)
		if c.BaseScore > 0 {
			line += fmt.Sprintf(" (%.1f", c.BaseScore)
			if c.Source != "" {
				line += ", " + c.Source
			}
			line += ")"
		}
		fmt.Fprintf(&t, "%s\n", line)
		fmt.Fprintf(&m, "\n%s", mdText(line))
	}
	if len(ms[0].CVSS) > 0 {
		m.WriteString("\n")
	}
	if len(urls) > 0 {
		m.WriteString("\nReferences:\n")
		for _, u := range urls {
			fmt.Fprintf(&t, "%s\n", u)
			fmt.Fprintf(&m, "- <%s>\n", mdURL(u))
		}
	}
	return strings.TrimSpace(t.String()), strings.TrimSpace(m.String())
}

// sarifResult is one finding. In a platform image of an index (platform
// set) its message and each location name the platform, and so does its
// fingerprint: the same finding in two platforms is two alerts.
func sarifResult(repo, platform string, m scan.Match) *sarif.Result {
	msg := resultMessage(m)
	if platform != "" {
		msg += " Platform " + platform + "."
	}
	res := sarif.NewRuleResult(m.ID).
		WithLevel(level(m.Severity)).
		WithMessage(sarif.NewTextMessage(msg))
	uris := locationURIs(repo, m.Package.Locations)
	for _, u := range uris {
		loc := sarif.NewLocationWithPhysicalLocation(sarif.NewPhysicalLocation().
			WithArtifactLocation(sarif.NewSimpleArtifactLocation(u)).
			WithRegion(sarif.NewRegion().WithStartLine(1)))
		if platform != "" {
			loc.WithMessage(sarif.NewTextMessage("in the " + platform + " image"))
		}
		res.AddLocation(loc)
	}
	fp := fingerprint(repo, m, uris[0])
	if platform != "" {
		fp = fingerprint(repo+" "+platform, m, uris[0])
	}
	res.WithPartialFingerPrints(map[string]any{
		"primaryLocationLineHash": fp,
		FingerprintKey:            fp,
	})
	props := sarif.Properties{
		"package":  m.Package.Name,
		"version":  m.Package.Version,
		"fixState": m.Fix.State,
		"foundBy":  m.FoundBy,
	}
	if m.Package.Type != "" {
		props["packageType"] = m.Package.Type
	}
	if m.Package.PURL != "" {
		props["purl"] = m.Package.PURL
	}
	if len(m.Fix.Versions) > 0 {
		props["fixedVersions"] = m.Fix.Versions
	}
	if len(m.Aliases) > 0 {
		props["aliases"] = m.Aliases
	}
	if len(m.Package.Locations) > maxLocations {
		props["locationsOmitted"] = len(m.Package.Locations) - maxLocations
	}
	if m.VEX != nil {
		props["vex"] = m.VEX
	}
	if platform != "" {
		props["platform"] = platform
	}
	res.PropertyBag = sarif.PropertyBag{Properties: props}
	return res
}

// suppressedResult is a finding the policy set aside, as a result with a
// suppression: kind external (the ignore file, the VEX document or the
// policy holds it), status accepted, the reason as its justification, and
// what set it aside in its properties. SARIF wants a suppression's location
// and guid to be a location and a GUID when present, and go-sarif writes
// them present: the location is the result's, the guid derived from the
// result's fingerprint, so that it is the same in every build.
func suppressedResult(repo, platform string, m scan.IgnoredMatch) *sarif.Result {
	res := sarifResult(repo, platform, m.Match)
	s := m.SuppressedBy
	justification := s.Reason
	if justification == "" {
		justification = string(s.Kind)
	}
	props := sarif.Properties{"suppressedBy": s.Kind}
	if s.Rule != nil {
		props["rule"] = s.Rule
	}
	if s.VEX != nil {
		props["vex"] = s.VEX
	}
	fp, _ := res.PartialFingerprints[FingerprintKey].(string)
	sup := sarif.NewSuppression("external").
		WithStatus("accepted").
		WithJustifcation(justification).
		WithLocation(res.Locations[0]).
		WithGuid(guid(fp, string(s.Kind)))
	sup.PropertyBag = sarif.PropertyBag{Properties: props}
	res.WithSuppression([]*sarif.Suppression{sup})
	return res
}

// guid makes a version-5-shaped GUID of parts: stable for the same parts.
func guid(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// resultMessage names the vulnerability, package@version, severity and fix:
// "CVE-… in openssl@3.0.11 (deb, high): fixed in 3.0.12. Found by grype."
func resultMessage(m scan.Match) string {
	kind := string(m.Severity)
	if m.Package.Type != "" {
		kind = m.Package.Type + ", " + kind
	}
	s := fmt.Sprintf("%s in %s@%s (%s): %s.", m.ID, m.Package.Name, m.Package.Version, kind, fixText(m.Fix))
	if len(m.FoundBy) > 0 {
		s += " Found by " + strings.Join(m.FoundBy, " and ") + "."
	}
	if v := m.VEX; v != nil {
		s += " VEX: " + v.Status
		if note := firstNonEmpty(v.StatusNotes, v.ImpactStatement, v.Justification); note != "" {
			s += ": " + note
		}
		if !strings.HasSuffix(s, ".") {
			s += "."
		}
	}
	return s
}

// locationURIs turns a package's files in the image into relative URIs
// (GitHub wants paths relative to the repository, never absolute or
// file://), at most maxLocations; without files, the image's repository.
func locationURIs(repo string, locations []string) []string {
	var out []string
	for _, l := range locations {
		p := strings.TrimLeft(strings.TrimPrefix(l, "file://"), "/")
		if p == "" {
			continue
		}
		if u := relativeURI(p); !slices.Contains(out, u) {
			out = append(out, u)
		}
		if len(out) == maxLocations {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, relativeURI(repo))
	}
	return out
}

// relativeURI escapes a slash-separated path as a relative URI reference:
// spaces, '#' and '?' are escaped, and a first segment with a colon
// ("localhost:5000/…") is kept from reading as a scheme.
func relativeURI(p string) string {
	u := (&url.URL{Path: p}).String()
	if rest, ok := strings.CutPrefix(u, "./"); ok {
		// url.URL guards a colon in the first segment with "./"; escape
		// the colon instead, so that the path stays as it was
		first, after, _ := strings.Cut(rest, "/")
		u = strings.ReplaceAll(first, ":", "%3A")
		if after != "" || strings.Contains(rest, "/") {
			u += "/" + after
		}
	}
	return u
}

// fingerprint identifies a result across builds of the image: it leaves
// out the digest and the scan time, and keeps what makes a finding.
func fingerprint(repo string, m scan.Match, location string) string {
	h := sha256.New()
	for _, s := range []string{repo, m.ID, m.Package.Type, m.Package.Name, m.Package.Version, location} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// level is the SARIF level of a severity: error at high and above, warning
// at medium, note below.
func level(s scan.Severity) string {
	switch {
	case s.AtLeast(scan.High):
		return "error"
	case s == scan.Medium:
		return "warning"
	}
	return "note"
}

// severityBands are the CVSS v3 ranges GitHub (and DefectDojo) map a
// security-severity to, and the value given when no score falls in them.
var severityBands = map[scan.Severity]struct{ lo, hi, fallback float64 }{
	scan.Critical:   {9.0, 10.0, 9.5},
	scan.High:       {7.0, 8.9, 8.0},
	scan.Medium:     {4.0, 6.9, 5.5},
	scan.Low:        {0.1, 3.9, 2.0},
	scan.Negligible: {0.0, 0.0, 0.0},
}

// securitySeverity is the "security-severity" of a vulnerability: the
// highest CVSS base score that agrees with sc's severity, or a score in the
// middle of that severity's band, so that GitHub and DefectDojo show the
// severity sc's policy used. Unknown severity has none.
func securitySeverity(sev scan.Severity, cvss []scan.CVSS) (string, bool) {
	band, ok := severityBands[sev]
	if !ok {
		return "", false
	}
	score := -1.0
	for _, c := range cvss {
		if c.BaseScore >= band.lo && c.BaseScore <= band.hi && c.BaseScore > score {
			score = c.BaseScore
		}
	}
	if score < 0 {
		score = band.fallback
	}
	return strconv.FormatFloat(score, 'f', 1, 64), true
}

// helpURI is the advisory of a match: its data source, else its first web
// reference.
func helpURI(m scan.Match) string {
	for _, u := range append([]string{m.DataSource}, m.URLs...) {
		if webURL(u) {
			return u
		}
	}
	return ""
}

// webURL reports whether s is an absolute http(s) URL.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
