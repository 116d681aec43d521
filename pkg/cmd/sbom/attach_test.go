package sbom_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/signing"
)

// runWith executes sc with env as its environment.
func runWith(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	root := &options.Root{
		Version: "test",
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string {
			var l []string
			for k, v := range env {
				l = append(l, k+"="+v)
			}
			return l
		},
	}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// keys writes a cosign key pair into a temporary directory: the private
// and public key paths, and the environment with the password.
func keys(t *testing.T) (priv, pub string, env map[string]string) {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub, map[string]string{"SC_KEY_PASSWORD": "s3cret"}
}

// fixtureIn pushes the fixture image as shop/orders-api:1.4.2 to a fresh
// registry of the given kind, with requests counted.
func fixtureIn(t *testing.T, kind string) (string, name.Digest, v1.Image, *testutil.Faults) {
	t.Helper()
	faults := testutil.NewFaults()
	var reg *testutil.Registry
	switch kind {
	case "in-process":
		reg = testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap), testutil.WithReferrers())
	case "docker-registry":
		reg = &testutil.StartDockerRegistry(t, testutil.WithHandler(faults.Wrap)).Registry
	default:
		t.Fatalf("unknown registry %q", kind)
	}
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
	return ref, r.Context().Digest(h.String()), img, faults
}

// documents writes the SBOM of the image d, img in every format into files
// of dir: one catalogue, five encodings.
func documents(t *testing.T, d name.Digest, img v1.Image, dir string) map[sbom.Format]string {
	t.Helper()
	res, err := sbom.Generate(context.Background(), d, img)
	if err != nil {
		t.Fatal(err)
	}
	files := map[sbom.Format]string{}
	for _, f := range sbom.Formats() {
		doc, err := sbom.Encode(res.SBOM, f, "")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "sbom"+f.Extension())
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		files[f] = path
	}
	return files
}

// TestAttachVerifyEveryFormat attaches an SBOM in each of the five formats
// and gets each back with `sc sbom verify --format`, byte for byte (bar the
// JSON documents' trailing newline), in the bundle format on both
// registries and the legacy format on the in-process one, never reading
// the image's layers.
func TestAttachVerifyEveryFormat(t *testing.T) {
	priv, pub, env := keys(t)
	_, setupDigest, setupImage, _ := fixtureIn(t, "in-process")
	docs := documents(t, setupDigest, setupImage, t.TempDir())
	for _, c := range []struct{ registry, storage string }{
		{"in-process", "bundle"}, {"docker-registry", "bundle"}, {"in-process", "legacy"},
	} {
		t.Run(c.registry+"/"+c.storage, func(t *testing.T) {
			ref, d, img, faults := fixtureIn(t, c.registry)
			out := t.TempDir()
			for _, f := range sbom.Formats() {
				stdout, stderr, err := runWith(t, env, "sbom", "attach", ref, "--sbom", docs[f],
					"--key", priv, "--tlog-upload=false", "--attestation-format", c.storage)
				if err != nil {
					t.Fatalf("attach %s: %v\n%s", f, err, stderr)
				}
				if want := "Attached " + f.PredicateType() + " attestation to " + d.String() + " (" + c.storage + ", key "; !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "("+string(f)+" SBOM)") {
					t.Errorf("attach %s printed %q, want %q…", f, stdout, want)
				}
			}
			for _, f := range sbom.Formats() {
				path := filepath.Join(out, "verified"+f.Extension())
				_, stderr, err := runWith(t, env, "sbom", "verify", ref, "--format", string(f), "--key", pub, "--insecure-ignore-tlog", "--output", path)
				if err != nil {
					t.Fatalf("verify %s: %v\n%s", f, err, stderr)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(docs[f])
				if err != nil {
					t.Fatal(err)
				}
				if !f.TextPredicate() {
					want = bytes.TrimSpace(want)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("verified %s SBOM differs from the one attached (%d vs %d bytes)", f, len(got), len(want))
				}
				if id, _, err := sbom.Identify(got); err != nil || id != f {
					t.Errorf("verified document is %s (%v), want %s", id, err, f)
				}
				if !strings.Contains(stderr, d.String()+": verified "+string(f)+" SBOM ("+c.storage+" attestation sha256:") {
					t.Errorf("verify %s summary: %s", f, stderr)
				}
			}
			checkNoImageBlobs(t, img, faults)
		})
	}
}

