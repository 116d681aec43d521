package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	testvulndb "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/security/signing"
)

// keyPassword is the password of the test signing keys.
const keyPassword = "test-password"

// testKey is a cosign key pair written to a directory.
type testKey struct {
	PrivatePath, PublicPath string
	Public                  any
}

func newTestKey(t testing.TB, dir string) testKey {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	k := testKey{PrivatePath: filepath.Join(dir, "cosign.key"), PublicPath: filepath.Join(dir, "cosign.pub")}
	if err := os.WriteFile(k.PrivatePath, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PublicPath, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if k.Public, err = signing.LoadPublicKey(kp.PublicPEM); err != nil {
		t.Fatal(err)
	}
	return k
}

// pushImages pushes images to the registry at host as <name>:<fixture
// version> and returns the tags.
func pushImages(t testing.TB, host string, imgs []v1.Image, names []string) []string {
	t.Helper()
	client := registry.New()
	refs := make([]string, len(imgs))
	var wg sync.WaitGroup
	errs := make([]error, len(imgs))
	for i, img := range imgs {
		refs[i] = fmt.Sprintf("%s/release/%s:%s", host, names[i], fixture.Version)
		wg.Go(func() {
			ref, err := client.ParseReference(refs[i])
			if err == nil {
				err = remote.Write(ref, img, client.RemoteOptions(context.Background())...)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pushing %s: %v", refs[i], err)
		}
	}
	return refs
}

// pushFixtures pushes fixture.Images(n) and returns their tags and images.
func pushFixtures(t testing.TB, host string, n int) ([]string, []v1.Image) {
	t.Helper()
	imgs := testutil.FixtureImages(t, n)
	names := make([]string, n)
	for i := range names {
		names[i] = fixture.ServiceName(i)
	}
	return pushImages(t, host, imgs, names), imgs
}

// openDB opens a grype database of the test advisories for the fixture
// image.
func openDB(t testing.TB) *vulndb.DB {
	t.Helper()
	ctx := context.Background()
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(ctx, testvulndb.DB(t, testvulndb.FixtureAdvisories()...)); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// loadRelease writes an sc stack file whose stack "release" has one
// service per ref, with the given security block (YAML, indented for a
// stack), and loads it.
func loadRelease(t testing.TB, dir, security string, refs []string) []api.Service {
	t.Helper()
	var b strings.Builder
	b.WriteString("stacks:\n  release:\n    security:\n")
	for _, line := range strings.Split(strings.TrimRight(security, "\n"), "\n") {
		b.WriteString("      " + line + "\n")
	}
	b.WriteString("    services:\n")
	for i, ref := range refs {
		fmt.Fprintf(&b, "      %s:\n        image: %s\n", fixture.ServiceName(i), ref)
	}
	path := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := api.Load(context.Background(), path)
	if err != nil {
		t.Fatalf("loading\n%s\n%v", b.String(), err)
	}
	return rel.Services
}

// keySecurity is a security block signing with k, without a transparency
// log, with the quickstart's builder id for provenance.
func keySecurity(k testKey, extra string) string {
	return fmt.Sprintf(`signing:
  privateKey: %s
  password: ${env:TEST_KEY_PASSWORD}
  tlogUpload: false
provenance:
  builder: {id: https://example.com/builder}
%s`, k.PrivatePath, extra)
}

func getenv(name string) string {
	if name == "TEST_KEY_PASSWORD" {
		return keyPassword
	}
	return ""
}

// executionContext is a CI-less context whose source is the fixture's.
func executionContext() *runenv.Context {
	return &runenv.Context{CI: runenv.CI{RepositoryURL: fixture.Source, Commit: fixture.Revision, Ref: "refs/heads/main"}}
}

// statuses returns step → status of a result.
func statuses(r *pipeline.SecurityResult) map[pipeline.StepName]pipeline.StepStatus {
	m := map[pipeline.StepName]pipeline.StepStatus{}
	for _, s := range r.Steps {
		m[s.Name] = s.Status
	}
	return m
}

// describe renders a release result for failure messages.
func describe(res *pipeline.ReleaseResult) string {
	if res == nil {
		return "<nil result>"
	}
	var b strings.Builder
	for _, s := range res.Services {
		fmt.Fprintf(&b, "%s %s %s\n", s.Service, s.Reference, s.Outcome)
		for _, st := range s.Steps {
			fmt.Fprintf(&b, "  %-20s %-8s %s %s %v\n", st.Name, st.Status, st.Detail, st.Error, st.Warnings)
		}
	}
	return b.String()
}

// layerDigests returns the digests of the images' layers.
func layerDigests(t testing.TB, imgs []v1.Image) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, img := range imgs {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			m[d.String()] = true
		}
	}
	return m
}

// layerGets counts GET requests per layer digest among reqs.
func layerGets(reqs []testutil.Request, layers map[string]bool) map[string]int {
	m := map[string]int{}
	for _, r := range reqs {
		if r.Method != "GET" || r.Class != testutil.ClassBlob {
			continue
		}
		d := r.Path[strings.LastIndex(r.Path, "/")+1:]
		if layers[d] {
			m[d]++
		}
	}
	return m
}

// verifyKeySignature reports whether the image has a signature by pub, read
// by a verifier of its own.
func verifyKeySignature(ctx context.Context, t testing.TB, ref string, pub any) error {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyDigest(ctx, d)
	return err
}
