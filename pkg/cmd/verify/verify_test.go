package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

const keyPassword = "verify-test"

// run runs sc with args in env and returns stdout, stderr and the error.
func run(t *testing.T, env map[string]string, args ...string) (string, string, error) {
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
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// released is an image sc released (signed, SBOM, provenance and vuln
// attestations, key-based without a log), the stack file it was released
// under, and an image of the same registry that was not released.
type released struct {
	env      map[string]string
	dir      string
	config   string
	image    string
	unsigned string
}

func release(t *testing.T) *released {
	t.Helper()
	return releaseSignedBy(t, `{privateKey: cosign.key, publicKey: cosign.pub, password: "${env:TEST_KEY_PASSWORD}", tlogUpload: false}`)
}

// releaseSignedBy is release with the stack file's signing block signing.
func releaseSignedBy(t *testing.T, signingBlock string) *released {
	t.Helper()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	client := registry.New()
	var refs []string
	for i, img := range testutil.FixtureImages(t, 2) {
		ref := reg.Ref(fmt.Sprintf("shop/api:%d", i+1))
		r, err := client.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img, client.RemoteOptions(context.Background())...); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	dir := t.TempDir()
	env := map[string]string{options.EnvCacheDir: filepath.Join(dir, "cache"), "TEST_KEY_PASSWORD": keyPassword,
		// a CI run names the source, which provenance needs
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_SHA": fixture.Revision, "GITHUB_REF": "refs/heads/main", "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1"}
	if _, _, err := run(t, env, "scan", "db", "import", tv.DB(t, tv.FixtureAdvisories()...)); err != nil {
		t.Fatalf("importing the test database: %v", err)
	}
	kp, err := signing.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{"cosign.key": kp.PrivatePEM, "cosign.pub": kp.PublicPEM} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "sc.yaml")
	stack := fmt.Sprintf(`stacks:
  production:
    security:
      signing: %s
      provenance: {builder: {id: "https://example.com/builder"}}
      scan: {failOn: critical, ignore: [{id: %s, reason: fixed upstream}]}
    services:
      api: {image: %q}
`, signingBlock, tv.XTextCVE, refs[0])
	if err := os.WriteFile(config, []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, env, "release", "create", "--config", config, "--db-no-update", "-o", "json")
	if err != nil {
		t.Fatalf("release create: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	return &released{env: env, dir: dir, config: config, image: refs[0], unsigned: refs[1]}
}

// derived writes the policy `sc policy from-config` derives from the
// release's stack file, changed by change, and returns its path.
func (r *released) derived(t *testing.T, change func(*api.ImagePolicy)) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if stdout, stderr, err := run(t, r.env, "policy", "from-config", "--config", r.config, "--max-age", "7d", "--output", file); err != nil {
		t.Fatalf("policy from-config: %v\n%s%s", err, stdout, stderr)
	}
	if change == nil {
		return file
	}
	p, err := policy.Load(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	change(p)
	b, err := api.MarshalPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestVerifyRelease is issue 18's "done when": a release sc signed and
// attested passes `sc verify --policy` with the policy derived from its
// stack file, and each thing a policy requires, when missing or wrong, is
// exit code 1 with the requirement that failed.
func TestVerifyRelease(t *testing.T) {
	r := release(t)
	good := r.derived(t, nil)
	text, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type: cyclonedx", "type: slsaprovenance1", "exact: https://example.com/builder", "type: vuln", "maxSeverity: high", "maxAge: 7d", "BEGIN PUBLIC KEY"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("derived policy lacks %q:\n%s", want, text)
		}
	}

	stdout, stderr, err := run(t, r.env, "verify", r.image, "--policy", good)
	if err != nil {
		t.Fatalf("verify: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"ok  signature", "ok  attestation cyclonedx", "ok  provenance builderID", "ok  vuln maxAge", "ok  vuln maxSeverity", "all 7 requirement(s) hold"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	stdout, _, err = run(t, r.env, "verify", r.image, "--policy", good, "--output", "json")
	if err != nil {
		t.Fatalf("verify --output json: %v", err)
	}
	var doc struct {
		OK           bool   `json:"ok"`
		Image        string `json:"image"`
		Requirements []policy.Requirement
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, stdout)
	}
	if !doc.OK || len(doc.Requirements) != 7 || !strings.Contains(doc.Image, "@sha256:") {
		t.Errorf("JSON: %+v", doc)
	}

	// the source repository sc recorded, exact and by organisation
	for _, m := range []api.Match{{Exact: "https://github.com/acme/shop"}, {Prefix: "https://github.com/acme/"}} {
		file := r.derived(t, func(p *api.ImagePolicy) { p.Attestations[1].Provenance.SourceRepository = &m })
		if stdout, _, err := run(t, r.env, "verify", r.image, "--policy", file); err != nil || !strings.Contains(stdout, "ok  provenance sourceRepository") {
			t.Errorf("source repository %+v: %v\n%s", m, err, stdout)
		}
	}

	other, err := signing.GenerateKeyPair([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		image  string
		change func(*api.ImagePolicy)
		failed []string // requirements that fail
	}{
		{"unsigned", r.unsigned, nil, []string{"failed  signature", "failed  attestation cyclonedx", "failed  attestation vuln"}},
		{"another key", r.image, func(p *api.ImagePolicy) { p.Signers[0].Key = string(other.PublicPEM) },
			[]string{"failed  signature", "failed  attestation slsaprovenance1"}},
		{"missing attestation", r.image, func(p *api.ImagePolicy) {
			p.Attestations = append(p.Attestations, api.PolicyAttestation{Type: "openvex"})
		}, []string{"failed  attestation openvex"}},
		{"a severity over the limit", r.image, func(p *api.ImagePolicy) { p.Attestations[2].Vuln.MaxSeverity = api.SeverityMedium },
			[]string{"failed  vuln maxSeverity", "above medium: "}},
		{"provenance from another builder", r.image, func(p *api.ImagePolicy) {
			p.Attestations[1].Provenance.BuilderID = &api.Match{Exact: "https://other.example/builder"}
		}, []string{"failed  provenance builderID", `runDetails.builder.id is "https://example.com/builder"`}},
		{"provenance from another repository", r.image, func(p *api.ImagePolicy) {
			p.Attestations[1].Provenance.SourceRepository = &api.Match{Prefix: "https://github.com/acme-evil/"}
		}, []string{"ok      provenance builderID", "failed  provenance sourceRepository", `source.uri is "https://github.com/acme/shop"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := run(t, r.env, "verify", tt.image, "--policy", r.derived(t, tt.change))
			if outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("exit code %d (%v), want 1\nstdout:\n%s\nstderr:\n%s", outcome.Code(err), err, stdout, stderr)
			}
			for _, want := range tt.failed {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stdout, "requirement(s) not met") {
				t.Errorf("no summary:\n%s", stdout)
			}
		})
	}

	// a stale vuln attestation: the same release, checked a week and a day
	// after its scan (the library's clock; the command's is the real one)
	t.Run("stale vuln attestation", func(t *testing.T) {
		p, err := policy.Load(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		c, err := policy.NewChecker(context.Background(), registry.New(), nil, p, policy.WithClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Check(context.Background(), r.image)
		if outcome.Code(err) != outcome.ExitCheckFailed || res == nil {
			t.Fatalf("Check: %v", err)
		}
		for _, q := range res.Requirements {
			if want := q.Name == "vuln maxAge"; (q.Status == policy.StatusFailed) != want {
				t.Errorf("%s: %s: %s", q.Name, q.Status, q.Reason)
			}
		}
	})
}

// A policy file with problems is exit code 2 with each problem at its
// file:line, and --output json still prints one document.
func TestVerifyBadPolicy(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	text := "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\nsigners:\n  - key: cosign.pub\n    transparancy: false\nattestations:\n  - type: vuln\n    vuln: {maxSeverity: high}\n  - type: cyclonedx\n    vuln: {maxAge: 1d}\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, map[string]string{}, "verify", "registry.example.com/shop/api:1", "--policy", file)
	if outcome.Code(err) != outcome.ExitInvalid {
		t.Fatalf("exit code %d (%v), want 2", outcome.Code(err), err)
	}
	for _, want := range []string{file + ":6:5: signers[0].transparancy: unknown field `transparancy`; did you mean `transparency`?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// the type checks of the library, once the file decodes
	if err := os.WriteFile(file, []byte(strings.Replace(text, "    transparancy: false\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "cosign.pub"), []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErT6hr8soQQx6IafywVAZ9RMVtwzk\no9NlIRg6rNqRomC086MoeCqDi9v67UMxWFtKChFmFfykG80Lv/gCSiphzA==\n-----END PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, map[string]string{}, "verify", "registry.example.com/shop/api:1", "--policy", file, "-o", "json")
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), file+":10:5: attestations[1].vuln: vuln constraints apply to type vuln") {
		t.Fatalf("exit code %d (%v), want 2 at line 10", outcome.Code(err), err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc["ok"] != false || !strings.Contains(fmt.Sprint(doc["error"]), "vuln constraints") {
		t.Errorf("JSON %v: %s", err, stdout)
	}
}
