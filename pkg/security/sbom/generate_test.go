package sbom_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// syftVersion is the version Generate should report: the syft module's
// version from the build information, which a test binary does not carry
// (the sc binary does: `sc sbom generate` reports v1.57.1).
func syftVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/syft" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// pkgLine is one package as the golden file lists it.
func pkgLine(p pkg.Package) string {
	return fmt.Sprintf("%s %s %s %s", p.Type, p.Name, p.Version, p.PURL)
}

// packageLines lists the packages of s, sorted.
func packageLines(s *syftsbom.SBOM) []string {
	var lines []string
	for p := range s.Artifacts.Packages.Enumerate() {
		lines = append(lines, pkgLine(p))
	}
	slices.Sort(lines)
	return lines
}

// find returns the packages of s with the type and name.
func find(s *syftsbom.SBOM, typ pkg.Type, name string) []pkg.Package {
	var out []pkg.Package
	for p := range s.Artifacts.Packages.Enumerate(typ) {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

func TestGenerateFixture(t *testing.T) {
	p := pushFixture(t)
	tmp := t.TempDir()
	res, err := sbom.Generate(context.Background(), p.ref, p.image, sbom.WithTempDir(tmp))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}

	t.Run("result", func(t *testing.T) {
		sum := sha256.Sum256(res.Document)
		want := sbom.Result{
			Format:        sbom.CycloneDXJSON,
			SpecVersion:   "1.6",
			MediaType:     "application/vnd.cyclonedx+json",
			PredicateType: "https://cyclonedx.org/bom",
			Digest:        "sha256:" + hex.EncodeToString(sum[:]),
			Image:         p.ref,
			Scope:         sbom.Squashed,
			Tool:          sbom.Tool{Name: "syft", Version: syftVersion()},
			Packages:      res.SBOM.Artifacts.Packages.PackageCount(),
		}
		got := *res
		got.Document, got.SBOM = nil, nil
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b name.Digest) bool { return a.String() == b.String() })); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if res.Packages < 40+55+3 {
			t.Errorf("%d packages, want at least the 40 Debian, 55 npm and 3 Go ones", res.Packages)
		}
	})

	t.Run("debian packages", func(t *testing.T) {
		if d := res.SBOM.Artifacts.LinuxDistribution; d == nil || d.ID != "debian" || d.VersionID != "12.5" {
			t.Errorf("distribution %#v, want debian 12.5", d)
		}
		// every package of the dpkg database, with its exact version
		f, err := os.Open(filepath.Join("..", "..", "..", "internal", "fixture", "testdata", "dpkg-packages.golden"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		n := 0
		for sc := bufio.NewScanner(f); sc.Scan(); {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			n++
			got := find(res.SBOM, pkg.DebPkg, fields[0])
			if len(got) != 1 || got[0].Version != fields[1] {
				t.Errorf("deb %s: got %v, want version %s", fields[0], got, fields[1])
			}
		}
		if n != 40 {
			t.Fatalf("read %d packages from the fixture's list, want 40", n)
		}
		for _, c := range []struct{ name, version, purl string }{
			{"libc6", "2.36-9+deb12u4", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5&upstream=glibc"},
			{"openssl", "3.0.11-1~deb12u2", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5"},
			{"zlib1g", "1:1.2.13.dfsg-1", "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12.5&upstream=zlib"},
			{"libssl3", "3.0.11-1~deb12u2", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5&upstream=openssl"},
		} {
			got := find(res.SBOM, pkg.DebPkg, c.name)
			if len(got) != 1 || got[0].Version != c.version || got[0].PURL != c.purl {
				t.Errorf("deb %s: got %v, want %s %s", c.name, got, c.version, c.purl)
			}
		}
	})

	t.Run("npm packages", func(t *testing.T) {
		// the application is found twice, by its package.json and as the
		// root of its lock: syft's two cataloguers record different metadata
		seen := map[string]bool{}
		for p := range res.SBOM.Artifacts.Packages.Enumerate(pkg.NpmPkg) {
			seen[p.Name+"@"+p.Version] = true
			if !strings.HasPrefix(p.PURL, "pkg:npm/") {
				t.Errorf("npm %s has purl %q", p.Name, p.PURL)
			}
		}
		if len(seen) != 56 {
			t.Errorf("%d npm packages, want the 55 of the package lock and the application itself", len(seen))
		}
		for name, version := range map[string]string{"express": "4.17.1", "lodash": "4.17.20", "minimist": "1.2.5", "semver": "7.5.1"} {
			if got := find(res.SBOM, pkg.NpmPkg, name); len(got) != 1 || got[0].Version != version {
				t.Errorf("npm %s: got %v, want %s", name, got, version)
			}
		}
	})

	t.Run("go modules", func(t *testing.T) {
		for name, version := range map[string]string{
			"golang.org/x/sync": "v0.25.0",
			"golang.org/x/text": "v0.43.0",
			"stdlib":            "go1.26.8",
		} {
			if got := find(res.SBOM, pkg.GoModulePkg, name); len(got) != 1 || got[0].Version != version {
				t.Errorf("go module %s: got %v, want %s", name, got, version)
			}
		}
	})

	t.Run("golden package list", func(t *testing.T) {
		got := []byte(strings.Join(packageLines(res.SBOM), "\n") + "\n")
		if diff := cmp.Diff(string(golden(t, "fixture-packages.golden", got)), string(got)); diff != "" {
			t.Errorf("packages (-golden +got):\n%s", diff)
		}
	})

	t.Run("layers fetched once", func(t *testing.T) {
		gets := map[string]int{}
		for _, r := range p.faults.Requests() {
			if r.Class == testutil.ClassBlob && r.Method == http.MethodGet {
				gets[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
			}
		}
		for _, l := range p.layers {
			if gets[l] != 1 {
				t.Errorf("layer %s fetched %d times, want once", l, gets[l])
			}
			delete(gets, l)
		}
		// what is left is the config blob, fetched when the image was opened
		for blob, n := range gets {
			if n != 1 {
				t.Errorf("blob %s fetched %d times, want once", blob, n)
			}
		}
		if len(gets) > 1 {
			t.Errorf("blobs other than the layers and the config were fetched: %v", gets)
		}
	})

	t.Run("temporary files removed", func(t *testing.T) {
		entries, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Errorf("%d entries left in the temporary directory, want none", len(entries))
		}
	})

	t.Run("no file entries by default", func(t *testing.T) {
		if n := len(res.SBOM.Artifacts.FileDigests) + len(res.SBOM.Artifacts.FileMetadata); n != 0 {
			t.Errorf("%d file entries, want none", n)
		}
	})

	t.Run("result marshals without the document", func(t *testing.T) {
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["image"] != p.ref.String() || m["digest"] != res.Digest || m["packages"] != float64(res.Packages) {
			t.Errorf("JSON %s does not carry the image, digest and package count", b)
		}
		if bytes.Contains(b, []byte(`"components"`)) {
			t.Errorf("JSON of the result carries the document: %.200s…", b)
		}
	})
}

// TestGenerateFromDockerRegistry runs against the real docker-registry
// (distribution 2.8), which serves blobs differently from the in-process
// registry: the same packages, each layer fetched once.
func TestGenerateFromDockerRegistry(t *testing.T) {
	p := pushFixtureTo(t, func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry {
		return &testutil.StartDockerRegistry(t, opts...).Registry
	})
	res, err := sbom.Generate(context.Background(), p.ref, p.image, sbom.WithFormat(sbom.SyftJSON))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(packageLines(fixtureSBOM(t).SBOM), packageLines(res.SBOM)); diff != "" {
		t.Errorf("packages differ from the in-process registry's (-ggcr +docker-registry):\n%s", diff)
	}
	for _, l := range p.layers {
		n := 0
		for _, r := range p.faults.Requests() {
			if r.Method == http.MethodGet && r.Class == testutil.ClassBlob && strings.HasSuffix(r.Path, "/"+l) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("layer %s fetched %d times, want once", l, n)
		}
	}
}

func TestGenerateOptions(t *testing.T) {
	p := pushFixture(t)
	base := fixtureSBOM(t)

	prepared, err := sbom.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		ctx   context.Context
		opts  []sbom.Option
		check func(t *testing.T, r *sbom.Result)
	}{
		{
			name: "prepared context",
			ctx:  prepared,
			check: func(t *testing.T, r *sbom.Result) {
				if diff := cmp.Diff(packageLines(base.SBOM), packageLines(r.SBOM)); diff != "" {
					t.Errorf("packages differ (-unprepared +prepared):\n%s", diff)
				}
			},
		},
		{
			name: "without the lock-file cataloguer",
			opts: []sbom.Option{sbom.WithCatalogers("-javascript-lock-cataloger")},
			check: func(t *testing.T, r *sbom.Result) {
				// the application's own package.json is still found
				var npm []string
				for p := range r.SBOM.Artifacts.Packages.Enumerate(pkg.NpmPkg) {
					npm = append(npm, p.Name)
				}
				if diff := cmp.Diff([]string{"orders-api"}, npm); diff != "" {
					t.Errorf("npm packages (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "all layers",
			opts: []sbom.Option{sbom.WithScope(sbom.AllLayers)},
			check: func(t *testing.T, r *sbom.Result) {
				if r.Scope != sbom.AllLayers {
					t.Errorf("scope %s", r.Scope)
				}
				// nothing is deleted in a later layer: the same packages
				if diff := cmp.Diff(packageNames(base.SBOM), packageNames(r.SBOM)); diff != "" {
					t.Errorf("packages differ from the squashed scope (-squashed +all-layers):\n%s", diff)
				}
			},
		},
		{
			name: "files owned by packages",
			opts: []sbom.Option{sbom.WithFiles(sbom.PackageFiles), sbom.WithFormat(sbom.SyftJSON), sbom.WithParallelism(1)},
			check: func(t *testing.T, r *sbom.Result) {
				if len(r.SBOM.Artifacts.FileDigests) == 0 {
					t.Fatal("no file digests")
				}
				for c, ds := range r.SBOM.Artifacts.FileDigests {
					if len(ds) != 2 || ds[0].Algorithm != "sha1" || ds[1].Algorithm != "sha256" {
						t.Errorf("%s: digests %v, want sha1 and sha256 (SPDX requires SHA-1)", c.RealPath, ds)
					}
				}
				if r.Format != sbom.SyftJSON || r.MediaType != "application/vnd.syft+json" || r.PredicateType != "https://syft.dev/bom" {
					t.Errorf("got %s %s %s", r.Format, r.MediaType, r.PredicateType)
				}
				if len(r.Document) <= len(base.Document) {
					t.Errorf("a syft-json document with files (%d bytes) is not larger than the default one (%d)", len(r.Document), len(base.Document))
				}
			},
		},
		{
			name: "spdx tag-value",
			opts: []sbom.Option{sbom.WithFormat(sbom.SPDXTagValue)},
			check: func(t *testing.T, r *sbom.Result) {
				if !bytes.HasPrefix(r.Document, []byte("SPDXVersion: SPDX-2.3\n")) {
					t.Errorf("document starts %.40q", r.Document)
				}
				if r.SpecVersion != "2.3" || r.MediaType != "text/spdx" || r.PredicateType != "https://spdx.dev/Document" {
					t.Errorf("got %s %s %s", r.SpecVersion, r.MediaType, r.PredicateType)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			r, err := sbom.Generate(ctx, p.ref, p.image, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

// packageNames lists "type name version" of every package of s, sorted.
func packageNames(s *syftsbom.SBOM) []string {
	var out []string
	for p := range s.Artifacts.Packages.Enumerate() {
		out = append(out, fmt.Sprintf("%s %s %s", p.Type, p.Name, p.Version))
	}
	slices.Sort(out)
	return out
}

func TestGenerateErrors(t *testing.T) {
	p := pushFixture(t)
	other, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		image    func(t *testing.T) pushed
		opts     []sbom.Option
		wantIs   error
		wantCode int
	}{
		{name: "unknown format", opts: []sbom.Option{sbom.WithFormat("pdf")}, wantIs: sbom.ErrUnknownFormat, wantCode: outcome.ExitInvalid},
		{name: "unknown scope", opts: []sbom.Option{sbom.WithScope("deep")}, wantIs: sbom.ErrUnknownScope, wantCode: outcome.ExitInvalid},
		{name: "unsupported CycloneDX version", opts: []sbom.Option{sbom.WithSpecVersion("1.4")}, wantIs: sbom.ErrSpecVersion, wantCode: outcome.ExitInvalid},
		{name: "spec version for syft-json", opts: []sbom.Option{sbom.WithFormat(sbom.SyftJSON), sbom.WithSpecVersion("16")}, wantIs: sbom.ErrSpecVersion, wantCode: outcome.ExitInvalid},
		{name: "unknown file selection", opts: []sbom.Option{sbom.WithFiles("some")}, wantIs: sbom.ErrInvalidOption, wantCode: outcome.ExitInvalid},
		{
			name: "cataloguer that does not exist",
			image: func(t *testing.T) pushed {
				q := pushFixture(t)
				t.Cleanup(func() {
					if n := q.faults.Count(http.MethodGet, testutil.ClassBlob); n != 0 {
						t.Errorf("%d blobs fetched before the selection was checked", n)
					}
				})
				return q
			},
			opts: []sbom.Option{sbom.WithCatalogers("+no-such-cataloger")}, wantIs: sbom.ErrInvalidOption, wantCode: outcome.ExitInvalid,
		},
		{name: "negative parallelism", opts: []sbom.Option{sbom.WithParallelism(-1)}, wantIs: sbom.ErrInvalidOption, wantCode: outcome.ExitInvalid},
		{
			name: "image is not the digest's",
			image: func(t *testing.T) pushed {
				q := p
				q.image = other
				return q
			},
			wantIs: sbom.ErrImageMismatch, wantCode: outcome.ExitOperational,
		},
		{
			name: "registry gone before the layers are read",
			image: func(t *testing.T) pushed {
				q := pushFixture(t)
				q.faults.Drop(testutil.On(http.MethodGet, testutil.ClassBlob), testutil.Always)
				return q
			},
			wantCode: outcome.ExitOperational,
		},
		{
			name: "layer blob not found",
			image: func(t *testing.T) pushed {
				q := pushFixture(t)
				q.faults.Fail(testutil.On(http.MethodGet, testutil.ClassBlob).PathContains(q.layers[0]), testutil.Always, http.StatusNotFound)
				return q
			},
			wantCode: outcome.ExitOperational,
		},
		{name: "canceled", ctx: canceled, wantIs: context.Canceled, wantCode: outcome.ExitOperational},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			if tt.image != nil {
				q = tt.image(t)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			tmp := t.TempDir()
			res, err := sbom.Generate(ctx, q.ref, q.image, append(tt.opts, sbom.WithTempDir(tmp))...)
			if err == nil {
				t.Fatalf("got a result with %d packages, want an error", res.Packages)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %q", err, tt.wantIs)
			}
			if got := outcome.Code(err); got != tt.wantCode {
				t.Errorf("exit code %d, want %d (error %q)", got, tt.wantCode, err)
			}
			if tt.wantCode == outcome.ExitOperational && !strings.Contains(err.Error(), q.ref.DigestStr()) {
				t.Errorf("error %q does not name the image", err)
			}
			entries, _ := os.ReadDir(tmp)
			if len(entries) != 0 {
				t.Errorf("%d entries left in the temporary directory", len(entries))
			}
		})
	}
}

func TestCheckOptions(t *testing.T) {
	if err := sbom.CheckOptions(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := sbom.CheckOptions(sbom.WithFormat(sbom.CycloneDXXML), sbom.WithSpecVersion("1.5")); err != nil {
		t.Errorf("cyclonedx-xml 1.5: %v", err)
	}
	if err := sbom.CheckOptions(sbom.WithFormat(sbom.SPDXJSON), sbom.WithSpecVersion("1.6")); !errors.Is(err, sbom.ErrSpecVersion) {
		t.Errorf("spdx-json 1.6: got %v, want ErrSpecVersion", err)
	}
}
