package attest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
)

// For every --type name cosign has, cosign's own statement generator and
// sc's table give the same predicate type: the table cannot drift from
// cosign unnoticed (cosign's map lives in its cmd/, which sc does not link).
func TestCosignPredicateEveryType(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	provenance02 := []byte(`{"builder":{"id":"https://ci.example.com/builder"},"buildType":"https://example.com/build/v1"}`)
	for _, c := range []struct {
		typ  string
		doc  []byte
		text bool
	}{
		{"custom", []byte("any text at all\n"), false},
		{"slsaprovenance", provenance02, false},
		{"slsaprovenance02", provenance02, false},
		{"slsaprovenance1", readTestdata(t, "provenance.json"), false},
		{"spdx", readTestdata(t, "sbom.spdx"), true},
		{"spdxjson", readTestdata(t, "sbom.spdx.json"), false},
		{"cyclonedx", readTestdata(t, "sbom.cdx.json"), false},
		{"link", []byte(`{"_type":"link","name":"build","materials":{},"products":{},"byproducts":{},"command":["make"],"environment":{}}`), false},
		{"vuln", readTestdata(t, "vuln.json"), false},
		{"openvex", readTestdata(t, "openvex.json"), false},
		{"VULN", readTestdata(t, "vuln.json"), false},
		{"https://example.com/predicate/v1", []byte(`{"b": [1, 2], "a": "x"}`), false},
	} {
		t.Run(c.typ, func(t *testing.T) {
			want, err := attest.PredicateType(c.typ)
			if err != nil {
				t.Fatal(err)
			}
			p, err := attest.CosignPredicate(c.typ, c.doc, now)
			if err != nil {
				t.Fatalf("CosignPredicate: %v", err)
			}
			if p.Type != want || p.Text != c.text {
				t.Errorf("predicate type %s text=%v, want %s text=%v", p.Type, p.Text, want, c.text)
			}
			if err := p.Validate(); err != nil {
				t.Error(err)
			}
			if c.text && string(p.Data) != string(c.doc) {
				t.Error("a text predicate must be the document exactly")
			}
		})
	}
}

// custom wraps the document as cosign does; another type keeps its content.
func TestCosignPredicateContent(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	p, err := attest.CosignPredicate("custom", []byte("release notes"), now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "https://cosign.sigstore.dev/attestation/v1" {
		t.Errorf("custom predicate type %s", p.Type)
	}
	if want := `{"Data":"release notes","Timestamp":"2025-01-02T02:04:05Z"}`; string(p.Data) != want {
		t.Errorf("custom predicate %s, want %s", p.Data, want)
	}

	p, err = attest.CosignPredicate("https://example.com/predicate/v1", []byte(`{"b": [1, 2], "a": {"c": true}}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"c":true},"b":[1,2]}`; string(p.Data) != want {
		t.Errorf("URI predicate %s, want %s", p.Data, want)
	}

	doc := readTestdata(t, "vuln.json")
	p, err = attest.CosignPredicate("vuln", doc, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(jsonValue(t, doc), jsonValue(t, p.Data)); diff != "" {
		t.Errorf("vuln predicate differs from the document (-doc +predicate):\n%s", diff)
	}

	// cosign keeps only the fields its vuln predicate has.
	p, err = attest.CosignPredicate("vuln", []byte(`{"scanner":{"uri":"pkg:golang/grype","version":"1"},"extra":1}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Data), "extra") || !strings.Contains(string(p.Data), `"uri":"pkg:golang/grype"`) {
		t.Errorf("vuln predicate %s: want cosign's fields only", p.Data)
	}
}

// What cosign attest refuses, sc refuses, as invalid input (exit 2).
func TestCosignPredicateRefuses(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name, typ string
		doc       []byte
		says      string
	}{
		{"unknown name", "sbom", []byte(`{}`), "want a URI"},
		{"vuln time", "vuln", []byte(`{"metadata":{"scanStartedOn":"yesterday"}}`), "vuln predicate"},
		{"vuln not JSON", "vuln", []byte(`not json`), "vuln predicate"},
		{"cyclonedx array", "cyclonedx", []byte(`[1]`), "cyclonedx predicate"},
		{"URI not an object", "https://example.com/p", []byte(`"text"`), "predicate"},
		{"link without fields", "link", []byte(`{"name":"x"}`), "required field"},
		{"custom not UTF-8", "custom", []byte{0xff, 0xfe}, "predicate"},
		{"spdx not UTF-8", "spdx", []byte{'S', 0xff}, "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := attest.CosignPredicate(c.typ, c.doc, now)
			if !errors.Is(err, outcome.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("CosignPredicate = %v, want an invalid-input error saying %q", err, c.says)
			}
		})
	}
}

// The predicate `cosign attest --type custom --predicate notes.txt` signs,
// made by cosign's statement generator; attest.Attach signs and stores it.
func ExampleCosignPredicate() {
	p, err := attest.CosignPredicate("custom", []byte("release notes"), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		panic(err) // outcome.ErrInvalid: a predicate cosign would refuse
	}
	fmt.Println(p.Type)
	fmt.Println(string(p.Data))
	// Output:
	// https://cosign.sigstore.dev/attestation/v1
	// {"Data":"release notes","Timestamp":"2025-01-02T03:04:05Z"}
}
