package sbom_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/artifact"
	syftfile "github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sc-project/sc/pkg/security/sbom"
)

// zeroDigest is a run of zeros as long as a SHA-1: what syft writes as the
// checksum of a file it has no digest for.
var zeroDigest = regexp.MustCompile(`0{40}`)

// spdxFiles returns the files of an SPDX JSON document, by SPDX id, with
// their checksums by algorithm, and the ids its relationships name.
func spdxFiles(t *testing.T, doc []byte) (files map[string]map[string]string, refs []string) {
	t.Helper()
	var d struct {
		Files []struct {
			ID        string `json:"SPDXID"`
			Checksums []struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"checksumValue"`
			} `json:"checksums"`
		} `json:"files"`
		Packages []struct {
			ID string `json:"SPDXID"`
		} `json:"packages"`
		Relationships []struct {
			A string `json:"spdxElementId"`
			B string `json:"relatedSpdxElement"`
		} `json:"relationships"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	files = map[string]map[string]string{}
	for _, f := range d.Files {
		sums := map[string]string{}
		for _, c := range f.Checksums {
			sums[c.Algorithm] = c.Value
		}
		files[f.ID] = sums
	}
	for _, r := range d.Relationships {
		refs = append(refs, r.A, r.B)
	}
	return files, refs
}

// syftFiles returns the files of a syft-json document with their digests
// by algorithm.
func syftFiles(t *testing.T, doc []byte) map[string]map[string]string {
	t.Helper()
	var d struct {
		Files []struct {
			ID      string `json:"id"`
			Digests []struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"digests"`
		} `json:"files"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, f := range d.Files {
		sums := map[string]string{}
		for _, dg := range f.Digests {
			sums[dg.Algorithm] = dg.Value
		}
		out[f.ID] = sums
	}
	return out
}

// Without WithFiles no document lists a file; with it, every file SPDX
// lists has its real SHA-1 and SHA-256, and so does every file syft-json
// lists with digests. No document, in any format, ever carries a checksum
// of zeros: syft writes one for a file it has no digest for.
func TestFileEntries(t *testing.T) {
	sboms := []struct {
		name  string
		res   *sbom.Result
		files bool
	}{
		{"default", fixtureSBOM(t), false},
		{"with files", fixtureSBOMWithFiles(t), true},
	}
	for _, sb := range sboms {
		for _, f := range sbom.Formats() {
			t.Run(sb.name+"/"+string(f), func(t *testing.T) {
				doc, err := sbom.Encode(sb.res.SBOM, f, "")
				if err != nil {
					t.Fatal(err)
				}
				if loc := zeroDigest.FindIndex(doc); loc != nil {
					t.Fatalf("a checksum of zeros at byte %d: …%s…", loc[0], doc[max(0, loc[0]-200):loc[1]])
				}
				switch f {
				case sbom.SPDXJSON:
					files, refs := spdxFiles(t, doc)
					checkFiles(t, files, sb.files, true)
					ids := map[string]bool{"DOCUMENT": true}
					for id := range files {
						ids[id] = true
					}
					for _, ref := range refs {
						if strings.HasPrefix(ref, "SPDXRef-File-") && !ids[ref] {
							t.Errorf("a relationship names file %s, which the document does not list", ref)
						}
					}
				case sbom.SPDXTagValue:
					n := bytes.Count(doc, []byte("\nFileName: "))
					if !sb.files && n != 0 {
						t.Errorf("%d files listed, want none without WithFiles", n)
					}
					if sb.files && (n == 0 || bytes.Count(doc, []byte("\nFileChecksum: SHA1: ")) != n || bytes.Count(doc, []byte("\nFileChecksum: SHA256: ")) != n) {
						t.Errorf("%d files, %d SHA-1 and %d SHA-256 checksums; want one of each per file", n,
							bytes.Count(doc, []byte("\nFileChecksum: SHA1: ")), bytes.Count(doc, []byte("\nFileChecksum: SHA256: ")))
					}
				case sbom.SyftJSON:
					checkFiles(t, syftFiles(t, doc), sb.files, false)
				case sbom.CycloneDXJSON:
					if n := bytes.Count(doc, []byte(`"type":"file"`)); !sb.files && n != 0 {
						t.Errorf("%d file components, want none without WithFiles", n)
					}
				}
			})
		}
	}
}

// checkFiles checks the files of a document: none without WithFiles;
// with it some, each with a SHA-1 and a SHA-256 (every one for SPDX, which
// requires a checksum; those with digests for syft-json, which also lists
// files it has only metadata for).
func checkFiles(t *testing.T, files map[string]map[string]string, want, allDigested bool) {
	t.Helper()
	if !want {
		if len(files) != 0 {
			t.Errorf("%d files listed, want none without WithFiles", len(files))
		}
		return
	}
	digested := 0
	for id, sums := range files {
		if len(sums) == 0 && !allDigested {
			continue
		}
		digested++
		sha1, sha256 := sums["SHA1"]+sums["sha1"], sums["SHA256"]+sums["sha256"]
		if len(sha1) != 40 || len(sha256) != 64 {
			t.Errorf("file %s: checksums %v, want a SHA-1 and a SHA-256", id, sums)
		}
	}
	if digested == 0 {
		t.Errorf("no file with digests among %d", len(files))
	}
}

// An SBOM holding files syft has no SHA-1 for (a symbolic link owned by a
// package, an unknown, an entry inside an archive that has no digest, a
// file digested with SHA-256 only, as sc wrote them before) is written in
// SPDX without them and without the relationships that name them, and
// still validates; the model is not changed.
func TestSPDXLeavesOutFilesWithoutSHA1(t *testing.T) {
	base := fixtureSBOMWithFiles(t).SBOM
	s := *base
	s.Relationships = slices.Clone(base.Relationships)
	s.Artifacts.FileDigests = map[syftfile.Coordinates][]syftfile.Digest{}
	for c, d := range base.Artifacts.FileDigests {
		s.Artifacts.FileDigests[c] = d
	}
	s.Artifacts.Unknowns = map[syftfile.Coordinates][]string{}
	var p pkg.Package
	for p = range s.Artifacts.Packages.Enumerate(pkg.DebPkg) {
		break
	}
	link := syftfile.NewCoordinates("/usr/lib/x86_64-linux-gnu/libfake.so", "sha256:layer")
	jar := syftfile.NewCoordinates("/app/lib.jar", "sha256:layer")
	entry := syftfile.Coordinates{RealPath: jar.RealPath, FileSystemID: jar.FileSystemID, FullPath: jar.RealPath + "!/META-INF/MANIFEST.MF"}
	sha256Only := syftfile.NewCoordinates("/etc/sha256-only", "sha256:layer")
	unknown := syftfile.NewCoordinates("/usr/local/bin/tool", "sha256:layer")
	s.Artifacts.FileDigests[entry] = []syftfile.Digest{{Algorithm: "sha1", Value: strings.Repeat("1", 40)}}
	s.Artifacts.FileDigests[sha256Only] = []syftfile.Digest{{Algorithm: "sha256", Value: strings.Repeat("2", 64)}}
	s.Artifacts.Unknowns[unknown] = []string{"no package identified in executable file"}
	for _, c := range []syftfile.Coordinates{link, entry, sha256Only} {
		s.Relationships = append(s.Relationships, artifact.Relationship{From: p, To: c, Type: artifact.ContainsRelationship})
	}
	before := len(s.Relationships)

	for _, f := range []sbom.Format{sbom.SPDXJSON, sbom.SPDXTagValue} {
		doc, err := sbom.Encode(&s, f, "")
		if err != nil {
			t.Fatal(err)
		}
		if zeroDigest.Match(doc) {
			t.Errorf("%s: a checksum of zeros", f)
		}
		for _, name := range []string{link.RealPath, jar.RealPath, "MANIFEST.MF", sha256Only.RealPath, unknown.RealPath} {
			if bytes.Contains(doc, []byte(strings.TrimPrefix(name, "/"))) {
				t.Errorf("%s lists %s, which has no SHA-1", f, name)
			}
		}
		if f == sbom.SPDXJSON {
			files, _ := spdxFiles(t, doc)
			if want := len(fixtureFilesWithSHA1(base)); len(files) != want {
				t.Errorf("%d files, want the fixture's %d", len(files), want)
			}
			validateSPDX(t, doc)
		}
	}
	if len(s.Relationships) != before || len(s.Artifacts.Unknowns) != 1 {
		t.Error("encoding changed the model")
	}
}

func fixtureFilesWithSHA1(s *syftsbom.SBOM) []string {
	var out []string
	for c, ds := range s.Artifacts.FileDigests {
		for _, d := range ds {
			if d.Algorithm == "sha1" {
				out = append(out, fmt.Sprint(c))
			}
		}
	}
	return out
}

// validateSPDX validates an SPDX JSON document against the SPDX 2.3 schema.
func validateSPDX(t *testing.T, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := compileSchema(t, "spdx-schema-2.3.json").Validate(inst); err != nil {
		t.Errorf("the document does not validate against SPDX 2.3:\n%v", err)
	}
}
