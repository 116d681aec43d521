package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// schemaDir holds the official schemas; see its README for where each
// file comes from.
var schemaDir = filepath.Join("testdata", "schema")

// compileSchema compiles the schema in file, with every schema of
// schemaDir registered under its $id so that references between them
// resolve without the network.
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	return testutil.CompileSchema(t, schemaDir, file)
}

// withFiles is an SBOM of the fixture with file entries, so that the
// schemas also check how files and their digests are written.
var withFiles struct {
	once sync.Once
	res  *sbom.Result
	err  error
}

func fixtureSBOMWithFiles(t *testing.T) *sbom.Result {
	t.Helper()
	withFiles.once.Do(func() {
		p := pushFixture(t)
		withFiles.res, withFiles.err = sbom.Generate(context.Background(), p.ref, p.image, sbom.WithFiles(sbom.PackageFiles))
	})
	if withFiles.err != nil {
		t.Fatal(withFiles.err)
	}
	return withFiles.res
}

func TestDocumentsValidateAgainstSchemas(t *testing.T) {
	tests := []struct {
		format  sbom.Format
		version string
		schema  string // "" for the syft schema named by the document
	}{
		{sbom.CycloneDXJSON, "1.5", "bom-1.5.schema.json"},
		{sbom.CycloneDXJSON, "1.6", "bom-1.6.schema.json"},
		{sbom.CycloneDXJSON, "1.7", "bom-1.7.schema.json"},
		{sbom.SPDXJSON, "2.3", "spdx-schema-2.3.json"},
		{sbom.SyftJSON, "", ""},
	}
	sboms := map[string]*sbom.Result{"default": fixtureSBOM(t), "with files": fixtureSBOMWithFiles(t)}
	for _, tt := range tests {
		for which, res := range sboms {
			t.Run(string(tt.format)+"@"+tt.version+"/"+which, func(t *testing.T) {
				doc, err := sbom.Encode(res.SBOM, tt.format, tt.version)
				if err != nil {
					t.Fatal(err)
				}
				schema := tt.schema
				if schema == "" {
					var d struct {
						Schema struct{ Version string } `json:"schema"`
					}
					if err := json.Unmarshal(doc, &d); err != nil {
						t.Fatal(err)
					}
					schema = "syft-schema-" + d.Schema.Version + ".json"
					if _, err := os.Stat(filepath.Join(schemaDir, schema)); err != nil {
						t.Fatalf("syft writes schema %s: copy schema/json/schema-%s.json from the syft module into %s (see its README)",
							d.Schema.Version, d.Schema.Version, schemaDir)
					}
				}
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
				if err != nil {
					t.Fatal(err)
				}
				if err := compileSchema(t, schema).Validate(inst); err != nil {
					t.Errorf("%s does not validate against %s:\n%v", tt.format, schema, err)
				}
			})
		}
	}
}

