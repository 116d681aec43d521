package image_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// generated writes what `sc sbom generate --format f` writes for ref, of
// its linux/amd64 image, to a file of dir.
func generated(t *testing.T, dir, ref string, f sbom.Format) string {
	t.Helper()
	path := filepath.Join(dir, "amd64"+f.Extension())
	if _, _, err := run(t, nil, "sbom", "generate", ref, "--platform", "linux/amd64", "--allow-insecure-registry", "--format", string(f), "-o", path); err != nil {
		t.Fatalf("generate %s: %v", f, err)
	}
	return path
}

// byTag rewrites the SBOM of path as syft's encoder for f writes one of an
// image catalogued by tag: the tag where the digest would be, no digest.
func byTag(t *testing.T, path string, f sbom.Format) string {
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
	m.ManifestDigest, m.RepoDigests, m.UserInput = "", nil, "registry.example/shop/app:1"
	s.Source = source.Description{ID: s.Source.ID, Name: "registry.example/shop/app", Version: "1", Metadata: m}
	out, err := sbom.Encode(s, f, "")
	if err != nil {
		t.Fatal(err)
	}
	tagged := path + ".by-tag" + f.Extension()
	if err := os.WriteFile(tagged, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return tagged
}

// sc image scan --sbom checks that the SBOM is of the image it reports on:
// the SBOM of an index's linux/amd64 image is scanned as that platform
// image; for the linux/arm64 one it is refused (exit 1, naming both
// digests) unless --allow-sbom-mismatch, which warns; an SBOM that names no
// digest is scanned with a warning, without asking the registry.
func TestScanChecksTheSBOMSubject(t *testing.T) {
	env := scanEnv(t)
	reg := testutil.NewRegistry(t)
	ref, platforms := pushPlatforms(t, reg, "shop/app:1",
		testutil.PlatformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		testutil.PlatformImage{Platform: "linux/arm64"})
	amd64, arm64 := platforms[0], platforms[1]
	dir := t.TempDir()
	scanArgs := func(file string, extra ...string) []string {
		return append([]string{"image", "scan", "--allow-insecure-registry", "--soft-fail", "-o", "json", "--sbom", file}, extra...)
	}
	mismatch := func(t *testing.T, what string, err error, digests ...name.Digest) {
		t.Helper()
		if !errors.Is(err, sbom.ErrSubjectMismatch) || outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("%s: %v (exit %d), want an SBOM mismatch, exit 1", what, err, outcome.Code(err))
		}
		for _, d := range digests {
			if !strings.Contains(err.Error(), d.DigestStr()) {
				t.Errorf("%s: %q does not name %s", what, err, d.DigestStr())
			}
		}
	}

	for _, f := range []sbom.Format{sbom.CycloneDXJSON, sbom.SPDXJSON, sbom.SyftJSON} {
		t.Run(string(f), func(t *testing.T) {
			file := generated(t, dir, ref, f)

			// the index by tag: scanned as the platform image its SBOM is of
			stdout, stderr, err := run(t, env, scanArgs(file, ref)...)
			if err != nil {
				t.Fatalf("scan of the index with its linux/amd64 SBOM: %v\n%s", err, stderr)
			}
			if r := scanJSON(t, stdout); r.Digest != amd64.DigestStr() || r.Platform != "linux/amd64" || r.Counts.Total == 0 || strings.Contains(stderr, "WARN") {
				t.Errorf("scanned %s (%q), %d findings, stderr %q; want linux/amd64 %s with findings, no warning", r.Digest, r.Platform, r.Counts.Total, stderr, amd64.DigestStr())
			}
			// the platform image by digest: nothing to ask the registry
			stdout, _, err = run(t, env, scanArgs(file, amd64.String())...)
			if err != nil || scanJSON(t, stdout).Digest != amd64.DigestStr() {
				t.Errorf("scan of %s with its SBOM: %v", amd64, err)
			}

			_, _, err = run(t, env, scanArgs(file, "--platform", "linux/arm64", ref)...)
			mismatch(t, "--platform linux/arm64 with the linux/amd64 SBOM", err, amd64, arm64)
			_, _, err = run(t, env, scanArgs(file, arm64.String())...)
			mismatch(t, "the linux/arm64 image by digest with the linux/amd64 SBOM", err, amd64, arm64)
			// refused before the database is opened: none is needed
			_, _, err = run(t, map[string]string{options.EnvCacheDir: t.TempDir()}, scanArgs(file, "--db-no-update", arm64.String())...)
			mismatch(t, "a mismatch without a database", err, amd64, arm64)

			stdout, stderr, err = run(t, env, scanArgs(file, "--allow-sbom-mismatch", arm64.String())...)
			if err != nil {
				t.Fatalf("--allow-sbom-mismatch: %v", err)
			}
			if r := scanJSON(t, stdout); r.Digest != arm64.DigestStr() || !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, amd64.DigestStr()) {
				t.Errorf("--allow-sbom-mismatch: scanned %s, stderr %q; want %s with a warning naming %s", r.Digest, stderr, arm64.DigestStr(), amd64.DigestStr())
			}

			// no registry at registry.example: an SBOM naming no digest
			// needs none
			tagged := byTag(t, file, f)
			stdout, stderr, err = run(t, env, scanArgs(tagged, fixtureRef)...)
			if err != nil || !strings.Contains(stderr, "names no image digest") {
				t.Fatalf("scan of an SBOM naming no digest: %v\n%s; want it scanned with a warning", err, stderr)
			}
			if r := scanJSON(t, stdout); r.Image != fixtureRef || r.Counts.Total == 0 {
				t.Errorf("scan of an SBOM naming no digest: %s, %d findings", r.Image, r.Counts.Total)
			}
		})
	}

	if _, _, err := run(t, env, "image", "scan", "--allow-sbom-mismatch", fixtureRef); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("--allow-sbom-mismatch without --sbom: %v, want exit 2", err)
	}
}
