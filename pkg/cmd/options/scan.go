package options

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// ScanDB is the flag group of the vulnerability database, shared by `sc
// image scan` and `sc scan db`. It keeps the flags as given: pkg/cmd turns
// them into pkg/security/scan/vulndb options (this package does not import
// vulndb, which links grype).
type ScanDB struct {
	// Cache locates the database: <cache-dir>/vulndb.
	Cache Cache
	// ListingURL is --db-listing-url. Default: grype's public listing.
	ListingURL string
	// MaxAge is --db-max-age. Default: 120h (grype's 5 days).
	MaxAge time.Duration
	// NoUpdate is --db-no-update: never download a database during a scan.
	// Default: false.
	NoUpdate bool
	// InsecureAllowStale is --insecure-allow-stale-db. Default: false.
	InsecureAllowStale bool
	// CACert is --db-ca-cert. Default: the system's authorities.
	CACert string
}

// DefaultDBListingURL is grype's public database listing, the default of
// --db-listing-url (vulndb.DefaultListingURL).
const DefaultDBListingURL = "https://grype.anchore.io/databases"

// DefaultDBMaxAge is the default of --db-max-age (vulndb.DefaultMaxAge).
const DefaultDBMaxAge = 120 * time.Hour

// AddFlags binds the group's flags, --cache-dir included.
func (d *ScanDB) AddFlags(fs *pflag.FlagSet) {
	d.Cache.AddFlags(fs)
	fs.StringVar(&d.ListingURL, "db-listing-url", DefaultDBListingURL,
		"where vulnerability database updates are listed (grype's listing format)")
	fs.DurationVar(&d.MaxAge, "db-max-age", DefaultDBMaxAge,
		"oldest vulnerability database to scan with; an older one is updated first, or refused")
	fs.BoolVar(&d.NoUpdate, "db-no-update", false,
		"never download a vulnerability database during a scan (install one with 'sc scan db update' or 'sc scan db import')")
	fs.BoolVar(&d.InsecureAllowStale, "insecure-allow-stale-db", false,
		"scan with a database older than --db-max-age when no newer one can be had (results miss recent vulnerabilities)")
	fs.StringVar(&d.CACert, "db-ca-cert", "", "PEM file of extra certificate authorities for database downloads")
}

// Dir returns the database directory, <cache-dir>/vulndb.
func (d *ScanDB) Dir(root *Root) (string, error) {
	dir, err := d.Cache.ResolveDir(root)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "vulndb"), nil
}

// TrivyCacheDir returns Trivy's persistent cache, <cache-dir>/trivy.
func (d *ScanDB) TrivyCacheDir(root *Root) (string, error) {
	dir, err := d.Cache.ResolveDir(root)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "trivy"), nil
}

// Validate checks the flags.
func (d *ScanDB) Validate() error {
	if d.MaxAge <= 0 {
		return outcome.Invalidf("--db-max-age %s: must be positive", d.MaxAge)
	}
	if d.ListingURL == "" {
		return outcome.Invalidf("--db-listing-url is empty")
	}
	return nil
}

// Scan is the flag group of `sc image scan`: the scanners, the SBOM to scan,
// the policy and the output. Config maps the scanner and policy flags onto
// the scan block of a security descriptor, which scan.PolicyFrom turns into
// a policy, as it does for the configuration.
type Scan struct {
	// Tool is --tool: grype, trivy or all. Default: grype.
	Tool string
	// TrivyPath is --trivy-path. Default: trivy from PATH.
	TrivyPath string
	// SBOM is --sbom: an SBOM file to scan instead of generating one.
	SBOM string
	// AllowSBOMMismatch is --allow-sbom-mismatch: scan an --sbom that names
	// another image's digest, with a warning, instead of refusing it.
	// Default: false.
	AllowSBOMMismatch bool
	// FailOn is --fail-on. Default: high.
	FailOn string
	// WarnOn is --warn-on. Default: empty, which Config derives one step
	// below --fail-on, as a configuration file's warnOn is (medium for the
	// default high; none below unknown or none).
	WarnOn string
	// OnlyFixed is --only-fixed.
	OnlyFixed bool
	// SoftFail is --soft-fail.
	SoftFail bool
	// IgnoreFile is --ignore-file.
	IgnoreFile string
	// VEX is --vex, repeatable.
	VEX []string
	// Output is --output: table, json, sarif or cyclonedx. Default: table.
	Output string
}

