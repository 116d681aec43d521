package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

const keyPassword = "release-test"

// run runs sc with args in env and returns stdout, stderr and the error.
// The whole environment is known, as in the binary (os.Environ), so that a
// variable set to "" is told from an unset one.
func run(ctx context.Context, t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	root := &options.Root{Version: "test", Getenv: func(k string) string { return env[k] }, Environ: func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	c.SetIn(strings.NewReader(""))
	err := cmd.Execute(ctx, c, args)
	return stdout.String(), stderr.String(), err
}

// setup pushes n fixture images, writes a key pair and a stack file with
// the given extra security settings, and imports the test database into
// the cache. It returns the environment and the stack file.
func setup(t *testing.T, reg *testutil.Registry, n int, extra string) (map[string]string, string, any) {
	t.Helper()
	client := registry.New()
	var refs []string
	for i, img := range testutil.FixtureImages(t, n) {
		ref := reg.Ref(fmt.Sprintf("shop/%s:%s", fixture.ServiceName(i), fixture.Version))
		r, err := client.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img, client.RemoteOptions(context.Background())...); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	return setupRefs(t, extra, refs...)
}

// setupRefs writes a key pair and a stack file with the given extra
// security settings and a service per image reference, and imports the
// test database into the cache. It returns the environment, the stack file
// and the public key.
func setupRefs(t *testing.T, extra string, refs ...string) (map[string]string, string, any) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		options.EnvCacheDir: filepath.Join(dir, "cache"),
		"TEST_KEY_PASSWORD": keyPassword,
	}
	if _, _, err := run(context.Background(), t, env, "scan", "db", "import", tv.DB(t, tv.FixtureAdvisories()...)); err != nil {
		t.Fatalf("importing the test database: %v", err)
	}
	kp, err := signing.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(keyPath, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `stacks:
  production:
    security:
      signing: {privateKey: cosign.key, password: "${env:TEST_KEY_PASSWORD}", tlogUpload: false}
      provenance: {builder: {id: "https://example.com/builder"}}
%s
    services:
`, extra)
	for i, ref := range refs {
		fmt.Fprintf(&b, "      %s: {image: %q}\n", fixture.ServiceName(i), ref)
	}
	config := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return env, config, pub
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	env, config, pub := setup(t, reg, 2, "      scan: {softFail: true}")
	summary := filepath.Join(t.TempDir(), "summary.md")
	env[options.EnvGitHubStepSummary] = summary

	stdout, stderr, err := run(ctx, t, env, "release", "create", "--config", config, "--db-no-update")
	if err != nil {
		t.Fatalf("release create: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"SERVICE", "service-01", "service-02", "warned", "2 service(s): 0 ok, 2 warned, 0 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	// not a terminal: plain progress lines on stderr
	for _, want := range []string{"service-01 ok       sign", "service-02 warned   done in"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr)
		}
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatalf("job summary: %v", err)
	}
	for _, want := range []string{"## sc release: WARNED", "| service-01 |", "verified", tv.XTextCVE} {
		if !strings.Contains(string(md), want) {
			t.Errorf("job summary lacks %q:\n%s", want, md)
		}
	}

	// The same release as JSON: everything from the cache or already there.
	stdout, _, err = run(ctx, t, env, "release", "create", "-f", config, "--db-no-update", "-o", "json", "--service", "service-02")
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	var res pipeline.ReleaseResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("JSON result: %v\n%s", err, stdout)
	}
	if len(res.Services) != 1 || res.Services[0].Service != "service-02" {
		t.Fatalf("services %+v, want service-02 only", res.Services)
	}
	s := res.Services[0]
	// digest is the bare digest; reference names the image by it
	if !strings.HasPrefix(s.Digest, "sha256:") || s.Reference != reg.Ref("shop/service-02@"+s.Digest) {
		t.Errorf("digest %q reference %q, want the bare digest and the reference by it", s.Digest, s.Reference)
	}
	for _, a := range s.Step(pipeline.StepSign).Artifacts {
		if a.Storage != "referrer" || a.Location != reg.Ref("shop/service-02@"+a.Digest) {
			t.Errorf("signature artifact %+v does not say where it is stored", a)
		}
	}
	if st := s.Step(pipeline.StepSBOM); st == nil || !st.Cached {
		t.Errorf("sbom-generate not from the cache: %+v", st)
	}
	if st := s.Step(pipeline.StepSign); st == nil || len(st.Artifacts) != 1 || !st.Artifacts[0].Existing {
		t.Errorf("sign did not reuse the signature: %+v", st)
	}
	v, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, s.Reference); err != nil {
		t.Errorf("the release's signature does not verify: %v", err)
	}
}

