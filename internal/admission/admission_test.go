package admission_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/scan"
)

const (
	builder = "https://ci.example.com/builders/release"
	source  = "https://github.com/example/shop"
	commit  = "0123456789abcdef0123456789abcdef01234567"
)

// policyYAML is the deploy policy of the tests: signed by the key, SLSA
// provenance from the release builder and a repository of the example
// organisation, a vulnerability attestation at most 7 days old with
// nothing above high.
const policyYAML = `apiVersion: sc.dev/v1
kind: ImagePolicy
name: shop
signers:
  - key: cosign.pub
attestations:
  - type: slsaprovenance1
    provenance:
      builderID:
        exact: ` + builder + `
      sourceRepository:
        prefix: https://github.com/example/
  - type: vuln
    vuln:
      maxAge: 7d
      maxSeverity: high
`

// image is what one test image carries.
type image struct {
	signed    bool
	otherKey  bool                // signed and attested by a key the policy does not name
	builder   string              // "" for no provenance attestation
	source    string              // the provenance's source repository; "" for the example's
	severity  scan.Severity       // of the one counted finding; "" for no vuln attestation
	scannedAt time.Duration       // how long ago the scan finished
	ignored   []scan.IgnoredMatch // findings set aside
}

// testImage is a test image, whether the policy admits it and, when it
// does not, what policy-tester's and Kyverno's refusals say (Kyverno, in
// the bundle format, does not say which attestation is missing).
type testImage struct {
	name        string
	image       image
	admit       bool
	testerSays  string
	kyvernoSays string
}

func images() []testImage {
	fresh := time.Hour
	criticalIgnored := []scan.IgnoredMatch{{
		Match:        finding("CVE-2099-0002", scan.Critical),
		SuppressedBy: scan.Suppression{Kind: scan.SuppressedByRule, Reason: "not reachable"},
	}}
	return []testImage{
		{"compliant", image{signed: true, builder: builder, severity: scan.High, scannedAt: fresh, ignored: criticalIgnored}, true, "", ""},
		{"unsigned", image{}, false, "no signatures found", "signatures"},
		{"attested-not-signed", image{builder: builder, severity: scan.Low, scannedAt: fresh}, false, "no signatures found", "signatures"},
		{"other-key", image{signed: true, otherKey: true, builder: builder, severity: scan.Low, scannedAt: fresh}, false, "accepted signatures do not match threshold", "signatures"},
		{"critical-finding", image{signed: true, builder: builder, severity: scan.Critical, scannedAt: fresh}, false, "rego policy for type vuln", "the scan must have no findings above high"},
		{"stale-scan", image{signed: true, builder: builder, severity: scan.Low, scannedAt: 30 * 24 * time.Hour}, false, "rego policy for type vuln", "the scan must be at most 7d old"},
		{"other-builder", image{signed: true, builder: "https://ci.example.com/builders/anyone", severity: scan.Low, scannedAt: fresh}, false, "rego policy for type provenance", "the provenance's builder must be https://ci.example.com/builders/release"},
		{"other-source", image{signed: true, builder: builder, source: "https://github.com/elsewhere/shop", severity: scan.Low, scannedAt: fresh}, false, "rego policy for type provenance", "the provenance's source repository must start with https://github.com/example/"},
		{"no-vuln-attestation", image{signed: true, builder: builder}, false, "no matching attestations with type https://cosign.sigstore.dev/attestation/vuln/v1", ""},
	}
}

func finding(id string, s scan.Severity) scan.Match {
	return scan.Match{
		ID: id, Severity: s,
		Package: scan.Package{Name: "openssl", Version: "3.0.0", Type: "deb"},
		Fix:     scan.Fix{State: scan.FixStateNotFixed},
		FoundBy: []string{"grype"},
	}
}

// fixture is a registry with the test images, signed and attested by sc
// in one format, and the policy with its key.
type fixture struct {
	dir    string // the policy, its key and the exports
	policy string
	refs   map[string]string // image name → repo@digest
}

