package vulndb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/anchore/clio"
	v6 "github.com/anchore/grype/grype/db/v6"
	v6dist "github.com/anchore/grype/grype/db/v6/distribution"
	v6inst "github.com/anchore/grype/grype/db/v6/installation"

	"github.com/sc-project/sc/pkg/outcome"
)

// Defaults, grype's own.
const (
	// DefaultListingURL is where grype publishes its databases: the
	// listing (v6/latest.json below it) names the newest archive.
	DefaultListingURL = "https://grype.anchore.io/databases"
	// DefaultMaxAge is the oldest database a scan uses (grype's
	// max-allowed-built-age, 5 days); an older one is updated, or refused.
	DefaultMaxAge = 5 * 24 * time.Hour
	// DefaultCheckTimeout bounds fetching the listing.
	DefaultCheckTimeout = 30 * time.Second
	// DefaultDownloadTimeout bounds downloading an archive.
	DefaultDownloadTimeout = 300 * time.Second
)

// Sentinels for the outcomes callers branch on; all are operational (exit
// code 3): the scan could not run.
var (
	// ErrNoDatabase: no database is installed and none could be
	// downloaded.
	ErrNoDatabase = outcome.Operational("no vulnerability database")
	// ErrStaleDatabase: the database is older than the maximum age and
	// could not be updated, and stale databases are not allowed.
	ErrStaleDatabase = outcome.Operational("vulnerability database is older than its maximum age")
	// ErrInvalidDatabase: the installed database does not pass its checks
	// (checksum, schema version) or cannot be opened.
	ErrInvalidDatabase = outcome.Operational("vulnerability database is not usable")
	// ErrUpdate: the listing or archive could not be fetched or installed.
	ErrUpdate = outcome.Operational("vulnerability database update failed")
	// ErrImport: a database file, archive or URL could not be installed.
	ErrImport = outcome.Operational("vulnerability database import failed")
)

// Store manages grype's vulnerability database in one directory: the
// database lives in <dir>/6/vulnerability.db (6 being the schema), beside
// grype's import metadata. It checks, updates and imports it with grype's
// own distribution and installation code (grype/db/v6/distribution and
// installation), and opens it for scanning.
//
// A Store holds no open files; it is cheap, and safe to use from one
// process at a time per directory (grype's installer, which it uses,
// replaces the directory without a lock between processes).
type Store struct {
	dir             string
	listingURL      string
	caCert          string
	maxAge          time.Duration
	autoUpdate      bool
	allowStale      bool
	checkTimeout    time.Duration
	downloadTimeout time.Duration
	userAgent       clio.Identification
	now             func() time.Time
	logger          *slog.Logger
}

// Option configures NewStore.
type Option func(*Store)

// WithListingURL sets where updates come from: a URL below which
// v6/latest.json lists the newest archive, or the URL of a listing file
// ending in .json. Default: DefaultListingURL.
func WithListingURL(u string) Option { return func(s *Store) { s.listingURL = u } }

// WithCACert adds a PEM file of certificate authorities trusted for the
// listing and downloads. Default: "", the system's.
func WithCACert(file string) Option { return func(s *Store) { s.caCert = file } }

// WithMaxAge sets the oldest database Open uses, by build time. Default:
// DefaultMaxAge.
func WithMaxAge(d time.Duration) Option { return func(s *Store) { s.maxAge = d } }

// WithAutoUpdate sets whether Open downloads a database when none is
// installed or the installed one is older than the maximum age. Default:
// true. Without it, Open never touches the network.
func WithAutoUpdate(on bool) Option { return func(s *Store) { s.autoUpdate = on } }

// WithInsecureAllowStale lets Open use a database older than the maximum
// age when no newer one can be had, instead of refusing it: results then
// miss the vulnerabilities published since, and say so (scan.DBInfo.Stale
// and a scan.NoticeStaleDB notice). Default: refused.
func WithInsecureAllowStale() Option { return func(s *Store) { s.allowStale = true } }