func TestCreatePolicyViolation(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	env, config, _ := setup(t, reg, 1, "")
	// the file as the argument, as users type it first
	stdout, _, err := run(context.Background(), t, env, "release", "create", config, "--db-no-update")
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("release create: %v (exit %d), want exit 1\n%s", err, outcome.Code(err), stdout)
	}
	if !strings.Contains(err.Error(), "service service-01 (") || !strings.Contains(err.Error(), ": scan: ") {
		t.Errorf("error does not name the service, image and step: %v", err)
	}
	if !strings.Contains(stdout, "service-01 scan failed") {
		t.Errorf("table does not explain the failure:\n%s", stdout)
	}
}

func TestCreateUsage(t *testing.T) {
	reg := testutil.NewRegistry(t)
	env, config, _ := setup(t, reg, 1, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no config", []string{"release", "create"}, "--config is required"},
		{"unknown service", []string{"release", "create", "-f", config, "--service", "nope"}, "no such service"},
		{"unknown stack", []string{"release", "create", "-f", config, "--stack", "nope"}, "nope"},
		{"bad output", []string{"release", "create", "-f", config, "-o", "yaml"}, "--output"},
		{"bad jobs", []string{"release", "create", "-f", config, "--jobs", "0"}, "--jobs"},
		{"two files", []string{"release", "create", config, "-f", "other.yaml"}, "two configuration files"},
		{"two arguments", []string{"release", "create", config, config}, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(context.Background(), t, env, tt.args...)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v (exit %d), want exit 2 mentioning %q", err, outcome.Code(err), tt.want)
			}
		})
	}
}

// Ctrl-C in the middle of a release: the command stops with exit 3 and
// says so; what was signed verifies, nothing else does.
func TestCreateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	// cancel on the first signature write
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && testutil.Classify(r) == testutil.ClassManifest && strings.Contains(r.URL.Path, "/manifests/sha256:") {
				once.Do(cancel)
			}
			next.ServeHTTP(w, r)
		})
	}))
	env, config, _ := setup(t, reg, 3, "      scan: {enabled: false}")
	stdout, _, err := run(ctx, t, env, "release", "create", "--config", config, "--jobs", "1")
	if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("release create: %v (exit %d), want exit 3 saying it was cancelled\n%s", err, outcome.Code(err), stdout)
	}
	if !strings.Contains(stdout, "(cancelled)") {
		t.Errorf("summary does not say the run was cancelled:\n%s", stdout)
	}
}

// The default of --jobs is the executor's: options keeps its own copy so
// that it need not link the executor.
func TestDefaultJobs(t *testing.T) {
	if options.DefaultJobs != pipeline.DefaultJobs {
		t.Errorf("options.DefaultJobs = %d, pipeline.DefaultJobs = %d", options.DefaultJobs, pipeline.DefaultJobs)
	}
}

// Every file a release writes is checked before any work starts: exit 2
// naming the flag or configuration key, and nothing pushed.
func TestCreateOutputsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent", "x.sarif")
	for _, tc := range []struct {
		name  string
		extra string
		args  []string
		want  string
	}{
		{"sarif", "", []string{"--sarif", missing}, "--sarif " + missing},
		{"summary", "", []string{"--summary", missing}, "--summary " + missing},
		{"reporting block", "      reporting: {prComment: " + missing + "}", nil, "reporting.prComment " + missing},
		{"sbom output", "      sbom: {output: \"" + file + "/sboms/{service}.json\"}", nil,
			"services.service-01.sbom.output " + file + "/sboms/service-01.json: " + file + " is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faults := testutil.NewFaults()
			reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
			env, config, _ := setup(t, reg, 1, tc.extra)
			faults.Reset()
			_, _, err := run(context.Background(), t, env, append([]string{"release", "create", config, "--db-no-update"}, tc.args...)...)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("release create = %v (exit %d), want exit 2 naming %q", err, outcome.Code(err), tc.want)
			}
			if n := len(faults.Requests()); n != 0 {
				t.Errorf("%d registry requests before the outputs were checked", n)
			}
		})
	}
}

// A report that cannot be written after the run never hides a policy
// violation: exit 1, and the error says both.
func TestCreateReportFailureKeepsVerdict(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	env, config, _ := setup(t, reg, 1, "")
	_, _, err := run(context.Background(), t, env, "release", "create", config, "--db-no-update", "--sarif", "/dev/full")
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("release create = %v (exit %d), want the policy violation, exit 1", err, outcome.Code(err))
	}
	for _, want := range []string{": scan: ", "--sarif", "/dev/full"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
