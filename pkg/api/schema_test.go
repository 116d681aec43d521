package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/pkg/api"
)

var update = flag.Bool("update", false, "rewrite golden files")

const schemaFile = "../../schema/sc.schema.json"

// TestSchemaGolden keeps schema/sc.schema.json equal to what the Go types
// generate. Refresh it with: go test ./pkg/api -run Schema -update
func TestSchemaGolden(t *testing.T) {
	got, err := api.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/api -run Schema -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./pkg/api -run Schema -update (-committed +generated):\n%s", schemaFile, diff)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return compileSchemaOf(t, api.Schema, api.SchemaID)
}

func compileSchemaOf(t *testing.T, generate func() ([]byte, error), id string) *jsonschema.Schema {
	t.Helper()
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func yamlInstance(t *testing.T, text []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(text)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../../examples", func(p string, d os.DirEntry, err error) error {
		// CI pipelines (examples/workflows_test.go checks them) and image
		// policies (TestPolicySchema), not sc configurations
		if err == nil && d.IsDir() && (d.Name() == "github-actions" || d.Name() == "gitlab-ci" || d.Name() == "policies") {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d example files, want at least 4", len(files))
	}
	return files
}

// TestExamples loads and validates every file under examples/, with the
// loader and against the JSON Schema.
func TestExamples(t *testing.T) {
	sch := compileSchema(t)
	services := 0
	for _, file := range exampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			rels, err := api.LoadAll(context.Background(), file)
			if err != nil {
				t.Fatalf("LoadAll:\n%v", err)
			}
			for _, rel := range rels {
				services += len(rel.Services)
				for _, svc := range rel.Services {
					if err := svc.Security.Validate(); err != nil {
						t.Errorf("%s: effective configuration does not validate:\n%v", svc.Name, err)
					}
				}
			}
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(yamlInstance(t, text)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
	if services == 0 {
		t.Error("the examples have no services")
	}
}

// TestSchemaRejects checks that the schema is strict where the loader is.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	for name, text := range map[string]string{
		"unknown key in security":  "stacks: {p: {security: {sbom: {fromat: x}}, services: {a: {image: x}}}}",
		"unknown top-level key":    "stack: {}",
		"bad sbom format":          "security: {sbom: {format: cyclonedx}}",
		"bad severity":             "security: {scan: {failOn: severe}}",
		"bad tool":                 "security: {scan: {tools: [{name: clair}]}}",
		"string for boolean":       "security: {enabled: 'yes'}",
		"service without image":    "stacks: {p: {services: {a: {dockerfile: Dockerfile}}}}",
		"bad stack name":           "stacks: {'a/b': {}}",
		"version 2":                "version: 2",
		"bad date":                 "security: {scan: {ignore: [{id: x, reason: y, expires: soon}]}}",
		"bad duration":             "security: {scan: {dbMaxAge: 120}}",
		"compose x-sc-security":    "services: {web: {image: x, x-sc-security: {sbom: {attach: sometimes}}}}",
		"compose file-wide":        "services: {web: {image: x}}\nx-sc-security: {signing: {keyles: true}}",
		"stacks and services both": "stacks: {}\nservices: {}",
		"a list":                   "- a",
	} {
		if err := sch.Validate(yamlInstance(t, []byte(text))); err == nil {
			t.Errorf("%s: the schema accepts %s", name, text)
		}
	}
	// Compose keys that are not sc's are left to compose.
	if err := sch.Validate(yamlInstance(t, []byte("services: {web: {image: x, ports: ['80:80'], build: .}}\nvolumes: {}"))); err != nil {
		t.Errorf("compose file: %v", err)
	}
}

// The schema's descriptions come from the Go comments, with YAML key names.
func TestSchemaDescriptions(t *testing.T) {
	b, err := api.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			Description string `json:"description"`
			Properties  map[string]struct {
				Description string `json:"description"`
				Enum        []any  `json:"enum"`
			} `json:"properties"`
			AdditionalProperties *bool `json:"additionalProperties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	scan := s.Defs["Scan"]
	if got := scan.Properties["failOn"].Description; !strings.HasPrefix(got, "failOn fails the scan") {
		t.Errorf("failOn description %q", got)
	}
	if len(scan.Properties["failOn"].Enum) != 6 {
		t.Errorf("failOn enum %v, want the six severities", scan.Properties["failOn"].Enum)
	}
	for name, def := range s.Defs {
		if name == "ComposeFile" {
			continue
		}
		if def.AdditionalProperties == nil || *def.AdditionalProperties {
			t.Errorf("%s: additionalProperties is not false", name)
		}
		if def.Description == "" {
			t.Errorf("%s has no description", name)
		}
		for p, prop := range def.Properties {
			if prop.Description == "" {
				t.Errorf("%s.%s has no description", name, p)
			}
		}
	}
}
