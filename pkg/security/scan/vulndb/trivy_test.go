package vulndb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/internal/testutil/trivydb"
	"github.com/sc-project/sc/internal/testutil/trivytest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// These tests run the real trivy (internal/testutil/trivytest.Binary: the
// one .ci/trivy.sh installs, or one on PATH) on the fixture image's SBOM,
// with a Trivy database written offline by trivy-db's own packages from
// the advisories grype's test database holds (internal/testutil/trivydb).

// wantTrivyFixtureMatches is what Trivy finds in the fixture image with
// tv.FixtureAdvisories: grype's findings, under the CVE where an advisory
// has one (the GHSA or GO ID an alias), with Debian's negligible as Trivy's
// low.
func wantTrivyFixtureMatches() []found {
	return []found{
		{tv.OpenSSLFixed, "libssl3", "3.0.11-1~deb12u2", scan.High, scan.FixStateFixed, []string{"3.0.11-1~deb12u3"}, nil},
		{tv.OpenSSLFixed, "openssl", "3.0.11-1~deb12u2", scan.High, scan.FixStateFixed, []string{"3.0.11-1~deb12u3"}, nil},
		{tv.ZlibUnfixed, "zlib1g", "1:1.2.13.dfsg-1", scan.Medium, scan.FixStateNotFixed, nil, nil},
		{tv.ZlibEpochFixed, "zlib1g", "1:1.2.13.dfsg-1", scan.Low, scan.FixStateFixed, []string{"1:1.2.13.dfsg-2"}, nil},
		{tv.CurlWontFix, "curl", "7.88.1-10+deb12u5", scan.Low, scan.FixStateWontFix, nil, nil},
		{tv.CurlWontFix, "libcurl4", "7.88.1-10+deb12u5", scan.Low, scan.FixStateWontFix, nil, nil},
		{tv.GlibcNegligible, "libc-bin", "2.36-9+deb12u4", scan.Low, scan.FixStateNotFixed, nil, nil},
		{tv.GlibcNegligible, "libc6", "2.36-9+deb12u4", scan.Low, scan.FixStateNotFixed, nil, nil},
		{tv.LodashCVE, "lodash", "4.17.20", scan.High, scan.FixStateFixed, []string{"4.17.21"}, []string{tv.LodashGHSA}},
		{tv.MinimistCVE, "minimist", "1.2.5", scan.Medium, scan.FixStateFixed, []string{"1.2.6"}, []string{tv.MinimistGHSA}},
		{tv.XTextCVE, "golang.org/x/text", "v0.43.0", scan.Critical, scan.FixStateFixed, []string{"0.44.0"}, []string{tv.XTextGO}},
	}
}

func realTrivy(t *testing.T, cacheDir string, opts ...scan.TrivyOption) *scan.Trivy {
	t.Helper()
	return scan.NewTrivy(cacheDir, append([]scan.TrivyOption{scan.WithTrivyPath(trivytest.Binary(t))}, opts...)...)
}

// The SBOM hand-off: sc writes the SBOM as CycloneDX, the real trivy scans
// it with the database in the cache directory, and sc reads its report.
func TestRealTrivyScan(t *testing.T) {
	t.Parallel()
	cache := trivydb.Cache(t, tv.FixtureAdvisories()...)
	r, err := realTrivy(t, cache).Scan(context.Background(), fixtureImage, fixtureInput())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(sortFound(wantTrivyFixtureMatches()), summarize(r.Matches)); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
	if r.Scanner.Name != "trivy" || r.Scanner.Version != trivytest.Version {
		t.Errorf("scanner = %+v, want trivy %s", r.Scanner, trivytest.Version)
	}
	if db := r.Scanner.DB; db == nil || db.Schema != "2" || !db.Built.Equal(trivydb.Built()) || db.Source != "trivy-db" {
		t.Errorf("scanner DB = %+v, want trivy-db schema 2 built %s", r.Scanner.DB, trivydb.Built())
	}
	for _, m := range r.Matches {
		if !slices.Equal(m.FoundBy, []string{"trivy"}) || m.Package.PURL == "" {
			t.Errorf("%s in %s: foundBy %v, purl %q", m.ID, m.Package.Name, m.FoundBy, m.Package.PURL)
		}
	}
	if len(r.Notices) != 0 {
		t.Errorf("notices = %+v, want none with a fresh database", r.Notices)
	}
}