// TestSchemaValidationFails makes sure the schema check above can fail: a
// document with a wrong field is rejected by each schema.
func TestSchemaValidationFails(t *testing.T) {
	res := fixtureSBOM(t)
	for _, tt := range []struct {
		format  sbom.Format
		version string
		schema  string
		break_  func(m map[string]any)
	}{
		{sbom.CycloneDXJSON, "1.6", "bom-1.6.schema.json", func(m map[string]any) { m["bomFormat"] = "SPDX" }},
		{sbom.CycloneDXJSON, "1.5", "bom-1.5.schema.json", func(m map[string]any) {
			m["components"].([]any)[0].(map[string]any)["licenses"] = []any{map[string]any{"license": map[string]any{"id": "Not-A-License"}}}
		}},
		{sbom.SPDXJSON, "2.3", "spdx-schema-2.3.json", func(m map[string]any) { delete(m, "SPDXID") }},
	} {
		t.Run(tt.schema, func(t *testing.T) {
			doc, err := sbom.Encode(res.SBOM, tt.format, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil {
				t.Fatal(err)
			}
			tt.break_(m)
			b, _ := json.Marshal(m)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := compileSchema(t, tt.schema).Validate(inst); err == nil {
				t.Errorf("a broken %s document validates", tt.format)
			}
		})
	}
}

func TestCycloneDXXML(t *testing.T) {
	res := fixtureSBOM(t)
	for _, v := range sbom.CycloneDXXML.SpecVersions() {
		t.Run(v, func(t *testing.T) {
			doc, err := sbom.Encode(res.SBOM, sbom.CycloneDXXML, v)
			if err != nil {
				t.Fatal(err)
			}
			dec := xml.NewDecoder(bytes.NewReader(doc))
			var root *xml.StartElement
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && root == nil {
					root = &se
				}
			}
			if root == nil || root.Name.Local != "bom" || root.Name.Space != "http://cyclonedx.org/schema/bom/"+v {
				t.Errorf("root element %+v, want bom in http://cyclonedx.org/schema/bom/%s", root, v)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	res := fixtureSBOM(t)
	want := nameVersions(packageNames(res.SBOM))
	for _, f := range sbom.Formats() {
		t.Run(string(f), func(t *testing.T) {
			doc, err := sbom.Encode(res.SBOM, f, "")
			if err != nil {
				t.Fatal(err)
			}
			gotFormat, gotVersion, err := sbom.Identify(doc)
			if err != nil || gotFormat != f {
				t.Errorf("Identify: %s %s %v, want %s", gotFormat, gotVersion, err, f)
			}
			if f != sbom.SyftJSON && gotVersion != f.DefaultSpecVersion() {
				t.Errorf("Identify: version %s, want %s", gotVersion, f.DefaultSpecVersion())
			}
			s, err := sbom.Decode(doc, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, nameVersions(packageNames(s))); diff != "" {
				t.Errorf("packages after a round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// nameVersions drops the type from packageNames' lines: not every format
// keeps syft's package types.
func nameVersions(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		_, rest, _ := strings.Cut(l, " ")
		out[i] = rest
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	res := fixtureSBOM(t)
	cdx := res.Document
	spdx, err := sbom.Encode(res.SBOM, sbom.SPDXJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   []byte
		format sbom.Format
		want   error
	}{
		{"unknown format", cdx, "pdf", sbom.ErrUnknownFormat},
		{"empty", nil, sbom.CycloneDXJSON, sbom.ErrMalformed},
		{"not JSON", []byte("hello"), sbom.SPDXJSON, sbom.ErrMalformed},
		{"empty object", []byte("{}"), sbom.SyftJSON, sbom.ErrMalformed},
		{"CycloneDX said to be SPDX", cdx, sbom.SPDXJSON, sbom.ErrMalformed},
		{"SPDX said to be CycloneDX", spdx, sbom.CycloneDXJSON, sbom.ErrMalformed},
		{"JSON said to be XML", cdx, sbom.CycloneDXXML, sbom.ErrMalformed},
		{"truncated", cdx[:len(cdx)/2], sbom.CycloneDXJSON, sbom.ErrMalformed},
		{"wrong type inside", bytes.Replace(cdx, []byte(`"components":[`), []byte(`"components":[1,`), 1), sbom.CycloneDXJSON, sbom.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sbom.Decode(tt.data, tt.format)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (SBOM %v), want %v", err, s != nil, tt.want)
			}
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitInvalid)
			}
		})
	}
	if _, _, err := sbom.Identify([]byte("hello")); !errors.Is(err, sbom.ErrMalformed) {
		t.Errorf("Identify: got %v, want ErrMalformed", err)
	}
}

func TestFormatNames(t *testing.T) {
	tests := []struct {
		in        string
		want      sbom.Format
		media     string
		predicate string
		text      bool
	}{
		{"cyclonedx-json", sbom.CycloneDXJSON, "application/vnd.cyclonedx+json", "https://cyclonedx.org/bom", false},
		{"CycloneDX-XML", sbom.CycloneDXXML, "application/vnd.cyclonedx+xml", "https://cyclonedx.org/bom", true},
		{" spdx-json ", sbom.SPDXJSON, "application/spdx+json", "https://spdx.dev/Document", false},
		{"spdx-tag-value", sbom.SPDXTagValue, "text/spdx", "https://spdx.dev/Document", true},
		{"syft-json", sbom.SyftJSON, "application/vnd.syft+json", "https://syft.dev/bom", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := sbom.ParseFormat(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{f, f.MediaType(), f.PredicateType(), f.TextPredicate()}
			if diff := cmp.Diff([]any{tt.want, tt.media, tt.predicate, tt.text}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"", "json", "cyclonedx", "spdx"} {
		if _, err := sbom.ParseFormat(bad); !errors.Is(err, sbom.ErrUnknownFormat) || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("ParseFormat(%q): %v, want ErrUnknownFormat", bad, err)
		}
	}
	if s, err := sbom.ParseScope("All-Layers"); err != nil || s != sbom.AllLayers {
		t.Errorf("ParseScope: %s %v", s, err)
	}
	if _, err := sbom.ParseScope("deep-squashed"); !errors.Is(err, sbom.ErrUnknownScope) {
		t.Errorf("ParseScope(deep-squashed): %v, want ErrUnknownScope", err)
	}
	if f, err := sbom.ParseFiles("owned-by-package"); err != nil || f != sbom.PackageFiles {
		t.Errorf("ParseFiles: %s %v", f, err)
	}
}
