package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	configcmd "github.com/sc-project/sc/pkg/cmd/config"
	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

// run executes sc in-process with args and returns stdout, stderr and the
// exit code main would use.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := &options.Root{
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}
	c := rootcmd.New(root, configcmd.New(root))
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	err := rootcmd.Execute(context.Background(), c, args)
	return out.String(), errOut.String(), outcome.Code(err)
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.TrimPrefix(text, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExamples(t *testing.T) {
	stdout, stderr, code := run(t, "config", "validate", "../../../examples/team/sc.yaml")
	if code != outcome.ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	want := `ok staging/search registry.example.com/search/api:2.3.0-rc.1: scan (fail on high), sbom (cyclonedx-json), provenance, sign (keyless), verify
ok production/search registry.example.com/search/api:2.3.0: scan (fail on medium), sbom (cyclonedx-json), provenance, sign (keyless), verify
ok production/indexer registry.example.com/search/indexer:2.3.0: scan (fail on medium), sbom (cyclonedx-json), provenance, sign (keyless), verify
`
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}

	stdout, stderr, code = run(t, "config", "validate", "../../../examples/docker-compose.yaml")
	if code != outcome.ExitOK {
		t.Fatalf("compose: exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"ok web registry.example.com/shop/web:3.1.0: scan (fail on critical), sbom (cyclonedx-json), provenance, sign (key), verify\n",
		"ok db postgres:16: security off\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("compose: stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "warning: ../../../examples/docker-compose.yaml:33:3: services.migrations: service `migrations` has no image, so sc skips it") {
		t.Errorf("compose: stderr lacks the skipped service:\n%s", stderr)
	}

	stdout, _, code = run(t, "config", "validate", "../../../examples/platform.yaml")
	if code != outcome.ExitOK || !strings.Contains(stdout, "no services; it can be a parent of other files") {
		t.Errorf("platform: exit %d, stdout %q", code, stdout)
	}
}

func TestValidateProblems(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "sc.yaml", `
stacks:
  prod:
    security:
      sbom:
        fromat: spdx-json
      signing:
        enabled: yes please
      scan:
        failOn: medium
        warnOn: high
    services:
      api: {image: registry.example.com/api:1}
`)
	stdout, stderr, code := run(t, "config", "validate", file)
	if code != outcome.ExitInvalid {
		t.Errorf("exit %d, want %d", code, outcome.ExitInvalid)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	want := []string{
		file + ":5:9: stacks.prod.security.sbom.fromat: unknown field `fromat`; did you mean `format`?",
		file + ":6:7: stacks.prod.security.signing: key-based signing needs privateKey (a key file, or ${env:…}/${file:…} holding the PEM key); or set keyless: true",
		file + ":7:18: stacks.prod.security.signing.enabled: expected a boolean (true or false), got \"yes please\"",
		file + ":10:17: stacks.prod.security.scan.warnOn: warnOn high is at or above failOn medium, so it could never fire: findings at high already fail; set warnOn below failOn",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}

	// The error main prints is short: the list is on stderr already.
	root := &options.Root{Getenv: func(string) string { return "" }}
	c := rootcmd.New(root, configcmd.New(root))
	c.SetOut(&bytes.Buffer{})
	c.SetErr(&bytes.Buffer{})
	err := rootcmd.Execute(context.Background(), c, []string{"config", "validate", file})
	if err == nil || err.Error() != file+": 4 problems" {
		t.Errorf("error %v, want %q", err, file+": 4 problems")
	}
}

// A misspelt x-sc-security in a compose file is a problem with a
// suggestion, as in a stack file; a compose file with no block at all is
// valid, but says on stderr that sc would do nothing.
func TestValidateComposeSecurityOff(t *testing.T) {
	dir := t.TempDir()
	typo := writeFile(t, dir, "typo.yaml", `
x-sc-securty:
  signing: {keyless: true}
services:
  web: {image: registry.example.com/web:1}
`)
	stdout, stderr, code := run(t, "config", "validate", typo)
	if code != outcome.ExitInvalid || stdout != "" {
		t.Errorf("exit %d, stdout %q; want exit 2 and nothing on stdout", code, stdout)
	}
	if want := typo + ":1:1: x-sc-securty: unknown field `x-sc-securty`; did you mean `x-sc-security`?\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	none := writeFile(t, dir, "none.yaml", `
services:
  web: {image: registry.example.com/web:1}
  db: {image: postgres:16}
`)
	stdout, stderr, code = run(t, "config", "validate", none)
	if code != outcome.ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "ok web registry.example.com/web:1: security off\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if want := "warning: " + none + ": security is off for every service (web, db): no x-sc-security block applies to them, or each has enabled: false, so sc does nothing for them\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func TestValidateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "sc.yaml", `
stacks:
  production:
    services:
      api: {image: registry.example.com/api:1}
  staging:
    services:
      api: {image: registry.example.com/api:1}
`)
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown stack", []string{"config", "validate", file, "--stack", "prod"}, "stack `prod` not found; did you mean `production`?"},
		{"missing file", []string{"config", "validate", filepath.Join(dir, "nope.yaml")}, ""},
		{"no file", []string{"config", "validate"}, ""},
		{"unknown flag", []string{"config", "validate", file, "--stak", "x"}, ""},
		{"show without a stack", []string{"config", "show", file}, "several stacks have services (production, staging); select one with --stack"},
		{"show with a bad output", []string{"config", "show", file, "--stack", "staging", "-o", "xml"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(t, c.args...)
			if code != outcome.ExitInvalid {
				t.Errorf("exit %d, want %d", code, outcome.ExitInvalid)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, c.stderr)
			}
		})
	}
}

func TestShow(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "sc.yaml", `
stacks:
  prod:
    security:
      signing:
        privateKey: keys/cosign.key
        password: correct-horse-battery-staple
      reporting:
        defectdojo:
          url: https://dojo.example.com
          apiKey: ${env:DOJO_TOKEN}
          engagementID: 7
    services:
      api: {image: registry.example.com/api:1}
`)
	stdout, stderr, code := run(t, "config", "show", file)
	if code != outcome.ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "correct-horse-battery-staple") {
		t.Fatalf("a literal secret is shown:\n%s", stdout)
	}
	var rel struct {
		Stack    string
		Services []struct {
			Name     string
			Security map[string]any
		}
	}
	if err := yaml.Unmarshal([]byte(stdout), &rel); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, stdout)
	}
	signing := rel.Services[0].Security["signing"].(map[string]any)
	dojo := rel.Services[0].Security["reporting"].(map[string]any)["defectdojo"].(map[string]any)
	for _, c := range []struct{ key, got, want string }{
		{"password", signing["password"].(string), api.Redacted},
		{"privateKey", signing["privateKey"].(string), filepath.Join(dir, "keys/cosign.key")},
		{"apiKey", dojo["apiKey"].(string), "${env:DOJO_TOKEN}"},
		{"failOn", rel.Services[0].Security["scan"].(map[string]any)["failOn"].(string), "high"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}

	stdout, _, code = run(t, "config", "show", file, "--output", "json")
	if code != outcome.ExitOK {
		t.Fatalf("json: exit %d", code)
	}
	var j api.Release
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if j.Stack != "prod" || len(j.Services) != 1 || !j.Services[0].Security.SigningEnabled() {
		t.Errorf("json: got %+v", j)
	}
	if strings.Contains(stdout, "correct-horse-battery-staple") {
		t.Error("json: a literal secret is shown")
	}
}

func TestSchema(t *testing.T) {
	stdout, _, code := run(t, "config", "schema")
	if code != outcome.ExitOK {
		t.Fatalf("exit %d", code)
	}
	committed, err := os.ReadFile("../../../schema/sc.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(committed) {
		t.Error("sc config schema differs from schema/sc.schema.json; run go test ./pkg/api -run Schema -update")
	}
}
