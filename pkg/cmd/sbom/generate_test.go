package sbom_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// run executes sc with args in-process and returns stdout, stderr and the
// error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	// sc's cache in a directory of the test's own, never the user's
	cacheDir := t.TempDir()
	getenv := func(k string) string {
		if k == options.EnvCacheDir {
			return cacheDir
		}
		return ""
	}
	root := &options.Root{Version: "test", Getenv: getenv, Environ: func() []string { return nil }}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// pushFixture pushes the fixture image as shop/orders-api:1.4.2 to a fresh
// registry whose requests are counted, and returns its tag reference and
// digest.
func pushFixture(t *testing.T) (string, name.Digest, *testutil.Faults) {
	t.Helper()
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	ref := reg.Ref("shop/orders-api:1.4.2")
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := testutil.FixtureImage(t, fixture.Options{})
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	faults.Reset()
	return ref, r.Context().Digest(h.String()), faults
}

func TestGenerate(t *testing.T) {
	ref, d, _ := pushFixture(t)

	t.Run("stdout", func(t *testing.T) {
		stdout, stderr, err := run(t, "sbom", "generate", ref)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		f, v, err := sbom.Identify([]byte(stdout))
		if err != nil || f != sbom.CycloneDXJSON || v != "1.6" {
			t.Errorf("stdout is %s %s (%v), want cyclonedx-json 1.6", f, v, err)
		}
		s, err := sbom.Decode([]byte(stdout), f)
		if err != nil {
			t.Fatal(err)
		}
		summary := regexp.MustCompile(`^` + regexp.QuoteMeta(d.String()) +
			`: (\d+) packages, cyclonedx-json 1\.6 SBOM \(sha256:[0-9a-f]{64}, \d+ bytes\) written to standard output\n$`)
		m := summary.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("stderr %q does not end with the summary line", stderr)
		}
		if want := s.Artifacts.Packages.PackageCount(); m[1] != strconv.Itoa(want) {
			t.Errorf("summary says %s packages, the document has %d", m[1], want)
		}
	})

	t.Run("file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "sbom.spdx.json")
		stdout, stderr, err := run(t, "sbom", "generate", d.String(), "--format", "spdx-json", "--output", out)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if stdout != "" {
			t.Errorf("stdout %.80q…, want nothing", stdout)
		}
		doc, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if f, v, err := sbom.Identify(doc); err != nil || f != sbom.SPDXJSON || v != "2.3" {
			t.Errorf("file is %s %s (%v), want spdx-json 2.3", f, v, err)
		}
		if !strings.Contains(stderr, "written to "+out) {
			t.Errorf("stderr %q does not name the file", stderr)
		}
		entries, _ := os.ReadDir(filepath.Dir(out))
		if len(entries) != 1 {
			t.Errorf("%d files in the output directory, want only the SBOM", len(entries))
		}
	})
}

// The same image again, with the same cache directory, is composed from
// the layer cache: the same packages, no layer downloaded. --no-cache
// downloads them again.
func TestGenerateLayerCache(t *testing.T) {
	ref, _, faults := pushFixture(t)
	cacheDir := t.TempDir()
	packages := func(args ...string) int {
		t.Helper()
		stdout, stderr, err := run(t, append([]string{"sbom", "generate", ref, "--format", "syft-json"}, args...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		s, err := sbom.Decode([]byte(stdout), sbom.SyftJSON)
		if err != nil {
			t.Fatal(err)
		}
		return s.Artifacts.Packages.PackageCount()
	}
	first := packages("--cache-dir", cacheDir)
	if faults.Count("GET", testutil.ClassBlob) < 2 {
		t.Fatalf("the first run read %d blobs, want the config and the layers", faults.Count("GET", testutil.ClassBlob))
	}
	faults.Reset()
	if again := packages("--cache-dir", cacheDir); again != first {
		t.Errorf("again: %d packages, first %d", again, first)
	}
	// the config blob only
	if n := faults.Count("GET", testutil.ClassBlob); n > 1 {
		t.Errorf("the second run read %d blobs, want the config only", n)
	}
	faults.Reset()
	if fresh := packages("--cache-dir", cacheDir, "--no-cache"); fresh != first {
		t.Errorf("--no-cache: %d packages, first %d", fresh, first)
	}
	if n := faults.Count("GET", testutil.ClassBlob); n < 2 {
		t.Errorf("--no-cache read %d blobs, want the layers again", n)
	}
}

func TestGenerateErrors(t *testing.T) {
	ref, d, faults := pushFixture(t)
	outDir := t.TempDir()
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()

	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantInErr string
		// noRequests: the command must fail before talking to the registry.
		noRequests bool
	}{
		{name: "no image", args: nil, wantCode: outcome.ExitInvalid, noRequests: true},
		{name: "unknown format", args: []string{ref, "--format", "pdf"}, wantCode: outcome.ExitInvalid, wantInErr: "--format", noRequests: true},
		{name: "unknown scope", args: []string{ref, "--scope", "deep"}, wantCode: outcome.ExitInvalid, wantInErr: "--scope", noRequests: true},
		{name: "spec version of another format", args: []string{ref, "--spec-version", "2.3"}, wantCode: outcome.ExitInvalid, wantInErr: "--spec-version", noRequests: true},
		{name: "unknown file selection", args: []string{ref, "--files", "some"}, wantCode: outcome.ExitInvalid, wantInErr: "--files", noRequests: true},
		{name: "bad reference", args: []string{"UPPER/Case::tag"}, wantCode: outcome.ExitInvalid, noRequests: true},
		{name: "unreachable registry", args: []string{closed + "/shop/orders-api:1.4.2", "--registry-timeout", "2s"}, wantCode: outcome.ExitOperational, wantInErr: closed},
		{name: "image not found", args: []string{d.Context().Tag("no-such-tag").String()}, wantCode: outcome.ExitInvalid, wantInErr: "no-such-tag"},
		// checked before the image is resolved or pulled: a usage error
		{name: "output directory missing", args: []string{ref, "--output", filepath.Join(outDir, "missing", "sbom.json")},
			wantCode: outcome.ExitInvalid, wantInErr: "--output " + filepath.Join(outDir, "missing", "sbom.json") + ": directory", noRequests: true},
		{name: "output is a directory", args: []string{ref, "--output", t.TempDir()}, wantCode: outcome.ExitInvalid, wantInErr: "is a directory", noRequests: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faults.Reset()
			stdout, _, err := run(t, append([]string{"sbom", "generate"}, tt.args...)...)
			if err == nil {
				t.Fatal("got no error")
			}
			if got := outcome.Code(err); got != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", got, tt.wantCode, err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantInErr)
			}
			if stdout != "" {
				t.Errorf("stdout %.80q…, want nothing", stdout)
			}
			if n := len(faults.Requests()); tt.noRequests && n != 0 {
				t.Errorf("%d registry requests, want none before the flags are checked", n)
			}
		})
	}
}

func TestHelpNamesEveryFormat(t *testing.T) {
	stdout, _, err := run(t, "sbom", "generate", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sbom.Formats() {
		if !strings.Contains(stdout, string(f)) {
			t.Errorf("help does not name %s", f)
		}
	}
	for _, s := range sbom.Scopes() {
		if !strings.Contains(stdout, string(s)) {
			t.Errorf("help does not name scope %s", s)
		}
	}
}