func newFixture(t *testing.T, reg *testutil.Registry, format string) *fixture {
	t.Helper()
	dir := t.TempDir()
	priv := filepath.Join(dir, "cosign")
	other := filepath.Join(t.TempDir(), "other")
	env := map[string]string{"SC_KEY_PASSWORD": "pw"}
	for _, prefix := range []string{priv, other} {
		sc(t, env, "key", "generate", "--output-prefix", prefix)
	}
	f := &fixture{dir: dir, policy: filepath.Join(dir, "policy.yaml"), refs: map[string]string{}}
	if err := os.WriteFile(f.policy, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ti := range images() {
		d := push(t, reg, "shop/"+ti.name+":1")
		f.refs[ti.name] = d.String()
		key := priv + ".key"
		if ti.image.otherKey {
			key = other + ".key"
		}
		sign := []string{"--key", key, "--tlog-upload=false"}
		if ti.image.signed {
			sc(t, env, append([]string{"image", "sign", d.String(), "--format", format}, sign...)...)
		}
		attest := append([]string{"--attestation-format", format}, sign...)
		if ti.image.builder != "" {
			sc(t, env, append([]string{"attest", d.String(), "--type", "slsaprovenance1", "--predicate", provenancePredicate(t, d, ti.image.builder, ti.image.source)}, attest...)...)
		}
		if ti.image.severity != "" {
			sc(t, env, append([]string{"attest", d.String(), "--type", "vuln", "--predicate", vulnPredicate(t, d, ti.image)}, attest...)...)
		}
	}
	return f
}

// export runs `sc policy export` on the fixture's policy.
func (f *fixture) export(t *testing.T, format, sigFormat string) string {
	t.Helper()
	out := filepath.Join(f.dir, format+"-"+sigFormat+".yaml")
	sc(t, nil, "policy", "export", "--format", format, "--signature-format", sigFormat, "-o", out, f.policy)
	return out
}

// sc runs sc's command tree with env as its whole environment.
func sc(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
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
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetIn(strings.NewReader(""))
	if err := cmd.Execute(context.Background(), c, args); err != nil {
		t.Fatalf("sc %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func push(t *testing.T, reg *testutil.Registry, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// provenancePredicate writes the SLSA provenance sc generates for a build
// of repo (default: the example repository) by builder.
func provenancePredicate(t *testing.T, d name.Digest, builder, repo string) string {
	t.Helper()
	if repo == "" {
		repo = source
	}
	st, err := provenance.NewGenerator(nil).Generate(context.Background(), d, provenance.Build{
		Source:    provenance.Source{URI: repo, Ref: "refs/heads/main", Commit: commit},
		BuilderID: builder,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "provenance.json", data)
}

// vulnPredicate writes the vuln predicate sc attests for a scan with one
// counted finding of the image's severity.
func vulnPredicate(t *testing.T, d name.Digest, img image) string {
	t.Helper()
	at := time.Now().Add(-img.scannedAt).UTC().Truncate(time.Second)
	r := &scan.Result{
		SchemaVersion: scan.SchemaVersion,
		Image:         d.String(),
		Digest:        d.DigestStr(),
		ScannedAt:     at,
		Scanners:      []scan.ScannerInfo{{Name: "grype", Version: "v0.121.2", ScannedAt: at}},
		Matches:       []scan.Match{finding("CVE-2099-0001", img.severity)},
		Ignored:       img.ignored,
		Verdict:       scan.Verdict{Status: scan.Pass, FailOn: scan.Critical},
	}
	data, err := pipeline.VulnPredicate(r, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "vuln.json", data)
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// toolEnv is the environment of an evaluator: no registry credentials or
// configuration of the machine.
func toolEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_CONFIG=" + home, "KUBECONFIG=" + filepath.Join(home, "none")}
}

// policy-controller's policy-tester admits the compliant image, signed and
// attested by sc in cosign's legacy format, and refuses every image that
// misses a requirement. (Key-signed bundles it cannot verify: see
// export.ErrUnsupported.)
func TestPolicyTester(t *testing.T) {
	tester := testutil.Tool(t, "policy-tester")
	f := newFixture(t, testutil.NewRegistry(t, testutil.WithReferrers()), "legacy")
	cip := f.export(t, "policy-controller", "legacy")
	for _, ti := range images() {
		t.Run(ti.name, func(t *testing.T) {
			c := exec.Command(tester, "-policy", cip, "-image", f.refs[ti.name])
			c.Env = toolEnv(t)
			out, err := c.CombinedOutput()
			admitted := err == nil && bytes.Contains(out, []byte("Verification was successful"))
			t.Logf("policy-tester: %v\n%s", err, lastLines(out, 2))
			if admitted != ti.admit {
				t.Errorf("policy-tester admitted=%v, want %v: %v\n%s", admitted, ti.admit, err, lastLines(out, 15))
			}
			if !ti.admit {
				if _, ok := err.(*exec.ExitError); !ok || !bytes.Contains(out, []byte(ti.testerSays)) {
					t.Errorf("policy-tester's refusal (%v) does not say %q:\n%s", err, ti.testerSays, lastLines(out, 5))
				}
			}
		})
	}
}

// Kyverno's CLI admits the compliant image and refuses the others, with
// signatures and attestations in either format.
//
// The bundles are stored in Debian's docker-registry, under the referrers
// tag schema: Kyverno picks bundles by the artifactType of the referrers
// listing, and go-containerregistry's in-process registry lists the
// config's media type there (the empty type of sc's and cosign's bundle
// manifests), not the manifest's artifactType as OCI 1.1 says.
func TestKyvernoApply(t *testing.T) {
	kyverno := testutil.Tool(t, "kubectl-kyverno")
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			reg := testutil.NewRegistry(t, testutil.WithReferrers())
			if format == "bundle" {
				reg = &testutil.StartDockerRegistry(t).Registry
			}
			f := newFixture(t, reg, format)
			pol := f.export(t, "kyverno", format)
			for _, ti := range images() {
				t.Run(ti.name, func(t *testing.T) {
					pod := writeTemp(t, "pod.yaml", []byte(podYAML(ti.name, f.refs[ti.name])))
					c := exec.Command(kyverno, "apply", pol, "--resource", pod, "--registry")
					c.Env = toolEnv(t)
					out, _ := c.CombinedOutput()
					pass, fail, ok := kyvernoCounts(out)
					if !ok {
						t.Fatalf("kyverno apply printed no result counts:\n%s", lastLines(out, 30))
					}
					admitted := pass > 0 && fail == 0
					t.Logf("kyverno apply:\n%s", lastLines(out, 6))
					if admitted != ti.admit {
						t.Errorf("kyverno pass: %d, fail: %d; want admitted=%v\n%s", pass, fail, ti.admit, lastLines(out, 30))
					}
					if !ti.admit && !bytes.Contains(out, []byte(ti.kyvernoSays)) {
						t.Errorf("kyverno's refusal does not say %q:\n%s", ti.kyvernoSays, lastLines(out, 10))
					}
				})
			}
		})
	}
}

func podYAML(name, image string) string {
	return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: default
spec:
  containers:
    - name: app
      image: ` + image + `
`
}

var countsLine = regexp.MustCompile(`pass: (\d+), fail: (\d+)`)

// kyvernoCounts reads "pass: N, fail: M" from kyverno apply's summary.
func kyvernoCounts(out []byte) (pass, fail int, ok bool) {
	m := countsLine.FindSubmatch(out)
	if m == nil {
		return 0, 0, false
	}
	pass, _ = strconv.Atoi(string(m[1])) // digits
	fail, _ = strconv.Atoi(string(m[2]))
	return pass, fail, true
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