// WithTimeouts bounds fetching the listing and downloading an archive.
// Default: DefaultCheckTimeout and DefaultDownloadTimeout. grype's
// downloader does not take a context: an update is bounded by these, and
// a cancelled context is only noticed between steps.
func WithTimeouts(check, download time.Duration) Option {
	return func(s *Store) { s.checkTimeout, s.downloadTimeout = check, download }
}

// WithUserAgent sets the name and version sent as User-Agent ("sc
// v1.2.3"). Default: "sc" "devel".
func WithUserAgent(name, version string) Option {
	return func(s *Store) { s.userAgent = clio.Identification{Name: name, Version: version} }
}

// WithClock sets the clock database ages are measured with. Default:
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets the logger for progress (downloads, a stale database in
// use). Default: a logger that discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// NewStore returns the store of the database under dir. sc uses
// <cache-dir>/vulndb.
func NewStore(dir string, opts ...Option) *Store {
	s := &Store{
		dir:             dir,
		listingURL:      DefaultListingURL,
		maxAge:          DefaultMaxAge,
		autoUpdate:      true,
		checkTimeout:    DefaultCheckTimeout,
		downloadTimeout: DefaultDownloadTimeout,
		userAgent:       clio.Identification{Name: "sc", Version: "devel"},
		now:             time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Status describes the installed database.
type Status struct {
	// Path is the database file.
	Path string `json:"path"`
	// Installed is false when there is no database.
	Installed bool `json:"installed"`
	// Built is when the database was built.
	Built time.Time `json:"built,omitzero"`
	// Schema is its schema version, "v6.1.10".
	Schema string `json:"schema,omitempty"`
	// Source is where it was installed from: the archive's URL, or
	// "manual import".
	Source string `json:"source,omitempty"`
	// MaxAge is the oldest database a scan uses.
	MaxAge time.Duration `json:"maxAge"`
	// Stale is true when the database is older than MaxAge.
	Stale bool `json:"stale"`
	// Problem says why an installed database is not usable (a checksum
	// that does not match, an unsupported schema), "" when it is.
	Problem string `json:"problem,omitempty"`
}

// Usable reports whether a scan can use the database: installed, passing
// its checks, and not stale.
func (st *Status) Usable() bool { return st.Installed && st.Problem == "" && !st.Stale }

func (s *Store) installCfg() v6inst.Config {
	return v6inst.Config{
		DBRootDir:        s.dir,
		ValidateChecksum: true,
		// age is checked here, with the injected clock
		ValidateAge:             false,
		UpdateCheckMaxFrequency: 0,
	}
}

func (s *Store) curator() (v6.Curator, error) {
	client, err := v6dist.NewClient(v6dist.Config{
		ID:                 s.userAgent,
		LatestURL:          s.listingURL,
		CACert:             s.caCert,
		RequireUpdateCheck: true,
		CheckTimeout:       s.checkTimeout,
		UpdateTimeout:      s.downloadTimeout,
	})
	if err != nil {
		return nil, err
	}
	return v6inst.NewCurator(s.installCfg(), client)
}

// Status reads the installed database's description and checks its
// checksum. It does not touch the network.
func (s *Store) Status(ctx context.Context) (*Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.curator()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDatabase, err)
	}
	return s.status(c), nil
}

func (s *Store) status(c v6.Curator) *Status {
	ps := c.Status()
	st := &Status{Path: s.installCfg().DBFilePath(), MaxAge: s.maxAge}
	if ps.Error != nil && ps.Built.IsZero() {
		if !errors.Is(ps.Error, v6.ErrDBDoesNotExist) {
			st.Installed = true
			st.Problem = ps.Error.Error()
		}
		return st
	}
	st.Installed = true
	st.Built = ps.Built.UTC()
	st.Schema = ps.SchemaVersion
	st.Source = ps.From
	st.Stale = s.now().Sub(st.Built) > s.maxAge
	if ps.Error != nil {
		st.Problem = ps.Error.Error()
	}
	return st
}

// Update fetches the listing and, when it names a database newer than the
// installed one (or none is installed), downloads, verifies and installs
// it. It reports whether it installed one. Errors are ErrUpdate.
func (s *Store) Update(ctx context.Context) (*Status, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	c, err := s.curator()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrUpdate, err)
	}
	s.logger.Info("checking for a vulnerability database update", "listing", s.listingURL, "dir", s.dir)
	updated, err := c.Update()
	if err != nil {
		return nil, false, fmt.Errorf("%w from %s: %w", ErrUpdate, s.listingURL, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	st := s.status(c)
	if updated {
		s.logger.Info("installed vulnerability database", "built", st.Built, "schema", st.Schema)
	}
	return st, updated, nil
}

// Import installs a database from ref: a vulnerability.db file (ends in
// .db), an archive as grype publishes them (.tar.gz, .tar.zst, .tar.xz), or
// a URL to such an archive. The database replaces the installed one if it
// passes grype's checks. Errors are ErrImport.
func (s *Store) Import(ctx context.Context, ref string) (*Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.curator()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImport, err)
	}
	if err := c.Import(ref); err != nil {
		return nil, fmt.Errorf("%w from %s: %w", ErrImport, ref, err)
	}
	st := s.status(c)
	if st.Problem != "" {
		return st, fmt.Errorf("%w from %s: %s", ErrImport, ref, st.Problem)
	}
	s.logger.Info("imported vulnerability database", "from", ref, "built", st.Built, "schema", st.Schema)
	return st, nil
}

