// Package trivydb builds Trivy vulnerability databases for tests, offline:
// the advisories the grype test database is built from (vulndb.Advisory,
// internal/testutil/vulndb's FixtureAdvisories) are written with
// trivy-db's own packages — pkg/db's bolt writer, pkg/vulnsrc/bucket's
// bucket names, pkg/metadata's metadata.json — into a cache directory laid
// out as Trivy keeps its downloaded database:
//
//	<cache>/db/trivy.db
//	<cache>/db/metadata.json
//
// so that `trivy --cache-dir <cache> --skip-db-update --offline-scan`
// scans with it. Records are shaped as trivy-db's own sources write them:
// Debian advisories keyed by source package in "debian <major>", with a
// fixed version or an unfixed status; GitHub (npm) and Go advisories in
// "npm::…" and "go::…" with their vulnerable range, under the CVE when the
// advisory has one (the GHSA or GO ID then a vendor ID); severities,
// descriptions, CVSS vectors and references in the "vulnerability" bucket.
//
// It does not carry real vulnerability data, other ecosystems, Trivy's
// Java database or the NVD enrichment Trivy's published database has.
// trivy-db opens one database per process (a package-level handle): Write
// serialises its calls, so it is safe in parallel tests.
package trivydb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"

	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// dbMu serialises trivy-db's package-level database handle.
var dbMu sync.Mutex

// Built is the build time Write records in metadata.json by default:
// Trivy reports it as the database's UpdatedAt.
func Built() time.Time { return time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC) }

// Options are the metadata of a database Write makes.
type Options struct {
	// UpdatedAt is when the database was built. Default: Built().
	UpdatedAt time.Time
	// NextUpdate is when Trivy expects a newer one. Default: UpdatedAt
	// plus 100 years (a database that is never due).
	NextUpdate time.Time
}

