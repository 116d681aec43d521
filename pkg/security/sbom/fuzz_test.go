package sbom_test

import (
	"testing"

	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/security/sbom"
)

// smallSBOM is a two-package SBOM, small enough to seed the fuzzer in
// every format.
func smallSBOM() *syftsbom.SBOM {
	c := pkg.NewCollection()
	for _, p := range []pkg.Package{
		{Name: "openssl", Version: "3.0.11-1~deb12u2", Type: pkg.DebPkg, PURL: "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64"},
		{Name: "lodash", Version: "4.17.20", Type: pkg.NpmPkg, PURL: "pkg:npm/lodash@4.17.20"},
	} {
		p.SetID()
		c.Add(p)
	}
	return &syftsbom.SBOM{
		Artifacts:  syftsbom.Artifacts{Packages: c},
		Source:     source.Description{ID: "fuzz", Name: "registry.example/app", Metadata: source.ImageMetadata{UserInput: "registry.example/app"}},
		Descriptor: syftsbom.Descriptor{Name: "syft", Version: "v1.57.1"},
	}
}

// FuzzDecode feeds Decode and Identify documents from outside: whatever
// the input, they return an error or an SBOM, and never panic.
func FuzzDecode(f *testing.F) {
	s := smallSBOM()
	for _, format := range sbom.Formats() {
		doc, err := sbom.Encode(s, format, "")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc, string(format))
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library"}]}`), string(sbom.CycloneDXJSON))
	f.Add([]byte("SPDXVersion: SPDX-2.3\nPackageName: x\n"), string(sbom.SPDXTagValue))
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		s, err := sbom.Decode(data, sbom.Format(format))
		if err == nil && s == nil {
			t.Fatal("no SBOM and no error")
		}
		_, _, _ = sbom.Identify(data)
	})
}

func TestSmallSBOMRoundTrip(t *testing.T) {
	for _, f := range sbom.Formats() {
		t.Run(string(f), func(t *testing.T) {
			doc, err := sbom.Encode(smallSBOM(), f, "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := sbom.Decode(doc, f)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Artifacts.Packages.PackageCount(); got != 2 {
				t.Errorf("%d packages after a round trip, want 2", got)
			}
		})
	}
	if _, err := sbom.Encode(nil, sbom.CycloneDXJSON, ""); err == nil {
		t.Error("Encode(nil): no error")
	}
}

// FuzzReadSubject feeds ReadSubject documents from outside: it returns an
// error or a subject whose digests are digests, and never panics.
func FuzzReadSubject(f *testing.F) {
	s := smallSBOM()
	m := s.Source.Metadata.(source.ImageMetadata)
	m.ManifestDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	s.Source.Metadata = m
	for _, format := range sbom.Formats() {
		doc, err := sbom.Encode(s, format, "")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","purl":"pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, err := sbom.ReadSubject(data)
		if err != nil {
			return
		}
		for _, d := range sub.Digests {
			if _, err := v1.NewHash(d); err != nil {
				t.Fatalf("digest %q: %v", d, err)
			}
		}
	})
}
