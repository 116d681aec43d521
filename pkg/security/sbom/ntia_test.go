package sbom_test

// This file keeps docs/compliance.md true: its table of the NTIA minimum
// elements of an SBOM says, for sc's CycloneDX and SPDX documents, whether
// each element is there for all components, some or none, and the test
// below measures it on SBOMs of the fixture image. It lives here because
// this package's tests link syft already.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"

	"github.com/sc-project/sc/pkg/security/sbom"
)

// The NTIA minimum elements ("The Minimum Elements For a Software Bill of
// Materials", NTIA 2021), as the rows of docs/compliance.md name them.
const (
	elSupplier     = "Supplier name"
	elName         = "Component name"
	elVersion      = "Version of the component"
	elIdentifiers  = "Other unique identifiers"
	elDependencies = "Dependency relationship"
	elAuthor       = "Author of SBOM data"
	elTimestamp    = "Timestamp"
)

var ntiaElements = []string{elSupplier, elName, elVersion, elIdentifiers, elDependencies, elAuthor, elTimestamp}

// coverage is how many of the things an element is about have it: the
// components for the per-component elements, the document (1) for author
// and timestamp.
type coverage struct{ have, of int }

// class is the word the table uses: all, some or none.
func (c coverage) class() string {
	switch {
	case c.of > 0 && c.have == c.of:
		return "all"
	case c.have == 0:
		return "none"
	}
	return "some"
}

// tally is the coverage of each element of one document.
type tally map[string]coverage

// count counts one thing el is about, which has el when ok.
func (t tally) count(el string, ok bool) {
	c := t[el]
	c.of++
	if ok {
		c.have++
	}
	t[el] = c
}

func (c coverage) String() string { return fmt.Sprintf("%s (%d of %d)", c.class(), c.have, c.of) }

// cyclonedxNTIA measures the elements in a CycloneDX JSON document.
// Supplier: a component's supplier, or its publisher (where syft writes a
// package's maintainer). Identifiers: a purl or a CPE. Dependencies: the
// component is in the dependency graph (a ref with dependsOn, or a
// target). Author: a person or organisation in metadata (authors,
// manufacturer, supplier); the tool alone is not an author.
func cyclonedxNTIA(doc []byte) (tally, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, err
	}
	var comps []cdx.Component
	var walk func([]cdx.Component)
	walk = func(cs []cdx.Component) {
		for _, c := range cs {
			comps = append(comps, c)
			if c.Components != nil {
				walk(*c.Components)
			}
		}
	}
	if bom.Components != nil {
		walk(*bom.Components)
	}
	inGraph := map[string]bool{}
	if bom.Dependencies != nil {
		for _, d := range *bom.Dependencies {
			if d.Dependencies != nil && len(*d.Dependencies) > 0 {
				inGraph[d.Ref] = true
				for _, r := range *d.Dependencies {
					inGraph[r] = true
				}
			}
		}
	}
	out := tally{}
	count := out.count
	for _, c := range comps {
		count(elSupplier, (c.Supplier != nil && c.Supplier.Name != "") || c.Publisher != "")
		count(elName, c.Name != "")
		count(elVersion, c.Version != "")
		count(elIdentifiers, c.PackageURL != "" || c.CPE != "")
		count(elDependencies, inGraph[c.BOMRef])
	}
	md := bom.Metadata
	if md == nil {
		md = &cdx.Metadata{}
	}
	author := (md.Authors != nil && slices.ContainsFunc(*md.Authors, func(a cdx.OrganizationalContact) bool { return a.Name != "" })) ||
		(md.Manufacturer != nil && md.Manufacturer.Name != "") ||
		(md.Manufacture != nil && md.Manufacture.Name != "") ||
		(md.Supplier != nil && md.Supplier.Name != "")
	count(elAuthor, author)
	_, err := time.Parse(time.RFC3339, md.Timestamp)
	count(elTimestamp, err == nil)
	return out, nil
}

