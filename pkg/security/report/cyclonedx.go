package report

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sc-project/sc/pkg/security/scan"
)

// CycloneDXSpecVersion is the CycloneDX version WriteCycloneDX writes.
const CycloneDXSpecVersion = cdx.SpecVersion1_6

// Properties sc puts on CycloneDX vulnerabilities, in its own namespace
// (CycloneDX's property taxonomy: "<namespace>:<name>").
const (
	// cdxCounted is "true" for a finding the policy counted, "false" for
	// one it set aside.
	cdxCounted = "sc:counted"
	// cdxSuppressedBy is what set a finding aside (ignore-rule, vex,
	// only-fixed).
	cdxSuppressedBy = "sc:suppressedBy"
	// cdxFoundBy lists the scanners that found it, comma-separated.
	cdxFoundBy = "sc:foundBy"
	// cdxFixState is the fix state (fixed, not-fixed, wont-fix, unknown).
	cdxFixState = "sc:fixState"
	// cdxVerdict is the policy's verdict on the image, on the document.
	cdxVerdict = "sc:verdict"
)

// WriteCycloneDX writes one image's result as a CycloneDX 1.6 JSON
// document of vulnerabilities (a VEX document, in CycloneDX's terms): see
// CycloneDX. Options: WithToolVersion.
//
// Errors: ErrNoResults for a nil result; the encoder's and the writer's.
func WriteCycloneDX(w io.Writer, r *scan.Result, opts ...Option) error {
	bom, err := CycloneDX(r, opts...)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := cdx.NewBOMEncoder(&b, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).EncodeVersion(bom, CycloneDXSpecVersion); err != nil {
		return fmt.Errorf("encoding CycloneDX: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// CycloneDX builds the document WriteCycloneDX writes, with
// github.com/CycloneDX/cyclonedx-go's types:
//
//   - metadata: the scan time, sc and the scanners as tools, the image as
//     the container component (bom-ref the image by digest), the verdict
//     as a property;
//   - components: each affected package once (bom-ref its purl, else
//     name@version);
//   - vulnerabilities: one per finding, counted ones first, then the ones
//     set aside: the ID with its source, aliases as references, a rating
//     of sc's severity and one per CVSS score, CWEs, description,
//     advisories, the fix as a recommendation, the package it affects, and
//     an analysis: VEX not_affected and fixed become not_affected (with the
//     justification mapped to CycloneDX's) and resolved, under_investigation
//     in_triage, affected exploitable; an ignore rule or onlyFixed says so
//     in the detail, with the response will_not_fix or can_not_fix.
//
// The serial number is derived from the image digest and the scan time, so
// that the same result gives the same document.
func CycloneDX(r *scan.Result, opts ...Option) (*cdx.BOM, error) {
	if err := check([]*scan.Result{r}); err != nil {
		return nil, err
	}
	c := newConfig(opts)
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + guid("cyclonedx", r.Image, r.ScannedAt.UTC().Format(time.RFC3339))

	tools := []cdx.Component{{Type: cdx.ComponentTypeApplication, Name: SARIFToolName, Version: c.toolVersion}}
	for _, s := range r.Scanners {
		tools = append(tools, cdx.Component{Type: cdx.ComponentTypeApplication, Name: s.Name, Version: s.Version})
	}
	image := cdx.Component{
		BOMRef: r.Image, Type: cdx.ComponentTypeContainer, Name: Repository(r.Image), Version: r.Digest,
	}
	if p := ociPURL(r.Image, r.Digest); p != "" {
		image.PackageURL = p
	}
	bom.Metadata = &cdx.Metadata{
		Tools:      &cdx.ToolsChoice{Components: &tools},
		Component:  &image,
		Properties: &[]cdx.Property{{Name: cdxVerdict, Value: string(r.Verdict.Status)}},
	}
	if !r.ScannedAt.IsZero() {
		bom.Metadata.Timestamp = r.ScannedAt.UTC().Format(time.RFC3339)
	}

	var components []cdx.Component
	seen := map[string]bool{}
	ref := func(p scan.Package) string {
		id := p.PURL
		if id == "" {
			id = p.Name + "@" + p.Version
		}
		if !seen[id] {
			seen[id] = true
			comp := cdx.Component{BOMRef: id, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL}
			if len(p.CPEs) > 0 {
				comp.CPE = p.CPEs[0]
			}
			components = append(components, comp)
		}
		return id
	}
	vulns := []cdx.Vulnerability{}
	for i, m := range r.Matches {
		v := cdxVulnerability(m, ref(m.Package), i)
		v.Analysis = cdxVEXAnalysis(m.VEX)
		addProperty(&v, cdxCounted, "true")
		vulns = append(vulns, v)
	}
	for i, m := range r.Ignored {
		v := cdxVulnerability(m.Match, ref(m.Package), len(r.Matches)+i)
		v.Analysis = cdxSuppression(m.SuppressedBy)
		addProperty(&v, cdxCounted, "false")
		addProperty(&v, cdxSuppressedBy, string(m.SuppressedBy.Kind))
		vulns = append(vulns, v)
	}
	if len(components) > 0 {
		bom.Components = &components
	}
	bom.Vulnerabilities = &vulns
	return bom, nil
}

// cdxVulnerability is one finding, the i-th of the document.
func cdxVulnerability(m scan.Match, affected string, i int) cdx.Vulnerability {
	v := cdx.Vulnerability{
		BOMRef:      fmt.Sprintf("vuln-%d-%s", i+1, shortHash(m.ID, affected)),
		ID:          m.ID,
		Description: m.Description,
		Affects: &[]cdx.Affects{{Ref: affected, Range: &[]cdx.AffectedVersions{
			{Version: m.Package.Version, Status: cdx.VulnerabilityStatusAffected},
		}}},
	}
	if m.DataSource != "" {
		v.Source = &cdx.Source{Name: sourceName(m), URL: m.DataSource}
	}
	var refs []cdx.VulnerabilityReference
	for _, a := range m.Aliases {
		refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: aliasSource(m, a)})
	}
	if len(refs) > 0 {
		v.References = &refs
	}
	ratings := []cdx.VulnerabilityRating{{Source: &cdx.Source{Name: SARIFToolName}, Severity: cdxSeverity(m.Severity), Method: cdx.ScoringMethodOther}}
	for _, c := range m.CVSS {
		rt := cdx.VulnerabilityRating{Method: cvssMethod(c), Vector: c.Vector}
		if c.Source != "" {
			rt.Source = &cdx.Source{Name: c.Source}
		}
		if c.BaseScore > 0 {
			score := c.BaseScore
			rt.Score = &score
		}
		ratings = append(ratings, rt)
	}
	v.Ratings = &ratings
	var cwes []int
	for _, c := range m.CWEs {
		var n int
		if _, err := fmt.Sscanf(c.CWE, "CWE-%d", &n); err == nil && !slices.Contains(cwes, n) {
			cwes = append(cwes, n)
		}
	}
	if len(cwes) > 0 {
		v.CWEs = &cwes
	}
	var advisories []cdx.Advisory
	for _, a := range m.Advisories {
		if a.Link != "" {
			advisories = append(advisories, cdx.Advisory{Title: a.ID, URL: a.Link})
		}
	}
	for _, u := range m.URLs {
		if webURL(u) {
			advisories = append(advisories, cdx.Advisory{URL: u})
		}
	}
	if len(advisories) > 0 {
		v.Advisories = &advisories
	}
	if len(m.Fix.Versions) > 0 {
		v.Recommendation = fmt.Sprintf("Upgrade %s to %s.", m.Package.Name, strings.Join(m.Fix.Versions, " or "))
	}
	addProperty(&v, cdxFoundBy, strings.Join(m.FoundBy, ","))
	addProperty(&v, cdxFixState, string(m.Fix.State))
	return v
}

// cdxVEXAnalysis is the analysis of a VEX statement that did not suppress
// a finding; nil without one.
func cdxVEXAnalysis(s *scan.VEXStatement) *cdx.VulnerabilityAnalysis {
	if s == nil {
		return nil
	}
	a := &cdx.VulnerabilityAnalysis{Detail: vexDetail(s)}
	switch s.Status {
	case "under_investigation":
		a.State = cdx.IASInTriage
	case "affected":
		a.State = cdx.IASExploitable
	}
	if s.Timestamp != nil {
		a.LastUpdated = s.Timestamp.UTC().Format(time.RFC3339)
	}
	return a
}

// cdxSuppression is the analysis of a finding the policy set aside.
func cdxSuppression(s scan.Suppression) *cdx.VulnerabilityAnalysis {
	switch s.Kind {
	case scan.SuppressedByVEX:
		a := cdxVEXAnalysis(s.VEX)
		if a == nil {
			a = &cdx.VulnerabilityAnalysis{Detail: s.Reason}
		}
		if s.VEX != nil {
			switch s.VEX.Status {
			case "not_affected":
				a.State, a.Justification = cdx.IASNotAffected, cdxJustification(s.VEX.Justification)
			case "fixed":
				a.State = cdx.IASResolved
			}
		}
		return a
	case scan.SuppressedByRule:
		detail := "set aside by an ignore rule: " + s.Reason
		if s.Rule != nil && s.Rule.Expires != "" {
			detail += " (until " + s.Rule.Expires + ")"
		}
		return &cdx.VulnerabilityAnalysis{Detail: detail, Response: &[]cdx.ImpactAnalysisResponse{cdx.IARWillNotFix}}
	case scan.SuppressedByOnlyFixed:
		return &cdx.VulnerabilityAnalysis{Detail: "set aside: " + s.Reason, Response: &[]cdx.ImpactAnalysisResponse{cdx.IARCanNotFix}}
	}
	return &cdx.VulnerabilityAnalysis{Detail: s.Reason}
}

// vexDetail says what a VEX statement says, and where it is from.
func vexDetail(s *scan.VEXStatement) string {
	d := "VEX " + s.Status
	if note := firstNonEmpty(s.ImpactStatement, s.StatusNotes, s.Justification); note != "" {
		d += ": " + note
	}
	if s.Document != "" {
		d += " (" + s.Document + ")"
	}
	return d
}

// cdxJustification maps an OpenVEX not_affected justification to
// CycloneDX's, as CISA's VEX mapping does; "" when there is none.
func cdxJustification(j string) cdx.ImpactAnalysisJustification {
	switch j {
	case "component_not_present", "vulnerable_code_not_present":
		return cdx.IAJCodeNotPresent
	case "vulnerable_code_not_in_execute_path":
		return cdx.IAJCodeNotReachable
	case "vulnerable_code_cannot_be_controlled_by_adversary":
		return cdx.IAJRequiresEnvironment
	case "inline_mitigations_already_exist":
		return cdx.IAJProtectedByMitigatingControl
	}
	return ""
}

func cdxSeverity(s scan.Severity) cdx.Severity {
	switch s {
	case scan.Critical:
		return cdx.SeverityCritical
	case scan.High:
		return cdx.SeverityHigh
	case scan.Medium:
		return cdx.SeverityMedium
	case scan.Low:
		return cdx.SeverityLow
	case scan.Negligible:
		return cdx.SeverityInfo
	}
	return cdx.SeverityUnknown
}

// cvssMethod is the CycloneDX scoring method of a CVSS score.
func cvssMethod(c scan.CVSS) cdx.ScoringMethod {
	v := c.Version
	if v == "" {
		if rest, ok := strings.CutPrefix(c.Vector, "CVSS:"); ok {
			v, _, _ = strings.Cut(rest, "/")
		}
	}
	switch {
	case strings.HasPrefix(v, "4"):
		return cdx.ScoringMethodCVSSv4
	case v == "3.1":
		return cdx.ScoringMethodCVSSv31
	case strings.HasPrefix(v, "3"):
		return cdx.ScoringMethodCVSSv3
	case strings.HasPrefix(v, "2"):
		return cdx.ScoringMethodCVSSv2
	}
	return cdx.ScoringMethodOther
}

// sourceName names the database a finding's record is from: its namespace,
// else the host of its data source.
func sourceName(m scan.Match) string {
	if m.Namespace != "" {
		return m.Namespace
	}
	s := strings.TrimPrefix(strings.TrimPrefix(m.DataSource, "https://"), "http://")
	host, _, _ := strings.Cut(s, "/")
	return host
}

// aliasSource is where an alias of a finding is recorded: the related
// record's namespace and data source when there is one, else the database
// its prefix names (CycloneDX requires a reference's source).
func aliasSource(m scan.Match, alias string) *cdx.Source {
	for _, r := range m.RelatedVulnerabilities {
		if strings.EqualFold(r.ID, alias) && (r.Namespace != "" || r.DataSource != "") {
			return &cdx.Source{Name: r.Namespace, URL: r.DataSource}
		}
	}
	prefix, _, _ := strings.Cut(strings.ToUpper(alias), "-")
	switch prefix {
	case "CVE":
		return &cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + alias}
	case "GHSA":
		return &cdx.Source{Name: "GitHub", URL: "https://github.com/advisories/" + alias}
	case "GO":
		return &cdx.Source{Name: "Go", URL: "https://pkg.go.dev/vuln/" + alias}
	}
	return &cdx.Source{Name: prefix}
}

// ociPURL is the package URL of an image: pkg:oci/<name>@<digest> with
// its repository as repository_url; "" when the image is not by digest.
func ociPURL(image, digest string) string {
	repo := Repository(image)
	if digest == "" || repo == "" {
		return ""
	}
	name := repo[strings.LastIndex(repo, "/")+1:]
	return "pkg:oci/" + name + "@" + strings.Replace(digest, ":", "%3A", 1) + "?repository_url=" + repo
}

func addProperty(v *cdx.Vulnerability, name, value string) {
	if value == "" {
		return
	}
	if v.Properties == nil {
		v.Properties = &[]cdx.Property{}
	}
	*v.Properties = append(*v.Properties, cdx.Property{Name: name, Value: value})
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return fmt.Sprintf("%x", h[:6])
}
