package scan

import (
	"strings"
	"time"
)

// SchemaVersion is the version of Result's JSON form. Fields may be added
// within a version; none is renamed or removed.
const SchemaVersion = "1"

// Result is the outcome of scanning one image: what every scanner found,
// merged; what the policy set aside and why; and the policy's verdict. It
// marshals to the JSON documented in the package comment.
type Result struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schemaVersion"`
	// Image is the scanned image by digest: "registry/repo@sha256:…".
	Image string `json:"image"`
	// Digest is the image's digest, "sha256:…".
	Digest string `json:"digest"`
	// Platform is, for a platform image of an image index, its platform
	// (os/arch[/variant]); empty for an image that is not an index.
	Platform string `json:"platform,omitempty"`
	// ScannedAt is when the findings were matched (UTC, seconds): the
	// oldest time a scanner says it matched (a report replayed from a
	// cache keeps its own), else when the policy was evaluated.
	ScannedAt time.Time `json:"scannedAt"`
	// Cached is true when a scanner's report was replayed from a cache
	// (Scanners says which): the findings are of ScannedAt, the policy is
	// of now.
	Cached bool `json:"cached,omitempty"`
	// Scanners are the scanners whose findings are in the result, in the
	// order they were given.
	Scanners []ScannerInfo `json:"scanners"`
	// Matches are the findings the policy counts, most severe first.
	Matches []Match `json:"matches"`
	// Ignored are the findings set aside by an ignore rule, a VEX
	// statement or onlyFixed, with what set them aside.
	Ignored []IgnoredMatch `json:"ignored"`
	// Counts counts Matches by severity.
	Counts Counts `json:"counts"`
	// Verdict is the policy's decision.
	Verdict Verdict `json:"verdict"`
	// Notices are what the reader should know about how the result was
	// made: expired ignore rules, optional scanners that could not run, a
	// stale database used on request.
	Notices []Notice `json:"notices"`
}

// ScannerInfo names a scanner and the data it matched against.
type ScannerInfo struct {
	// Name is "grype" or "trivy".
	Name string `json:"name"`
	// Version is the scanner's version ("v0.121.2", "0.74.0").
	Version string `json:"version"`
	// DB describes its vulnerability database, when it says.
	DB *DBInfo `json:"db,omitempty"`
	// ScannedAt is when it matched the SBOM, when known (UTC, seconds).
	ScannedAt time.Time `json:"scannedAt,omitzero"`
	// Cached is true when its report was replayed from a cache instead of
	// matching again.
	Cached bool `json:"cached,omitempty"`
}

// DBInfo describes a vulnerability database.
type DBInfo struct {
	// Built is when the database was built (UTC).
	Built time.Time `json:"built"`
	// Schema is the database's schema version ("v6.1.10" for grype, "2" for
	// Trivy).
	Schema string `json:"schema"`
	// Source is where it was installed from: a URL, or "manual import".
	Source string `json:"source,omitempty"`
	// Stale is true when the database was past its maximum age and used
	// because the user allowed it explicitly.
	Stale bool `json:"stale,omitempty"`
}

// Match is one vulnerability in one package, as one or more scanners found
// it.
type Match struct {
	// ID is the vulnerability's identifier: a CVE when any scanner or alias
	// names one, else the scanner's own (GHSA-…, GO-…).
	ID string `json:"id"`
	// Aliases are the other identifiers of the same vulnerability (the
	// GHSA of a CVE, a Debian advisory), sorted.
	Aliases []string `json:"aliases,omitempty"`
	// Severity is the highest severity any scanner gave it.
	Severity Severity `json:"severity"`
	// CVSS are the CVSS scores the scanners reported.
	CVSS []CVSS `json:"cvss,omitempty"`
	// Description is the advisory's description, when there is one.
	Description string `json:"description,omitempty"`
	// Package is the affected package.
	Package Package `json:"package"`
	// Fix says whether and where the vulnerability is fixed.
	Fix Fix `json:"fix"`
	// DataSource is the URL of the advisory the match comes from.
	DataSource string `json:"dataSource,omitempty"`
	// URLs are further references.
	URLs []string `json:"urls,omitempty"`
	// FoundBy names the scanners that found it, sorted.
	FoundBy []string `json:"foundBy"`
	// VEX is a VEX statement about it that does not suppress it
	// (under_investigation or affected), for the reader.
	VEX *VEXStatement `json:"vex,omitempty"`

	// The fields below carry what grype's JSON carries per match (see the
	// package documentation for the mapping); a scanner that does not
	// say leaves them empty.

	// Namespace is the database namespace of the record matched
	// ("debian:distro:debian:12", "github:language:javascript").
	Namespace string `json:"namespace,omitempty"`
	// CWEs are the weaknesses the record names.
	CWEs []CWE `json:"cwes,omitempty"`
	// EPSS are exploit prediction scores of the vulnerability.
	EPSS []EPSS `json:"epss,omitempty"`
	// KnownExploited are its entries in CISA's catalog of known exploited
	// vulnerabilities.
	KnownExploited []KnownExploited `json:"knownExploited,omitempty"`
	// Risk is grype's risk score (0 to 100, from EPSS, CVSS and KEV); 0
	// when not computed.
	Risk float64 `json:"risk,omitempty"`
	// Advisories are vendor advisories of the record (a DSA, an RHSA).
	Advisories []Advisory `json:"advisories,omitempty"`
	// RelatedVulnerabilities are the records of the same vulnerability
	// under its other IDs (an NVD CVE of a GHSA), with their own severity,
	// CVSS and references.
	RelatedVulnerabilities []RelatedVulnerability `json:"relatedVulnerabilities,omitempty"`
	// MatchDetails say how the scanner matched the package (exact or by
	// CPE, direct or through its source package), and the fix it suggests.
	MatchDetails []MatchDetail `json:"matchDetails,omitempty"`
}