// spdxNTIA measures the elements in an SPDX JSON document. Supplier: a
// package supplier other than NOASSERTION. Identifiers: a purl or CPE
// external reference. Dependencies: the package is in a relationship
// other than the document's DESCRIBES (CONTAINS, DEPENDS_ON,
// DEPENDENCY_OF, …). Author: a Person or Organization among the creators.
func spdxNTIA(doc []byte) (tally, error) {
	d, err := spdxjson.Read(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	related := map[string]bool{}
	for _, r := range d.Relationships {
		if r == nil || r.Relationship == "DESCRIBES" {
			continue
		}
		related[string(r.RefA.ElementRefID)] = true
		related[string(r.RefB.ElementRefID)] = true
	}
	out := tally{}
	count := out.count
	for _, p := range d.Packages {
		if p == nil {
			continue
		}
		count(elSupplier, p.PackageSupplier != nil && p.PackageSupplier.Supplier != "" && p.PackageSupplier.Supplier != "NOASSERTION")
		count(elName, p.PackageName != "")
		count(elVersion, p.PackageVersion != "")
		count(elIdentifiers, slices.ContainsFunc(p.PackageExternalReferences, func(r *spdxPackageRef) bool {
			return r != nil && r.Locator != "" && (r.RefType == "purl" || strings.HasPrefix(r.RefType, "cpe"))
		}))
		count(elDependencies, related[string(p.PackageSPDXIdentifier)])
	}
	author, created := false, ""
	if d.CreationInfo != nil {
		created = d.CreationInfo.Created
		for _, c := range d.CreationInfo.Creators {
			if (c.CreatorType == "Person" || c.CreatorType == "Organization") && c.Creator != "" {
				author = true
			}
		}
	}
	count(elAuthor, author)
	_, err = time.Parse(time.RFC3339, created)
	count(elTimestamp, err == nil)
	return out, nil
}

// ntiaClaims reads the table between <!-- ntia:begin --> and
// <!-- ntia:end --> of compliance.md: per element, per column, the class
// claimed (the first bold word of the cell) and whether the cell says
// why (text after the class).
func ntiaClaims(doc string) (map[string]map[string]claim, error) {
	_, rest, ok := strings.Cut(doc, "<!-- ntia:begin -->")
	table, _, ok2 := strings.Cut(rest, "<!-- ntia:end -->")
	if !ok || !ok2 {
		return nil, fmt.Errorf("no <!-- ntia:begin --> … <!-- ntia:end --> table")
	}
	var header []string
	out := map[string]map[string]claim{}
	for _, line := range strings.Split(table, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
			continue
		case strings.HasPrefix(cells[0], "---"):
			continue
		}
		row := map[string]claim{}
		for i := 1; i < len(cells) && i < len(header); i++ {
			m := claimWord.FindStringSubmatch(cells[i])
			if m == nil {
				return nil, fmt.Errorf("row %q, column %q: the cell does not start with **all**, **some** or **none**", cells[0], header[i])
			}
			row[header[i]] = claim{class: m[1], why: strings.TrimSpace(strings.TrimLeft(m[2], " —-:"))}
		}
		out[cells[0]] = row
	}
	return out, nil
}

type claim struct{ class, why string }

var claimWord = regexp.MustCompile(`^\*\*(all|some|none)\*\*(.*)$`)

// Columns of the table.
const (
	colCycloneDX = "CycloneDX (`cyclonedx-json`, sc's default)"
	colSPDX      = "SPDX 2.3 (`spdx-json`)"
)

// checkNTIA compares what was measured with what the table claims and
// returns each difference.
func checkNTIA(claims map[string]map[string]claim, column string, measured tally) []string {
	var bad []string
	for _, el := range ntiaElements {
		c, ok := claims[el][column]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: the table has no %q cell for %q", column, column, el))
			continue
		}
		got := measured[el]
		if got.class() != c.class {
			bad = append(bad, fmt.Sprintf("%s, %s: compliance.md says %s, the fixture's SBOM has %v", column, el, c.class, got))
		}
		if c.class != "all" && c.why == "" {
			bad = append(bad, fmt.Sprintf("%s, %s: compliance.md says %s without saying why", column, el, c.class))
		}
	}
	return bad
}

func readCompliance(t *testing.T) map[string]map[string]claim {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "compliance.md"))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := ntiaClaims(string(b))
	if err != nil {
		t.Fatalf("docs/compliance.md: %v", err)
	}
	return claims
}

