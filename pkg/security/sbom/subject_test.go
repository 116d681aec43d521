package sbom_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/source"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

const (
	otherDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	indexDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// Every format sc writes names the digest of the image it was generated
// from, and ReadSubject finds it there (CycloneDX metadata.component
// version, the SPDX described package's checksum, syft-json's source).
func TestReadSubjectOfGenerated(t *testing.T) {
	res := fixtureSBOM(t)
	want := res.Image.DigestStr()
	other, err := name.NewDigest(res.Image.Context().String() + "@" + otherDigest)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sbom.Formats() {
		t.Run(string(f), func(t *testing.T) {
			doc, err := sbom.Encode(res.SBOM, f, "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := sbom.ReadSubject(doc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{want}, s.Digests); diff != "" {
				t.Errorf("digests (-want +got):\n%s", diff)
			}
			if s.Name != res.Image.Context().String() {
				t.Errorf("name %q, want %q", s.Name, res.Image.Context())
			}
			if m, err := s.Check(res.Image, ""); m != sbom.SameImage || err != nil {
				t.Errorf("Check(own image) = %v, %v; want same image", m, err)
			}
			if m, err := s.Check(other, want); m != sbom.SameIndex || err != nil {
				t.Errorf("Check(platform image of the index the SBOM names) = %v, %v; want same index", m, err)
			}

			_, err = s.Check(other, indexDigest)
			var mm *sbom.MismatchError
			if !errors.As(err, &mm) || !errors.Is(err, sbom.ErrSubjectMismatch) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("Check(another image) = %v (exit %d), want an ErrSubjectMismatch, exit 1", err, outcome.Code(err))
			}
			for _, d := range []string{want, otherDigest, indexDigest} {
				if !strings.Contains(err.Error(), d) {
					t.Errorf("%q does not name %s", err, d)
				}
			}
		})
	}
}

// byTag encodes the fixture's SBOM in every format as it would be had the
// image been catalogued by tag (what the syft CLI does for `syft app:1.4.2`),
// with manifest as its manifest digest and repo as its repo digests.
func byTag(t *testing.T, manifest string, repo ...string) map[sbom.Format][]byte {
	t.Helper()
	s := *fixtureSBOM(t).SBOM
	m := s.Source.Metadata.(source.ImageMetadata)
	m.UserInput, m.ManifestDigest, m.RepoDigests = "registry.example/shop/orders-api:1.4.2", manifest, repo
	s.Source = source.Description{ID: s.Source.ID, Name: "registry.example/shop/orders-api", Version: "1.4.2", Metadata: m}
	docs := map[sbom.Format][]byte{}
	for _, f := range sbom.Formats() {
		doc, err := sbom.Encode(&s, f, "")
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = doc
	}
	return docs
}

// syft's encoders write the tag of an image catalogued by tag where they
// would write its digest: CycloneDX then names no digest at all, which is
// nothing to check, not a mismatch. Where a digest is left (the SPDX
// checksum, syft-json's manifestDigest and repoDigests), it is found.
func TestReadSubjectByTag(t *testing.T) {
	img := fixtureSBOM(t).Image
	for f, doc := range byTag(t, "") {
		s, err := sbom.ReadSubject(doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(s.Digests) != 0 || s.Name != "registry.example/shop/orders-api" {
			t.Errorf("%s of an image without digest: %+v, want its name and no digest", f, s)
		}
		if m, err := s.Check(img, ""); m != sbom.NoDigest || err != nil {
			t.Errorf("%s: Check = %v, %v; want no digest, no error", f, m, err)
		}
	}

	// pulled by tag from an index: the platform manifest, and in syft-json
	// also the index the tag named
	want := map[sbom.Format][]string{
		sbom.CycloneDXJSON: nil, sbom.CycloneDXXML: nil, // the tag is the version
		sbom.SPDXJSON: {otherDigest}, sbom.SPDXTagValue: {otherDigest},
		sbom.SyftJSON: {otherDigest, indexDigest},
	}
	for f, doc := range byTag(t, otherDigest, "registry.example/shop/orders-api@"+indexDigest) {
		s, err := sbom.ReadSubject(doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if diff := cmp.Diff(want[f], s.Digests); diff != "" {
			t.Errorf("%s: digests (-want +got):\n%s", f, diff)
		}
	}
}

// Documents from other tools, and documents that try to look like one of
// an image without being one.
func TestReadSubjectOfOthers(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"trivy: pkg:oci package URL, no version",
			`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"bom-ref":"pkg:oci/app@sha256%3A` + otherDigest[7:] + `?arch=amd64","type":"container","name":"registry.example/app:1","purl":"pkg:oci/app@sha256%3A` + otherDigest[7:] + `?arch=amd64&repository_url=registry.example%2Fapp"}}}`,
			[]string{otherDigest}},
		{"version and package URL agree: named once",
			`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"container","name":"app","version":"` + otherDigest + `","purl":"pkg:oci/app@` + otherDigest + `"}}}`,
			[]string{otherDigest}},
		{"version and package URL disagree: both named",
			`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"container","name":"app","version":"` + otherDigest + `","purl":"pkg:oci/app@` + indexDigest + `"}}}`,
			[]string{otherDigest, indexDigest}},
		{"not a container",
			`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"application","name":"app","version":"` + otherDigest + `"}}}`,
			nil},
		{"package URL of another type",
			`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","name":"app","purl":"pkg:docker/app@` + otherDigest + `"}}}`,
			nil},
		{"a digest that is not one",
			`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","name":"app","version":"sha256:1234"}}}`,
			nil},
		{"no metadata", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sbom.ReadSubject([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Digests); diff != "" {
				t.Errorf("digests (-want +got):\n%s", diff)
			}
		})
	}

	for _, doc := range []string{
		"",
		`{"not":"an sbom"}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":"not an object"}}`,
		`{"schema":{"version":"16.0.0","url":"https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.0.json"},"source":{"type":"image","metadata":[]},"artifacts":[]}`,
	} {
		if _, err := sbom.ReadSubject([]byte(doc)); !errors.Is(err, sbom.ErrMalformed) {
			t.Errorf("ReadSubject(%q) = %v, want ErrMalformed", doc, err)
		}
	}
}
