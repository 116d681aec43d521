package api_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// memFS is an in-memory file system for Load. YAML texts may start with a
// newline, which is dropped so that line numbers read naturally.
type memFS map[string]string

func (m memFS) read(name string) ([]byte, error) {
	if s, ok := m[filepath.ToSlash(name)]; ok {
		return []byte(strings.TrimPrefix(s, "\n")), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func loadAll(t *testing.T, files memFS, main string, opts ...api.LoadOption) ([]*api.Release, error) {
	t.Helper()
	opts = append([]api.LoadOption{api.WithReadFile(files.read), api.WithNow(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))}, opts...)
	return api.LoadAll(context.Background(), main, opts...)
}

func load(t *testing.T, files memFS, main string, opts ...api.LoadOption) (*api.Release, error) {
	t.Helper()
	opts = append([]api.LoadOption{api.WithReadFile(files.read), api.WithNow(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))}, opts...)
	return api.Load(context.Background(), main, opts...)
}

// want is an expected problem: its line, its path, and a part of its
// message.
type want struct {
	file string // default sc.yaml
	line int
	path string
	msg  string
}

func problemsOf(t *testing.T, err error) []api.Problem {
	t.Helper()
	if err == nil {
		t.Fatal("no error; want problems")
	}
	if !errors.Is(err, outcome.ErrInvalid) || outcome.Code(err) != outcome.ExitInvalid {
		t.Fatalf("error %v is not in the invalid class (code %d)", err, outcome.Code(err))
	}
	var verr *api.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %T %v is not a *api.ValidationError", err, err)
	}
	return verr.Problems
}