// ntiaDoc is an SBOM in one of the table's columns, with the function that
// measures it.
type ntiaDoc struct {
	column  string
	doc     []byte
	measure func([]byte) (tally, error)
}

// spdxPackageRef is an SPDX package's external reference.
type spdxPackageRef = spdx.PackageExternalReference

// ntiaDocs are sc's CycloneDX and SPDX SBOMs of the fixture image, with the
// function that measures each.
func ntiaDocs(t *testing.T) []ntiaDoc {
	t.Helper()
	res := fixtureSBOM(t)
	cdxDoc, err := sbom.Encode(res.SBOM, sbom.CycloneDXJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	spdxDoc, err := sbom.Encode(res.SBOM, sbom.SPDXJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	return []ntiaDoc{
		{colCycloneDX, cdxDoc, cyclonedxNTIA},
		{colSPDX, spdxDoc, spdxNTIA},
	}
}

// TestNTIAMinimumElements measures the NTIA minimum elements in sc's
// CycloneDX and SPDX SBOMs of the fixture image and holds
// docs/compliance.md to what it finds.
func TestNTIAMinimumElements(t *testing.T) {
	claims := readCompliance(t)
	for _, d := range ntiaDocs(t) {
		t.Run(d.column, func(t *testing.T) {
			got, err := d.measure(d.doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, el := range ntiaElements {
				t.Logf("%s: %v", el, got[el])
			}
			for _, p := range checkNTIA(claims, d.column, got) {
				t.Error(p)
			}
		})
	}
}

// TestNTIACheckFails proves the check can fail: the same SBOMs with one
// element stripped no longer match the table, and the difference names the
// element.
func TestNTIACheckFails(t *testing.T) {
	claims := readCompliance(t)
	docs := ntiaDocs(t)
	// strip deletes keys from every object of the JSON document reached by
	// path ("components.*"), or the top-level object for "".
	strip := func(t *testing.T, doc []byte, path string, keys ...string) []byte {
		t.Helper()
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		var visit func(v any, parts []string)
		visit = func(v any, parts []string) {
			if len(parts) == 0 {
				if m, ok := v.(map[string]any); ok {
					for _, k := range keys {
						delete(m, k)
					}
				}
				return
			}
			switch x := v.(type) {
			case map[string]any:
				if parts[0] == "*" {
					return
				}
				visit(x[parts[0]], parts[1:])
			case []any:
				for _, e := range x {
					visit(e, parts[1:])
				}
			}
		}
		var parts []string
		if path != "" {
			parts = strings.Split(path, ".")
		}
		visit(v, parts)
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tt := range []struct {
		name, column, path string
		keys               []string
		element            string
	}{
		{"CycloneDX without purls and CPEs", colCycloneDX, "components.*", []string{"purl", "cpe"}, elIdentifiers},
		{"CycloneDX without versions", colCycloneDX, "components.*", []string{"version"}, elVersion},
		{"CycloneDX without publishers", colCycloneDX, "components.*", []string{"publisher", "supplier"}, elSupplier},
		{"CycloneDX without dependencies", colCycloneDX, "", []string{"dependencies"}, elDependencies},
		{"CycloneDX without a timestamp", colCycloneDX, "metadata", []string{"timestamp"}, elTimestamp},
		{"SPDX without external references", colSPDX, "packages.*", []string{"externalRefs"}, elIdentifiers},
		{"SPDX without suppliers", colSPDX, "packages.*", []string{"supplier"}, elSupplier},
		{"SPDX without relationships", colSPDX, "", []string{"relationships"}, elDependencies},
		{"SPDX without creators", colSPDX, "creationInfo", []string{"creators"}, elAuthor},
	} {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(docs, func(d ntiaDoc) bool { return d.column == tt.column })
			d := docs[i]
			got, err := d.measure(strip(t, d.doc, tt.path, tt.keys...))
			if err != nil {
				t.Fatalf("measuring the stripped document: %v", err)
			}
			bad := checkNTIA(claims, d.column, got)
			if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, ", "+tt.element+": ") }) {
				t.Errorf("stripping %v did not make the check report %q; it said %q", tt.keys, tt.element, bad)
			}
		})
	}
}
