package policy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	policycmd "github.com/sc-project/sc/pkg/cmd/policy"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &options.Root{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}
	c := rootcmd.New(root, policycmd.New(root))
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	err := rootcmd.Execute(context.Background(), c, args)
	return out.String(), err
}

const publicKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErT6hr8soQQx6IafywVAZ9RMVtwzk\no9NlIRg6rNqRomC086MoeCqDi9v67UMxWFtKChFmFfykG80Lv/gCSiphzA==\n-----END PUBLIC KEY-----\n"

func stackFile(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), []byte(publicKey), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const twoServices = `stacks:
  production:
    security:
      signing: {privateKey: cosign.key, publicKey: cosign.pub, tlogUpload: false}
      scan: {failOn: critical}
    services:
      api: {image: "registry.example.com/shop/api:1.4.0"}
      web:
        image: registry.example.com/shop/web@sha256:0000000000000000000000000000000000000000000000000000000000000000
        security: {SCAN_FAILON}
`

func TestFromConfig(t *testing.T) {
	file := stackFile(t, strings.Replace(twoServices, "SCAN_FAILON", "", 1))
	stdout, err := run(t, "policy", "from-config", "--config", file, "--max-age", "3d")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout, "# yaml-language-server: $schema=") {
		t.Errorf("no schema comment:\n%s", stdout)
	}
	out := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(out, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(context.Background(), out)
	if err != nil {
		t.Fatalf("the written policy does not load:\n%v\n%s", err, stdout)
	}
	if p.Name != "production" || p.Signers[0].Key != publicKey || len(p.Attestations) != 3 || p.Attestations[2].Vuln.MaxSeverity != "high" || p.Attestations[2].Vuln.MaxAge.String() != "3d" {
		t.Errorf("policy %+v", p)
	}
	want := []string{"registry.example.com/shop/api:*", "registry.example.com/shop/api@*", "registry.example.com/shop/web:*", "registry.example.com/shop/web@*"}
	if diff := cmp.Diff(want, p.Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}

	// --output writes the same to a file
	if _, err := run(t, "policy", "from-config", "--config", file, "--max-age", "3d", "-o", out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != stdout {
		t.Errorf("--output wrote\n%s\nnot\n%s", b, stdout)
	}
}

func TestFromConfigRefuses(t *testing.T) {
	differ := stackFile(t, strings.Replace(twoServices, "SCAN_FAILON", "scan: {failOn: high}", 1))
	if _, err := run(t, "policy", "from-config", "--config", differ); outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "choose one with --service") {
		t.Errorf("services that differ: %v", err)
	}
	stdout, err := run(t, "policy", "from-config", "--config", differ, "--service", "web")
	if err != nil || !strings.Contains(stdout, "name: web") || !strings.Contains(stdout, "maxSeverity: medium") || strings.Contains(stdout, "shop/api") {
		t.Errorf("--service web: %v\n%s", err, stdout)
	}
	for name, tt := range map[string]struct {
		args []string
		says string
	}{
		"no config":       {nil, "--config is required"},
		"unknown service": {[]string{"--config", differ, "--service", "db"}, "no such service"},
		"bad max age":     {[]string{"--config", differ, "--max-age", "soon"}, "--max-age"},
		"no public key": {[]string{"--config", stackFile(t, "stacks:\n  p:\n    security:\n      signing: {privateKey: cosign.key}\n    services:\n      api: {image: r.example.com/a:1}\n")},
			"set signing.publicKey"},
		"a config with problems": {[]string{"--config", stackFile(t, "stacks:\n  p:\n    security:\n      signing: {privateKey: cosign.key, publickey: cosign.pub}\n    services:\n      api: {image: r.example.com/a:1}\n")},
			"sc.yaml:4:41: stacks.p.security.signing.publickey: unknown field"},
	} {
		if _, err := run(t, append([]string{"policy", "from-config"}, tt.args...)...); outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v (code %d), want 2 saying %q", name, err, outcome.Code(err), tt.says)
		}
	}
}
