package report_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// cdxSchemaDir holds CycloneDX's official schemas, kept with package
// sbom's tests.
var cdxSchemaDir = filepath.Join("..", "sbom", "testdata", "schema")

func writeCycloneDX(t *testing.T, r *scan.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteCycloneDX(&b, r, report.WithToolVersion("v1.2.3")); err != nil {
		t.Fatalf("WriteCycloneDX: %v", err)
	}
	return b.Bytes()
}

func TestWriteCycloneDX(t *testing.T) {
	schema := testutil.CompileSchema(t, cdxSchemaDir, "bom-1.6.schema.json")
	for _, tt := range []struct {
		name string
		r    *scan.Result
	}{
		{"orders.cdx.json", ordersResult()},
		{"cart.cdx.json", cartResult()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := writeCycloneDX(t, tt.r)
			golden(t, tt.name, got)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Errorf("the document does not validate against the CycloneDX 1.6 schema: %v", err)
			}
			if again := writeCycloneDX(t, tt.r); !bytes.Equal(again, got) {
				t.Error("the same result gave another document")
			}
		})
	}
	// the schema check can fail
	var m map[string]any
	if err := json.Unmarshal(writeCycloneDX(t, ordersResult()), &m); err != nil {
		t.Fatal(err)
	}
	m["vulnerabilities"].([]any)[0].(map[string]any)["ratings"].([]any)[0].(map[string]any)["severity"] = "severe"
	data, _ := json.Marshal(m)
	doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if schema.Validate(doc) == nil {
		t.Error("a severity outside CycloneDX's vocabulary validates: the schema check proves nothing")
	}
}

// What the document says of each finding: counted or set aside, and the
// analysis of the VEX statement or rule that applied.
func TestCycloneDXContent(t *testing.T) {
	var doc struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				BOMRef  string `json:"bom-ref"`
				Type    string `json:"type"`
				Version string `json:"version"`
				PURL    string `json:"purl"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			BOMRef string `json:"bom-ref"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID       string `json:"id"`
			Analysis *struct {
				State         string   `json:"state"`
				Justification string   `json:"justification"`
				Response      []string `json:"response"`
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
			Properties []struct{ Name, Value string } `json:"properties"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(writeCycloneDX(t, ordersResult()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SpecVersion != "1.6" || doc.Metadata.Component.Type != "container" || doc.Metadata.Component.BOMRef != ordersImage ||
		doc.Metadata.Component.Version != ordersDigest || doc.Metadata.Component.PURL == "" {
		t.Errorf("spec %s, image component %+v", doc.SpecVersion, doc.Metadata.Component)
	}
	refs := map[string]bool{}
	for _, c := range doc.Components {
		refs[c.BOMRef] = true
	}
	type got struct{ id, state, justification, response, counted, by string }
	var gots []got
	for _, v := range doc.Vulnerabilities {
		g := got{id: v.ID}
		if v.Analysis != nil {
			g.state, g.justification = v.Analysis.State, v.Analysis.Justification
			if len(v.Analysis.Response) > 0 {
				g.response = v.Analysis.Response[0]
			}
		}
		for _, p := range v.Properties {
			switch p.Name {
			case "sc:counted":
				g.counted = p.Value
			case "sc:suppressedBy":
				g.by = p.Value
			}
		}
		if len(v.Affects) != 1 || !refs[v.Affects[0].Ref] {
			t.Errorf("%s affects %+v, want one component of the document", v.ID, v.Affects)
		}
		gots = append(gots, g)
	}
	want := []got{
		{id: "CVE-2099-0001", counted: "true"},
		{id: "CVE-2099-0001", counted: "true"},
		{id: "CVE-2099-0002", state: "in_triage", counted: "true"}, // VEX under_investigation
		{id: "CVE-2099-3001", counted: "true"},
		{id: "CVE-2099-2001", counted: "true"},
		{id: "GHSA-2099-dddd-0001", counted: "true"},
		{id: "CVE-2099-0005", counted: "true"},
		{id: "CVE-2099-0006", counted: "true"},
		{id: "CVE-2099-1001", counted: "false", by: "vex"},
		{id: "CVE-2099-0004", response: "will_not_fix", counted: "false", by: "ignore-rule"},
		{id: "CVE-2099-0007", response: "can_not_fix", counted: "false", by: "only-fixed"},
	}
	if diff := cmp.Diff(want, gots, cmp.AllowUnexported(got{})); diff != "" {
		t.Errorf("vulnerabilities (-want +got):\n%s", diff)
	}
}

// A VEX not_affected statement that set a finding aside is CycloneDX's
// not_affected, with the justification in CycloneDX's words.
func TestCycloneDXNotAffected(t *testing.T) {
	r := cartResult()
	r.Ignored = []scan.IgnoredMatch{{
		Match: scan.Match{ID: "CVE-2099-1001", Severity: scan.High, Package: scan.Package{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20"}},
		SuppressedBy: scan.Suppression{Kind: scan.SuppressedByVEX, Reason: "VEX: not_affected", VEX: &scan.VEXStatement{
			Document: "https://example.invalid/vex/1", Vulnerability: "CVE-2099-1001", Status: "not_affected",
			Justification: "vulnerable_code_not_in_execute_path", ImpactStatement: "template() is never called",
		}},
	}}
	var doc struct {
		Vulnerabilities []struct {
			Analysis struct{ State, Justification, Detail string } `json:"analysis"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(writeCycloneDX(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	a := doc.Vulnerabilities[0].Analysis
	if a.State != "not_affected" || a.Justification != "code_not_reachable" || a.Detail != "VEX not_affected: template() is never called (https://example.invalid/vex/1)" {
		t.Errorf("analysis %+v", a)
	}
}