func checkProblems(t *testing.T, err error, wants []want) {
	t.Helper()
	got := problemsOf(t, err)
	if len(got) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(wants), err)
	}
	for _, w := range wants {
		file := w.file
		if file == "" {
			file = "sc.yaml"
		}
		found := false
		for _, p := range got {
			if p.File == file && p.Line == w.line && p.Path == w.path && strings.Contains(p.Message, w.msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing problem %s:%d: %s: …%s…; got:\n%v", file, w.line, w.path, w.msg, err)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		stack string
		want  []want
	}{
		{
			name: "unknown field with suggestion",
			yaml: `
stacks:
  prod:
    security:
      sbom:
        fromat: spdx-json
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 5, path: "stacks.prod.security.sbom.fromat", msg: "unknown field `fromat`; did you mean `format`?"}},
		},
		{
			name: "unknown field without suggestion",
			yaml: `
security:
  colour: blue
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 2, path: "security.colour", msg: "unknown field `colour`"}},
		},
		{
			name: "wrong type boolean",
			yaml: `
security:
  signing:
    privateKey: cosign.key
    enabled: yes please
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 4, path: "security.signing.enabled", msg: `expected a boolean (true or false), got "yes please"`}},
		},
		{
			name: "wrong types: mapping, list, integer",
			yaml: `
security:
  sbom: cyclonedx-json
  provenance:
    buildArgs: VERSION
  reporting:
    defectdojo:
      productID: twelve
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 2, path: "security.sbom", msg: `expected a mapping, got "cyclonedx-json"`},
				{line: 4, path: "security.provenance.buildArgs", msg: `expected a list, got "VERSION"`},
				{line: 7, path: "security.reporting.defectdojo.productID", msg: `expected an integer, got "twelve"`},
				// The block is present but incomplete.
				{line: 6, path: "security.reporting.defectdojo", msg: "defectdojo needs url"},
				{line: 6, path: "security.reporting.defectdojo", msg: "defectdojo needs apiKey"},
				{line: 6, path: "security.reporting.defectdojo", msg: "defectdojo needs engagementID"},
			},
		},
		{
			name: "key-based signing without a key",
			yaml: `
stacks:
  prod:
    security:
      signing:
        password: ${env:COSIGN_PASSWORD}
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 4, path: "stacks.prod.security.signing", msg: "key-based signing needs privateKey"}},
		},
		{
			name: "a KMS key of a scheme sc does not support",
			yaml: `
stacks:
  prod:
    security:
      signing:
        privateKey: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k
        publicKey: azurekms://vault.vault.azure.net/release
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 5, path: "stacks.prod.security.signing.privateKey", msg: "gcpkms:// keys are not supported: sc signs and verifies with awskms:// and hashivault://"},
				{line: 6, path: "stacks.prod.security.signing.publicKey", msg: "azurekms:// keys are not supported"},
			},
		},
		{
			name: "a k8s:// key is refused too",
			yaml: `
stacks:
  prod:
    security:
      signing:
        privateKey: k8s://ns/secret
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 5, path: "stacks.prod.security.signing.privateKey", msg: "k8s:// keys are not supported"}},
		},
		{
			name: "unknown sbom format and scope",
			yaml: `
security:
  sbom:
    format: cyclonedx-jsn
    scope: everything
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 3, path: "security.sbom.format", msg: "unknown SBOM format `cyclonedx-jsn`; did you mean `cyclonedx-json`? (valid: cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value, syft-json)"},
				{line: 4, path: "security.sbom.scope", msg: "unknown SBOM scope `everything` (valid: squashed, all-layers)"},
			},
		},
		{
			name: "unknown, duplicate and nameless tools; path for grype",
			yaml: `
security:
  scan:
    tools:
      - name: gripe
      - name: trivy
      - name: trivy
      - required: true
      - name: grype
        path: /usr/bin/grype
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 4, path: "security.scan.tools[0].name", msg: "unknown tool `gripe`; did you mean `grype`?"},
				{line: 6, path: "security.scan.tools[2].name", msg: "tool `trivy` is listed twice"},
				{line: 7, path: "security.scan.tools[3]", msg: "tool needs a name"},
				{line: 9, path: "security.scan.tools[4].path", msg: "path is only used for trivy"},
			},
		},
		{
			name: "warnOn at or above failOn",
			yaml: `
security:
  scan:
    failOn: medium
    warnOn: high
    tools:
      - name: grype
        failOn: critical
        warnOn: critical
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 4, path: "security.scan.warnOn", msg: "warnOn high is at or above failOn medium, so it could never fire"},
				{line: 8, path: "security.scan.tools[0].warnOn", msg: "warnOn critical is at or above failOn critical"},
			},
		},
		{
			name: "bad severities",
			yaml: `
security:
  scan:
    failOn: High
    warnOn: severe
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 3, path: "security.scan.failOn", msg: "unknown severity `High`; did you mean `high`?"},
				{line: 4, path: "security.scan.warnOn", msg: "unknown severity `severe` (valid: critical, high, medium, low, negligible, unknown)"},
			},
		},
		{
			name: "ignore rules: no reason, no id, bad date, bad glob",
			yaml: `
security:
  scan:
    ignore:
      - id: CVE-2024-1234
      - reason: no id here
      - id: CVE-2024-5678
        reason: accepted
        expires: 2024-02-30
      - id: CVE-2024-9999
        reason: accepted
        package: "lib[ssl"
        expires: 31/12/2025
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 4, path: "security.scan.ignore[0]", msg: "ignore rule for `CVE-2024-1234` needs a reason"},
				{line: 5, path: "security.scan.ignore[1]", msg: "ignore rule needs an id"},
				{line: 8, path: "security.scan.ignore[2].expires", msg: `expected a date as YYYY-MM-DD, got "2024-02-30"`},
				{line: 11, path: "security.scan.ignore[3].package", msg: "not a valid glob pattern"},
				{line: 12, path: "security.scan.ignore[3].expires", msg: `expected a date as YYYY-MM-DD, got "31/12/2025"`},
			},
		},
		{
			name: "keyless verification without identity and issuer",
			yaml: `
security:
  signing:
    keyless: true
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 2, path: "security.signing.verify", msg: "keyless verification needs oidcIssuer and identity or identityRegexp"}},
		},
		{
			name: "keyless with a key, both identities, bad regexp",
			yaml: `
security:
  signing:
    keyless: true
    privateKey: cosign.key
    verify:
      oidcIssuer: https://token.actions.githubusercontent.com
      identity: me@example.com
      identityRegexp: "[a-"
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 2, path: "security.signing", msg: "set either keyless: true or privateKey, not both"},
				{line: 5, path: "security.signing.verify", msg: "set either identity or identityRegexp, not both"},
				{line: 8, path: "security.signing.verify.identityRegexp", msg: "not a valid regular expression: missing closing ]"},
			},
		},
		{
			name: "keyless without transparency log or timestamp",
			yaml: `
security:
  signing:
    keyless: true
    tlogUpload: false
    verify: {enabled: false}
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 4, path: "security.signing.tlogUpload", msg: "needs tsaURL"}},
		},
		{
			name: "malformed secret references",
			yaml: `
security:
  signing:
    privateKey: ${env:COSIGN_KEY
    password: ${env:1PASSWORD}
  reporting:
    defectdojo:
      url: https://dojo.example.com
      apiKey: ${vault:dojo}
      engagementID: 3
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 3, path: "security.signing.privateKey", msg: "malformed secret reference"},
				{line: 4, path: "security.signing.password", msg: "NAME in ${env:NAME} must be letters"},
				{line: 8, path: "security.reporting.defectdojo.apiKey", msg: "malformed secret reference"},
				// The key and the API key did not decode, so they are missing too.
				{line: 2, path: "security.signing", msg: "key-based signing needs privateKey"},
				{line: 6, path: "security.reporting.defectdojo", msg: "defectdojo needs apiKey"},
			},
		},
		{
			name: "defectdojo incomplete",
			yaml: `
security:
  reporting:
    defectdojo:
      engagementName: releases
      autoCreate: true
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 3, path: "security.reporting.defectdojo", msg: "defectdojo needs url"},
				{line: 3, path: "security.reporting.defectdojo", msg: "defectdojo needs apiKey"},
				{line: 3, path: "security.reporting.defectdojo", msg: "defectdojo needs engagementID, or engagementName with productName or productID"},
				{line: 5, path: "security.reporting.defectdojo.autoCreate", msg: "autoCreate needs productName and engagementName"},
			},
		},
		{
			name: "URLs: plain http, credentials, relative",
			yaml: `
security:
  signing:
    keyless: true
    fulcioURL: http://fulcio.example.com
    rekorURL: https://user:pw@rekor.example.com
    tsaURL: /tsa
    verify:
      oidcIssuer: http://127.0.0.1:8080
      identity: ci@example.com
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 4, path: "security.signing.fulcioURL", msg: "use https: http is only allowed for localhost"},
				{line: 5, path: "security.signing.rekorURL", msg: "credentials do not belong in a URL"},
				{line: 6, path: "security.signing.tsaURL", msg: "expected an absolute https URL"},
			},
		},
		{
			name: "duplicate service names",
			yaml: `
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
      web: {image: registry.example.com/web:1}
      api: {image: registry.example.com/api:2}
`,
			want: []want{{line: 6, path: "stacks.prod.services.api", msg: "`api` is defined twice (first at line 4)"}},
		},
		{
			name: "services without or with bad images, bad names",
			yaml: `
stacks:
  prod!:
    services:
      api: {}
      web: {image: Registry.example.com/Web:1}
      a b: {image: registry.example.com/ab:1}
`,
			want: []want{
				{line: 2, path: "stacks.prod!", msg: "stack names are letters, digits"},
				{line: 4, path: "stacks.prod!.services.api", msg: "service `api` needs an image"},
				{line: 5, path: "stacks.prod!.services.web.image", msg: "repository names are lower case"},
				{line: 6, path: "stacks.prod!.services.a b", msg: "service names are letters, digits"},
			},
		},
		{
			name:  "unknown stack",
			stack: "prodution",
			yaml: `
stacks:
  production:
    services:
      api: {image: registry.example.com/api:1}
  staging:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{msg: "stack `prodution` not found; did you mean `production`? (stacks: production, staging)"}},
		},
		{
			name: "several stacks, none chosen",
			yaml: `
stacks:
  production:
    services:
      api: {image: registry.example.com/api:1}
  staging:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{msg: "several stacks have services (production, staging); select one with --stack"}},
		},
		{
			name: "parent not found, parent without stack name",
			yaml: `
stacks:
  base: {}
  prod:
    parent: bsae
    services:
      api: {image: registry.example.com/api:1}
  staging:
    parent: "other.yaml#"
    services:
      api: {image: registry.example.com/api:1}
`,
			stack: "prod",
			want:  []want{{line: 4, path: "stacks.prod.parent", msg: "parent stack `bsae` not found; did you mean `base`? (stacks: base, prod, staging)"}},
		},
		{
			name: "parent cycle in one file",
			yaml: `
stacks:
  a:
    parent: c
  b:
    parent: a
  c:
    parent: b
    services:
      api: {image: registry.example.com/api:1}
`,
			// Resolving c leads through b to a, whose parent closes the cycle.
			want: []want{{line: 3, path: "stacks.a.parent", msg: "parent cycle: sc.yaml#c → sc.yaml#b → sc.yaml#a → sc.yaml#c"}},
		},
		{
			name: "syntax error",
			yaml: `
stacks:
  prod:
    services: [a, b
  other: {}
`,
			want: []want{{line: 4, msg: "invalid YAML"}},
		},
		{
			name: "bad indentation",
			yaml: `
stacks:
  prod:
    services:
      api:
        image: registry.example.com/api:1
     security: {}
`,
			want: []want{{line: 6, msg: "invalid YAML"}},
		},
		{
			name: "two documents",
			yaml: `
stacks: {}
---
stacks: {}
`,
			want: []want{{line: 3, msg: "a configuration file holds one YAML document"}},
		},
		{
			name: "empty file",
			yaml: "# nothing\n",
			want: []want{{msg: "file is empty"}},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []want{{line: 1, msg: "expected a mapping with `stacks:`"}},
		},
		{
			name: "unsupported version, unknown alias, bad duration",
			yaml: `
version: 2
security:
  scan:
    dbMaxAge: 120
    ignore: *rules
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 1, path: "version", msg: "unsupported version 2"},
				{line: 4, path: "security.scan.dbMaxAge", msg: `expected a duration such as "120h" or "5d", got "120"`},
				{line: 5, path: "security.scan.ignore", msg: "unknown alias *rules"},
			},
		},
		{
			name: "SBOM neither attached nor written, shared output",
			yaml: `
stacks:
  prod:
    security:
      sbom:
        output: sbom.json
    services:
      api:
        image: registry.example.com/api:1
      web:
        image: registry.example.com/web:1
      job:
        image: registry.example.com/job:1
        security:
          sbom: {attach: false, output: ""}
`,
			// An empty output is unset: job inherits sbom.json too.
			want: []want{
				{line: 5, path: "stacks.prod.security.sbom.output", msg: "services `api` and `web` would both write their SBOM to sbom.json; put {service} in the path"},
				{line: 5, path: "stacks.prod.security.sbom.output", msg: "services `api` and `job` would both write"},
			},
		},
		{
			name: "SBOM thrown away",
			yaml: `
stacks:
  prod:
    security:
      sbom: {attach: false}
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 4, path: "stacks.prod.security.sbom", msg: "the SBOM would be neither attached (attach: false) nor written (no output)"}},
		},
		{
			name: "provenance: bad builder id and build args",
			yaml: `
security:
  provenance:
    builder: {id: my laptop}
    buildArgs: [VERSION, 1BAD, VERSION]
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 3, path: "security.provenance.builder.id", msg: "builder id must be a URI"},
				{line: 4, path: "security.provenance.buildArgs[1]", msg: "build argument names are letters"},
				{line: 4, path: "security.provenance.buildArgs[2]", msg: "build argument `VERSION` is listed twice"},
			},
		},
		{
			name: "platforms: malformed, an attestation manifest's, twice",
			yaml: `
security:
  platforms: [linux/amd64, linux, linux/arm/v7/x, unknown/unknown, linux/amd64, linux/arm/v7]
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{
				{line: 2, path: "security.platforms[1]", msg: "a platform is os/arch or os/arch/variant"},
				{line: 2, path: "security.platforms[2]", msg: "a platform is os/arch or os/arch/variant"},
				{line: 2, path: "security.platforms[3]", msg: "unknown/unknown marks the build attestation manifests"},
				{line: 2, path: "security.platforms[4]", msg: "platform `linux/amd64` is listed twice"},
			},
		},
		{
			name: "flow collections nested too deeply",
			yaml: "stacks: {}\nsecurity: " + strings.Repeat("[", 65),
			want: []want{{line: 2, msg: "[ and { are nested more than 64 deep"}},
		},
		{
			name: "too many lines",
			yaml: "stacks: {}\n" + strings.Repeat("# comment\n", 20_000),
			want: []want{{msg: "file has more than 20000 lines"}},
		},
		{
			name: "too large",
			yaml: "stacks: {}\n# " + strings.Repeat("x", 512<<10),
			want: []want{{msg: "file is larger than 512 KiB"}},
		},
		{
			name: "scan with no tools",
			yaml: `
security:
  scan: {tools: []}
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`,
			want: []want{{line: 2, path: "security.scan.tools", msg: "scan is enabled but lists no tools"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []api.LoadOption
			if tt.stack != "" {
				opts = append(opts, api.WithStack(tt.stack))
			}
			_, err := load(t, memFS{"sc.yaml": tt.yaml}, "sc.yaml", opts...)
			checkProblems(t, err, tt.want)
		})
	}
}

