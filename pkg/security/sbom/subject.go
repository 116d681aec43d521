package sbom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/anchore/syft/syft/format/syftjson/model"
	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"
)

// Subject is the image an SBOM document says it describes, as far as it
// says: the generator's name for it and the manifest digests it gives.
type Subject struct {
	// Name is the image's name as the document gives it (the reference the
	// generator was given, or its repository), "" when it gives none.
	Name string `json:"name,omitempty"`
	// Digests are the manifest digests the document names for the image,
	// "sha256:<hex>", each once, the manifest digest first: an image
	// catalogued from a registry by tag may also be named by the digest of
	// the index the tag pointed to (syft-json's repoDigests). Empty when
	// the document names no digest.
	Digests []string `json:"digests,omitempty"`
}

// Names reports whether the document names digest d ("sha256:<hex>") for
// what it describes.
func (s Subject) Names(d string) bool { return slices.Contains(s.Digests, d) }

// ReadSubject reads which image the SBOM document doc (in any of sc's
// formats, recognised as Identify does) says it describes, with the
// decoders of the format's own libraries:
//
//   - CycloneDX: metadata.component, when it is a container; its version
//     when that is a digest (syft writes the manifest digest there when the
//     image was catalogued by digest, and the tag when by tag), and the
//     digest of its package URL when that is pkg:oci (Trivy).
//   - SPDX: the package the document DESCRIBES, when it is a container:
//     its SHA-256 checksum, as syft writes the manifest digest there and
//     syft's decoder reads it back.
//   - syft-json: source.metadata, when the source is an image: its
//     manifestDigest, then the digests of its repoDigests.
//
// A document of something other than an image, or of an image without a
// digest, has a Subject without Digests: nothing to check it by. A document
// that is not in any of the formats, or does not decode, is an ErrMalformed.
func ReadSubject(doc []byte) (Subject, error) {
	f, _, err := Identify(doc)
	if err != nil {
		return Subject{}, err
	}
	switch f {
	case CycloneDXJSON, CycloneDXXML:
		return cyclonedxSubject(doc, f)
	case SyftJSON:
		var d struct {
			Source model.Source `json:"source"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			return Subject{}, fmt.Errorf("%w: decoding the source of a %s document: %w", ErrMalformed, f, err)
		}
		return sourceSubject(source.Description{Name: d.Source.Name, Metadata: d.Source.Metadata}), nil
	}
	s, err := Decode(doc, f)
	if err != nil {
		return Subject{}, err
	}
	return sourceSubject(s.Source), nil
}

// sourceSubject is the subject of syft's description of a source.
func sourceSubject(src source.Description) Subject {
	var s Subject
	m, ok := src.Metadata.(source.ImageMetadata)
	s.Name = src.Name
	if !ok {
		return s
	}
	if s.Name == "" {
		s.Name = m.UserInput
	}
	s.add(m.ManifestDigest)
	for _, rd := range m.RepoDigests {
		if _, d, found := strings.Cut(rd, "@"); found {
			s.add(d)
		}
	}
	return s
}

// cyclonedxSubject reads the subject from the metadata of a CycloneDX
// document; the components are not decoded.
func cyclonedxSubject(doc []byte, f Format) (Subject, error) {
	var bom struct {
		Metadata *cdx.Metadata `json:"metadata" xml:"metadata"`
	}
	var err error
	if f == CycloneDXXML {
		err = xml.NewDecoder(bytes.NewReader(doc)).Decode(&bom)
	} else {
		err = json.Unmarshal(doc, &bom)
	}
	if err != nil {
		return Subject{}, fmt.Errorf("%w: decoding the metadata of a %s document: %w", ErrMalformed, f, err)
	}
	var s Subject
	if bom.Metadata == nil || bom.Metadata.Component == nil || bom.Metadata.Component.Type != cdx.ComponentTypeContainer {
		return s, nil
	}
	c := bom.Metadata.Component
	s.Name = c.Name
	s.add(c.Version)
	if p, err := packageurl.FromString(c.PackageURL); err == nil && p.Type == packageurl.TypeOCI {
		s.add(p.Version)
	}
	return s, nil
}

// add appends d to the digests when it is one, and not there yet.
func (s *Subject) add(d string) {
	h, err := v1.NewHash(strings.ToLower(d))
	if err != nil || s.Names(h.String()) {
		return
	}
	s.Digests = append(s.Digests, h.String())
}

// Match says how an SBOM's Subject relates to the image it is used for.
type Match int

const (
	// NoDigest: the document names no digest, and cannot be checked.
	NoDigest Match = iota
	// SameImage: the document names the image's digest.
	SameImage
	// SameIndex: the document names the digest of the image index the
	// image was chosen from, and not which of its platform images it
	// describes.
	SameIndex
)

// String names the match: "no digest", "same image" or "same index".
func (m Match) String() string {
	switch m {
	case SameImage:
		return "same image"
	case SameIndex:
		return "same index"
	}
	return "no digest"
}

// Check reports how s relates to the image by digest image: index is the
// digest ("sha256:<hex>") of the image index image was chosen from, as one
// of its platform images, or "" when it was not.
//
// A document that names digests, none of them image's or index's, describes
// another image: a *MismatchError, which is an ErrSubjectMismatch (a failed
// check). A document that names none is NoDigest, without error: the caller
// decides whether to warn.
func (s Subject) Check(image name.Digest, index string) (Match, error) {
	switch {
	case len(s.Digests) == 0:
		return NoDigest, nil
	case s.Names(image.DigestStr()):
		return SameImage, nil
	case index != "" && s.Names(index):
		return SameIndex, nil
	}
	return NoDigest, &MismatchError{Image: image, Index: index, Subject: s}
}

// Accept is Check for a caller that goes on with the SBOM unless it fails
// the check: it returns what to warn the user of, "" for nothing. An SBOM
// that names no digest, or only the index, is accepted with a warning; one
// of another image is Check's *MismatchError, unless
// insecureAllowMismatch, which accepts it with a warning that names both
// digests.
func (s Subject) Accept(image name.Digest, index string, insecureAllowMismatch bool) (warning string, err error) {
	m, err := s.Check(image, index)
	switch {
	case err != nil && insecureAllowMismatch:
		return "using it anyway: " + err.Error(), nil
	case err != nil:
		return "", err
	case m == NoDigest:
		return fmt.Sprintf("the SBOM names no image digest: that it is of %s cannot be checked", image), nil
	case m == SameIndex:
		return fmt.Sprintf("the SBOM names the image index %s, not which of its platform images it describes; taking it to be of %s", index, image), nil
	}
	return "", nil
}

// MismatchError is an SBOM that describes another image than the one it is
// used for. It is an ErrSubjectMismatch.
type MismatchError struct {
	// Image is the image the SBOM was to be used for.
	Image name.Digest
	// Index is the digest of the index Image was chosen from, "" when none.
	Index string
	// Subject is what the SBOM says it describes.
	Subject Subject
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: it describes ", ErrSubjectMismatch)
	if e.Subject.Name != "" {
		fmt.Fprintf(&b, "%s ", e.Subject.Name)
	}
	fmt.Fprintf(&b, "%s, not %s", strings.Join(e.Subject.Digests, " "), e.Image)
	if e.Index != "" {
		fmt.Fprintf(&b, " (a platform image of the index %s)", e.Index)
	}
	return b.String()
}

// Unwrap makes a MismatchError an ErrSubjectMismatch.
func (e *MismatchError) Unwrap() error { return ErrSubjectMismatch }
