// Package vulndb builds grype vulnerability databases for tests, the way
// grype publishes them: records written with grype's own v6 store writer
// (through pkg/security/scan/vulndb.Write: v6.NewWriter, AddVulnerabilities,
// AddAffectedPackages with OS and package specifiers), packed by grype's
// build package into a .tar.gz archive beside a latest.json listing, and
// served over HTTP on 127.0.0.1 so that stores import or update them like
// the real one.
//
// grype's archive builder changes the process's working directory while it
// packs. Build serialises those calls with a lock, but the directory change
// is still visible to every goroutine of the test binary: call Build before
// any parallel test starts (in TestMain, or in tests that are not
// parallel), never from a parallel test.
//
// It does not provide real vulnerability data: FixtureAdvisories are made
// up, with IDs in the CVE-2099-… range, to exercise matching on the fixture
// image's packages.
package vulndb

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	v6build "github.com/anchore/grype/grype/db/v6/build"
	v6dist "github.com/anchore/grype/grype/db/v6/distribution"

	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// archiveMu serialises grype's archive builder, which changes the process's
// working directory: a process-wide resource, hence a package-level lock.
var archiveMu sync.Mutex

// Archive is a database built for a test.
type Archive struct {
	// Dir holds the database, the archive and latest.json.
	Dir string
	// DBPath is the database file (vulnerability.db), importable as it is.
	DBPath string
	// Path is the archive (vulnerability-db_v6…tar.gz).
	Path string
	// Listing is latest.json, naming the archive by its base name.
	Listing string
}

// Build writes advisories to a new database in a temporary directory of t
// and packs it with grype's archive builder. See the package comment: not
// from parallel tests.
func Build(t testing.TB, advisories ...vulndb.Advisory) *Archive {
	t.Helper()
	a, err := BuildIn(t.TempDir(), advisories...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// DB writes advisories to a new database file in a temporary directory of
// t and returns its path (…/vulnerability.db), importable as it is. It
// makes no archive, so it is safe in parallel tests.
func DB(t testing.TB, advisories ...vulndb.Advisory) string {
	t.Helper()
	dir := t.TempDir()
	if err := vulndb.Write(context.Background(), dir, advisories...); err != nil {
		t.Fatalf("writing test vulnerability database: %v", err)
	}
	return filepath.Join(dir, "vulnerability.db")
}

// DBBuiltAt is DB with the database's build time set to built, for tests
// of stale databases that cannot inject a clock (the command line). The
// time is changed through grype's low-level access to the database, before
// the database is imported and its checksum taken.
func DBBuiltAt(t testing.TB, built time.Time, advisories ...vulndb.Advisory) string {
	t.Helper()
	path := DB(t, advisories...)
	db, err := v6.NewLowLevelDB(path, false, true, false)
	if err != nil {
		t.Fatalf("opening the test database: %v", err)
	}
	ts := built.UTC().Truncate(time.Second)
	if err := db.Model(&v6.DBMetadata{}).Where("true").Update("build_timestamp", &ts).Error; err != nil {
		t.Fatalf("setting the test database's build time: %v", err)
	}
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
	return path
}

// BuildIn is Build in dir, for TestMain, where there is no testing.TB.
func BuildIn(dir string, advisories ...vulndb.Advisory) (*Archive, error) {
	if err := vulndb.Write(context.Background(), dir, advisories...); err != nil {
		return nil, fmt.Errorf("writing test vulnerability database: %w", err)
	}
	archiveMu.Lock()
	err := v6build.CreateArchive(dir, "tar.gz", nil)
	archiveMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("archiving test vulnerability database: %w", err)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "vulnerability-db_*.tar.gz"))
	if err != nil || len(matches) != 1 {
		return nil, fmt.Errorf("archiving test vulnerability database: archives %v, %v", matches, err)
	}
	return &Archive{
		Dir:     dir,
		DBPath:  filepath.Join(dir, "vulnerability.db"),
		Path:    matches[0],
		Listing: filepath.Join(dir, v6dist.LatestFileName),
	}, nil
}

// Server serves archives on 127.0.0.1 as grype's distribution site does.
type Server struct {
	// URL is the server's base URL.
	URL string

	mu       sync.Mutex
	archive  *Archive
	requests []string
}

// Serve starts a server publishing a (its listing at ListingURL, its
// archive beside it) and stops it when the test ends.
func Serve(t testing.TB, a *Archive) *Server {
	t.Helper()
	s := &Server{archive: a}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// ListingURL is the URL of latest.json, for vulndb.WithListingURL.
func (s *Server) ListingURL() string { return s.URL + "/databases/v6/latest.json" }

// Publish replaces the archive the server publishes.
func (s *Server) Publish(a *Archive) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.archive = a
}

// Requests lists the requests served, as "METHOD /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.archive
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/databases/v6/")
	var file string
	switch name {
	case v6dist.LatestFileName:
		file = a.Listing
	case filepath.Base(a.Path):
		file = a.Path
	default:
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(data)
}

