package attest_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/in-toto/in-toto-golang/in_toto"
	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
)

const digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

func subject(t testing.TB) name.Digest {
	t.Helper()
	d, err := name.NewDigest("registry.example.com/shop@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestNewStatement pins the statement sc signs: in-toto v1, the image's
// repository and digest as subject, the predicate as given.
func TestNewStatement(t *testing.T) {
	tests := []struct {
		name      string
		p         attest.Predicate
		want      string
		predicate string // what ParseStatement gives back
	}{
		{
			"JSON object, whitespace and HTML characters",
			attest.Predicate{Type: attest.PredicateCycloneDX, Data: []byte("{ \"a\": \"<b> & c\",\n \"n\": 1.50 }\n")},
			`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example.com/shop","digest":{"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}],"predicateType":"https://cyclonedx.org/bom","predicate":{"a":"<b> & c","n":1.50}}`,
			`{"a":"<b> & c","n":1.50}`,
		},
		{
			"text",
			attest.Predicate{Type: attest.PredicateSPDX, Data: []byte("SPDXVersion: SPDX-2.3\nPackageCopyrightText: <text>\"x\" & y</text>\n"), Text: true},
			`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example.com/shop","digest":{"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}],"predicateType":"https://spdx.dev/Document","predicate":"SPDXVersion: SPDX-2.3\nPackageCopyrightText: <text>\"x\" & y</text>\n"}`,
			"SPDXVersion: SPDX-2.3\nPackageCopyrightText: <text>\"x\" & y</text>\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := attest.NewStatement(subject(t), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("statement (-want +got):\n%s", diff)
			}
			st, err := attest.ParseStatement(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(st.Predicate) != tt.predicate || st.Text != tt.p.Text || st.PredicateType != tt.p.Type || st.About(subject(t)) == nil {
				t.Errorf("ParseStatement = %+v, predicate %q", st, st.Predicate)
			}
		})
	}
}

// TestNewStatementAbout: a statement about an index and its platform
// images names each, in the order given, and ParseStatement finds each;
// no subject, or one named twice, is invalid.
func TestNewStatementAbout(t *testing.T) {
	const other = "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
	idx := subject(t)
	plat, err := name.NewDigest("registry.example.com/shop@" + other)
	if err != nil {
		t.Fatal(err)
	}
	p := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: []byte(`{"buildDefinition":{}}`)}
	got, err := attest.NewStatementAbout([]name.Digest{idx, plat}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[` +
		`{"name":"registry.example.com/shop","digest":{"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}},` +
		`{"name":"registry.example.com/shop","digest":{"sha256":"fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
	st, err := attest.ParseStatement(got)
	if err != nil {
		t.Fatal(err)
	}
	if st.About(idx) == nil || st.About(plat) == nil {
		t.Errorf("the parsed statement is not about both: %+v", st.Subject)
	}
	one, err := attest.NewStatement(idx, p)
	if err != nil {
		t.Fatal(err)
	}
	if alone, err := attest.NewStatementAbout([]name.Digest{idx}, p); err != nil || string(alone) != string(one) {
		t.Errorf("about one image: %s, %v; want NewStatement's %s", alone, err, one)
	}
	for _, subjects := range [][]name.Digest{nil, {idx, plat, idx}} {
		if _, err := attest.NewStatementAbout(subjects, p); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("subjects %v: %v, want invalid", subjects, err)
		}
	}
}

// TestParseStatement covers what a strict reader must refuse.
func TestParseStatement(t *testing.T) {
	const sub = `"subject":[{"name":"x","digest":{"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}]`
	tests := []struct {
		name, data string
		ok         bool
	}{
		{"v1", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":{}}`, true},
		{"v0.1 as cosign writes", `{"_type":"https://in-toto.io/Statement/v0.1",` + sub + `,"predicateType":"https://x.dev/p","predicate":"text"}`, true},
		{"unknown top-level key", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":{},"extra":1}`, true},
		{"wrong type", `{"_type":"https://example.com/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":{}}`, false},
		{"no subject", `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://x.dev/p","predicate":{}}`, false},
		{"subject without digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x"}],"predicateType":"https://x.dev/p","predicate":{}}`, false},
		{"no predicate type", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicate":{}}`, false},
		{"no predicate", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p"}`, false},
		{"array predicate", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":[1]}`, false},
		{"null predicate", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":null}`, false},
		{"duplicate key", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicateType":"https://y.dev/p","predicate":{}}`, false},
		{"other case key", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"PredicateType":"https://x.dev/p","predicate":{}}`, false},
		{"trailing content", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://x.dev/p","predicate":{}} {}`, false},
		{"not an object", `[1,2]`, false},
		{"not JSON", `SPDXVersion: SPDX-2.3`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := attest.ParseStatement([]byte(tt.data))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseStatement: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, attest.ErrMalformed) || outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("error %v is not ErrMalformed", err)
			}
		})
	}
}

// TestPredicateType: cosign's --type names map to the URIs cosign uses
// (in-toto's and SLSA's constants).
func TestPredicateType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cyclonedx", in_toto.PredicateCycloneDX},
		{"spdx", in_toto.PredicateSPDX},
		{"SPDXJSON", in_toto.PredicateSPDX},
		{"slsaprovenance1", slsa1.PredicateSLSAProvenance},
		{"slsaprovenance", slsa02.PredicateSLSAProvenance},
		{"slsaprovenance02", slsa02.PredicateSLSAProvenance},
		{"link", in_toto.PredicateLinkV1},
		{"https://syft.dev/bom", attest.PredicateSyft},
		{"custom", "https://cosign.sigstore.dev/attestation/v1"},
		{"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
		{"openvex", "https://openvex.dev/ns"},
		{"nonsense", ""},
		{"", ""},
		{"/relative/path", ""},
	}
	for _, tt := range tests {
		got, err := attest.PredicateType(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("PredicateType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("PredicateType(%q): %v is not invalid usage", tt.in, err)
		}
	}
	if attest.PredicateSLSAProvenanceV1 != slsa1.PredicateSLSAProvenance || attest.PredicateSLSAProvenanceV02 != slsa02.PredicateSLSAProvenance ||
		attest.PredicateCycloneDX != in_toto.PredicateCycloneDX || attest.PredicateSPDX != in_toto.PredicateSPDX {
		t.Error("predicate type constants differ from in-toto's")
	}
}

// FuzzParseStatement: statements come from registries; whatever they
// hold, parsing returns a statement or ErrMalformed, never panics, and a
// parsed statement is about its subjects.
func FuzzParseStatement(f *testing.F) {
	for _, p := range []attest.Predicate{
		{Type: attest.PredicateCycloneDX, Data: []byte(`{"bomFormat":"CycloneDX","components":[{"name":"a"}]}`)},
		{Type: attest.PredicateSPDX, Data: []byte("SPDXVersion: SPDX-2.3\n"), Text: true},
	} {
		st, err := attest.NewStatement(subject(f), p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"x","predicate":"\u0000"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := attest.ParseStatement(data)
		if err != nil {
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(st.Subject) == 0 || st.PredicateType == "" {
			t.Fatalf("parsed statement %+v lacks subject or predicate type", st)
		}
	})
}