// Open loads the installed database for scanning, once: the DB it returns
// is shared by every scan of the process. Before that it makes sure the
// database is there and fresh:
//
//   - none installed, or older than the maximum age: with auto-update
//     (the default), Update runs first;
//   - still none: ErrNoDatabase, naming `sc scan db import` for machines
//     without network;
//   - still older than the maximum age: ErrStaleDatabase, unless
//     WithInsecureAllowStale, in which case it is used and every result
//     says so;
//   - failing its checks: ErrInvalidDatabase.
func (s *Store) Open(ctx context.Context) (*DB, error) {
	c, err := s.curator()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDatabase, err)
	}
	st := s.status(c)
	var updateErr error
	if (!st.Installed || st.Stale || st.Problem != "") && s.autoUpdate {
		if _, _, updateErr = s.Update(ctx); updateErr != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		st = s.status(c)
	}
	why := ""
	if updateErr != nil {
		why = fmt.Sprintf(" (the update failed: %v)", updateErr)
	} else if !s.autoUpdate {
		why = " (automatic updates are off)"
	}
	switch {
	case !st.Installed:
		return nil, fmt.Errorf("%w in %s%s; download one with `sc scan db update`, or where there is no network install one with `sc scan db import FILE|URL`",
			ErrNoDatabase, s.dir, why)
	case st.Problem != "":
		return nil, fmt.Errorf("%w: %s: %s%s; replace it with `sc scan db update` or `sc scan db import FILE|URL`",
			ErrInvalidDatabase, st.Path, st.Problem, why)
	case st.Stale && !s.allowStale:
		return nil, fmt.Errorf("%w: built %s, %s ago, maximum age %s%s; update it with `sc scan db update` or `sc scan db import FILE|URL`, or accept it explicitly (--insecure-allow-stale-db)",
			ErrStaleDatabase, st.Built.Format(time.RFC3339), s.now().Sub(st.Built).Round(time.Minute), s.maxAge, why)
	case st.Stale:
		s.logger.Warn("using a vulnerability database older than its maximum age, as allowed", "built", st.Built, "maxAge", s.maxAge)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rdr, err := c.Reader()
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %w", ErrInvalidDatabase, filepath.Join(s.dir), err)
	}
	s.logger.DebugContext(ctx, "using vulnerability database", "path", st.Path, "built", st.Built.UTC().Format(time.RFC3339),
		"age", s.now().Sub(st.Built).Round(time.Minute), "schema", st.Schema, "source", st.Source, "stale", st.Stale, "autoUpdate", s.autoUpdate)
	return newDB(rdr, st), nil
}