// A disabled configuration is not checked for combinations: nothing runs.
func TestLoadDisabledIsNotCombinationChecked(t *testing.T) {
	rel, err := load(t, memFS{"sc.yaml": `
security:
  enabled: false
  signing: {}
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`}, "sc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s := rel.Services[0].Security; s.Active() || s.SigningEnabled() || s.ScanEnabled() {
		t.Errorf("disabled security is active: %+v", s)
	}
}

func TestLoadAllProblemsAtOnce(t *testing.T) {
	files := memFS{
		"sc.yaml": `
security:
  sbom:
    fromat: spdx-json
stacks:
  base:
    parent: ../platform.yaml#missing
  prod:
    security:
      signing:
        enabled: maybe
      scan:
        failOn: hihg
        ignore:
          - id: CVE-2024-1
    services:
      api: {image: registry.example.com/api:1}
      web: {}
`,
		"../platform.yaml": `
stacks:
  base:
    security:
      scan: {softfail: true}
`,
	}
	_, err := loadAll(t, files, "sc.yaml")
	checkProblems(t, err, []want{
		{line: 3, path: "security.sbom.fromat", msg: "did you mean `format`?"},
		{line: 6, path: "stacks.base.parent", msg: "parent stack `missing` not found"},
		{line: 10, path: "stacks.prod.security.signing.enabled", msg: `expected a boolean (true or false), got "maybe"`},
		{line: 12, path: "stacks.prod.security.scan.failOn", msg: "unknown severity `hihg`; did you mean `high`?"},
		{line: 14, path: "stacks.prod.security.scan.ignore[0]", msg: "needs a reason"},
		{line: 17, path: "stacks.prod.services.web", msg: "service `web` needs an image"},
		{line: 9, path: "stacks.prod.security.signing", msg: "key-based signing needs privateKey"},
		{file: "../platform.yaml", line: 4, path: "stacks.base.security.scan.softfail", msg: "did you mean `softFail`?"},
	})
	// One problem per line, the main file first, then in line order.
	lines := strings.Split(err.Error(), "\n")
	wantLines := []string{
		"sc.yaml:3:5: security.sbom.fromat: unknown field `fromat`; did you mean `format`?",
		"sc.yaml:6:13: stacks.base.parent: parent stack `missing` not found (stacks: base)",
		"sc.yaml:9:7: stacks.prod.security.signing: key-based signing needs privateKey (a key file, or ${env:…}/${file:…} holding the PEM key); or set keyless: true",
		"sc.yaml:10:18: stacks.prod.security.signing.enabled: expected a boolean (true or false), got \"maybe\"",
		"sc.yaml:12:17: stacks.prod.security.scan.failOn: unknown severity `hihg`; did you mean `high`? (valid: critical, high, medium, low, negligible, unknown)",
		"sc.yaml:14:13: stacks.prod.security.scan.ignore[0]: ignore rule for `CVE-2024-1` needs a reason: say why the finding is accepted",
		"sc.yaml:17:7: stacks.prod.services.web: service `web` needs an image",
		"../platform.yaml:4:14: stacks.base.security.scan.softfail: unknown field `softfail`; did you mean `softFail`?",
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("error text (-want +got):\n%s", diff)
	}
}

