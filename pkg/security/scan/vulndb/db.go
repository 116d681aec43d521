package vulndb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anchore/grype/grype"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/dotnet"
	"github.com/anchore/grype/grype/matcher/dpkg"
	"github.com/anchore/grype/grype/matcher/golang"
	"github.com/anchore/grype/grype/matcher/hex"
	"github.com/anchore/grype/grype/matcher/java"
	"github.com/anchore/grype/grype/matcher/javascript"
	"github.com/anchore/grype/grype/matcher/python"
	"github.com/anchore/grype/grype/matcher/rpm"
	"github.com/anchore/grype/grype/matcher/ruby"
	"github.com/anchore/grype/grype/matcher/rust"
	"github.com/anchore/grype/grype/matcher/stock"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vulnerability"

	"github.com/sc-project/sc/pkg/security/scan"
	scversion "github.com/sc-project/sc/pkg/version"
)

// DB is the vulnerability database, opened once and shared: it is grype's
// matcher (a scan.Scanner named "grype") over that database. It is safe for
// concurrent use by many scans: each Scan builds its own grype
// VulnerabilityMatcher and matchers over the one read-only database, which
// grype opens immutable and read-only (SQLite with a connection pool).
//
// A DB remembers what grype's matchers found for each distinct package it
// matched (up to 65,536 packages), so that the images of a release, which
// share base layers and so most of their packages, query the database once
// per package, not once per image, and reads each record's metadata once:
// the database does not change while it is open, and each image's
// SBOM-wide steps (ownership by file overlap, de-duplication) still run per
// image, so every Scan returns what it would have returned alone.
type DB struct {
	provider vulnerability.Provider
	cache    *matchCache
	// metadata is provider remembering records' metadata, for shared
	// scans
	metadata *metadataCache
	info     scan.ScannerInfo
	closeMu  sync.Mutex
	closed   bool
}

var _ scan.Scanner = (*DB)(nil)

func newDB(rdr v6.Reader, st *Status) *DB {
	provider := v6.NewVulnerabilityProvider(rdr)
	return &DB{
		provider: provider,
		cache:    newMatchCache(),
		metadata: newMetadataCache(provider),
		info: scan.ScannerInfo{
			Name:    "grype",
			Version: GrypeVersion(),
			DB: &scan.DBInfo{
				Built:  st.Built,
				Schema: st.Schema,
				Source: st.Source,
				Stale:  st.Stale,
			},
		},
	}
}

// GrypeVersion is the version of the grype module linked into this binary
// ("v0.121.2"), or "unknown" when the binary carries no module information.
func GrypeVersion() string { return scversion.Linked("github.com/anchore/grype") }

// Name returns "grype".
func (d *DB) Name() string { return "grype" }

// Info describes grype and the database.
func (d *DB) Info() scan.ScannerInfo {
	i := d.info
	db := *i.DB
	i.DB = &db
	return i
}

// Close closes the database. Scans must have finished.
func (d *DB) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.provider.Close()
}

// matcherConfig is grype's default matcher configuration (the defaults of
// grype's command line): CPEs only for the stock matcher, no external
// Maven searches, a missing dpkg epoch taken as 0, rpm's decided per
// distribution.
func matcherConfig() matcher.Config {
	return matcher.Config{
		Java:       java.MatcherConfig{UseCPEs: false},
		Ruby:       ruby.MatcherConfig{UseCPEs: false},
		Python:     python.MatcherConfig{UseCPEs: false},
		Dotnet:     dotnet.MatcherConfig{UseCPEs: false},
		Javascript: javascript.MatcherConfig{UseCPEs: false},
		Golang:     golang.MatcherConfig{UseCPEs: false},
		Rust:       rust.MatcherConfig{UseCPEs: false},
		Hex:        hex.MatcherConfig{UseCPEs: false},
		Stock:      stock.MatcherConfig{UseCPEs: true},
		Dpkg:       dpkg.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyZero},
		Rpm:        rpm.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyAuto},
	}
}

// providerConfig is how grype turns an SBOM into its packages: as grype's
// command line does by default.
func providerConfig() pkg.ProviderConfig {
	return pkg.ProviderConfig{
		SynthesisConfig: pkg.SynthesisConfig{
			Distro: pkg.DistroConfig{FixChannels: distro.DefaultFixChannels()},
		},
	}
}

