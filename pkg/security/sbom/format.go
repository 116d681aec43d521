package sbom

import (
	"fmt"
	"slices"
	"strings"
)

// Format names an SBOM document format. The names are syft's, so that a
// user who knows `syft -o` knows sc's --format.
type Format string

// The formats sc writes and reads.
const (
	// CycloneDXJSON is a CycloneDX document in JSON, spec 1.6 unless another
	// version is asked for. The default format.
	CycloneDXJSON Format = "cyclonedx-json"
	// CycloneDXXML is a CycloneDX document in XML, spec 1.6 unless another
	// version is asked for.
	CycloneDXXML Format = "cyclonedx-xml"
	// SPDXJSON is an SPDX 2.3 document in JSON.
	SPDXJSON Format = "spdx-json"
	// SPDXTagValue is an SPDX 2.3 document in the tag-value text format.
	SPDXTagValue Format = "spdx-tag-value"
	// SyftJSON is syft's own JSON document, the most complete of the five:
	// it keeps every field syft catalogued, so a scan of it loses nothing.
	SyftJSON Format = "syft-json"
)

// DefaultFormat is the format Generate writes when none is given.
const DefaultFormat = CycloneDXJSON

// Predicate types of the in-toto statements an SBOM is attached in. They are
// the URIs `cosign attest --type cyclonedx|spdxjson|spdx` write (in-toto's
// PredicateCycloneDX and PredicateSPDX), so `cosign verify-attestation
// --type` with the same name finds what sc attached.
const (
	// PredicateCycloneDX is the predicate type of CycloneDX documents.
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	// PredicateSPDX is the predicate type of SPDX documents, JSON or
	// tag-value alike.
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateSyft is the predicate type of syft-json documents, as used
	// with `cosign attest --type https://syft.dev/bom`.
	PredicateSyft = "https://syft.dev/bom"
)

// Media types of the encoded documents: the IANA registrations for CycloneDX
// and SPDX, syft's own type for syft-json.
const (
	MediaTypeCycloneDXJSON = "application/vnd.cyclonedx+json"
	MediaTypeCycloneDXXML  = "application/vnd.cyclonedx+xml"
	MediaTypeSPDXJSON      = "application/spdx+json"
	MediaTypeSPDXTagValue  = "text/spdx"
	MediaTypeSyftJSON      = "application/vnd.syft+json"
)

// formatInfo is what sc knows about one format.
type formatInfo struct {
	mediaType      string
	predicateType  string
	textPredicate  bool
	extension      string
	specVersions   []string // the versions sc accepts, oldest first
	defaultVersion string   // "" when the format has a single version
}

var formats = map[Format]formatInfo{
	CycloneDXJSON: {
		mediaType: MediaTypeCycloneDXJSON, predicateType: PredicateCycloneDX, extension: ".cdx.json",
		specVersions: []string{"1.5", "1.6", "1.7"}, defaultVersion: "1.6",
	},
	CycloneDXXML: {
		mediaType: MediaTypeCycloneDXXML, predicateType: PredicateCycloneDX, textPredicate: true, extension: ".cdx.xml",
		specVersions: []string{"1.5", "1.6", "1.7"}, defaultVersion: "1.6",
	},
	SPDXJSON: {
		mediaType: MediaTypeSPDXJSON, predicateType: PredicateSPDX, extension: ".spdx.json",
		specVersions: []string{"2.3"}, defaultVersion: "2.3",
	},
	SPDXTagValue: {
		mediaType: MediaTypeSPDXTagValue, predicateType: PredicateSPDX, textPredicate: true, extension: ".spdx",
		specVersions: []string{"2.3"}, defaultVersion: "2.3",
	},
	SyftJSON: {
		mediaType: MediaTypeSyftJSON, predicateType: PredicateSyft, extension: ".syft.json",
	},
}

// Formats lists the formats sc supports, in the order `sc sbom generate
// --help` shows them.
func Formats() []Format {
	return []Format{CycloneDXJSON, CycloneDXXML, SPDXJSON, SPDXTagValue, SyftJSON}
}

// ParseFormat turns a user's format name into a Format. Case does not matter.
// An unknown name is an ErrUnknownFormat, in the invalid-usage class.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if err := f.Validate(); err != nil {
		return "", err
	}
	return f, nil
}

// Validate reports whether f is a format sc supports.
func (f Format) Validate() error {
	if _, ok := formats[f]; !ok {
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, string(f), formatList())
	}
	return nil
}

// String returns the format's name.
func (f Format) String() string { return string(f) }

// MediaType is the media type of documents in f, "" for an unknown format.
func (f Format) MediaType() string { return formats[f].mediaType }

