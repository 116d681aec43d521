package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
)

// MinTrivyVersion is the oldest Trivy that Trivy.Scan runs.
const MinTrivyVersion = "0.74.0"

// Trivy runs Aqua's trivy executable on an image's SBOM, as a second
// scanner beside grype. It writes the SBOM as CycloneDX to a temporary file
// — with each Debian package's source package named in Trivy's own
// property, which is where Trivy looks for it — and runs
//
//	trivy sbom --format json --output FILE --cache-dir DIR --scanners vuln \
//	  --quiet --skip-version-check --skip-db-update --offline-scan SBOM
//
// --offline-scan keeps the scan to the SBOM and the database: Trivy makes
// no other requests (such as looking jars up by digest).
//
// Trivy keeps its vulnerability database in DIR, a persistent directory
// (sc uses <cache-dir>/trivy): it is downloaded once, with
// `trivy image --download-db-only`, when DIR has none or Trivy's own
// NextUpdate time has passed, one download at a time, and every scan runs
// with --skip-db-update. When a refresh fails but a database is there, the
// scan uses it and says so in a notice.
//
// A Trivy value is safe for concurrent use.
type Trivy struct {
	path     string
	cacheDir string
	now      func() time.Time
	logger   *slog.Logger
	pathHint string
	mu       sync.Mutex // serialises database downloads
}

// TrivyOption configures NewTrivy.
type TrivyOption func(*Trivy)

// WithTrivyPath sets the executable: a path, or a name looked up on PATH.
// Default: "trivy".
func WithTrivyPath(p string) TrivyOption { return func(t *Trivy) { t.path = p } }

// WithTrivyPathHint names, for the error a missing executable gives, where
// the user sets the path ("--trivy-path", "scan.tools[].path").
// Default: no hint beyond installing Trivy.
func WithTrivyPathHint(where string) TrivyOption { return func(t *Trivy) { t.pathHint = where } }

// WithTrivyClock sets the clock compared with the database's NextUpdate.
// Default: time.Now.
func WithTrivyClock(now func() time.Time) TrivyOption { return func(t *Trivy) { t.now = now } }

// WithTrivyLogger sets the logger for progress and Trivy's error output.
// Default: a logger that discards.
func WithTrivyLogger(l *slog.Logger) TrivyOption { return func(t *Trivy) { t.logger = l } }

