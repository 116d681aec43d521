package vulndb_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// openFixtureDB imports the fixture archive into a new store and opens it,
// offline.
func openFixtureDB(t *testing.T) *vulndb.DB {
	t.Helper()
	ctx := context.Background()
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(ctx, fixtureArchive.Path); err != nil {
		t.Fatalf("Import: %v", err)
	}
	db, err := store.Open(ctx)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// found is what a test compares: one vulnerability in one package.
type found struct {
	ID, Package, Version string
	Severity             scan.Severity
	Fix                  scan.FixState
	FixVersions          []string
	Aliases              []string
}

func summarize(ms []scan.Match) []found {
	var out []found
	for _, m := range ms {
		out = append(out, found{m.ID, m.Package.Name, m.Package.Version, m.Severity, m.Fix.State, m.Fix.Versions, m.Aliases})
	}
	slices.SortFunc(out, func(a, b found) int {
		return cmpStrings(a.ID+"/"+a.Package, b.ID+"/"+b.Package)
	})
	return out
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wantFixtureMatches is what grype finds in the fixture image with
// tv.FixtureAdvisories.
func wantFixtureMatches() []found {
	return []found{
		{tv.OpenSSLFixed, "libssl3", "3.0.11-1~deb12u2", scan.High, scan.FixStateFixed, []string{"3.0.11-1~deb12u3"}, nil},
		{tv.OpenSSLFixed, "openssl", "3.0.11-1~deb12u2", scan.High, scan.FixStateFixed, []string{"3.0.11-1~deb12u3"}, nil},
		{tv.ZlibUnfixed, "zlib1g", "1:1.2.13.dfsg-1", scan.Medium, scan.FixStateNotFixed, nil, nil},
		{tv.ZlibEpochFixed, "zlib1g", "1:1.2.13.dfsg-1", scan.Low, scan.FixStateFixed, []string{"1:1.2.13.dfsg-2"}, nil},
		{tv.CurlWontFix, "curl", "7.88.1-10+deb12u5", scan.Low, scan.FixStateWontFix, nil, nil},
		{tv.CurlWontFix, "libcurl4", "7.88.1-10+deb12u5", scan.Low, scan.FixStateWontFix, nil, nil},
		{tv.GlibcNegligible, "libc-bin", "2.36-9+deb12u4", scan.Negligible, scan.FixStateNotFixed, nil, nil},
		{tv.GlibcNegligible, "libc6", "2.36-9+deb12u4", scan.Negligible, scan.FixStateNotFixed, nil, nil},
		{tv.LodashGHSA, "lodash", "4.17.20", scan.High, scan.FixStateFixed, []string{"4.17.21"}, []string{tv.LodashCVE}},
		{tv.MinimistGHSA, "minimist", "1.2.5", scan.Medium, scan.FixStateFixed, []string{"1.2.6"}, []string{tv.MinimistCVE}},
		{tv.XTextGO, "golang.org/x/text", "v0.43.0", scan.Critical, scan.FixStateFixed, []string{"0.44.0"}, []string{tv.XTextCVE}},
	}
}

func sortFound(fs []found) []found {
	slices.SortFunc(fs, func(a, b found) int { return cmpStrings(a.ID+"/"+a.Package, b.ID+"/"+b.Package) })
	return fs
}

func TestScanFixture(t *testing.T) {
	db := openFixtureDB(t)
	r, err := db.Scan(context.Background(), fixtureImage, fixtureInput())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(sortFound(wantFixtureMatches()), summarize(r.Matches)); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
	// test binaries carry no module list: GrypeVersion is "unknown" here
	// and "v0.121.2" in sc
	if r.Scanner.Name != "grype" || r.Scanner.Version != vulndb.GrypeVersion() {
		t.Errorf("scanner = %+v, want grype %s", r.Scanner, vulndb.GrypeVersion())
	}
	if r.Scanner.DB == nil || r.Scanner.DB.Schema == "" || r.Scanner.DB.Built.IsZero() || r.Scanner.DB.Source != "manual import" {
		t.Errorf("scanner DB = %+v, want built time, schema and source", r.Scanner.DB)
	}
	for _, m := range r.Matches {
		if !slices.Equal(m.FoundBy, []string{"grype"}) || m.Package.PURL == "" || len(m.Package.Locations) == 0 || m.DataSource == "" {
			t.Errorf("%s in %s: foundBy %v, purl %q, locations %v, data source %q: want grype, a purl, locations and a data source",
				m.ID, m.Package.Name, m.FoundBy, m.Package.PURL, m.Package.Locations, m.DataSource)
		}
		if m.ID == tv.LodashGHSA && (len(m.CVSS) != 1 || m.CVSS[0].Version != "3.1" || m.CVSS[0].BaseScore == 0) {
			t.Errorf("lodash CVSS = %+v, want one 3.1 score", m.CVSS)
		}
		// what grype's JSON carries per match
		if m.Namespace == "" || len(m.MatchDetails) == 0 || m.MatchDetails[0].Type == "" || m.MatchDetails[0].Matcher == "" {
			t.Errorf("%s in %s: namespace %q, match details %+v; want grype's", m.ID, m.Package.Name, m.Namespace, m.MatchDetails)
		}
		for _, d := range m.MatchDetails {
			if want := ""; m.Fix.State == scan.FixStateFixed && d.SuggestedVersion != m.Fix.Versions[0] || m.Fix.State != scan.FixStateFixed && d.SuggestedVersion != want {
				t.Errorf("%s in %s: suggested version %q, fixed in %v", m.ID, m.Package.Name, d.SuggestedVersion, m.Fix.Versions)
			}
		}
		for _, alias := range m.Aliases {
			if !slices.ContainsFunc(m.RelatedVulnerabilities, func(r scan.RelatedVulnerability) bool { return r.ID == alias }) {
				t.Errorf("%s: alias %s is not among the related records %+v", m.ID, alias, m.RelatedVulnerabilities)
			}
		}
	}
}

// TestScanDecodedSBOM scans the fixture's SBOM read back from its
// CycloneDX document, as `--sbom FILE` does: the same findings.
func TestScanDecodedSBOM(t *testing.T) {
	db := openFixtureDB(t)
	s, err := vulndb.DecodeSBOM(fixtureSBOM.Document)
	if err != nil {
		t.Fatalf("DecodeSBOM: %v", err)
	}
	r, err := db.Scan(context.Background(), fixtureImage, s)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(sortFound(wantFixtureMatches()), summarize(r.Matches)); diff != "" {
		t.Errorf("matches from the CycloneDX document (-want +got):\n%s", diff)
	}
	doc, err := s.CycloneDX()
	if err != nil || string(doc) != string(fixtureSBOM.Document) {
		t.Errorf("CycloneDX() of a decoded CycloneDX document should be that document (err %v)", err)
	}
}

func TestDecodeSBOMMalformed(t *testing.T) {
	for _, doc := range []string{"", "{}", "not an sbom", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":`} {
		if _, err := vulndb.DecodeSBOM([]byte(doc)); err == nil {
			t.Errorf("DecodeSBOM(%q) succeeded, want ErrMalformedSBOM", doc)
		}
	}
}

// TestScanConcurrent scans from many goroutines with one DB: every scan
// finds the same.
func TestScanConcurrent(t *testing.T) {
	db := openFixtureDB(t)
	want := sortFound(wantFixtureMatches())
	var wg sync.WaitGroup
	errs := make([]error, 9)
	for i := range errs {
		wg.Go(func() {
			r, err := db.Scan(context.Background(), fmt.Sprintf("%s-%d", fixtureImage, i), fixtureInput())
			if err != nil {
				errs[i] = err
				return
			}
			if diff := cmp.Diff(want, summarize(r.Matches)); diff != "" {
				errs[i] = fmt.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("scan %d: %v", i, err)
		}
	}
}
