package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	testvulndb "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/attest"
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

// getenv is the tests' environment, as os.LookupEnv reads it.
func getenv(name string) (string, bool) {
	if name == "TEST_KEY_PASSWORD" {
		return keyPassword, true
	}
	return "", false
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

// violationStatuses are the step statuses of an image whose scan found a
// violation: everything but the scan and the steps that need no verdict is
// skipped, nothing is signed or attached.
func violationStatuses() map[pipeline.StepName]pipeline.StepStatus {
	return map[pipeline.StepName]pipeline.StepStatus{
		pipeline.StepResolve: pipeline.StatusOK, pipeline.StepSBOM: pipeline.StatusOK,
		pipeline.StepScan: pipeline.StatusFailed, pipeline.StepProvenance: pipeline.StatusOK,
		pipeline.StepSign: pipeline.StatusSkipped, pipeline.StepVerify: pipeline.StatusSkipped,
		pipeline.StepSBOMAttach: pipeline.StatusSkipped, pipeline.StepSBOMVerify: pipeline.StatusSkipped,
		pipeline.StepProvenanceAttach: pipeline.StatusSkipped, pipeline.StepProvenanceVerify: pipeline.StatusSkipped,
		pipeline.StepVulnAttach: pipeline.StatusSkipped, pipeline.StepVulnVerify: pipeline.StatusSkipped,
		pipeline.StepVEXAttach: pipeline.StatusSkipped, pipeline.StepVEXVerify: pipeline.StatusSkipped,
	}
}

// vulnResultDigest returns the digest of the scan result inside a vuln
// attestation's statement: the image its findings are of.
func vulnResultDigest(t *testing.T, statement []byte) string {
	t.Helper()
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Scanner struct {
				Result struct {
					Digest string `json:"digest"`
				} `json:"result"`
			} `json:"scanner"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		t.Fatalf("vuln statement: %v", err)
	}
	if st.PredicateType != pipeline.VulnPredicateType {
		t.Fatalf("predicate type %q, want %q", st.PredicateType, pipeline.VulnPredicateType)
	}
	return st.Predicate.Scanner.Result.Digest
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

// keyAttestVerifier verifies attestations signed by pub, without a
// transparency log, in the given formats (default: both).
func keyAttestVerifier(t testing.TB, pub any, formats ...signing.Format) *attest.Verifier {
	t.Helper()
	opts := []signing.VerifyOption{signing.WithInsecureIgnoreTlog()}
	if len(formats) > 0 {
		opts = append(opts, signing.WithFormats(formats...))
	}
	sv, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return attest.NewVerifier(registry.New(), sv)
}

// platformImage is an image of an index and the platform it is for.
type platformImage = testutil.PlatformImage

// randomImage is a small image without packages: nothing to find in it.
func randomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushIndex pushes an index of media type mt holding imgs to host as
// release/<repoTag> and returns the reference; with buildx, each image is
// followed by an attestation manifest as buildx adds them.
func pushIndex(t testing.TB, host, repoTag string, mt types.MediaType, buildx bool, imgs ...platformImage) string {
	t.Helper()
	ref := fmt.Sprintf("%s/release/%s", host, repoTag)
	testutil.PushIndex(t, ref, mt, buildx, imgs...)
	return ref
}

// registryKind is a registry the index tests run against.
type registryKind struct {
	name  string
	start func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry
}

// registryKinds are go-containerregistry's in-process registry with and
// without the referrers API, and the real docker-registry (no referrers
// API).
func registryKinds() []registryKind {
	return []registryKind{
		{"ggcr", testutil.NewRegistry},
		{"ggcr-referrers", func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry {
			return testutil.NewRegistry(t, append(opts, testutil.WithReferrers())...)
		}},
		{"docker-registry", func(t testing.TB, opts ...testutil.RegistryOption) *testutil.Registry {
			return &testutil.StartDockerRegistry(t, opts...).Registry
		}},
	}
}

// digestsOf returns the platform images of an index result, repo@sha256:….
func digestsOf(s *pipeline.SecurityResult) []string {
	var out []string
	for _, p := range s.Platforms {
		out = append(out, p.Reference)
	}
	return out
}

// platformDigests returns the platform images' digests of an index result.
func platformDigests(t testing.TB, s *pipeline.SecurityResult) []name.Digest {
	t.Helper()
	var out []name.Digest
	for _, p := range s.Platforms {
		d, err := name.NewDigest(p.Reference)
		if err != nil {
			t.Fatalf("platform %s: reference %q: %v", p.Platform, p.Reference, err)
		}
		out = append(out, d)
	}
	return out
}
