package vulndb

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

// ErrMalformedSBOM: an SBOM document that syft cannot read. Invalid input
// (exit code 2).
var ErrMalformedSBOM = outcome.Invalid("malformed SBOM")

// SBOM is an image's SBOM as the scanners read it: syft's model, which
// grype matches on, and a CycloneDX document for Trivy, encoded once when
// first asked for. It is safe for concurrent use.
type SBOM struct {
	model *syftsbom.SBOM
	// doc is the document the SBOM was decoded from, nil for NewSBOM; id
	// is its format.
	doc []byte
	id  syftsbom.FormatID

	once   sync.Once
	cdx    []byte
	cdxErr error
}

var _ scan.SBOM = (*SBOM)(nil)

// NewSBOM wraps syft's model of an image's SBOM, as sbom.Generate made it:
// grype matches on it with every field syft catalogued.
func NewSBOM(s *syftsbom.SBOM) *SBOM { return &SBOM{model: s} }

// DecodeSBOM reads an SBOM document in any format syft reads (CycloneDX,
// SPDX, syft-json), for `--sbom FILE`. Grype reads it as it reads its own
// sbom: input. A document syft does not read is an ErrMalformedSBOM.
func DecodeSBOM(doc []byte) (s *SBOM, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%w: %v", ErrMalformedSBOM, p)
		}
	}()
	model, id, _, err := format.Decode(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSBOM, err)
	}
	if model == nil || id == "" {
		return nil, fmt.Errorf("%w: not an SBOM in a format syft reads", ErrMalformedSBOM)
	}
	return &SBOM{model: model, doc: doc, id: id}, nil
}

// Syft returns syft's model.
func (s *SBOM) Syft() *syftsbom.SBOM { return s.model }

// CycloneDX returns the SBOM as a CycloneDX JSON document: the decoded
// document itself when it was one, else syft's encoding of the model.
func (s *SBOM) CycloneDX() ([]byte, error) {
	s.once.Do(func() {
		if s.doc != nil && s.id == cyclonedxjson.ID {
			s.cdx = s.doc
			return
		}
		enc, err := cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.DefaultEncoderConfig())
		if err != nil {
			s.cdxErr = err
			return
		}
		var buf bytes.Buffer
		if err := enc.Encode(&buf, *s.model); err != nil {
			s.cdxErr = fmt.Errorf("encoding CycloneDX: %w", err)
			return
		}
		s.cdx = buf.Bytes()
	})
	return s.cdx, s.cdxErr
}

// packages turns an SBOM into grype's packages and context, the way grype
// reads an SBOM file: a model made by syft is handed over as syft-json,
// syft's lossless format, so that grype's own reader (distribution from
// the release, file-overlap removal, purl enhancers for other formats)
// applies unchanged.
func packages(s scan.SBOM) ([]pkg.Package, pkg.Context, error) {
	var doc []byte
	switch v := s.(type) {
	case *SBOM:
		if v.doc != nil {
			doc = v.doc
			break
		}
		enc, err := syftjson.NewFormatEncoderWithConfig(syftjson.DefaultEncoderConfig())
		if err != nil {
			return nil, pkg.Context{}, err
		}
		var buf bytes.Buffer
		if err := enc.Encode(&buf, *v.model); err != nil {
			return nil, pkg.Context{}, fmt.Errorf("encoding syft-json: %w", err)
		}
		doc = buf.Bytes()
	default:
		var err error
		if doc, err = s.CycloneDX(); err != nil {
			return nil, pkg.Context{}, err
		}
	}
	pkgs, pctx, _, err := pkg.ProvideFromReader(bytes.NewReader(doc), providerConfig())
	if err != nil {
		return nil, pkg.Context{}, fmt.Errorf("%w: %w", ErrMalformedSBOM, err)
	}
	return pkgs, pctx, nil
}
