package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// VEX is a parsed OpenVEX document. Its not_affected and fixed statements
// suppress findings; under_investigation and affected ones do not, and show
// on the finding instead.
//
// A statement applies to a finding when its vulnerability (name or alias)
// is the finding's ID or one of its aliases, and its product is the image
// or the package:
//
//   - the image, named by its reference "registry/repo@sha256:…", its
//     digest "sha256:…" or bare hex, or its package URL
//     "pkg:oci/repo@sha256:…?repository_url=registry/repo" (a product purl
//     without qualifiers matches too); a statement with subcomponents then
//     applies only to packages whose purl matches one of them;
//   - or the package itself, by its purl (qualifiers in the statement's
//     purl must be in the package's; a purl without version matches every
//     version).
//
// When several statements apply, the latest (by statement timestamp, else
// the document's) wins, as OpenVEX's history rules say.
type VEX struct {
	doc    *govex.VEX
	source string
}

// ParseVEX reads an OpenVEX JSON document. source names it in results
// (a file name) when the document has no @id. A document that is not JSON,
// has no OpenVEX @context, or holds a statement without a valid status is
// an ErrMalformedVEX.
func ParseVEX(data []byte, source string) (*VEX, error) {
	var doc govex.VEX
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedVEX, source, err)
	}
	if !strings.HasPrefix(doc.Context, "https://openvex.dev/ns") {
		return nil, fmt.Errorf("%w: %s: @context %q is not OpenVEX's", ErrMalformedVEX, source, doc.Context)
	}
	for i, s := range doc.Statements {
		if !s.Status.Valid() {
			return nil, fmt.Errorf("%w: %s: statement %d: status %q", ErrMalformedVEX, source, i, s.Status)
		}
		if s.Vulnerability.Name == "" && s.Vulnerability.ID == "" {
			return nil, fmt.Errorf("%w: %s: statement %d names no vulnerability", ErrMalformedVEX, source, i)
		}
	}
	if doc.ID != "" {
		source = doc.ID
	}
	return &VEX{doc: &doc, source: source}, nil
}

// LoadVEX reads an OpenVEX document from a file.
func LoadVEX(file string) (*VEX, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedVEX, err)
	}
	return ParseVEX(data, file)
}

// imageProducts returns the identifiers the image is known by in VEX
// documents.
func imageProducts(image string) []string {
	repo, digest, ok := strings.Cut(image, "@")
	if !ok {
		return []string{image}
	}
	out := []string{image, digest, strings.TrimPrefix(digest, "sha256:")}
	return append(out, ImagePURL(repo, digest))
}

// ImagePURL is the package URL of the image repo@digest,
// "pkg:oci/<name>@sha256:…?repository_url=<repo>": how VEX documents
// (and the OpenVEX attestations sc writes) name an image as a product.
func ImagePURL(repo, digest string) string {
	p := packageurl.NewPackageURL("oci", "", path.Base(repo), digest,
		packageurl.QualifiersFromMap(map[string]string{"repository_url": repo}), "")
	return p.ToString()
}

// vexCandidate is a statement that applies, and the product it matched.
type vexCandidate struct {
	stmt    govex.Statement
	product string
	source  string
	author  string
	when    time.Time
}

// lookupVEX returns the latest statement of docs about m in image, or nil.
func lookupVEX(docs []*VEX, products []string, m *Match) *VEXStatement {
	var best *vexCandidate
	consider := func(d *VEX, stmts []govex.Statement, product string) {
		for _, s := range stmts {
			when := time.Time{}
			if d.doc.Timestamp != nil {
				when = *d.doc.Timestamp
			}
			if s.Timestamp != nil && !s.Timestamp.IsZero() {
				when = *s.Timestamp
			}
			if best == nil || when.After(best.when) {
				best = &vexCandidate{stmt: s, product: product, source: d.source, author: d.doc.Author, when: when}
			}
		}
	}
	var subs []string
	if m.Package.PURL != "" {
		subs = []string{m.Package.PURL}
	}
	for _, d := range docs {
		for _, id := range m.identities() {
			for _, p := range products {
				consider(d, d.doc.Matches(id, p, subs), p)
			}
			if m.Package.PURL != "" {
				consider(d, d.doc.Matches(id, m.Package.PURL, nil), m.Package.PURL)
			}
		}
	}
	if best == nil {
		return nil
	}
	s := best.stmt
	out := &VEXStatement{
		Document:        best.source,
		Author:          best.author,
		Vulnerability:   string(s.Vulnerability.Name),
		Product:         best.product,
		Status:          string(s.Status),
		Justification:   string(s.Justification),
		ImpactStatement: s.ImpactStatement,
		StatusNotes:     s.StatusNotes,
	}
	if out.Vulnerability == "" {
		out.Vulnerability = s.Vulnerability.ID
	}
	if !best.when.IsZero() {
		t := best.when.UTC()
		out.Timestamp = &t
	}
	return out
}

// suppresses reports whether a statement's status sets a finding aside.
func (s *VEXStatement) suppresses() bool {
	return s.Status == string(govex.StatusNotAffected) || s.Status == string(govex.StatusFixed)
}

// reason is what a suppressing statement says.
func (s *VEXStatement) reason() string {
	parts := []string{"VEX: " + s.Status}
	if s.Justification != "" {
		parts = append(parts, s.Justification)
	}
	if s.ImpactStatement != "" {
		parts = append(parts, s.ImpactStatement)
	}
	return strings.Join(parts, ": ")
}
