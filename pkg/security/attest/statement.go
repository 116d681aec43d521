package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sc-project/sc/pkg/outcome"
)

// Predicate types of the attestations sc writes and reads, as cosign names
// them (in-toto's and SLSA's URIs).
const (
	// PredicateCycloneDX is the type of CycloneDX SBOMs (cosign: cyclonedx).
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	// PredicateSPDX is the type of SPDX SBOMs, JSON or tag-value (cosign:
	// spdx, spdxjson).
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateVuln is the type of a vulnerability scan result in
	// cosign's vuln predicate (cosign: vuln).
	PredicateVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"
	// PredicateOpenVEX is the type of OpenVEX documents (cosign: openvex).
	PredicateOpenVEX = "https://openvex.dev/ns"
	// PredicateSyft is the type syft-json SBOMs are attested with.
	PredicateSyft = "https://syft.dev/bom"
	// PredicateSLSAProvenanceV1 is SLSA v1.0 provenance (cosign:
	// slsaprovenance1).
	PredicateSLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	// PredicateSLSAProvenanceV02 is SLSA v0.2 provenance (cosign:
	// slsaprovenance, slsaprovenance02).
	PredicateSLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
)

// cosignTypes are the names `cosign attest --type` and `cosign
// verify-attestation --type` take (cosign's options.PredicateTypeMap).
var cosignTypes = map[string]string{
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
	"slsaprovenance":   PredicateSLSAProvenanceV02,
	"slsaprovenance02": PredicateSLSAProvenanceV02,
	"slsaprovenance1":  PredicateSLSAProvenanceV1,
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"cyclonedx":        PredicateCycloneDX,
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             PredicateVuln,
	"openvex":          PredicateOpenVEX,
}

// PredicateType turns a cosign --type name (cyclonedx, spdx, spdxjson,
// slsaprovenance1, …) into its predicate type URI, and returns a URI as it
// is. Anything else is an outcome.ErrInvalid error.
func PredicateType(nameOrURI string) (string, error) {
	s := strings.TrimSpace(nameOrURI)
	if uri, ok := cosignTypes[strings.ToLower(s)]; ok {
		return uri, nil
	}
	if u, err := url.ParseRequestURI(s); err == nil && u.Scheme != "" && u.Host != "" {
		return s, nil
	}
	return "", outcome.Invalidf("predicate type %q: want a URI or one of cyclonedx, spdx, spdxjson, slsaprovenance1, slsaprovenance02, link, vuln, openvex, custom", nameOrURI)
}

// Predicate is what an attestation says about an image.
type Predicate struct {
	// Type is the predicate type URI.
	Type string
	// Data is the document: a JSON object, or any UTF-8 text when Text is
	// set.
	Data []byte
	// Text stores Data as a JSON string instead of a JSON object: for
	// documents that are not JSON (SPDX tag-value, CycloneDX XML), as cosign
	// does for `--type spdx`.
	Text bool
	// Annotations are put on each subject of the statement (in-toto's
	// ResourceDescriptor.annotations), signed with it: sc records there how
	// an SBOM was made, so that a later run can tell whether it may reuse
	// it. Default: none.
	Annotations map[string]string
}

// Validate checks the predicate without changing it: a URI type, and data
// that is a JSON object (or valid UTF-8 text for a text predicate). Errors
// are outcome.ErrInvalid.
func (p Predicate) Validate() error {
	if u, err := url.ParseRequestURI(p.Type); err != nil || u.Scheme == "" || u.Host == "" {
		return outcome.Invalidf("predicate type %q is not a URI", p.Type)
	}
	if len(bytes.TrimSpace(p.Data)) == 0 {
		return outcome.Invalidf("the %s predicate is empty", p.Type)
	}
	if p.Text {
		if !utf8.Valid(p.Data) {
			return outcome.Invalidf("the %s predicate is not UTF-8 text", p.Type)
		}
		return nil
	}
	if !json.Valid(p.Data) {
		return outcome.Invalidf("the %s predicate is not valid JSON", p.Type)
	}
	if d := bytes.TrimSpace(p.Data); d[0] != '{' {
		return outcome.Invalidf("the %s predicate is not a JSON object", p.Type)
	}
	return nil
}

// NewStatement returns the in-toto Statement v1 (JSON) that says p about
// the image subject: one subject with the image's repository as name and
// its digest. A JSON predicate is embedded as it is, without insignificant
// whitespace; a text predicate as a JSON string.
func NewStatement(subject name.Digest, p Predicate) ([]byte, error) {
	return NewStatementAbout([]name.Digest{subject}, p)
}

