package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
)

func mustKeyRef(t *testing.T, s string) api.KeyRef {
	t.Helper()
	k, err := api.ParseKeyRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serviceByName(t *testing.T, rel *api.Release, name string) api.Service {
	t.Helper()
	for _, s := range rel.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %q in %+v", name, rel.Services)
	return api.Service{}
}

func TestLoadInheritance(t *testing.T) {
	files := memFS{"sc.yaml": `
security:
  scan:
    failOn: critical
    ignore:
      - {id: CVE-1, reason: file-wide}
  signing:
    privateKey: keys/cosign.key
    annotations: {team: platform, tier: gold}
stacks:
  base:
    security:
      scan:
        warnOn: low
        softFail: true
      sbom:
        format: spdx-json
  prod:
    parent: base
    security:
      scan:
        failOn: high
        softFail: false
        ignore:
          - {id: CVE-2, reason: stack}
      signing:
        annotations: {tier: silver}
    services:
      api:
        image: registry.example.com/api:1
        security:
          sbom: {enabled: false}
          signing: {verify: {enabled: false}}
      web:
        image: registry.example.com/web:1
`}
	rel, err := load(t, files, "sc.yaml", api.WithStack("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{rel.Services[0].Name, rel.Services[1].Name}; !cmp.Equal(got, []string{"api", "web"}) {
		t.Errorf("services in order %v, want file order [api web]", got)
	}
	webWant := (&api.Security{
		Signing: &api.Signing{
			PrivateKey:  mustKeyRef(t, "keys/cosign.key"),
			Annotations: map[string]string{"team": "platform", "tier": "silver"}, // maps merge by key
		},
		SBOM: &api.SBOM{Format: api.SBOMSPDXJSON}, // from the parent
		Scan: &api.Scan{
			FailOn:   api.SeverityHigh,                                 // the stack wins over the file
			WarnOn:   api.SeverityLow,                                  // from the parent
			SoftFail: new(false),                                       // an explicit false wins over true
			Ignore:   []api.IgnoreRule{{ID: "CVE-2", Reason: "stack"}}, // lists are replaced
		},
	}).WithDefaults()
	web := serviceByName(t, rel, "web")
	if diff := cmp.Diff(webWant, &web.Security); diff != "" {
		t.Errorf("web (-want +got):\n%s", diff)
	}

	apiSvc := serviceByName(t, rel, "api")
	if apiSvc.Security.Signing.PrivateKey.String() != "keys/cosign.key" {
		t.Errorf("api: privateKey %v, want the file's", apiSvc.Security.Signing.PrivateKey)
	}
	if apiSvc.Security.SBOMEnabled() {
		t.Error("api: sbom enabled, want the service's enabled: false")
	}
	if apiSvc.Security.SBOM.Format != api.SBOMSPDXJSON {
		t.Errorf("api: sbom format %q, want the parent's spdx-json kept beside the service's enabled: false", apiSvc.Security.SBOM.Format)
	}
	if apiSvc.Security.VerifyEnabled() || !apiSvc.Security.SigningEnabled() {
		t.Error("api: want signing on and verification off")
	}
}

func TestLoadCrossFileParents(t *testing.T) {
	files := memFS{
		"team/sc.yaml": `
security:
  scan: {failOn: low}
  sbom: {format: syft-json}
stacks:
  prod:
    parent: ../platform.yaml#base
    security:
      signing:
        privateKey: keys/team.key
        password: ${file:keys/password}
    services:
      api:
        image: registry.example.com/api:1
        dockerfile: api/Dockerfile
        context: api
`,
		"platform.yaml": `
security:
  scan: {failOn: medium}
stacks:
  base:
    parent: shared/common.yaml
    security:
      reporting: {sarif: out.sarif}
`,
		"shared/common.yaml": `
security:
  scan:
    failOn: high
    vex: [vex/a.json]
`,
	}
	rel, err := load(t, files, "team/sc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := rel.Services[0]
	s := svc.Security
	// team file ← platform file ← common file ← platform#base ← team#prod.
	if s.Scan.FailOn != api.SeverityHigh {
		t.Errorf("failOn %q, want high: the common file comes after the team and platform files", s.Scan.FailOn)
	}
	if s.SBOM.Format != api.SBOMSyftJSON {
		t.Errorf("sbom format %q, want the team file's syft-json", s.SBOM.Format)
	}
	if s.Reporting.SARIF != "out.sarif" {
		t.Errorf("sarif %q, want out.sarif, an output path kept as written", s.Reporting.SARIF)
	}
	// Input paths are relative to the file that declares them.
	for _, c := range []struct{ what, got, want string }{
		{"vex", s.Scan.VEX[0], "shared/vex/a.json"},
		{"privateKey", s.Signing.PrivateKey.String(), "team/keys/team.key"},
		{"password", s.Signing.Password.String(), "${file:team/keys/password}"},
		{"dockerfile", svc.Dockerfile, "team/api/Dockerfile"},
		{"context", svc.Context, "team/api"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestLoadParentProblems(t *testing.T) {
	tests := []struct {
		name  string
		files memFS
		want  []want
	}{
		{
			name: "cycle across files",
			files: memFS{
				"a.yaml": `
stacks:
  x:
    parent: b.yaml#y
    services:
      api: {image: registry.example.com/api:1}
`,
				"b.yaml": `
stacks:
  y:
    parent: a.yaml#x
`,
			},
			want: []want{{file: "b.yaml", line: 3, path: "stacks.y.parent", msg: "parent cycle: a.yaml#x → b.yaml#y → a.yaml#x"}},
		},
		{
			name: "missing parent file",
			files: memFS{"a.yaml": `
stacks:
  x:
    parent: ../nowhere.yaml
    services:
      api: {image: registry.example.com/api:1}
`},
			want: []want{{file: "a.yaml", line: 3, path: "stacks.x.parent", msg: "cannot read parent ../nowhere.yaml: file does not exist"}},
		},
		{
			name: "parent file with problems",
			files: memFS{
				"a.yaml": `
stacks:
  x:
    parent: b.yaml#y
    services:
      api: {image: registry.example.com/api:1}
`,
				"b.yaml": `
stacks:
  y:
    security:
      scan: {failon: high}
`,
			},
			want: []want{{file: "b.yaml", line: 4, path: "stacks.y.security.scan.failon", msg: "did you mean `failOn`?"}},
		},
		{
			name: "parent file with a syntax error",
			files: memFS{
				"a.yaml": `
stacks:
  x:
    parent: b.yaml#y
    services:
      api: {image: registry.example.com/api:1}
`,
				"b.yaml": "stacks: {y: [}\n",
			},
			want: []want{{file: "b.yaml", line: 1, msg: "invalid YAML"}},
		},
		{
			name: "a problem of the merged configuration is reported in the parent that set it",
			files: memFS{
				"a.yaml": `
stacks:
  x:
    parent: b.yaml#y
    services:
      api: {image: registry.example.com/api:1}
      web: {image: registry.example.com/web:1}
`,
				"b.yaml": `
stacks:
  y:
    security:
      signing:
        keyless: true
`,
			},
			// Reported once, though both services inherit it.
			want: []want{{file: "b.yaml", line: 4, path: "stacks.y.security.signing.verify", msg: "keyless verification needs oidcIssuer"}},
		},
		{
			name: "a stack of a compose file",
			files: memFS{
				"a.yaml": `
stacks:
  x:
    parent: compose.yaml#web
    services:
      api: {image: registry.example.com/api:1}
`,
				"compose.yaml": "services: {web: {image: nginx}}\n",
			},
			want: []want{{file: "a.yaml", line: 3, path: "stacks.x.parent", msg: "parent compose.yaml is a compose file, which has no stacks"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadAll(t, tt.files, "a.yaml")
			checkProblems(t, err, tt.want)
		})
	}
}

func TestMerge(t *testing.T) {
	parent := &api.Security{
		Scan:    &api.Scan{FailOn: api.SeverityCritical, Tools: []api.Tool{{Name: api.ScannerTrivy}}},
		Signing: &api.Signing{Annotations: map[string]string{"a": "1"}},
	}
	child := &api.Security{
		Scan:    &api.Scan{OnlyFixed: new(true)},
		Signing: &api.Signing{Annotations: map[string]string{"b": "2"}},
	}
	got := api.Merge(nil, parent, nil, child)
	want := &api.Security{
		Scan:    &api.Scan{FailOn: api.SeverityCritical, Tools: []api.Tool{{Name: api.ScannerTrivy}}, OnlyFixed: new(true)},
		Signing: &api.Signing{Annotations: map[string]string{"a": "1", "b": "2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
	// The result shares nothing with the layers.
	got.Scan.Tools[0].Name = api.ScannerGrype
	got.Signing.Annotations["a"] = "changed"
	*got.Scan.OnlyFixed = false
	if parent.Scan.Tools[0].Name != api.ScannerTrivy || parent.Signing.Annotations["a"] != "1" || !*child.Scan.OnlyFixed {
		t.Error("changing the merge result changed a layer")
	}
	if api.Merge(nil, nil) != nil {
		t.Error("merging no layers: want nil (no security block anywhere)")
	}
}

func TestLoadCompose(t *testing.T) {
	files := memFS{"deploy/compose.yaml": `
version: "3.9"
x-common: &common
  restart: always
x-sc-security:
  signing:
    privateKey: keys/cosign.key
  scan: {failOn: critical}
services:
  web:
    <<: *common
    image: registry.example.com/web:1
    build:
      context: ./web
      dockerfile: Dockerfile.prod
      args: {A: b}
    ports: ["80:80"]
    x-sc-security:
      sbom: {format: spdx-json}
  worker:
    image: registry.example.com/worker:1
    build: ./worker
  db:
    image: postgres:16
    x-sc-security: {enabled: false}
  migrate:
    build: ./migrate
volumes:
  data: {}
`}
	rel, err := load(t, files, "deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Name, Image, Dockerfile, Context string }
	var got []row
	for _, s := range rel.Services {
		got = append(got, row{s.Name, s.Image, s.Dockerfile, s.Context})
	}
	want := []row{
		{"web", "registry.example.com/web:1", "deploy/web/Dockerfile.prod", "deploy/web"},
		{"worker", "registry.example.com/worker:1", "deploy/worker/Dockerfile", "deploy/worker"},
		{"db", "postgres:16", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	web := serviceByName(t, rel, "web").Security
	if web.SBOM.Format != api.SBOMSPDXJSON || web.Scan.FailOn != api.SeverityCritical || web.Signing.PrivateKey.IsZero() {
		t.Errorf("web: want its own sbom format over the file's scan and signing; got sbom %q, failOn %q, key %v",
			web.SBOM.Format, web.Scan.FailOn, web.Signing.PrivateKey)
	}
	if db := serviceByName(t, rel, "db").Security; db.Active() {
		t.Error("db: want security off")
	}
	wantWarn := []api.Problem{{File: "deploy/compose.yaml", Line: 25, Column: 3, Path: "services.migrate", Message: "service `migrate` has no image, so sc skips it"}}
	if diff := cmp.Diff(wantWarn, rel.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestLoadComposeProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		stack string
		want  []want
	}{
		{
			name: "strict inside x-sc-security",
			yaml: `
x-sc-security:
  scan: {failOn: high, tool: [grype]}
services:
  web:
    image: registry.example.com/web:1
    whatever: {compose: is not checked}
    x-sc-security:
      sbom: {enabled: "yes"}
`,
			want: []want{
				{line: 2, path: "x-sc-security.scan.tool", msg: "unknown field `tool`; did you mean `tools`?"},
				{line: 8, path: "services.web.x-sc-security.sbom.enabled", msg: `expected a boolean (true or false), got "yes"`},
			},
		},
		{
			// compose ignores every x- key, so a misspelt x-sc-security
			// would turn security off without a word
			name: "misspelt sc extensions",
			yaml: `
x-sc-securty:
  scan: {failOn: low}
x-common: {restart: always}
x-cs-security: {}
services:
  web:
    image: registry.example.com/web:1
    X-SC-Security: {}
    x-sc-sign: {}
    build:
      context: .
      x-sc-security: {}
  db:
    image: postgres:16
    x-sc_security: {}
    x-scale: 3
`,
			want: []want{
				{line: 1, path: "x-sc-securty", msg: "unknown field `x-sc-securty`; did you mean `x-sc-security`?"},
				{line: 4, path: "x-cs-security", msg: "did you mean `x-sc-security`?"},
				{line: 8, path: "services.web.X-SC-Security", msg: "did you mean `x-sc-security`?"},
				{line: 9, path: "services.web.x-sc-sign", msg: "unknown field `x-sc-sign`: sc reads only x-sc-security here"},
				{line: 12, path: "services.web.build.x-sc-security", msg: "sc reads x-sc-security at the top level of a compose file and in a service, nowhere else"},
				{line: 15, path: "services.db.x-sc_security", msg: "did you mean `x-sc-security`?"},
			},
		},
		{
			name: "compose variables in images",
			yaml: `
services:
  web:
    image: registry.example.com/web:${TAG:-latest}
`,
			want: []want{{line: 3, path: "services.web.image", msg: "sc does not expand"}},
		},
		{
			name:  "a stack requested of a compose file",
			stack: "prod",
			yaml: `
services:
  web: {image: registry.example.com/web:1}
`,
			want: []want{{msg: "stack `prod` requested, but this is a compose file"}},
		},
		{
			name: "no services",
			yaml: "services: {}\n",
			want: []want{{line: 1, path: "services", msg: "the compose file has no services"}},
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

func TestLoadComposeAsParent(t *testing.T) {
	files := memFS{
		"sc.yaml": `
stacks:
  prod:
    parent: compose.yaml
    services:
      api: {image: registry.example.com/api:1}
`,
		"compose.yaml": `
x-sc-security:
  scan: {failOn: low}
services:
  web: {image: nginx}
`,
	}
	rel, err := load(t, files, "sc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := rel.Services[0].Security.Scan.FailOn; got != api.SeverityLow {
		t.Errorf("failOn %q, want the compose file's low", got)
	}
}

// YAML anchors, aliases and merge keys work inside security blocks, and a
// self-referencing alias is an error, not a hang.
func TestLoadAnchors(t *testing.T) {
	files := memFS{"sc.yaml": `
x: &strict
  failOn: critical
  onlyFixed: true
stacks:
  prod:
    security:
      scan:
        <<: *strict
        onlyFixed: false
    services:
      api: {image: registry.example.com/api:1}
`}
	// x is not a stack file key.
	_, err := load(t, files, "sc.yaml")
	checkProblems(t, err, []want{{line: 1, path: "x", msg: "unknown field `x`"}})

	files["sc.yaml"] = `
stacks:
  base:
    security:
      scan: &strict
        failOn: critical
        onlyFixed: true
  prod:
    security:
      scan:
        <<: *strict
        onlyFixed: false
    services:
      api: {image: registry.example.com/api:1}
`
	rel, err := load(t, files, "sc.yaml", api.WithStack("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if sc := rel.Services[0].Security.Scan; sc.FailOn != api.SeverityCritical || *sc.OnlyFixed {
		t.Errorf("merge key: got failOn %q onlyFixed %v, want critical and the explicit false", sc.FailOn, *sc.OnlyFixed)
	}

	files["sc.yaml"] = `
stacks:
  prod:
    security:
      scan: &loop
        <<: *loop
        failOn: high
    services:
      api: {image: registry.example.com/api:1}
`
	_, err = load(t, files, "sc.yaml")
	checkProblems(t, err, []want{{line: 5, path: "stacks.prod.security.scan", msg: "alias *loop refers to itself"}})

	files["sc.yaml"] = `
stacks:
  prod:
    security:
      scan:
        ignore: &loop
          - *loop
    services:
      api: {image: registry.example.com/api:1}
`
	_, err = load(t, files, "sc.yaml")
	checkProblems(t, err, []want{{line: 6, path: "stacks.prod.security.scan.ignore[0]", msg: "expected a mapping, got a list"}})
}

// Merge keys that refer to each other many times over (a "billion laughs"
// document) stop at a budget instead of running for ever.
func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-0: &a0 {failOn: high}\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("x-sc-security:\n  scan: {<<: *a12}\nservices:\n  web: {image: nginx}\n")
	_, err := load(t, memFS{"compose.yaml": b.String()}, "compose.yaml")
	checkProblems(t, err, []want{{file: "compose.yaml", line: 3, path: "x-sc-security.scan", msg: "document is too large"}})
}