// The same SBOM, decoded from the CycloneDX document syft wrote (as
// `--sbom FILE` gives it), is handed over as it is and finds the same.
func TestRealTrivyScanDecodedSBOM(t *testing.T) {
	t.Parallel()
	doc, err := fixtureInput().CycloneDX()
	if err != nil {
		t.Fatal(err)
	}
	s, err := vulndb.DecodeSBOM(doc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := realTrivy(t, trivydb.Cache(t, tv.FixtureAdvisories()...)).Scan(context.Background(), fixtureImage, s)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(sortFound(wantTrivyFixtureMatches()), summarize(r.Matches)); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
}

// A database without the fixture's advisories finds nothing: the findings
// above come from the database, not from anything else Trivy knows.
func TestRealTrivyScanOtherDB(t *testing.T) {
	t.Parallel()
	other := tv.FixtureAdvisories()
	for i := range other {
		for j := range other[i].Affected {
			other[i].Affected[j].Name += "-other"
		}
	}
	r, err := realTrivy(t, trivydb.Cache(t, other...)).Scan(context.Background(), fixtureImage, fixtureInput())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(r.Matches) != 0 {
		t.Errorf("matches = %v, want none", summarize(r.Matches))
	}
}

// The version check reads the real `trivy version --format json`: Trivy's
// version, and the database in the cache directory, or none.
func TestRealTrivyVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, err := realTrivy(t, trivydb.Cache(t, tv.FixtureAdvisories()...)).Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if v.Version != trivytest.Version || v.VulnerabilityDB == nil || v.VulnerabilityDB.Version != 2 ||
		!v.VulnerabilityDB.UpdatedAt.Equal(trivydb.Built()) {
		t.Errorf("version = %+v (db %+v), want %s with schema 2 built %s", v, v.VulnerabilityDB, trivytest.Version, trivydb.Built())
	}
	v, err = realTrivy(t, t.TempDir()).Version(ctx)
	if err != nil {
		t.Fatalf("Version with an empty cache: %v", err)
	}
	if v.Version != trivytest.Version || v.VulnerabilityDB != nil {
		t.Errorf("version with an empty cache = %+v, want %s without a database", v, trivytest.Version)
	}
}

// The cache directory persists: a second scanner on the same directory
// scans with the database there and leaves it as it was.
func TestRealTrivyPersistentCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cache := trivydb.Cache(t, tv.FixtureAdvisories()...)
	dbFile := filepath.Join(cache, "db", "trivy.db")
	before, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r, err := realTrivy(t, cache).Scan(ctx, fixtureImage, fixtureInput())
		if err != nil {
			t.Fatalf("Scan %d: %v", i, err)
		}
		if len(r.Matches) != len(wantTrivyFixtureMatches()) {
			t.Errorf("Scan %d: %d matches, want %d", i, len(r.Matches), len(wantTrivyFixtureMatches()))
		}
	}
	after, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, after) {
		t.Error("the database in the cache directory changed across scans")
	}
}