// PredicateType is the in-toto predicate type an SBOM in f is attached
// with, "" for an unknown format. See the package documentation for the
// mapping to cosign's --type names.
func (f Format) PredicateType() string { return formats[f].predicateType }

// TextPredicate reports whether a document in f goes into an in-toto
// statement as a JSON string rather than as a JSON object: true for the
// formats that are not JSON (spdx-tag-value, as `cosign attest --type spdx`
// does, and cyclonedx-xml).
func (f Format) TextPredicate() bool { return formats[f].textPredicate }

// Extension is the conventional file name extension of f, with its dot:
// ".cdx.json", ".cdx.xml", ".spdx.json", ".spdx" or ".syft.json".
func (f Format) Extension() string { return formats[f].extension }

// SpecVersions lists the specification versions sc writes in f, oldest
// first; nil for syft-json, which has only the schema of the linked syft.
func (f Format) SpecVersions() []string { return slices.Clone(formats[f].specVersions) }

// DefaultSpecVersion is the specification version sc writes in f when none
// is asked for: CycloneDX 1.6, SPDX 2.3, "" for syft-json.
func (f Format) DefaultSpecVersion() string { return formats[f].defaultVersion }

// checkSpecVersion reports whether v ("" for the default) is a version sc
// writes in f, and returns the version to use.
func (f Format) checkSpecVersion(v string) (string, error) {
	info := formats[f]
	if v == "" {
		return info.defaultVersion, nil
	}
	if !slices.Contains(info.specVersions, v) {
		if len(info.specVersions) == 0 {
			return "", fmt.Errorf("%w: %s has no selectable spec version (got %q)", ErrSpecVersion, f, v)
		}
		return "", fmt.Errorf("%w %q for %s (want one of %s)", ErrSpecVersion, v, f, strings.Join(info.specVersions, ", "))
	}
	return v, nil
}

func formatList() string {
	names := make([]string, 0, len(formats))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// Scope says which files of an image are catalogued.
type Scope string

// The scopes, as syft names them.
const (
	// Squashed catalogues the image's final filesystem: what a container
	// started from it sees. The default.
	Squashed Scope = "squashed"
	// AllLayers catalogues every layer, so a package installed in one layer
	// and deleted in a later one still appears. Slower, and it lists
	// packages that the running image does not contain.
	AllLayers Scope = "all-layers"
)

// DefaultScope is the scope Generate uses when none is given.
const DefaultScope = Squashed

// Scopes lists the scopes sc supports.
func Scopes() []Scope { return []Scope{Squashed, AllLayers} }

// ParseScope turns a user's scope name into a Scope. Case does not matter.
// An unknown name is an ErrUnknownScope, in the invalid-usage class.
func ParseScope(s string) (Scope, error) {
	sc := Scope(strings.ToLower(strings.TrimSpace(s)))
	if err := sc.Validate(); err != nil {
		return "", err
	}
	return sc, nil
}

// Validate reports whether s is a scope sc supports.
func (s Scope) Validate() error {
	if !slices.Contains(Scopes(), s) {
		return fmt.Errorf("%w %q (want %s or %s)", ErrUnknownScope, string(s), Squashed, AllLayers)
	}
	return nil
}

// String returns the scope's name.
func (s Scope) String() string { return string(s) }

// Files says which files get an entry of their own, with SHA-1 and SHA-256
// digests and their metadata, in the SBOM.
type Files string

// The file selections.
const (
	// NoFiles lists packages only. The default: file entries multiply an
	// SBOM's size and generation time, and a vulnerability scan does not use
	// them.
	NoFiles Files = "none"
	// PackageFiles lists the files that belong to a catalogued package
	// (syft's own default).
	PackageFiles Files = "owned-by-package"
	// AllFiles lists every file in the image.
	AllFiles Files = "all"
)

// ParseFiles turns a user's file selection into a Files. Case does not
// matter. An unknown name is an ErrInvalidOption.
func ParseFiles(s string) (Files, error) {
	f := Files(strings.ToLower(strings.TrimSpace(s)))
	if err := f.Validate(); err != nil {
		return "", err
	}
	return f, nil
}

// Validate reports whether f is a file selection sc supports.
func (f Files) Validate() error {
	switch f {
	case NoFiles, PackageFiles, AllFiles:
		return nil
	}
	return fmt.Errorf("%w: unknown file selection %q (want %s, %s or %s)", ErrInvalidOption, string(f), NoFiles, PackageFiles, AllFiles)
}

// String returns the selection's name.
func (f Files) String() string { return string(f) }