func TestLoadMainFileErrors(t *testing.T) {
	_, err := load(t, memFS{}, "missing.yaml")
	if outcome.Code(err) != outcome.ExitInvalid || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v (code %d), want an invalid-class not-exist error", err, outcome.Code(err))
	}
	_, err = api.Load(context.Background(), "x.yaml", api.WithReadFile(func(string) ([]byte, error) {
		return nil, errors.New("input/output error")
	}))
	if outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("unreadable file: got %v (code %d), want operational", err, outcome.Code(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := api.Load(ctx, "x.yaml", api.WithReadFile(memFS{"x.yaml": "stacks: {}"}.read)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}

func TestLoadExpiredIgnoreRuleWarns(t *testing.T) {
	rel, err := load(t, memFS{"sc.yaml": `
stacks:
  prod:
    security:
      scan:
        ignore:
          - {id: CVE-2024-1, reason: old, expires: 2025-05-31}
          - {id: CVE-2024-2, reason: today, expires: 2025-06-01}
    services:
      api: {image: registry.example.com/api:1}
`}, "sc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Problem{{File: "sc.yaml", Line: 6, Column: 52, Path: "stacks.prod.security.scan.ignore[0].expires",
		Message: "ignore rule for `CVE-2024-1` expired on 2025-05-31; its findings count again"}}
	if diff := cmp.Diff(want, rel.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// awskms:// and hashivault:// keys pass validation, as written: a URI is
// not a path made relative to the file.
func TestLoadSupportedKMSKeys(t *testing.T) {
	for _, tt := range []struct{ priv, pub string }{
		{"awskms:///alias/release", "awskms://127.0.0.1:4566/alias/release"},
		{"hashivault://release", "hashivault://release"},
	} {
		t.Run(tt.priv, func(t *testing.T) {
			rel, err := load(t, memFS{"conf/sc.yaml": `
stacks:
  prod:
    security:
      signing:
        privateKey: ` + tt.priv + `
        publicKey: ` + tt.pub + `
    services:
      api: {image: registry.example.com/api:1}
`}, "conf/sc.yaml")
			if err != nil {
				t.Fatal(err)
			}
			sg := rel.Services[0].Security.Signing
			if got := sg.PrivateKey.String(); got != tt.priv || !sg.PrivateKey.IsKMS() {
				t.Errorf("privateKey = %q (KMS %v), want %q", got, sg.PrivateKey.IsKMS(), tt.priv)
			}
			if sg.PublicKey != tt.pub {
				t.Errorf("publicKey = %q, want %q", sg.PublicKey, tt.pub)
			}
		})
	}
}