// Test vulnerability IDs of FixtureAdvisories.
const (
	// OpenSSLFixed: openssl (libssl3, openssl) before 3.0.11-1~deb12u3,
	// high; the fixture has 3.0.11-1~deb12u2, so it matches.
	OpenSSLFixed = "CVE-2099-0001"
	// OpenSSLAlreadyFixed: openssl before 3.0.11-1~deb12u2: the fixture's
	// version is the fix, so it does not match.
	OpenSSLAlreadyFixed = "CVE-2099-0002"
	// ZlibUnfixed: zlib (zlib1g), every version, no fix, medium.
	ZlibUnfixed = "CVE-2099-0003"
	// ZlibEpochFixed: zlib before 1:1.2.13.dfsg-2, low: the epochs are
	// equal and the fixture's 1:1.2.13.dfsg-1 is older, so it matches.
	ZlibEpochFixed = "CVE-2099-0004"
	// ZlibNoEpoch: zlib before 1.2.14-1 (epoch 0): the fixture's epoch 1
	// makes its version newer, so it does not match.
	ZlibNoEpoch = "CVE-2099-0005"
	// CurlWontFix: curl (curl, libcurl4), won't be fixed, low.
	CurlWontFix = "CVE-2099-0006"
	// GlibcNegligible: glibc (libc6, libc-bin), no fix, negligible.
	GlibcNegligible = "CVE-2099-0007"
	// LodashGHSA: lodash before 4.17.21, high, alias LodashCVE.
	LodashGHSA = "GHSA-2099-aaaa-0001"
	// LodashCVE is LodashGHSA's CVE, the ID Trivy reports.
	LodashCVE = "CVE-2099-1001"
	// MinimistGHSA: minimist from 1.0.0 before 1.2.6, medium, alias
	// MinimistCVE.
	MinimistGHSA = "GHSA-2099-aaaa-0002"
	// MinimistCVE is MinimistGHSA's CVE.
	MinimistCVE = "CVE-2099-1002"
	// ExpressOld: express before 4.0.0: the fixture's 4.17.1 is not
	// affected.
	ExpressOld = "GHSA-2099-aaaa-0003"
	// XTextGO: golang.org/x/text before 0.44.0, critical, alias XTextCVE;
	// the fixture's Go binary has v0.43.0.
	XTextGO = "GO-2099-0001"
	// XTextCVE is XTextGO's CVE.
	XTextCVE = "CVE-2099-2001"
	// XSyncOld: golang.org/x/sync before 0.20.0: the fixture's v0.25.0 is
	// not affected.
	XSyncOld = "GO-2099-0002"
)

// FixtureAdvisories are made-up advisories for the fixture image's packages
// (internal/fixture): Debian 12 packages with fixed, unfixed and won't-fix
// records and versions with epochs and tildes; npm and Go module records
// with CVE aliases. The constants above say which match.
func FixtureAdvisories() []vulndb.Advisory {
	bookworm := &vulndb.OS{Name: "debian", MajorVersion: "12", Codename: "bookworm"}
	deb := func(id, sev, name, constraint, fix, state string) vulndb.Advisory {
		return vulndb.Advisory{
			ID: id, Provider: "debian", Severity: sev,
			Description: "Test record: " + name + " " + constraint,
			References:  []string{"https://security-tracker.debian.org/tracker/" + id},
			Affected: []vulndb.Affected{{Ecosystem: "deb", Name: name, OS: bookworm, VersionType: "dpkg",
				Constraint: constraint, Fix: fix, FixState: state}},
		}
	}
	lang := func(id, alias, sev, eco, vtype, name, constraint, fix string) vulndb.Advisory {
		a := vulndb.Advisory{
			ID: id, Provider: "github", Severity: sev,
			Description: "Test record: " + name + " " + constraint,
			References:  []string{"https://github.com/advisories/" + id},
			Affected: []vulndb.Affected{{Ecosystem: eco, Name: name, VersionType: vtype,
				Constraint: constraint, Fix: fix}},
		}
		if alias != "" {
			a.Aliases = []string{alias}
		}
		return a
	}
	lodash := lang(LodashGHSA, LodashCVE, "high", "npm", "semver", "lodash", "< 4.17.21", "4.17.21")
	lodash.CVSS = []string{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}
	xtext := lang(XTextGO, XTextCVE, "critical", "go-module", "go", "golang.org/x/text", "< 0.44.0", "0.44.0")
	xtext.Provider = "govulndb"
	xsync := lang(XSyncOld, "", "high", "go-module", "go", "golang.org/x/sync", "< 0.20.0", "0.20.0")
	xsync.Provider = "govulndb"
	return []vulndb.Advisory{
		deb(OpenSSLFixed, "high", "openssl", "< 3.0.11-1~deb12u3", "3.0.11-1~deb12u3", ""),
		deb(OpenSSLAlreadyFixed, "critical", "openssl", "< 3.0.11-1~deb12u2", "3.0.11-1~deb12u2", ""),
		deb(ZlibUnfixed, "medium", "zlib", "", "", "not-fixed"),
		deb(ZlibEpochFixed, "low", "zlib", "< 1:1.2.13.dfsg-2", "1:1.2.13.dfsg-2", ""),
		deb(ZlibNoEpoch, "critical", "zlib", "< 1.2.14-1", "1.2.14-1", ""),
		deb(CurlWontFix, "low", "curl", "", "", "wont-fix"),
		deb(GlibcNegligible, "negligible", "glibc", "", "", "not-fixed"),
		lodash,
		lang(MinimistGHSA, MinimistCVE, "medium", "npm", "semver", "minimist", ">= 1.0.0, < 1.2.6", "1.2.6"),
		lang(ExpressOld, "", "critical", "npm", "semver", "express", "< 4.0.0", "4.0.0"),
		xtext,
		xsync,
	}
}
