package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/pkg/outcome"
)

// CosignPredicate returns the predicate `cosign attest --type typ
// --predicate FILE` signs for the document doc (FILE's content), built by
// cosign's own statement generator (attestation.GenerateStatement), so that
// an attestation of it is what cosign would have written and `cosign
// verify-attestation --type typ` reads it:
//
//   - custom (and its URI, https://cosign.sigstore.dev/attestation/v1)
//     wraps any document, as text, in {"Data": …, "Timestamp": now};
//   - spdx stores the document as a JSON string (text), spdxjson,
//     cyclonedx, openvex and any other predicate-type URI as the JSON object
//     it is;
//   - slsaprovenance, slsaprovenance02, slsaprovenance1, link and vuln must
//     have the shape cosign gives those predicates (its required fields,
//     RFC 3339 times); cosign keeps only the fields it knows of them.
//
// A JSON predicate comes out as cosign re-encodes it: keys sorted,
// numbers as JSON numbers of float64 precision, no insignificant
// whitespace. typ is a cosign --type name (case-insensitive) or a URI (see
// PredicateType). A document cosign refuses for typ, or an unknown type, is
// outcome.ErrInvalid.
func CosignPredicate(typ string, doc []byte, now time.Time) (Predicate, error) {
	name := strings.TrimSpace(typ)
	uri, err := PredicateType(name)
	if err != nil {
		return Predicate{}, err
	}
	if uri != name {
		name = strings.ToLower(name) // a cosign name; a URI is passed as it is
	}
	st, err := attestation.GenerateStatement(attestation.GenerateOpts{
		Predicate: bytes.NewReader(doc),
		Type:      name,
		Time:      func() time.Time { return now },
	})
	if err != nil {
		return Predicate{}, outcome.Invalidf("the %s predicate: %w", typ, err)
	}
	// The names' URIs are sc's table (cosign keeps its own in cmd/, which
	// sc does not link): the generator must agree with it, or an
	// attestation would be stored under one type and verified under another.
	if st.PredicateType != uri {
		return Predicate{}, fmt.Errorf("cosign's statement generator gives --type %s the predicate type %s, not %s", typ, st.PredicateType, uri)
	}
	p := Predicate{Type: uri}
	if st.LegacyPredicate != nil {
		p.Data, p.Text = []byte(*st.LegacyPredicate), true
	} else {
		raw, err := protojson.Marshal(st.Predicate)
		if err != nil {
			return Predicate{}, fmt.Errorf("encoding the %s predicate: %w", typ, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return Predicate{}, fmt.Errorf("encoding the %s predicate: %w", typ, err)
		}
		p.Data = buf.Bytes()
	}
	if err := p.Validate(); err != nil {
		return Predicate{}, err
	}
	return p, nil
}