// CWE is a weakness a vulnerability record names.
type CWE struct {
	CVE    string `json:"cve,omitempty"`
	CWE    string `json:"cwe"`
	Source string `json:"source,omitempty"`
	Type   string `json:"type,omitempty"`
}

// EPSS is an exploit prediction score.
type EPSS struct {
	CVE        string  `json:"cve"`
	EPSS       float64 `json:"epss"`
	Percentile float64 `json:"percentile"`
	// Date is the day of the score, YYYY-MM-DD.
	Date string `json:"date,omitempty"`
}

// KnownExploited is an entry of CISA's Known Exploited Vulnerabilities
// catalog. Dates are YYYY-MM-DD.
type KnownExploited struct {
	CVE                        string   `json:"cve"`
	VendorProject              string   `json:"vendorProject,omitempty"`
	Product                    string   `json:"product,omitempty"`
	DateAdded                  string   `json:"dateAdded,omitempty"`
	RequiredAction             string   `json:"requiredAction,omitempty"`
	DueDate                    string   `json:"dueDate,omitempty"`
	KnownRansomwareCampaignUse string   `json:"knownRansomwareCampaignUse,omitempty"`
	Notes                      string   `json:"notes,omitempty"`
	URLs                       []string `json:"urls,omitempty"`
	CWEs                       []string `json:"cwes,omitempty"`
}

// Advisory is a vendor advisory.
type Advisory struct {
	ID   string `json:"id"`
	Link string `json:"link,omitempty"`
}

// RelatedVulnerability is another record of the same vulnerability.
type RelatedVulnerability struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Severity    Severity `json:"severity,omitempty"`
	URLs        []string `json:"urls,omitempty"`
	Description string   `json:"description,omitempty"`
	CVSS        []CVSS   `json:"cvss,omitempty"`
	CWEs        []CWE    `json:"cwes,omitempty"`
	EPSS        []EPSS   `json:"epss,omitempty"`
}

// MatchDetail is how a scanner matched a package with a record, as grype
// reports it.
type MatchDetail struct {
	// Type is how: "exact-direct-match", "exact-indirect-match" (through
	// the source package), "cpe-match".
	Type string `json:"type"`
	// Matcher is the matcher that found it ("dpkg-matcher").
	Matcher string `json:"matcher"`
	// SearchedBy are the package's attributes searched with, as the
	// matcher gives them.
	SearchedBy any `json:"searchedBy,omitempty"`
	// Found are the record's attributes that matched.
	Found any `json:"found,omitempty"`
	// SuggestedVersion is the fixed version to upgrade to, when there is
	// one.
	SuggestedVersion string `json:"suggestedVersion,omitempty"`
}

// identities returns the match's ID and aliases.
func (m *Match) identities() []string {
	return append([]string{m.ID}, m.Aliases...)
}

// hasIdentity reports whether id (any letter case) names the match.
func (m *Match) hasIdentity(id string) bool {
	for _, v := range m.identities() {
		if strings.EqualFold(v, id) {
			return true
		}
	}
	return false
}

