package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// trivyInput names each Debian package's source package the way Trivy
// reads it, from the purl's upstream qualifier, and changes nothing else.
func TestTrivyInput(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("testdata", "fixture.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := trivyInput(doc)
	if err != nil {
		t.Fatalf("trivyInput: %v", err)
	}
	var in, got cdx.BOM
	for _, x := range []struct {
		doc []byte
		bom *cdx.BOM
	}{{doc, &in}, {out, &got}} {
		if err := cdx.NewBOMDecoder(bytes.NewReader(x.doc), cdx.BOMFileFormatJSON).Decode(x.bom); err != nil {
			t.Fatal(err)
		}
	}
	if got.SpecVersion != in.SpecVersion || got.SerialNumber != in.SerialNumber || len(*got.Components) != len(*in.Components) {
		t.Fatalf("document changed: spec %v serial %q, %d components; want %v %q %d",
			got.SpecVersion, got.SerialNumber, len(*got.Components), in.SpecVersion, in.SerialNumber, len(*in.Components))
	}
	props := func(c cdx.Component) map[string]string {
		m := map[string]string{}
		if c.Properties != nil {
			for _, p := range *c.Properties {
				m[p.Name] = p.Value
			}
		}
		return m
	}
	want := map[string][2]string{
		"libssl3": {"openssl", ""},      // upstream=openssl
		"bash":    {"bash", "5.2.15-2"}, // upstream=bash@5.2.15-2
		"zlib1g":  {"zlib", ""},
		"libc6":   {"glibc", ""},
		"openssl": {"", ""}, // its own source: no upstream
		"curl":    {"", ""},
		"lodash":  {"", ""}, // not a deb
	}
	seen := 0
	for i, c := range *got.Components {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		seen++
		p := props(c)
		if p[trivySrcName] != w[0] || p[trivySrcVersion] != w[1] {
			t.Errorf("%s: SrcName %q SrcVersion %q, want %q %q", c.Name, p[trivySrcName], p[trivySrcVersion], w[0], w[1])
		}
		if n := len(p) - len(props((*in.Components)[i])); (w[0] == "" && n != 0) || (w[0] != "" && w[1] == "" && n != 1) {
			t.Errorf("%s: %d properties added", c.Name, n)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d of the %d components checked", seen, len(want))
	}

	// a document that already names its source packages is left as it is
	again, err := trivyInput(out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("trivyInput of its own output changed it (err %v)", err)
	}
	// as is one without Debian packages
	plain := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"lodash","purl":"pkg:npm/lodash@4.17.20"}]}`)
	if same, err := trivyInput(plain); err != nil || !bytes.Equal(same, plain) {
		t.Errorf("trivyInput changed a document without Debian packages: %s, %v", same, err)
	}
	if _, err := trivyInput([]byte("not json")); err == nil {
		t.Error("trivyInput of a malformed document succeeded")
	}
}
