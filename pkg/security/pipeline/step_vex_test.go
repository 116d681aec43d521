package pipeline_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/scan"
)

// vexDoc is an OpenVEX document by author at when, of statements.
func vexDoc(t testing.TB, author string, when time.Time, stmts ...govex.Statement) []byte {
	t.Helper()
	doc := govex.VEX{
		Metadata:   govex.Metadata{Context: govex.ContextLocator(), ID: "https://vex.example/" + strings.ReplaceAll(author, " ", "-"), Author: author, Timestamp: &when, Version: 1},
		Statements: stmts,
	}
	b, err := json.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vexStatement is a statement about vuln in product, of status.
func vexStatement(vuln, product string, status govex.Status, justification govex.Justification) govex.Statement {
	return govex.Statement{
		Vulnerability: govex.Vulnerability{Name: govex.VulnerabilityID(vuln)},
		Products:      []govex.Product{{Component: govex.Component{ID: product}}},
		Status:        status, Justification: justification,
	}
}

// The OpenVEX predicate holds exactly the statements that set findings
// aside (not the one that only annotates a finding, nor an ignore rule),
// one per statement with the packages it suppressed as subcomponents of
// the image, the source's author and time; it reads back as OpenVEX that
// sc's own matcher applies to the same image; the same result makes the
// same predicate; nothing suppressed makes none.
func TestVEXPredicate(t *testing.T) {
	const image = "registry.example/shop/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digest := image[strings.Index(image, "@")+1:]
	when := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	src, err := scan.ParseVEX(vexDoc(t, "Shop Security", when,
		vexStatement("CVE-2099-0003", digest, govex.StatusNotAffected, govex.VulnerableCodeNotInExecutePath),
		vexStatement("CVE-2099-0001", digest, govex.StatusUnderInvestigation, "")), "shop.openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	zlib := func(name string) scan.Match {
		return scan.Match{ID: "CVE-2099-0003", Severity: scan.High, Package: scan.Package{Name: name, Version: "1.2.13", Type: "deb", PURL: "pkg:deb/debian/" + name + "@1.2.13"}, Fix: scan.Fix{State: scan.FixStateNotFixed}}
	}
	report := &scan.Report{Scanner: scan.ScannerInfo{Name: "grype", Version: "v0", ScannedAt: when.Add(time.Hour)}, Matches: []scan.Match{
		zlib("zlib1g"), zlib("zlib1g-dev"),
		{ID: "CVE-2099-0001", Severity: scan.Critical, Package: scan.Package{Name: "openssl", Version: "3.0.0", Type: "deb", PURL: "pkg:deb/debian/openssl@3.0.0"}},
		{ID: "CVE-2099-0007", Severity: scan.Negligible, Package: scan.Package{Name: "libc6", Version: "2.36", Type: "deb", PURL: "pkg:deb/debian/libc6@2.36"}},
	}}
	policy := scan.Policy{VEX: []*scan.VEX{src}, Ignore: []scan.IgnoreRule{{ID: "CVE-2099-0007", Reason: "negligible"}}, SoftFail: true}
	res := scan.Evaluate(image, []*scan.Report{report}, policy, when.Add(2*time.Hour))
	if len(res.Ignored) != 3 {
		t.Fatalf("the scan set aside %d findings, want 3 (two by VEX, one by a rule): %+v", len(res.Ignored), res.Ignored)
	}

	raw, err := pipeline.VEXPredicate(res, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	var doc govex.VEX
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not OpenVEX: %v\n%s", err, raw)
	}
	if doc.Author != "Shop Security" || doc.Timestamp == nil || !doc.Timestamp.Equal(when) || !strings.HasPrefix(doc.Context, govex.Context) ||
		!strings.HasPrefix(doc.ID, govex.PublicNamespace+"/public/vex-") || doc.Tooling != "pkg:golang/github.com/sc-project/sc@v1.2.3" {
		t.Errorf("document %+v", doc.Metadata)
	}
	if len(doc.Statements) != 1 {
		t.Fatalf("%d statements, want exactly the one that suppressed findings:\n%s", len(doc.Statements), raw)
	}
	st := doc.Statements[0]
	if err := st.Validate(); err != nil {
		t.Errorf("statement is not valid OpenVEX: %v", err)
	}
	want := govex.Product{
		Component: govex.Component{ID: image,
			Identifiers: map[govex.IdentifierType]string{govex.PURL: "pkg:oci/app@" + digest + "?repository_url=registry.example%2Fshop%2Fapp"},
			Hashes:      map[govex.Algorithm]govex.Hash{govex.SHA256: govex.Hash(strings.TrimPrefix(digest, "sha256:"))}},
		Subcomponents: []govex.Subcomponent{{Component: govex.Component{ID: "pkg:deb/debian/zlib1g-dev@1.2.13"}}, {Component: govex.Component{ID: "pkg:deb/debian/zlib1g@1.2.13"}}},
	}
	if st.Vulnerability.Name != "CVE-2099-0003" || st.Status != govex.StatusNotAffected || st.Justification != govex.VulnerableCodeNotInExecutePath ||
		st.Timestamp == nil || !st.Timestamp.Equal(when) || len(st.Products) != 1 {
		t.Errorf("statement %+v", st)
	} else if diff := cmp.Diff(want, st.Products[0]); diff != "" {
		t.Errorf("product (-want +got):\n%s", diff)
	}

	// sc reads it back as a VEX document about this image: the same
	// findings are set aside
	back, err := scan.ParseVEX(raw, "attestation")
	if err != nil {
		t.Fatalf("sc does not read the predicate as OpenVEX: %v", err)
	}
	again := scan.Evaluate(image, []*scan.Report{report}, scan.Policy{VEX: []*scan.VEX{back}, SoftFail: true}, when.Add(2*time.Hour))
	var suppressed []string
	for _, m := range again.Ignored {
		suppressed = append(suppressed, m.SuppressedBy.VEX.Vulnerability+" "+m.Package.Name)
	}
	if diff := cmp.Diff([]string{"CVE-2099-0003 zlib1g", "CVE-2099-0003 zlib1g-dev"}, suppressed); diff != "" {
		t.Errorf("the predicate as VEX sets aside (-want +got):\n%s", diff)
	}
	other := scan.Evaluate("registry.example/shop/app@sha256:2222222222222222222222222222222222222222222222222222222222222222",
		[]*scan.Report{report}, scan.Policy{VEX: []*scan.VEX{back}, SoftFail: true}, when)
	if len(other.Ignored) != 0 {
		t.Errorf("the predicate applies to another image: %+v", other.Ignored)
	}

	// a warm run replays the same findings: the same predicate
	res.Cached = true
	if again, err := pipeline.VEXPredicate(res, "v1.2.3"); err != nil || !bytes.Equal(again, raw) {
		t.Errorf("the same result makes another predicate (%v):\n%s\n%s", err, raw, again)
	}

	// an annotating statement alone, or no VEX at all: nothing to attest
	onlyAnnotates, err := scan.ParseVEX(vexDoc(t, "Shop Security", when,
		vexStatement("CVE-2099-0001", digest, govex.StatusUnderInvestigation, "")), "x.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]scan.Policy{"under_investigation only": {VEX: []*scan.VEX{onlyAnnotates}, SoftFail: true}, "no VEX": {SoftFail: true}} {
		r := scan.Evaluate(image, []*scan.Report{report}, p, when)
		if got, err := pipeline.VEXPredicate(r, "v1"); err != nil || got != nil {
			t.Errorf("%s: predicate %s, %v; want none", name, got, err)
		}
	}
	if _, err := pipeline.VEXPredicate(nil, ""); err == nil {
		t.Error("no error for a nil result")
	}
}