// Scan matches the packages of s, the SBOM of image, against the database.
// s is best a *SBOM (NewSBOM, DecodeSBOM), read as it is; any other
// scan.SBOM is read from its CycloneDX form.
func (d *DB) Scan(ctx context.Context, image string, s scan.SBOM) (*scan.Report, error) {
	return d.scan(ctx, image, s, d.cache)
}

// scan is Scan with the matchers' answers from cache and the records'
// metadata from d.metadata, or, when cache is nil, both from the database
// every time.
func (d *DB) scan(ctx context.Context, image string, s scan.SBOM, cache *matchCache) (*scan.Report, error) {
	pkgs, pctx, err := packages(s)
	if err != nil {
		return nil, fmt.Errorf("reading the packages of %s: %w", image, err)
	}
	var provider vulnerability.Provider = d.provider
	matchers := matcher.NewDefaultMatchers(matcherConfig())
	if cache != nil {
		provider = d.metadata
		for i, m := range matchers {
			matchers[i] = cachedMatcher{inner: m, cache: cache}
		}
	}
	vm := grype.VulnerabilityMatcher{
		VulnerabilityProvider: provider,
		Matchers:              matchers,
	}
	remaining, _, err := vm.FindMatchesContext(ctx, pkgs, pctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: matching %s: %w", scan.ErrScannerFailed, image, err)
	}
	r := &scan.Report{Scanner: d.Info(), Matches: []scan.Match{}}
	for _, m := range remaining.Sorted() {
		r.Matches = append(r.Matches, d.convert(provider, m))
	}
	if r.Scanner.DB.Stale {
		r.Notices = append(r.Notices, scan.Notice{
			Kind:    scan.NoticeStaleDB,
			Scanner: d.Name(),
			Message: fmt.Sprintf("grype's vulnerability database was built %s, longer ago than its maximum age, and was used because stale databases were allowed: vulnerabilities published since are missing",
				r.Scanner.DB.Built.Format("2006-01-02T15:04:05Z")),
		})
	}
	return r, nil
}

// convert turns a grype match into sc's, with what grype's JSON presenter
// writes of it (grype/presenter/models): CVSS with subscores, namespace,
// CWEs, EPSS, KEV entries, risk, advisories, the related records and the
// match details with grype's suggested fix.
func (d *DB) convert(provider vulnerability.MetadataProvider, m match.Match) scan.Match {
	md := m.Vulnerability.Metadata
	if md == nil {
		md, _ = provider.VulnerabilityMetadata(m.Vulnerability.Reference) //nolint:staticcheck // grype's presenter does the same
	}
	out := scan.Match{
		ID:      m.Vulnerability.ID,
		FoundBy: []string{d.Name()},
		Package: scan.Package{
			Name:    m.Package.Name,
			Version: m.Package.Version,
			Type:    string(m.Package.Type),
			PURL:    m.Package.PURL,
		},
		Fix:       scan.Fix{State: fixState(m.Vulnerability.Fix.State), Versions: slices.Clone(m.Vulnerability.Fix.Versions)},
		Severity:  scan.Unknown,
		Namespace: m.Vulnerability.Namespace,
	}
	out.Package.Language = string(m.Package.Language)
	for _, c := range m.Package.CPEs {
		out.Package.CPEs = append(out.Package.CPEs, c.Attributes.String())
	}
	for _, a := range m.Vulnerability.Advisories {
		out.Advisories = append(out.Advisories, scan.Advisory{ID: a.ID, Link: a.Link})
	}
	suggested := ""
	if len(out.Fix.Versions) > 0 {
		suggested = out.Fix.Versions[0]
	}
	for _, dt := range m.Details {
		out.MatchDetails = append(out.MatchDetails, scan.MatchDetail{
			Type: string(dt.Type), Matcher: string(dt.Matcher), SearchedBy: dt.SearchedBy, Found: dt.Found, SuggestedVersion: suggested,
		})
	}
	for _, l := range m.Package.Locations.ToSlice() {
		if !slices.Contains(out.Package.Locations, l.RealPath) {
			out.Package.Locations = append(out.Package.Locations, l.RealPath)
		}
	}
	if md != nil {
		out.Severity = severity(md.Severity)
		out.Description = md.Description
		out.DataSource = md.DataSource
		out.URLs = slices.Clone(md.URLs)
		out.CVSS = cvss(md.Cvss)
		out.CWEs, out.EPSS = cwes(md.CWEs), epss(md.EPSS)
		out.KnownExploited = knownExploited(md.KnownExploited)
		out.Risk = md.RiskScore()
	}
	for _, r := range m.Vulnerability.RelatedVulnerabilities {
		if strings.EqualFold(r.ID, out.ID) {
			continue
		}
		if !slices.Contains(out.Aliases, r.ID) {
			out.Aliases = append(out.Aliases, r.ID)
		}
		rmd, err := provider.VulnerabilityMetadata(r) //nolint:staticcheck // as above
		if err != nil || rmd == nil {
			out.RelatedVulnerabilities = append(out.RelatedVulnerabilities, scan.RelatedVulnerability{ID: r.ID, Namespace: r.Namespace})
			continue
		}
		out.RelatedVulnerabilities = append(out.RelatedVulnerabilities, scan.RelatedVulnerability{
			ID: r.ID, DataSource: rmd.DataSource, Namespace: rmd.Namespace, Severity: severity(rmd.Severity),
			URLs: slices.Clone(rmd.URLs), Description: rmd.Description, CVSS: cvss(rmd.Cvss), CWEs: cwes(rmd.CWEs), EPSS: epss(rmd.EPSS),
		})
		// a record without a severity of its own takes its related
		// record's (an NVD CVE's), as grype's NVD fallback does
		if s := severity(rmd.Severity); out.Severity == scan.Unknown && s.Rank() > out.Severity.Rank() {
			out.Severity = s
		}
	}
	slices.Sort(out.Aliases)
	return out
}

