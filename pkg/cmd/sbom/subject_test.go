package sbom_test

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// checkedFormats are the formats whose subject the tests check on the
// command line: one of each family.
var checkedFormats = []sbom.Format{sbom.CycloneDXJSON, sbom.SPDXJSON, sbom.SyftJSON}

// generateFile writes what `sc sbom generate --format f` writes for ref
// (with extra flags) to a file of dir, and returns its path.
func generateFile(t *testing.T, dir, ref string, f sbom.Format, extra ...string) string {
	t.Helper()
	path := filepath.Join(dir, strings.NewReplacer("/", "-", ":", "-").Replace(strings.Join(extra, "-"))+f.Extension())
	if _, _, err := runWith(t, nil, append([]string{"sbom", "generate", ref, "--format", string(f), "-o", path}, extra...)...); err != nil {
		t.Fatalf("generate %s %v: %v", f, extra, err)
	}
	return path
}

// retarget rewrites the SBOM of path as syft would have written it for an
// image catalogued as manifest (a digest, or "" for an image catalogued
// by tag, whose tag syft writes where the digest would be), with syft's
// own encoder for f.
func retarget(t *testing.T, path string, f sbom.Format, manifest string) string {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sbom.Decode(doc, f)
	if err != nil {
		t.Fatal(err)
	}
	m := s.Source.Metadata.(source.ImageMetadata)
	m.ManifestDigest, m.RepoDigests, m.UserInput = manifest, nil, "registry.example/shop/app:1"
	version := manifest
	if version == "" {
		version = "1"
	}
	s.Source = source.Description{ID: s.Source.ID, Name: "registry.example/shop/app", Version: version, Metadata: m}
	out, err := sbom.Encode(s, f, "")
	if err != nil {
		t.Fatal(err)
	}
	name := path + "." + strings.ReplaceAll(cmp.Or(manifest, "by-tag"), ":", "-") + f.Extension()
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// sc sbom attach checks that an SBOM given with --sbom is of the image it
// signs it for: the SBOM of the index's linux/amd64 image is attached to
// that image, refused for the linux/arm64 one (exit 1, naming both digests,
// nothing written) unless --allow-sbom-mismatch, which warns. An SBOM that
// names no digest, or only the index, is attached with a warning.
func TestAttachChecksTheSubject(t *testing.T) {
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	arm, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("shop/app:1")
	index, platforms := testutil.PushIndex(t, ref, types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		testutil.PlatformImage{Platform: "linux/arm64", Image: arm})
	amd64, arm64 := platforms[0], platforms[1]
	priv, _, env := keys(t)
	dir := t.TempDir()
	attach := func(t *testing.T, file string, extra ...string) (string, string, error) {
		t.Helper()
		faults.Reset()
		return runWith(t, env, append([]string{"sbom", "attach", ref, "--sbom", file, "--key", priv, "--tlog-upload=false"}, extra...)...)
	}
	wrote := func() bool {
		for _, r := range faults.Requests() {
			if r.Method != "GET" && r.Method != "HEAD" {
				return true
			}
		}
		return false
	}

	for _, f := range checkedFormats {
		t.Run(string(f), func(t *testing.T) {
			file := generateFile(t, dir, ref, f, "--platform", "linux/amd64")

			stdout, stderr, err := attach(t, file, "--platform", "linux/amd64")
			if err != nil || !strings.Contains(stdout, " to "+amd64.String()+" ") || strings.Contains(stderr, "WARN") {
				t.Fatalf("attach of its own SBOM: %v\n%s%s", err, stdout, stderr)
			}

			_, _, err = attach(t, file, "--platform", "linux/arm64")
			if !errors.Is(err, sbom.ErrSubjectMismatch) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("attach of the linux/amd64 SBOM to linux/arm64: %v (exit %d), want an SBOM mismatch, exit 1", err, outcome.Code(err))
			}
			for _, want := range []string{amd64.DigestStr(), arm64.DigestStr(), "--allow-sbom-mismatch"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not name %s", err, want)
				}
			}
			if wrote() {
				t.Error("a refused SBOM was written to the registry")
			}

			stdout, stderr, err = attach(t, file, "--platform", "linux/arm64", "--allow-sbom-mismatch")
			if err != nil || !strings.Contains(stdout, " to "+arm64.String()+" ") {
				t.Fatalf("attach --allow-sbom-mismatch: %v\n%s", err, stdout)
			}
			if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, amd64.DigestStr()) || !strings.Contains(stderr, arm64.DigestStr()) {
				t.Errorf("attach --allow-sbom-mismatch warned:\n%s\nwant a warning naming both digests", stderr)
			}

			stdout, stderr, err = attach(t, retarget(t, file, f, ""), "--platform", "linux/arm64")
			if err != nil || !strings.Contains(stdout, " to "+arm64.String()+" ") || !strings.Contains(stderr, "names no image digest") {
				t.Errorf("attach of an SBOM naming no digest: %v\n%s%s; want it attached with a warning", err, stdout, stderr)
			}

			stdout, stderr, err = attach(t, retarget(t, file, f, index.DigestStr()), "--platform", "linux/arm64")
			if err != nil || !strings.Contains(stdout, " to "+arm64.String()+" ") || !strings.Contains(stderr, "names the image index") {
				t.Errorf("attach of an SBOM naming the index: %v\n%s%s; want it attached with a warning", err, stdout, stderr)
			}

			other, err := name.NewDigest(reg.Ref("shop/app") + "@sha256:" + strings.Repeat("1", 64))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = attach(t, retarget(t, file, f, other.DigestStr()), "--platform", "linux/amd64")
			if !errors.Is(err, sbom.ErrSubjectMismatch) || !strings.Contains(err.Error(), other.DigestStr()) || !strings.Contains(err.Error(), amd64.DigestStr()) {
				t.Errorf("attach of an SBOM of an unrelated digest: %v, want a mismatch naming both", err)
			}
		})
	}

	if _, _, err := runWith(t, env, "sbom", "attach", ref, "--platform", "linux/amd64", "--allow-sbom-mismatch", "--key", priv, "--tlog-upload=false"); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("--allow-sbom-mismatch without --sbom: %v, want exit 2", err)
	}
}