// NewTrivy returns a Trivy scanner keeping its database in cacheDir. It
// does not look for the executable: Scan does, and returns
// ErrScannerNotFound when it is missing.
func NewTrivy(cacheDir string, opts ...TrivyOption) *Trivy {
	t := &Trivy{path: "trivy", cacheDir: cacheDir, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	return t
}

var _ Scanner = (*Trivy)(nil)

// Name returns "trivy".
func (t *Trivy) Name() string { return "trivy" }

// TrivyVersion is what `trivy version --format json` reports.
type TrivyVersion struct {
	// Version is Trivy's version, "0.74.0".
	Version string `json:"Version"`
	// VulnerabilityDB describes the database in the cache directory; nil
	// when there is none.
	VulnerabilityDB *TrivyDB `json:"VulnerabilityDB,omitempty"`
	// JavaDB describes the Java index database; nil when there is none.
	JavaDB *TrivyDB `json:"JavaDB,omitempty"`
}

// TrivyDB describes one of Trivy's databases.
type TrivyDB struct {
	// Version is the database's schema version (2 for the vulnerability
	// database).
	Version int `json:"Version"`
	// UpdatedAt is when the database was built.
	UpdatedAt time.Time `json:"UpdatedAt"`
	// NextUpdate is when Trivy expects a newer one.
	NextUpdate time.Time `json:"NextUpdate"`
	// DownloadedAt is when it was downloaded into the cache.
	DownloadedAt time.Time `json:"DownloadedAt"`
}

// executable finds the trivy executable.
func (t *Trivy) executable() (string, error) {
	p, err := exec.LookPath(t.path)
	if err != nil {
		hint := ""
		if t.pathHint != "" {
			hint = ", or give its path with " + t.pathHint
		}
		return "", fmt.Errorf("%w: trivy (%q): %w; install Trivy %s or later%s", ErrScannerNotFound, t.path, err, MinTrivyVersion, hint)
	}
	return p, nil
}

// Version runs `trivy version --format json` and checks that Trivy is at
// least MinTrivyVersion (ErrScannerVersion otherwise).
func (t *Trivy) Version(ctx context.Context) (*TrivyVersion, error) {
	exe, err := t.executable()
	if err != nil {
		return nil, err
	}
	return t.version(ctx, exe)
}

func (t *Trivy) version(ctx context.Context, exe string) (*TrivyVersion, error) {
	out, err := t.run(ctx, exe, "version", "--format", "json", "--cache-dir", t.cacheDir)
	if err != nil {
		return nil, err
	}
	var v TrivyVersion
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("%w: reading `trivy version --format json`: %w", ErrScannerFailed, err)
	}
	ok, err := versionAtLeast(v.Version, MinTrivyVersion)
	if err != nil {
		return nil, fmt.Errorf("%w: trivy version %q: %w", ErrScannerVersion, v.Version, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: trivy %s is older than %s", ErrScannerVersion, v.Version, MinTrivyVersion)
	}
	return &v, nil
}

// run runs exe with args and returns its standard output. A failure is an
// ErrScannerFailed carrying the end of Trivy's standard error.
func (t *Trivy) run(ctx context.Context, exe string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	// Cancelling kills trivy, but a child it started may still hold its
	// output open: stop waiting for that after trivyWaitDelay.
	cmd.WaitDelay = trivyWaitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	t.logger.Debug("running trivy", "args", args)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: trivy %s: %w: %s", ErrScannerFailed, args[0], err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

// trivyWaitDelay is how long a cancelled or finished trivy's output pipes
// are waited for before they are closed.
const trivyWaitDelay = 2 * time.Second

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// ensureDB makes sure the cache holds a database, downloading one when
// there is none or Trivy's NextUpdate has passed. It returns the version
// report describing the database the scan will use, and a notice when that
// database could not be refreshed.
func (t *Trivy) ensureDB(ctx context.Context, exe string) (*TrivyVersion, []Notice, error) {
	v, err := t.version(ctx, exe)
	if err != nil {
		return nil, nil, err
	}
	if fresh(v.VulnerabilityDB, t.now()) {
		return v, nil, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// another scan may have downloaded it while this one waited
	if v, err = t.version(ctx, exe); err != nil {
		return nil, nil, err
	}
	if fresh(v.VulnerabilityDB, t.now()) {
		return v, nil, nil
	}
	if err := os.MkdirAll(t.cacheDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("%w: creating trivy's cache directory: %w", ErrScannerFailed, err)
	}
	t.logger.Info("downloading trivy's vulnerability database", "cacheDir", t.cacheDir)
	_, dlErr := t.run(ctx, exe, "image", "--download-db-only", "--cache-dir", t.cacheDir, "--quiet", "--skip-version-check")
	if dlErr != nil && ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if v, err = t.version(ctx, exe); err != nil {
		return nil, nil, err
	}
	switch {
	case v.VulnerabilityDB == nil && dlErr != nil:
		return nil, nil, fmt.Errorf("trivy has no vulnerability database in %s and could not download one: %w", t.cacheDir, dlErr)
	case v.VulnerabilityDB == nil:
		return nil, nil, fmt.Errorf("%w: trivy reported no vulnerability database in %s after downloading one", ErrScannerFailed, t.cacheDir)
	case dlErr != nil:
		return v, []Notice{{
			Kind:    NoticeStaleDB,
			Scanner: t.Name(),
			Message: fmt.Sprintf("trivy's vulnerability database (updated %s) could not be refreshed and was used as it is: %v",
				v.VulnerabilityDB.UpdatedAt.UTC().Format(time.RFC3339), dlErr),
		}}, nil
	}
	return v, nil, nil
}

// fresh reports whether db exists and its next update is not due.
func fresh(db *TrivyDB, now time.Time) bool {
	return db != nil && (db.NextUpdate.IsZero() || now.Before(db.NextUpdate))
}

// Scan runs `trivy sbom` on s, written as CycloneDX, and parses its report.
// Errors: ErrScannerNotFound, ErrScannerVersion, ErrScannerFailed, or a
// context error.
func (t *Trivy) Scan(ctx context.Context, image string, s SBOM) (*Report, error) {
	exe, err := t.executable()
	if err != nil {
		return nil, err
	}
	v, notices, err := t.ensureDB(ctx, exe)
	if err != nil {
		return nil, err
	}
	doc, err := s.CycloneDX()
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the SBOM of %s as CycloneDX: %w", ErrScannerFailed, image, err)
	}
	if doc, err = trivyInput(doc); err != nil {
		return nil, fmt.Errorf("%w: the SBOM of %s: %w", ErrScannerFailed, image, err)
	}
	dir, err := os.MkdirTemp("", "sc-trivy-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScannerFailed, err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	in := filepath.Join(dir, "sbom.cdx.json")
	out := filepath.Join(dir, "report.json")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScannerFailed, err)
	}
	args := []string{"sbom", "--format", "json", "--output", out, "--cache-dir", t.cacheDir,
		"--scanners", "vuln", "--quiet", "--skip-version-check", "--skip-db-update", "--offline-scan"}
	if v.JavaDB != nil {
		args = append(args, "--skip-java-db-update")
	}
	if _, err := t.run(ctx, exe, append(args, in)...); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("%w: trivy wrote no report: %w", ErrScannerFailed, err)
	}
	matches, err := ParseTrivyReport(data)
	if err != nil {
		return nil, err
	}
	db := v.VulnerabilityDB
	return &Report{
		Scanner: ScannerInfo{Name: t.Name(), Version: v.Version, DB: &DBInfo{
			Built:  db.UpdatedAt.UTC(),
			Schema: strconv.Itoa(db.Version),
			Source: "trivy-db",
		}},
		Matches: matches,
		Notices: notices,
	}, nil
}

