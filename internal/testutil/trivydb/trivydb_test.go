package trivydb_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"

	"github.com/sc-project/sc/internal/testutil/trivydb"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// The database reads back through trivy-db's own getters as Trivy reads
// it: Debian records by source package, language records under the CVE
// with the GHSA or GO ID as vendor ID, and the metadata Trivy reports.
// (That Trivy finds them is tested with the real binary in scan/vulndb.)
func TestWrite(t *testing.T) {
	cache := trivydb.Cache(t, tv.FixtureAdvisories()...)
	dir := filepath.Join(cache, "db")
	md, err := metadata.NewClient(dir).Get()
	if err != nil {
		t.Fatal(err)
	}
	if md.Version != db.SchemaVersion || !md.UpdatedAt.Equal(trivydb.Built()) || !md.NextUpdate.After(md.UpdatedAt) {
		t.Errorf("metadata = %+v", md)
	}
	if err := db.Init(dir, db.WithBoltOptions(&bolt.Options{ReadOnly: true})); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbc := db.Config{}

	ssl, err := dbc.GetAdvisories("debian 12", "openssl")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]types.Advisory{}
	for _, a := range ssl {
		ids[a.VulnerabilityID] = a
	}
	if a := ids[tv.OpenSSLFixed]; a.FixedVersion != "3.0.11-1~deb12u3" || len(ids) != 2 {
		t.Errorf("openssl advisories = %+v", ssl)
	}
	curl, err := dbc.GetAdvisories("debian 12", "curl")
	if err != nil || len(curl) != 1 || curl[0].Status != types.StatusWillNotFix || curl[0].FixedVersion != "" {
		t.Errorf("curl advisories = %+v, %v; want one that will not be fixed", curl, err)
	}
	if libssl, _ := dbc.GetAdvisories("debian 12", "libssl3"); len(libssl) != 0 {
		t.Errorf("advisories under the binary package libssl3: %+v", libssl)
	}

	lodash, err := dbc.ForEachAdvisory([]string{"npm::"}, "lodash")
	if err != nil {
		t.Fatal(err)
	}
	if len(lodash) != 1 {
		t.Fatalf("lodash advisories = %+v", lodash)
	}
	v, ok := lodash[tv.LodashCVE]
	var adv types.Advisory
	if !ok || json.Unmarshal(v.Content, &adv) != nil || v.Source.ID != "ghsa" ||
		!slices.Equal(adv.VendorIDs, []string{tv.LodashGHSA}) || !slices.Equal(adv.VulnerableVersions, []string{"< 4.17.21"}) {
		t.Errorf("lodash advisories = %+v (%+v), want %s from ghsa, vendor ID %s, vulnerable < 4.17.21", lodash, adv, tv.LodashCVE, tv.LodashGHSA)
	}
	vuln, err := dbc.GetVulnerability(tv.LodashCVE)
	if err != nil {
		t.Fatal(err)
	}
	if vuln.VendorSeverity["ghsa"] != types.SeverityHigh || len(vuln.CVSS["ghsa"].V3Vector) == 0 || !slices.Contains(vuln.References, "https://github.com/advisories/"+tv.LodashGHSA) {
		t.Errorf("lodash vulnerability = %+v", vuln)
	}
	if _, err := dbc.GetVulnerability(tv.LodashGHSA); err == nil {
		t.Errorf("lodash is filed under its GHSA too")
	}
}

func TestWriteUnsupported(t *testing.T) {
	for _, a := range []vulndb.Advisory{
		{ID: "CVE-2099-9", Affected: []vulndb.Affected{{Ecosystem: "rpm", Name: "x", OS: &vulndb.OS{Name: "rhel", MajorVersion: "9"}}}},
		{ID: "CVE-2099-9", Affected: []vulndb.Affected{{Ecosystem: "cargo", Name: "x"}}},
	} {
		if err := trivydb.Write(t.TempDir(), trivydb.Options{}, a); err == nil {
			t.Errorf("Write of %+v succeeded", a.Affected[0])
		}
	}
}
