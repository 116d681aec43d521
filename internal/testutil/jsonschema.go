package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CompileSchema compiles the JSON Schema in dir/file, with every schema of
// dir registered under its $id (else file:///schema/<name>) so that
// references between them resolve without the network, and formats
// asserted.
func CompileSchema(t testing.TB, dir, file string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var main string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		url := "file:///schema/" + e.Name()
		if m, ok := doc.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok && strings.HasPrefix(id, "http") {
				url = id
			}
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("adding %s: %v", e.Name(), err)
		}
		if e.Name() == file {
			main = url
		}
	}
	if main == "" {
		t.Fatalf("no schema %s in %s", file, dir)
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatalf("compiling %s: %v", file, err)
	}
	return s
}