// versionAtLeast compares dotted numeric versions ("0.74.0", "v0.74.1").
func versionAtLeast(v, min string) (bool, error) {
	a, err := parseVersion(v)
	if err != nil {
		return false, err
	}
	b, err := parseVersion(min)
	if err != nil {
		return false, err
	}
	return slices.Compare(a, b) >= 0, nil
}

func parseVersion(v string) ([]int, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, errors.New("not a version MAJOR.MINOR.PATCH")
	}
	out := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, errors.New("not a version MAJOR.MINOR.PATCH")
		}
		out[i] = n
	}
	return out, nil
}

// trivyReport is the part of Trivy's JSON report (schema version 2) that sc
// reads: Results[].Vulnerabilities[].
type trivyReport struct {
	SchemaVersion int `json:"SchemaVersion"`
	Results       []struct {
		Target          string      `json:"Target"`
		Type            string      `json:"Type"`
		Vulnerabilities []trivyVuln `json:"Vulnerabilities"`
	} `json:"Results"`
}

type trivyVuln struct {
	VulnerabilityID string   `json:"VulnerabilityID"`
	VendorIDs       []string `json:"VendorIDs"`
	PkgName         string   `json:"PkgName"`
	PkgPath         string   `json:"PkgPath"`
	PkgIdentifier   struct {
		PURL string `json:"PURL"`
	} `json:"PkgIdentifier"`
	InstalledVersion string `json:"InstalledVersion"`
	FixedVersion     string `json:"FixedVersion"`
	Status           string `json:"Status"`
	PrimaryURL       string `json:"PrimaryURL"`
	Title            string `json:"Title"`
	Description      string `json:"Description"`
	Severity         string `json:"Severity"`
	CVSS             map[string]struct {
		V2Vector  string  `json:"V2Vector"`
		V3Vector  string  `json:"V3Vector"`
		V40Vector string  `json:"V40Vector"`
		V2Score   float64 `json:"V2Score"`
		V3Score   float64 `json:"V3Score"`
		V40Score  float64 `json:"V40Score"`
	} `json:"CVSS"`
	References []string `json:"References"`
}

// ParseTrivyReport reads a Trivy JSON report (`trivy … --format json`,
// SchemaVersion 2) and returns its vulnerabilities as matches found by
// "trivy": VulnerabilityID as the ID, VendorIDs as aliases, Severity,
// CVSS per source, the package (PkgName, InstalledVersion, PkgIdentifier's
// PURL, PkgPath), FixedVersion (comma-separated) and Status as the fix,
// PrimaryURL and References. A report that does not parse, or has another
// schema version, is an ErrScannerFailed.
func ParseTrivyReport(data []byte) ([]Match, error) {
	var r trivyReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: reading trivy's report: %w", ErrScannerFailed, err)
	}
	if r.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: trivy's report has schema version %d, sc reads 2", ErrScannerFailed, r.SchemaVersion)
	}
	out := []Match{}
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if v.VulnerabilityID == "" || v.PkgName == "" {
				return nil, fmt.Errorf("%w: trivy's report has a vulnerability without ID or package in %q", ErrScannerFailed, res.Target)
			}
			out = append(out, trivyMatch(v, res.Type))
		}
	}
	return out, nil
}