// Merging with grype: a CVE both find is one finding found by both; an
// alias pair (grype's GHSA or GO ID, Trivy's CVE) is one finding; a finding
// only one of them has stays, found by that one.
func TestRealTrivyMergeWithGrype(t *testing.T) {
	ctx := context.Background()
	g, err := openFixtureDB(t).Scan(ctx, fixtureImage, fixtureInput())
	if err != nil {
		t.Fatal(err)
	}
	// Trivy's database lacks minimist's advisory (grype only) and has one
	// for semver that grype's lacks (Trivy only).
	var advisories []vulndb.Advisory
	for _, a := range tv.FixtureAdvisories() {
		if a.ID != tv.MinimistGHSA {
			advisories = append(advisories, a)
		}
	}
	advisories = append(advisories, vulndb.Advisory{
		ID: "CVE-2099-3001", Provider: "github", Severity: "high", Aliases: []string{"GHSA-2099-aaaa-3001"},
		Description: "Test record: semver < 7.5.2",
		References:  []string{"https://github.com/advisories/GHSA-2099-aaaa-3001"},
		Affected:    []vulndb.Affected{{Ecosystem: "npm", Name: "semver", VersionType: "semver", Constraint: "< 7.5.2", Fix: "7.5.2"}},
	})
	tr, err := realTrivy(t, trivydb.Cache(t, advisories...)).Scan(ctx, fixtureImage, fixtureInput())
	if err != nil {
		t.Fatalf("trivy Scan: %v", err)
	}
	res := scan.Evaluate(fixtureImage, []*scan.Report{g, tr}, scan.DefaultPolicy(), time.Now())

	type key struct{ id, pkg string }
	got := map[key]scan.Match{}
	for _, m := range res.Matches {
		k := key{m.ID, m.Package.Name}
		if _, dup := got[k]; dup {
			t.Errorf("%s in %s is reported twice", m.ID, m.Package.Name)
		}
		got[k] = m
	}
	for _, tc := range []struct {
		id, pkg string
		aliases []string
		foundBy []string
	}{
		// the same CVE through both
		{tv.OpenSSLFixed, "libssl3", nil, []string{"grype", "trivy"}},
		{tv.OpenSSLFixed, "openssl", nil, []string{"grype", "trivy"}},
		{tv.ZlibUnfixed, "zlib1g", nil, []string{"grype", "trivy"}},
		{tv.CurlWontFix, "libcurl4", nil, []string{"grype", "trivy"}},
		// alias pairs: grype's GHSA / GO ID, Trivy's CVE
		{tv.LodashCVE, "lodash", []string{tv.LodashGHSA}, []string{"grype", "trivy"}},
		{tv.XTextCVE, "golang.org/x/text", []string{tv.XTextGO}, []string{"grype", "trivy"}},
		// grype only
		{tv.MinimistCVE, "minimist", []string{tv.MinimistGHSA}, []string{"grype"}},
		// Trivy only
		{"CVE-2099-3001", "semver", []string{"GHSA-2099-aaaa-3001"}, []string{"trivy"}},
	} {
		m, ok := got[key{tc.id, tc.pkg}]
		if !ok {
			t.Errorf("no merged finding %s in %s; have %v", tc.id, tc.pkg, summarize(res.Matches))
			continue
		}
		if !slices.Equal(m.Aliases, tc.aliases) || !slices.Equal(m.FoundBy, tc.foundBy) {
			t.Errorf("%s in %s: aliases %v foundBy %v; want %v %v", tc.id, tc.pkg, m.Aliases, m.FoundBy, tc.aliases, tc.foundBy)
		}
	}
	// grype's findings, and Trivy's one of its own
	if len(res.Matches) != len(wantFixtureMatches())+1 {
		t.Errorf("%d merged findings, want %d: %v", len(res.Matches), len(wantFixtureMatches())+1, summarize(res.Matches))
	}
	if len(res.Scanners) != 2 {
		t.Errorf("scanners = %+v", res.Scanners)
	}
}

// A database Trivy cannot read makes the real trivy exit non-zero: the
// scan fails as one that could not run, with Trivy's own words.
func TestRealTrivyCorruptDB(t *testing.T) {
	t.Parallel()
	cache := trivydb.Cache(t, tv.FixtureAdvisories()...)
	if err := os.WriteFile(filepath.Join(cache, "db", "trivy.db"), []byte("not a bolt database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := realTrivy(t, cache).Scan(context.Background(), fixtureImage, fixtureInput())
	if !errors.Is(err, scan.ErrScannerFailed) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("Scan with a corrupt database = %v, want ErrScannerFailed (exit 3)", err)
	}
	if !strings.Contains(err.Error(), "trivy sbom") {
		t.Errorf("error %q does not say which trivy command failed", err)
	}
}

// The real trivy waits for as long as another process holds its database
// locked: the scan's deadline stops it, and the scan says so.
func TestRealTrivyHangsPastDeadline(t *testing.T) {
	t.Parallel()
	cache := trivydb.Cache(t, tv.FixtureAdvisories()...)
	f, err := os.OpenFile(filepath.Join(cache, "db", "trivy.db"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// bbolt's own lock: an exclusive flock, as a writer holds it
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	tr := realTrivy(t, cache)
	if _, err := tr.Version(context.Background()); err != nil {
		t.Fatalf("Version: %v", err) // reads metadata.json only, not held by the lock
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = tr.Scan(ctx, fixtureImage, fixtureInput())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan of a locked database = %v, want the deadline's error", err)
	}
}