// NewStatementAbout is NewStatement about several images at once, in the
// order given: the provenance of an image index names the index and each
// of its platform images, as BuildKit's does, and is attached to each
// platform image. A statement about no image, or naming one digest twice,
// is outcome.ErrInvalid.
func NewStatementAbout(subjects []name.Digest, p Predicate) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(subjects) == 0 {
		return nil, outcome.Invalid("a statement needs a subject")
	}
	rds := make([]json.RawMessage, len(subjects))
	seen := map[string]bool{}
	for i, subject := range subjects {
		alg, hexDigest, ok := strings.Cut(subject.DigestStr(), ":")
		if !ok || hexDigest == "" {
			return nil, outcome.Invalidf("invalid subject digest %q", subject.DigestStr())
		}
		if seen[subject.DigestStr()] {
			return nil, outcome.Invalidf("subject %s is named twice", subject.DigestStr())
		}
		seen[subject.DigestStr()] = true
		desc := &intotov1.ResourceDescriptor{
			Name:   subject.Context().Name(),
			Digest: map[string]string{alg: hexDigest},
		}
		if len(p.Annotations) > 0 {
			fields := make(map[string]any, len(p.Annotations))
			for k, v := range p.Annotations {
				fields[k] = v
			}
			ann, err := structpb.NewStruct(fields)
			if err != nil {
				return nil, fmt.Errorf("encoding the subject annotations: %w", err)
			}
			desc.Annotations = ann
		}
		rd, err := protojson.Marshal(desc)
		if err != nil {
			return nil, fmt.Errorf("encoding the statement subject: %w", err)
		}
		rds[i] = rd
	}
	var (
		pred json.RawMessage
		err  error
	)
	if p.Text {
		if pred, err = marshal(string(p.Data)); err != nil {
			return nil, fmt.Errorf("encoding the %s predicate: %w", p.Type, err)
		}
	} else {
		pred = p.Data
	}
	st, err := marshal(struct {
		Type          string            `json:"_type"`
		Subject       []json.RawMessage `json:"subject"`
		PredicateType string            `json:"predicateType"`
		Predicate     json.RawMessage   `json:"predicate"`
	}{intotov1.StatementTypeUri, rds, p.Type, pred})
	if err != nil {
		return nil, fmt.Errorf("encoding the statement: %w", err)
	}
	return st, nil
}

// marshal encodes v compactly without escaping HTML characters, so that a
// predicate comes back byte for byte (bar whitespace) from the statement.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ErrMalformed: a statement that is not an in-toto statement sc can read.
// Invalid: it is the input that is wrong. Verification reports such an
// attestation as rejected instead.
var ErrMalformed = outcome.Invalid("malformed in-toto statement")

// Statement is a decoded in-toto statement.
type Statement struct {
	// Type is the statement type: https://in-toto.io/Statement/v1, or v0.1
	// as cosign writes it.
	Type string `json:"_type"`
	// Subject lists what the statement is about.
	Subject []*intotov1.ResourceDescriptor `json:"subject"`
	// PredicateType is the predicate type URI.
	PredicateType string `json:"predicateType"`
	// Predicate is the predicate: the JSON object's bytes as they are in
	// the statement, or the text of a string predicate.
	Predicate []byte `json:"-"`
	// Text tells that the predicate was a JSON string.
	Text bool `json:"text,omitempty"`
}

// maxStatementKeys bounds the top-level keys read from a statement.
const maxStatementKeys = 64

// ParseStatement decodes an in-toto statement strictly: a JSON object with
// each key once (exact case) and nothing after it, a statement type of
// in-toto v1 or v0.1, subjects with digests (checked with the in-toto
// attestation library), a predicate type, and a predicate that is a JSON
// object or a JSON string. Errors wrap ErrMalformed.
func ParseStatement(data []byte) (*Statement, error) {
	fields, err := topLevel(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for _, k := range []string{"_type", "subject", "predicateType", "predicate"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Errorf("%w: no %q", ErrMalformed, k)
		}
	}
	// The in-toto types check everything but the predicate, which they
	// cannot hold when it is a string.
	head, err := json.Marshal(map[string]json.RawMessage{
		"_type": fields["_type"], "subject": fields["subject"], "predicateType": fields["predicateType"],
		"predicate": json.RawMessage("{}"),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var st intotov1.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(head, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	out := &Statement{Type: st.GetType(), Subject: st.GetSubject(), PredicateType: st.GetPredicateType()}
	pred := bytes.TrimSpace(fields["predicate"])
	switch {
	case len(pred) > 0 && pred[0] == '{':
		out.Predicate = pred
	case len(pred) > 0 && pred[0] == '"':
		var s string
		if err := json.Unmarshal(pred, &s); err != nil {
			return nil, fmt.Errorf("%w: predicate: %w", ErrMalformed, err)
		}
		out.Predicate, out.Text = []byte(s), true
	default:
		return nil, fmt.Errorf("%w: the predicate is neither a JSON object nor a JSON string", ErrMalformed)
	}
	return out, nil
}

// topLevel splits a JSON object into its members, refusing duplicate keys
// and trailing content: two readers of one signed statement must not see
// different statements.
func topLevel(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		if _, dup := fields[k]; dup {
			return nil, fmt.Errorf("key %q appears twice", k)
		}
		if len(fields) == maxStatementKeys {
			return nil, fmt.Errorf("more than %d keys", maxStatementKeys)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields[k] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("content after the JSON object")
	}
	return fields, nil
}

// About returns the subject with d's digest, or nil. Digests compare
// exactly, as cosign's claim check compares them.
func (s *Statement) About(d name.Digest) *intotov1.ResourceDescriptor {
	alg, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	for _, sub := range s.Subject {
		if hexDigest != "" && sub.GetDigest()[alg] == hexDigest {
			return sub
		}
	}
	return nil
}

// subjectAnnotations returns a subject's annotations as the strings a
// verification policy compares.
func subjectAnnotations(sub *intotov1.ResourceDescriptor) map[string]string {
	ann := map[string]string{}
	for k, v := range sub.GetAnnotations().AsMap() {
		ann[k] = fmt.Sprint(v)
	}
	return ann
}

// digests lists the statement's subject digests for messages.
func (s *Statement) digests() string {
	var ds []string
	for _, sub := range s.Subject {
		for alg, h := range sub.GetDigest() {
			ds = append(ds, alg+":"+h)
		}
	}
	if len(ds) == 0 {
		return "no digest"
	}
	return strings.Join(ds, ", ")
}