// Package is a package of the image.
type Package struct {
	// Name is the package's name (a Debian binary package, an npm package,
	// a Go module path).
	Name string `json:"name"`
	// Version is its installed version.
	Version string `json:"version"`
	// Type is syft's package type: deb, npm, go-module, …
	Type string `json:"type,omitempty"`
	// PURL is its package URL.
	PURL string `json:"purl,omitempty"`
	// Locations are the files it was found in.
	Locations []string `json:"locations,omitempty"`
	// Language is its language ecosystem ("go", "javascript"), when it has
	// one.
	Language string `json:"language,omitempty"`
	// CPEs are the CPEs it is known by.
	CPEs []string `json:"cpes,omitempty"`
}

// FixState says whether a fix exists.
type FixState string

// Fix states, grype's vocabulary.
const (
	// FixStateFixed: a fixed version exists.
	FixStateFixed FixState = "fixed"
	// FixStateNotFixed: affected, no fix yet.
	FixStateNotFixed FixState = "not-fixed"
	// FixStateWontFix: affected, and the maintainers will not fix it.
	FixStateWontFix FixState = "wont-fix"
	// FixStateUnknown: nothing is known about a fix.
	FixStateUnknown FixState = "unknown"
)

// Fix says whether and where a vulnerability is fixed.
type Fix struct {
	// State is the fix state.
	State FixState `json:"state"`
	// Versions are the versions that fix it, as the scanners give them.
	Versions []string `json:"versions,omitempty"`
}

// CVSS is one CVSS score.
type CVSS struct {
	// Source is who scored it ("nvd@nist.gov", "nvd", "ghsa").
	Source string `json:"source,omitempty"`
	// Version is the CVSS version ("3.1", "4.0").
	Version string `json:"version,omitempty"`
	// Type is "Primary" or "Secondary", when the source says.
	Type string `json:"type,omitempty"`
	// Vector is the CVSS vector.
	Vector string `json:"vector"`
	// BaseScore is the base score, 0 when not given.
	BaseScore float64 `json:"baseScore,omitempty"`
	// ExploitabilityScore is the exploitability subscore, 0 when not
	// given.
	ExploitabilityScore float64 `json:"exploitabilityScore,omitempty"`
	// ImpactScore is the impact subscore, 0 when not given.
	ImpactScore float64 `json:"impactScore,omitempty"`
}

// IgnoredMatch is a finding the policy set aside.
type IgnoredMatch struct {
	Match
	// SuppressedBy says what set it aside.
	SuppressedBy Suppression `json:"suppressedBy"`
}

// SuppressionKind names what set a finding aside.
type SuppressionKind string

// Suppression kinds.
const (
	// SuppressedByRule: an ignore rule of the policy.
	SuppressedByRule SuppressionKind = "ignore-rule"
	// SuppressedByVEX: an OpenVEX not_affected or fixed statement.
	SuppressedByVEX SuppressionKind = "vex"
	// SuppressedByOnlyFixed: onlyFixed, and no fix exists.
	SuppressedByOnlyFixed SuppressionKind = "only-fixed"
)

// Suppression says what set a finding aside and why.
type Suppression struct {
	// Kind is what set it aside.
	Kind SuppressionKind `json:"kind"`
	// Reason is the rule's reason, the VEX justification or impact
	// statement, or "no fix available".
	Reason string `json:"reason"`
	// Rule is the ignore rule, for SuppressedByRule.
	Rule *IgnoreRule `json:"rule,omitempty"`
	// VEX is the statement, for SuppressedByVEX.
	VEX *VEXStatement `json:"vex,omitempty"`
}

// VEXStatement is the part of an OpenVEX statement that applied to a
// finding.
type VEXStatement struct {
	// Document is the document's @id, or the file it was read from.
	Document string `json:"document"`
	// Author is the document's author, when it names one.
	Author string `json:"author,omitempty"`
	// Vulnerability is the statement's vulnerability name.
	Vulnerability string `json:"vulnerability"`
	// Product is the product identifier it matched (the image or the
	// package).
	Product string `json:"product"`
	// Status is not_affected, affected, fixed or under_investigation.
	Status string `json:"status"`
	// Justification is the not_affected justification.
	Justification string `json:"justification,omitempty"`
	// ImpactStatement explains a not_affected status.
	ImpactStatement string `json:"impactStatement,omitempty"`
	// StatusNotes are the statement's notes.
	StatusNotes string `json:"statusNotes,omitempty"`
	// Timestamp is when the statement was made, when it says.
	Timestamp *time.Time `json:"timestamp,omitempty"`
}

// Counts counts findings by severity: one field per severity, counting
// the Matches of that severity. A finding is one vulnerability in one
// package (grype's match, a row of the table): an ID found in two packages
// is two findings.
type Counts struct {
	Critical   int `json:"critical"`
	High       int `json:"high"`
	Medium     int `json:"medium"`
	Low        int `json:"low"`
	Negligible int `json:"negligible"`
	Unknown    int `json:"unknown"`
	// Total is the number of Matches.
	Total int `json:"total"`
	// Ignored is the number of Ignored.
	Ignored int `json:"ignored"`
}