// Cache writes advisories to a database in a new cache directory of t and
// returns the directory, for --cache-dir.
func Cache(t testing.TB, advisories ...vulndb.Advisory) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, Options{}, advisories...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Write writes advisories to cacheDir/db/trivy.db and its metadata.json,
// replacing a database already there.
func Write(cacheDir string, o Options, advisories ...vulndb.Advisory) (err error) {
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = Built()
	}
	if o.NextUpdate.IsZero() {
		o.NextUpdate = o.UpdatedAt.AddDate(100, 0, 0)
	}
	dir := filepath.Join(cacheDir, "db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing trivy database: %w", err)
	}
	if err := os.Remove(db.Path(dir)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("writing trivy database: %w", err)
	}

	dbMu.Lock()
	defer dbMu.Unlock()
	if err := db.Init(dir); err != nil {
		return fmt.Errorf("writing trivy database in %s: %w", dir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing trivy database in %s: %w", dir, cerr)
		}
	}()
	dbc := db.Config{}
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range advisories {
			if err := put(dbc, tx, a); err != nil {
				return fmt.Errorf("advisory %s: %w", a.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing trivy database in %s: %w", dir, err)
	}
	// trivy-db's build copies the advisory details into each source's
	// bucket and drops the staging bucket: the layout Trivy reads.
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range advisories {
			if err := dbc.SaveAdvisoryDetails(tx, vulnID(a)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing trivy database in %s: %w", dir, err)
	}
	if err := dbc.DeleteAdvisoryDetailBucket(); err != nil {
		return fmt.Errorf("writing trivy database in %s: %w", dir, err)
	}
	md := metadata.Metadata{
		Version:    db.SchemaVersion,
		UpdatedAt:  o.UpdatedAt.UTC(),
		NextUpdate: o.NextUpdate.UTC(),
		// Trivy fills DownloadedAt when it downloads a database.
		DownloadedAt: o.UpdatedAt.UTC(),
	}
	if err := metadata.NewClient(dir).Update(md); err != nil {
		return fmt.Errorf("writing trivy database metadata in %s: %w", dir, err)
	}
	return nil
}

// vulnID is the ID trivy-db files an advisory under: the CVE among its
// ID and aliases, as its GHSA and Go sources do, else its own ID.
func vulnID(a vulndb.Advisory) string {
	if strings.HasPrefix(a.ID, "CVE-") {
		return a.ID
	}
	for _, al := range a.Aliases {
		if strings.HasPrefix(al, "CVE-") {
			return al
		}
	}
	return a.ID
}

// vendorIDs are the advisory's IDs other than the one it is filed under:
// its GHSA or GO ID when that is a CVE alias, its non-CVE aliases.
func vendorIDs(a vulndb.Advisory) []string {
	id := vulnID(a)
	var out []string
	for _, other := range append([]string{a.ID}, a.Aliases...) {
		if other != id && !slices.Contains(out, other) {
			out = append(out, other)
		}
	}
	return out
}

func put(dbc db.Config, tx *bolt.Tx, a vulndb.Advisory) error {
	id := vulnID(a)
	var source types.SourceID
	for _, af := range a.Affected {
		bkt, src, err := bucketOf(af)
		if err != nil {
			return err
		}
		source = src.ID
		if err := dbc.PutDataSource(tx, bkt, src); err != nil {
			return err
		}
		adv := types.Advisory{VendorIDs: vendorIDs(a)}
		if af.OS != nil {
			adv.FixedVersion = af.Fix
			if af.Fix == "" {
				adv.Status = types.StatusAffected
				if af.FixState == "wont-fix" {
					adv.Status = types.StatusWillNotFix
				}
			}
		} else {
			// A range in the ecosystem's syntax; Trivy takes the fixed
			// version from its "< X" bound.
			adv.VulnerableVersions = []string{af.Constraint}
		}
		// a pointer: Advisory's MarshalJSON, which keeps Status, has a
		// pointer receiver
		if err := dbc.PutAdvisoryDetail(tx, id, af.Name, []string{bkt}, &adv); err != nil {
			return err
		}
	}
	sev := severity(a.Severity)
	v := types.Vulnerability{
		Title:          a.ID,
		Description:    a.Description,
		Severity:       sev.String(),
		VendorSeverity: types.VendorSeverity{source: sev},
		References:     a.References,
	}
	for _, vec := range a.CVSS {
		c := types.CVSS{}
		switch {
		case strings.HasPrefix(vec, "CVSS:4.0/"):
			c.V40Vector = vec
		case strings.HasPrefix(vec, "CVSS:3"):
			c.V3Vector = vec
		default:
			c.V2Vector = vec
		}
		if v.CVSS == nil {
			v.CVSS = types.VendorCVSS{}
		}
		v.CVSS[source] = c
	}
	return dbc.PutVulnerability(tx, id, v)
}

// bucketOf names the bucket trivy-db keeps af's ecosystem in, and the data
// source it records for it.
func bucketOf(af vulndb.Affected) (string, types.DataSource, error) {
	switch {
	case af.OS != nil && af.OS.Name == "debian":
		src := types.DataSource{ID: vulnerability.Debian, Name: "Debian Security Tracker",
			URL: "https://salsa.debian.org/security-tracker-team/security-tracker"}
		return bucket.NewDebian(af.OS.MajorVersion).Name(), src, nil
	case af.OS != nil:
		return "", types.DataSource{}, fmt.Errorf("distribution %q is not supported", af.OS.Name)
	case af.Ecosystem == "npm":
		src := types.DataSource{ID: vulnerability.GHSA, Name: "GitHub Security Advisory npm",
			URL: "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm"}
		b, err := bucket.NewNpm(src)
		if err != nil {
			return "", src, err
		}
		return b.Name(), src, nil
	case af.Ecosystem == "go-module":
		src := types.DataSource{ID: vulnerability.GoVulnDB, Name: "The Go Vulnerability Database",
			URL: "https://pkg.go.dev/vuln/"}
		b, err := bucket.NewGo(src)
		if err != nil {
			return "", src, err
		}
		return b.Name(), src, nil
	}
	return "", types.DataSource{}, fmt.Errorf("ecosystem %q is not supported", af.Ecosystem)
}

// severity maps a qualitative severity to Trivy's; Debian's negligible is
// Trivy's low, as trivy-db maps "unimportant".
func severity(s string) types.Severity {
	switch strings.ToLower(s) {
	case "critical":
		return types.SeverityCritical
	case "high":
		return types.SeverityHigh
	case "medium":
		return types.SeverityMedium
	case "low", "negligible":
		return types.SeverityLow
	}
	return types.SeverityUnknown
}
