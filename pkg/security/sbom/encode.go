package sbom

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/anchore/syft/syft/artifact"
	syftfile "github.com/anchore/syft/syft/file"

	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/cyclonedxxml"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/spdxtagvalue"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"
)

// Encode writes s as a document in format f, following specVersion of the
// format's specification ("" for its DefaultSpecVersion). It is how one
// catalogue becomes several documents (a CycloneDX and an SPDX SBOM of the
// same image) without reading the image again.
func Encode(s *syftsbom.SBOM, f Format, specVersion string) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	v, err := f.checkSpecVersion(specVersion)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: no SBOM to encode", ErrInvalidOption)
	}
	return encode(s, f, v)
}

// encode writes s with syft's encoder for f at version v (already checked).
func encode(s *syftsbom.SBOM, f Format, v string) ([]byte, error) {
	enc, err := encoder(f, v)
	if err != nil {
		return nil, err
	}
	doc := *s
	if f == SPDXJSON || f == SPDXTagValue {
		doc = forSPDX(doc)
	}
	var buf bytes.Buffer
	if err := enc.Encode(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// forSPDX returns s without the files SPDX cannot describe truthfully.
// SPDX 2.3 requires a SHA-1 checksum of every file, and syft writes a file
// it has none for (a symbolic link, a directory, a file named only by a
// relationship or an unknown, an entry inside an archive) with a SHA-1 of
// zeros: a false statement in a signed document. Such a file is left out,
// with the relationships that name it and the entries inside it; so is
// every file of an SBOM made without WithFiles, which has no digests. s
// itself is not changed.
func forSPDX(s syftsbom.SBOM) syftsbom.SBOM {
	a := s.Artifacts
	var keep func(c syftfile.Coordinates) bool
	keep = func(c syftfile.Coordinates) bool {
		if !slices.ContainsFunc(a.FileDigests[c], func(d syftfile.Digest) bool { return strings.EqualFold(d.Algorithm, "sha1") }) {
			return false
		}
		parent, nested := archiveOf(c)
		return !nested || keep(parent)
	}
	drop := map[syftfile.Coordinates]bool{}
	for _, c := range s.AllCoordinates() {
		if !keep(c) {
			drop[c] = true
		}
	}
	if len(drop) == 0 {
		return s
	}
	dropped := func(x artifact.Identifiable) bool {
		c, ok := x.(syftfile.Coordinates)
		return ok && drop[c]
	}
	s.Relationships = slices.DeleteFunc(slices.Clone(s.Relationships), func(r artifact.Relationship) bool {
		return dropped(r.From) || dropped(r.To)
	})
	s.Artifacts.FileMetadata = without(a.FileMetadata, drop)
	s.Artifacts.FileDigests = without(a.FileDigests, drop)
	s.Artifacts.FileContents = without(a.FileContents, drop)
	s.Artifacts.FileLicenses = without(a.FileLicenses, drop)
	s.Artifacts.Executables = without(a.Executables, drop)
	s.Artifacts.Unknowns = without(a.Unknowns, drop)
	return s
}

// archiveOf returns the archive c is an entry of, named as syft's encoders
// name it, and whether c is inside an archive at all.
func archiveOf(c syftfile.Coordinates) (syftfile.Coordinates, bool) {
	rest, ok := strings.CutPrefix(c.FullPath, c.RealPath)
	if !ok || !strings.HasPrefix(rest, syftfile.ArchivePathSeparator) {
		return syftfile.Coordinates{}, false
	}
	archive := syftfile.Coordinates{RealPath: c.RealPath, FileSystemID: c.FileSystemID}
	if i := strings.LastIndex(rest, syftfile.ArchivePathSeparator); i > 0 {
		archive.FullPath = c.FullPath[:len(c.RealPath)+i]
	}
	return archive, true
}

// without returns a copy of m without the keys in drop.
func without[V any](m map[syftfile.Coordinates]V, drop map[syftfile.Coordinates]bool) map[syftfile.Coordinates]V {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	maps.DeleteFunc(out, func(c syftfile.Coordinates, _ V) bool { return drop[c] })
	return out
}

// encoder returns syft's encoder for f at version v. Documents are compact
// (no indentation): they are read by programs, and stored and signed as
// they are.
func encoder(f Format, v string) (syftsbom.FormatEncoder, error) {
	switch f {
	case CycloneDXJSON:
		return cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.EncoderConfig{Version: v})
	case CycloneDXXML:
		return cyclonedxxml.NewFormatEncoderWithConfig(cyclonedxxml.EncoderConfig{Version: v})
	case SPDXJSON:
		return spdxjson.NewFormatEncoderWithConfig(spdxjson.EncoderConfig{Version: v, DefaultVersion: f.DefaultSpecVersion()})
	case SPDXTagValue:
		return spdxtagvalue.NewFormatEncoderWithConfig(spdxtagvalue.EncoderConfig{Version: v})
	case SyftJSON:
		return syftjson.NewFormatEncoderWithConfig(syftjson.DefaultEncoderConfig())
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, string(f))
}

// specVersionOf is the version a document in f written at v declares:
// v itself, or for syft-json the schema version of the linked syft.
func specVersionOf(f Format, v string) string {
	if f == SyftJSON {
		return syftjson.NewFormatEncoder().Version()
	}
	return v
}

// decoder returns syft's decoder for f.
func decoder(f Format) syftsbom.FormatDecoder {
	switch f {
	case CycloneDXJSON:
		return cyclonedxjson.NewFormatDecoder()
	case CycloneDXXML:
		return cyclonedxxml.NewFormatDecoder()
	case SPDXJSON:
		return spdxjson.NewFormatDecoder()
	case SPDXTagValue:
		return spdxtagvalue.NewFormatDecoder()
	case SyftJSON:
		return syftjson.NewFormatDecoder()
	}
	return nil
}

// Decode parses data, an SBOM document in format f, back into syft's model:
// for reading an SBOM fetched from an attestation, or one a user supplies
// to be scanned. Any version of the format that syft reads is accepted, not
// only those sc writes.
//
// A document that is not in format f, or does not parse, is an
// ErrMalformed; an unknown format an ErrUnknownFormat.
func Decode(data []byte, f Format) (s *syftsbom.SBOM, err error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if id, _ := identify(decoder(f), data); id == "" {
		return nil, fmt.Errorf("%w: not a %s document", ErrMalformed, f)
	}
	// syft's decoders are not hardened against every malformed input; a
	// document from outside must not take the process down
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%w: decoding %s: %v", ErrMalformed, f, p)
		}
	}()
	s, _, _, err = decoder(f).Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: decoding %s: %w", ErrMalformed, f, err)
	}
	if s == nil {
		return nil, fmt.Errorf("%w: decoding %s: empty document", ErrMalformed, f)
	}
	return s, nil
}

// Identify names the format of data and the specification version it
// declares (the schema version for syft-json), reading only as much as it
// takes. A document in none of sc's formats is an ErrMalformed.
func Identify(data []byte) (Format, string, error) {
	// syft-json first, as syft does: its check is the cheapest
	for _, f := range []Format{SyftJSON, CycloneDXXML, CycloneDXJSON, SPDXTagValue, SPDXJSON} {
		if id, v := identify(decoder(f), data); id != "" {
			return f, v, nil
		}
	}
	return "", "", fmt.Errorf("%w: not a document in any of %s", ErrMalformed, formatList())
}

// identify runs d's Identify on data, treating a panic as "not this format".
func identify(d syftsbom.FormatDecoder, data []byte) (id syftsbom.FormatID, v string) {
	defer func() {
		if recover() != nil {
			id, v = "", ""
		}
	}()
	return d.Identify(bytes.NewReader(data))
}