// AddFlags binds the group's flags.
func (s *Scan) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Tool, "tool", "grype",
		"scanner: grype (in-process), trivy (the trivy executable, required), or all (grype, plus trivy when it is installed)")
	fs.StringVar(&s.TrivyPath, "trivy-path", "trivy", "trivy executable (a path, or a name looked up on PATH)")
	fs.StringVar(&s.SBOM, "sbom", "", "scan this SBOM file (CycloneDX, SPDX or syft JSON) instead of generating one from the image; it must not name another image's digest")
	fs.BoolVar(&s.AllowSBOMMismatch, "allow-sbom-mismatch", false, AllowSBOMMismatchUsage)
	fs.StringVar(&s.FailOn, "fail-on", "high",
		"fail (exit 1) on a finding at or above this severity: critical, high, medium, low, negligible, unknown, or none")
	fs.StringVar(&s.WarnOn, "warn-on", "",
		"warn on a finding at or above this severity (and below --fail-on), or none (default: one step below --fail-on, medium for high)")
	fs.BoolVar(&s.OnlyFixed, "only-fixed", false, "count only findings that have a fix")
	fs.BoolVar(&s.SoftFail, "soft-fail", false, "report policy violations without failing")
	fs.StringVar(&s.IgnoreFile, "ignore-file", "",
		"YAML file of accepted findings: ignore: [{id, package (glob), reason, expires (YYYY-MM-DD)}]")
	fs.StringArrayVar(&s.VEX, "vex", nil, "OpenVEX document whose not_affected and fixed statements suppress findings (repeatable)")
	fs.StringVarP(&s.Output, "output", "o", "table",
		"output format: table, json (sc's result), sarif (SARIF 2.1.0) or cyclonedx (a CycloneDX 1.6 vulnerability/VEX document)")
}

// severityFlag reads a threshold flag: a severity, or "none" / "" for no
// threshold.
func severityFlag(flag, v string) (api.Severity, error) {
	if v == "" || v == "none" {
		return "", nil
	}
	s, err := api.ParseSeverity(v)
	if err != nil {
		return "", outcome.Invalidf("--%s: %w", flag, err)
	}
	return s, nil
}

// ignoreFile is the document of --ignore-file: the ignore list of a scan
// block, alone in a file.
type ignoreFile struct {
	Ignore []api.IgnoreRule `yaml:"ignore"`
}

// Config maps the flags onto a scan block, as a security descriptor would
// write it, for scan.PolicyFrom: --fail-on and --warn-on ("none" is no
// threshold; a --warn-on not given is one step below --fail-on, as api's
// defaults derive a configuration's warnOn), --only-fixed, --soft-fail, the scanners of --tool (grype is
// required; trivy is with --tool trivy, optional with all), the rules of
// --ignore-file, which it reads, and the --vex paths as given (PolicyFrom
// reads them).
//
// The block is complete as it is and must not go through api's defaults,
// which would turn a threshold of none into the default one. Errors are
// usage errors (exit 2): a flag that does not validate, an ignore file
// that cannot be read or has unknown fields or a malformed date.
func (s *Scan) Config() (*api.Scan, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	cfg := &api.Scan{VEX: slices.Clone(s.VEX)}
	cfg.FailOn, _ = severityFlag("fail-on", s.FailOn)
	if s.WarnOn == "" {
		cfg.WarnOn = cfg.FailOn.Below()
	} else {
		cfg.WarnOn, _ = severityFlag("warn-on", s.WarnOn)
	}
	if s.OnlyFixed {
		cfg.OnlyFixed = new(true)
	}
	if s.SoftFail {
		cfg.SoftFail = new(true)
	}
	if s.Tool == "grype" || s.Tool == "all" {
		cfg.Tools = append(cfg.Tools, api.Tool{Name: api.ScannerGrype, Required: new(true), FailOn: cfg.FailOn, WarnOn: cfg.WarnOn})
	}
	if s.Tool == "trivy" || s.Tool == "all" {
		cfg.Tools = append(cfg.Tools, api.Tool{Name: api.ScannerTrivy, Required: new(s.Tool == "trivy"),
			FailOn: cfg.FailOn, WarnOn: cfg.WarnOn, Path: s.TrivyPath})
	}
	if s.IgnoreFile != "" {
		data, err := os.ReadFile(s.IgnoreFile)
		if err != nil {
			return nil, outcome.Invalidf("--ignore-file: %w", err)
		}
		var f ignoreFile
		if err := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField()).Decode(&f); err != nil {
			return nil, outcome.Invalidf("--ignore-file %s: %w", s.IgnoreFile, err)
		}
		cfg.Ignore = f.Ignore
	}
	return cfg, nil
}

// Validate checks the flags that need no file.
func (s *Scan) Validate() error {
	switch s.Tool {
	case "grype", "trivy", "all":
	default:
		return outcome.Invalidf("--tool %q: want grype, trivy or all", s.Tool)
	}
	switch s.Output {
	case "table", "json", "sarif", "cyclonedx":
	default:
		return outcome.Invalidf("--output %q: want table, json, sarif or cyclonedx", s.Output)
	}
	if _, err := severityFlag("fail-on", s.FailOn); err != nil {
		return err
	}
	if s.AllowSBOMMismatch && s.SBOM == "" {
		return outcome.Invalid("--allow-sbom-mismatch applies to the SBOM given with --sbom")
	}
	_, err := severityFlag("warn-on", s.WarnOn)
	return err
}

// AllowSBOMMismatchUsage is the help of --allow-sbom-mismatch, a flag of
// every command that takes an SBOM file for an image.
const AllowSBOMMismatchUsage = "use an --sbom that names another image's digest (with a warning) instead of refusing it (exit 1)"