func cvss(cs []vulnerability.Cvss) []scan.CVSS {
	var out []scan.CVSS
	for _, c := range cs {
		s := scan.CVSS{Source: c.Source, Type: c.Type, Version: c.Version, Vector: c.Vector, BaseScore: c.Metrics.BaseScore}
		if c.Metrics.ExploitabilityScore != nil {
			s.ExploitabilityScore = *c.Metrics.ExploitabilityScore
		}
		if c.Metrics.ImpactScore != nil {
			s.ImpactScore = *c.Metrics.ImpactScore
		}
		out = append(out, s)
	}
	return out
}

func cwes(cs []vulnerability.CWE) []scan.CWE {
	var out []scan.CWE
	for _, c := range cs {
		out = append(out, scan.CWE{CVE: c.CVE, CWE: c.CWE, Source: c.Source, Type: c.Type})
	}
	return out
}

func epss(es []vulnerability.EPSS) []scan.EPSS {
	var out []scan.EPSS
	for _, e := range es {
		s := scan.EPSS{CVE: e.CVE, EPSS: e.EPSS, Percentile: e.Percentile}
		if !e.Date.IsZero() {
			s.Date = e.Date.Format(time.DateOnly)
		}
		out = append(out, s)
	}
	return out
}

func knownExploited(ks []vulnerability.KnownExploited) []scan.KnownExploited {
	date := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	}
	var out []scan.KnownExploited
	for _, k := range ks {
		out = append(out, scan.KnownExploited{
			CVE: k.CVE, VendorProject: k.VendorProject, Product: k.Product, DateAdded: date(k.DateAdded),
			RequiredAction: k.RequiredAction, DueDate: date(k.DueDate), KnownRansomwareCampaignUse: k.KnownRansomwareCampaignUse,
			Notes: k.Notes, URLs: slices.Clone(k.URLs), CWEs: slices.Clone(k.CWEs),
		})
	}
	return out
}

func severity(s string) scan.Severity {
	v, err := scan.ParseSeverity(s)
	if err != nil {
		return scan.Unknown
	}
	return v
}

func fixState(s vulnerability.FixState) scan.FixState {
	switch s {
	case vulnerability.FixStateFixed:
		return scan.FixStateFixed
	case vulnerability.FixStateNotFixed:
		return scan.FixStateNotFixed
	case vulnerability.FixStateWontFix:
		return scan.FixStateWontFix
	}
	return scan.FixStateUnknown
}