// checkNoImageBlobs fails the test when a request read one of img's
// layers or its config.
func checkNoImageBlobs(t *testing.T, img v1.Image, faults *testutil.Faults) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var blobs []string
	for _, l := range layers {
		h, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, h.String())
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	blobs = append(blobs, cfg.String())
	reads := 0
	for _, r := range faults.Requests() {
		if r.Class == testutil.ClassBlob && r.Method == "GET" {
			reads++
		}
		for _, b := range blobs {
			if strings.Contains(r.Path, b) {
				t.Errorf("%s %s reads a blob of the image", r.Method, r.Path)
			}
		}
	}
	if reads == 0 {
		t.Error("no blob read at all: the attestations were not fetched")
	}
}

// TestAttachGenerates: without --sbom, attach generates the SBOM in
// --format and attaches it; verify without --format or --type returns it.
func TestAttachGenerates(t *testing.T) {
	priv, pub, env := keys(t)
	ref, d, _, _ := fixtureIn(t, "in-process")
	if _, stderr, err := runWith(t, env, "sbom", "attach", ref, "--format", "spdx-tag-value", "--key", priv, "--tlog-upload=false"); err != nil {
		t.Fatalf("attach: %v\n%s", err, stderr)
	}
	stdout, stderr, err := runWith(t, env, "sbom", "verify", ref, "--key", pub, "--insecure-ignore-tlog")
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	if f, _, err := sbom.Identify([]byte(stdout)); err != nil || f != sbom.SPDXTagValue || !strings.Contains(stdout, "PackageName:") {
		t.Errorf("verify wrote a %s document (%v)", f, err)
	}
	if !strings.Contains(stderr, d.String()+": verified spdx-tag-value SBOM") || !strings.Contains(stderr, "written to standard output") {
		t.Errorf("summary: %s", stderr)
	}
}

// TestAttachErrors: bad input is invalid usage, before anything is signed.
func TestAttachErrors(t *testing.T) {
	priv, _, env := keys(t)
	ref, _, _, faults := fixtureIn(t, "in-process")
	dir := t.TempDir()
	notSBOM := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notSBOM, []byte("just some notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cdx := filepath.Join(dir, "sbom.cdx.json")
	if err := os.WriteFile(cdx, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sign := []string{"--key", priv, "--tlog-upload=false"}
	tests := []struct {
		name string
		args []string
	}{
		{"not an SBOM", []string{"--sbom", notSBOM}},
		{"format disagrees with the document", []string{"--sbom", cdx, "--format", "spdx-json"}},
		{"missing file", []string{"--sbom", filepath.Join(dir, "none.json")}},
		{"generation flag with --sbom", []string{"--sbom", cdx, "--scope", "all-layers"}},
		{"unknown format", []string{"--format", "pdf"}},
		{"unknown storage format", []string{"--sbom", cdx, "--attestation-format", "oci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faults.Reset()
			_, _, err := runWith(t, env, append(append([]string{"sbom", "attach", ref}, tt.args...), sign...)...)
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("attach: %v; want invalid usage", err)
			}
			for _, r := range faults.Requests() {
				if r.Method != "GET" && r.Method != "HEAD" {
					t.Errorf("%s %s written for invalid input", r.Method, r.Path)
				}
			}
		})
	}
	// A wrong password fails before the registry is touched.
	faults.Reset()
	_, _, err := runWith(t, map[string]string{"SC_KEY_PASSWORD": "wrong"}, "sbom", "attach", ref, "--sbom", cdx, "--key", priv, "--tlog-upload=false")
	if err == nil || len(faults.Requests()) != 0 {
		t.Errorf("attach with a wrong password: %v, %d requests", err, len(faults.Requests()))
	}
}