func trivyMatch(v trivyVuln, resultType string) Match {
	m := Match{
		ID:          strings.TrimSpace(v.VulnerabilityID),
		Severity:    normalizeSeverity(v.Severity),
		Description: v.Description,
		Package: Package{
			Name:    v.PkgName,
			Version: v.InstalledVersion,
			Type:    packageType(v.PkgIdentifier.PURL, resultType),
			PURL:    v.PkgIdentifier.PURL,
		},
		DataSource: v.PrimaryURL,
		FoundBy:    []string{"trivy"},
	}
	if m.Description == "" {
		m.Description = v.Title
	}
	if v.PkgPath != "" {
		m.Package.Locations = []string{"/" + strings.TrimPrefix(v.PkgPath, "/")}
	}
	for _, id := range v.VendorIDs {
		if id = strings.TrimSpace(id); id != "" && !strings.EqualFold(id, m.ID) {
			m.Aliases = appendNew(m.Aliases, id)
		}
	}
	slices.Sort(m.Aliases)
	for _, fv := range strings.Split(v.FixedVersion, ",") {
		m.Fix.Versions = appendNew(m.Fix.Versions, strings.TrimSpace(fv))
	}
	switch strings.ToLower(v.Status) {
	case "fixed":
		m.Fix.State = FixStateFixed
	case "affected", "fix_deferred":
		m.Fix.State = FixStateNotFixed
	case "will_not_fix", "end_of_life":
		m.Fix.State = FixStateWontFix
	default:
		m.Fix.State = FixStateUnknown
	}
	if len(m.Fix.Versions) > 0 {
		m.Fix.State = FixStateFixed
	}
	sources := make([]string, 0, len(v.CVSS))
	for s := range v.CVSS {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	for _, s := range sources {
		c := v.CVSS[s]
		if c.V40Vector != "" {
			m.CVSS = append(m.CVSS, CVSS{Source: s, Version: "4.0", Vector: c.V40Vector, BaseScore: c.V40Score})
		}
		if c.V3Vector != "" {
			m.CVSS = append(m.CVSS, CVSS{Source: s, Version: cvssVersion(c.V3Vector, "3.0"), Vector: c.V3Vector, BaseScore: c.V3Score})
		}
		if c.V2Vector != "" {
			m.CVSS = append(m.CVSS, CVSS{Source: s, Version: "2.0", Vector: c.V2Vector, BaseScore: c.V2Score})
		}
	}
	for _, u := range v.References {
		if u != m.DataSource {
			m.URLs = appendNew(m.URLs, u)
		}
	}
	return m
}

// cvssVersion reads the version from a "CVSS:3.1/…" vector.
func cvssVersion(vector, dflt string) string {
	if rest, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		if v, _, ok := strings.Cut(rest, "/"); ok {
			return v
		}
	}
	return dflt
}

// packageType names a package's type in syft's vocabulary, from its purl,
// else Trivy's result type.
func packageType(purl, resultType string) string {
	if p, err := packageurl.FromString(purl); err == nil {
		switch p.Type {
		case "golang":
			return "go-module"
		case "pypi":
			return "python"
		case "maven":
			return "java-archive"
		case "gem":
			return "gem"
		case "cargo":
			return "rust-crate"
		default:
			return p.Type
		}
	}
	return resultType
}

// Trivy's CycloneDX properties for a package's source package.
const (
	trivySrcName    = "aquasecurity:trivy:SrcName"
	trivySrcVersion = "aquasecurity:trivy:SrcVersion"
)

// trivyInput prepares a CycloneDX document for `trivy sbom`. Trivy looks
// Debian's advisories up by source package (openssl, not libssl3), and in
// an SBOM it reads the source package only from its own properties,
// aquasecurity:trivy:SrcName and SrcVersion, else takes the binary
// package's name: given syft's SBOM as it is, it misses every advisory of a
// binary package named differently from its source. trivyInput adds those
// properties to each deb component whose purl names its source package
// with the purl spec's upstream qualifier ("upstream=openssl",
// "upstream=bash@5.2.15-2"), as syft writes it, and leaves components that
// already have them alone. A document that needs no change is returned as
// it is.
func trivyInput(doc []byte) ([]byte, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("reading CycloneDX: %w", err)
	}
	changed := false
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for i := range *cs {
			c := &(*cs)[i]
			walk(c.Components)
			p, err := packageurl.FromString(c.PackageURL)
			if err != nil || p.Type != packageurl.TypeDebian {
				continue
			}
			up := p.Qualifiers.Map()["upstream"]
			name, version, _ := strings.Cut(up, "@")
			if name == "" || hasProperty(c.Properties, trivySrcName) {
				continue
			}
			props := []cdx.Property{}
			if c.Properties != nil {
				props = *c.Properties
			}
			props = append(props, cdx.Property{Name: trivySrcName, Value: name})
			if version != "" {
				props = append(props, cdx.Property{Name: trivySrcVersion, Value: version})
			}
			c.Properties = &props
			changed = true
		}
	}
	walk(bom.Components)
	if !changed {
		return doc, nil
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetEscapeHTML(false)
	var err error
	if bom.SpecVersion != 0 {
		err = enc.EncodeVersion(&bom, bom.SpecVersion)
	} else {
		err = enc.Encode(&bom)
	}
	if err != nil {
		return nil, fmt.Errorf("writing CycloneDX: %w", err)
	}
	return buf.Bytes(), nil
}

func hasProperty(ps *[]cdx.Property, name string) bool {
	return ps != nil && slices.ContainsFunc(*ps, func(p cdx.Property) bool { return p.Name == name })
}