// Of returns the count of one severity.
func (c Counts) Of(s Severity) int {
	switch s {
	case Critical:
		return c.Critical
	case High:
		return c.High
	case Medium:
		return c.Medium
	case Low:
		return c.Low
	case Negligible:
		return c.Negligible
	case Unknown:
		return c.Unknown
	}
	return 0
}

func (c *Counts) add(s Severity) {
	switch s {
	case Critical:
		c.Critical++
	case High:
		c.High++
	case Medium:
		c.Medium++
	case Low:
		c.Low++
	case Negligible:
		c.Negligible++
	default:
		c.Unknown++
	}
	c.Total++
}

// VerdictStatus is the policy's decision.
type VerdictStatus string

// Verdicts.
const (
	// Pass: nothing at or above warnOn.
	Pass VerdictStatus = "pass"
	// Warn: findings at or above warnOn, none at or above failOn.
	Warn VerdictStatus = "warn"
	// Fail: findings at or above failOn. With softFail the scan still
	// succeeds.
	Fail VerdictStatus = "fail"
)

// Verdict is the policy's decision and what it was made on.
type Verdict struct {
	// Status is pass, warn or fail.
	Status VerdictStatus `json:"status"`
	// FailOn is the fail threshold, "" for none.
	FailOn Severity `json:"failOn,omitempty"`
	// WarnOn is the warn threshold, "" for none.
	WarnOn Severity `json:"warnOn,omitempty"`
	// Scanners are per-scanner thresholds that replaced FailOn and WarnOn
	// for what that scanner found.
	Scanners map[string]Thresholds `json:"scanners,omitempty"`
	// OnlyFixed is true when findings without a fix were not counted.
	OnlyFixed bool `json:"onlyFixed"`
	// SoftFail is true when a fail verdict does not fail the scan.
	SoftFail bool `json:"softFail"`
	// Failing are the IDs of the findings at or above failOn, sorted.
	Failing []string `json:"failing"`
	// Warning are the IDs of the findings at or above warnOn and below
	// failOn, sorted.
	Warning []string `json:"warning"`
	// FailingFindings counts the findings (a vulnerability in a package,
	// the unit of Counts) at or above failOn.
	FailingFindings int `json:"failingFindings"`
	// WarningFindings counts the findings at or above warnOn and below
	// failOn.
	WarningFindings int `json:"warningFindings"`
}

// NoticeKind names a notice.
type NoticeKind string

// Notice kinds.
const (
	// NoticeExpiredRule: an ignore rule is past its expiry date and no
	// longer applies.
	NoticeExpiredRule NoticeKind = "expired-ignore-rule"
	// NoticeScannerFailed: an optional scanner could not run; the result
	// holds the other scanners' findings only.
	NoticeScannerFailed NoticeKind = "scanner-failed"
	// NoticeStaleDB: a scanner used a database past its maximum age,
	// because the user allowed it.
	NoticeStaleDB NoticeKind = "stale-db"
)

// Notice is something the reader of a result should know about how it was
// made.
type Notice struct {
	// Kind is what happened.
	Kind NoticeKind `json:"kind"`
	// Message says it in a sentence.
	Message string `json:"message"`
	// Scanner is the scanner it concerns, if any.
	Scanner string `json:"scanner,omitempty"`
	// Rule is the expired ignore rule, for NoticeExpiredRule.
	Rule *IgnoreRule `json:"rule,omitempty"`
	// IDs are the findings the expired rule would have set aside.
	IDs []string `json:"ids,omitempty"`
}

// Err returns a *PolicyError when the verdict is fail and the policy is not
// soft-failing, and nil otherwise. A command prints the result first, then
// returns Err: the check failed (exit code 1) but the findings are shown.
func (r *Result) Err() error {
	if r == nil || r.Verdict.Status != Fail || r.Verdict.SoftFail {
		return nil
	}
	return &PolicyError{Image: r.Image, FailOn: r.Verdict.FailOn, IDs: r.Verdict.Failing, Findings: r.Verdict.FailingFindings}
}

// Report is what one scanner found in one image, before merging and
// policy.
type Report struct {
	// Scanner names the scanner and its database.
	Scanner ScannerInfo `json:"scanner"`
	// Matches are its findings; FoundBy is filled in by Merge when empty.
	Matches []Match `json:"matches"`
	// Notices are what the scanner wants the reader to know (a stale
	// database).
	Notices []Notice `json:"notices,omitempty"`
}
