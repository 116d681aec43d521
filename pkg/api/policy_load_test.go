package api_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

const testPublicKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErT6hr8soQQx6IafywVAZ9RMVtwzk
o9NlIRg6rNqRomC086MoeCqDi9v67UMxWFtKChFmFfykG80Lv/gCSiphzA==
-----END PUBLIC KEY-----
`

func loadPolicy(t *testing.T, files memFS, opts ...api.LoadOption) (*api.ImagePolicy, error) {
	t.Helper()
	if _, ok := files["policies/cosign.pub"]; !ok {
		files["policies/cosign.pub"] = testPublicKey
	}
	return api.LoadPolicy(context.Background(), "policies/policy.yaml", append([]api.LoadOption{api.WithReadFile(files.read)}, opts...)...)
}

func TestLoadPolicy(t *testing.T) {
	p, err := loadPolicy(t, memFS{"policies/policy.yaml": `
apiVersion: sc.dev/v1
kind: ImagePolicy
name: shop
images: [registry.example.com/shop/*]
signers:
  - key: cosign.pub
  - subjectRegExp: ^https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/heads/main$
    issuer: https://token.actions.githubusercontent.com
attestations:
  - type: cyclonedx
  - type: slsaprovenance1
    provenance:
      builderID: {exact: https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main}
      sourceRepository: {prefix: https://github.com/acme/}
  - type: vuln
    signers: [{key: cosign.pub}]
    vuln: {maxAge: 7d, maxSeverity: medium}
`})
	if err != nil {
		t.Fatal(err)
	}
	want := &api.ImagePolicy{
		APIVersion: "sc.dev/v1", Kind: "ImagePolicy", Name: "shop",
		Images: []string{"registry.example.com/shop/*"},
		Signers: []api.PolicySigner{
			{Key: "policies/cosign.pub"},
			{SubjectRegExp: `^https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/heads/main$`, Issuer: "https://token.actions.githubusercontent.com"},
		},
		Attestations: []api.PolicyAttestation{
			{Type: "cyclonedx"},
			{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{
				BuilderID:        &api.Match{Exact: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"},
				SourceRepository: &api.Match{Prefix: "https://github.com/acme/"},
			}},
			{Type: "vuln", Signers: []api.PolicySigner{{Key: "policies/cosign.pub"}}, Vuln: &api.VulnRequirement{MaxAge: api.Duration(7 * 24 * 3600e9), MaxSeverity: "medium"}},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("a loaded policy does not validate: %v", err)
	}
}

func TestLoadPolicyProblems(t *testing.T) {
	const head = "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\n"
	tests := []struct {
		name string
		yaml string
		want []want
	}{
		{"unknown field with suggestion", head + "signers:\n  - key: cosign.pub\n    trasparency: true\n",
			[]want{{line: 6, path: "signers[0].trasparency", msg: "unknown field `trasparency`; did you mean `transparency`?"}}},
		{"unknown top-level field", head + "signer:\n  - key: cosign.pub\n",
			[]want{{line: 4, path: "signer", msg: "did you mean `signers`?"}, {line: 0, path: "signers", msg: "at least one signer"}}},
		{"wrong version and kind", "apiVersion: sc.dev/v2\nkind: Policy\nname: shop\nsigners: [{key: cosign.pub}]\n",
			[]want{{line: 1, path: "apiVersion", msg: "unsupported apiVersion"}, {line: 2, path: "kind", msg: "unsupported kind"}}},
		{"bad name", "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: Shop_1\nsigners: [{key: cosign.pub}]\n",
			[]want{{line: 3, path: "name", msg: "Kubernetes names"}}},
		{"no signers", head + "signers: []\n", []want{{line: 4, path: "signers", msg: "at least one signer"}}},
		{"key and identity", head + "signers:\n  - key: cosign.pub\n    subject: a@example.com\n    issuer: https://accounts.example.com\n",
			[]want{{line: 5, path: "signers[0]", msg: "not both"}}},
		{"identity without issuer", head + "signers:\n  - subject: a@example.com\n",
			[]want{{line: 5, path: "signers[0]", msg: "needs issuer or issuerRegExp"}}},
		{"subject twice", head + "signers:\n  - subject: a@example.com\n    subjectRegExp: ^a$\n    issuer: https://accounts.example.com\n",
			[]want{{line: 5, path: "signers[0]", msg: "either subject or subjectRegExp"}}},
		{"unanchored regexp", head + "signers:\n  - subjectRegExp: github.com/acme/.*\n    issuer: https://accounts.example.com\n",
			[]want{{line: 5, path: "signers[0].subjectRegExp", msg: "not anchored"}}},
		{"empty signer", head + "signers:\n  - {}\n", []want{{line: 5, path: "signers[0]", msg: "needs a key"}}},
		{"missing key file", head + "signers: [{key: other.pub}]\n", []want{{line: 4, path: "signers[0].key", msg: "cannot read the public key policies/other.pub"}}},
		{"not a public key", head + "signers: [{key: policy.yaml}]\n", []want{{line: 4, path: "signers[0].key", msg: "holds no PEM public key"}}},
		{"match both", head + "signers: [{key: cosign.pub}]\nattestations:\n  - type: slsaprovenance1\n    provenance:\n      builderID: {exact: a, prefix: b}\n",
			[]want{{line: 8, path: "attestations[0].provenance.builderID", msg: "either exact or prefix"}}},
		{"empty vuln", head + "signers: [{key: cosign.pub}]\nattestations:\n  - type: vuln\n    vuln: {}\n",
			[]want{{line: 7, path: "attestations[0].vuln", msg: "maxAge or maxSeverity"}}},
		{"bad severity", head + "signers: [{key: cosign.pub}]\nattestations:\n  - type: vuln\n    vuln: {maxSeverity: hihg}\n",
			[]want{{line: 7, path: "attestations[0].vuln.maxSeverity", msg: "did you mean `high`?"}}},
		{"bad duration", head + "signers: [{key: cosign.pub}]\nattestations:\n  - type: vuln\n    vuln: {maxAge: 7 days}\n",
			[]want{{line: 7, path: "attestations[0].vuln.maxAge", msg: "expected a duration"}}},
		{"no type", head + "signers: [{key: cosign.pub}]\nattestations:\n  - signers: [{key: cosign.pub}]\n",
			[]want{{line: 6, path: "attestations[0]", msg: "needs a type"}}},
		{"a list", "- a\n", []want{{line: 1, msg: "expected a mapping"}}},
		{"unsupported KMS schemes", head + "signers:\n  - key: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k\n  - key: azurekms://vault.example/key\nattestations:\n  - type: vuln\n    signers: [{key: k8s://ns/secret}]\n",
			[]want{{line: 5, path: "signers[0].key", msg: "gcpkms:// keys are not supported"},
				{line: 6, path: "signers[1].key", msg: "azurekms:// keys are not supported"},
				{line: 9, path: "attestations[0].signers[0].key", msg: "k8s:// keys are not supported: a signer's key is a PEM public key file, the PEM itself, or an awskms:// or hashivault:// KMS key URI"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadPolicy(t, memFS{"policies/policy.yaml": tt.yaml})
			for i := range tt.want {
				tt.want[i].file = "policies/policy.yaml"
			}
			checkProblems(t, err, tt.want)
		})
	}
}

// A signer's awskms:// or hashivault:// key URI is kept as written: not
// read as a file relative to the policy, nor contacted.
func TestLoadPolicyKMSKeys(t *testing.T) {
	files := memFS{"policies/policy.yaml": "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\nsigners:\n  - key: awskms://localhost:4566/alias/release\n  - key: awskms:///arn:aws:kms:eu-west-2:111122223333:alias/release\nattestations:\n  - type: vuln\n    signers: [{key: hashivault://release}]\n"}
	var read []string
	p, err := api.LoadPolicy(context.Background(), "policies/policy.yaml", api.WithReadFile(func(path string) ([]byte, error) {
		read = append(read, path)
		return files.read(path)
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []api.PolicySigner{{Key: "awskms://localhost:4566/alias/release"}, {Key: "awskms:///arn:aws:kms:eu-west-2:111122223333:alias/release"}}
	if diff := cmp.Diff(want, p.Signers); diff != "" {
		t.Errorf("signers (-want +got):\n%s", diff)
	}
	if got := p.Attestations[0].Signers[0].Key; got != "hashivault://release" {
		t.Errorf("attestation signer key = %q", got)
	}
	if diff := cmp.Diff([]string{"policies/policy.yaml"}, read); diff != "" {
		t.Errorf("files read (-want +got):\n%s", diff)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	p.Signers[0].Key = "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "signers[0].key: gcpkms:// keys are not supported") {
		t.Errorf("Validate with a gcpkms:// key = %v", err)
	}
}

// The checks of WithPolicyCheck run on a policy that decoded cleanly, and
// their problems get the line of their path.
func TestLoadPolicyCheck(t *testing.T) {
	files := memFS{"policies/policy.yaml": "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\nsigners: [{key: cosign.pub}]\nattestations:\n  - type: cyclonedx\n  - type: nonsense\n"}
	check := api.WithPolicyCheck(func(p *api.ImagePolicy) []api.Problem {
		var out []api.Problem
		for i, a := range p.Attestations {
			if a.Type == "nonsense" {
				out = append(out, api.Problem{Path: "attestations[" + string(rune('0'+i)) + "].type", Message: "unknown type"})
			}
		}
		return out
	})
	_, err := loadPolicy(t, files, check)
	checkProblems(t, err, []want{{file: "policies/policy.yaml", line: 7, path: "attestations[1].type", msg: "unknown type"}})
}

func TestLoadPolicyFileErrors(t *testing.T) {
	_, err := api.LoadPolicy(context.Background(), "does-not-exist.yaml")
	if outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("missing file: %v (code %d), want invalid", err, outcome.Code(err))
	}
	dir := t.TempDir()
	_, err = api.LoadPolicy(context.Background(), dir) // a directory: unreadable, not missing
	if outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("directory: %v (code %d), want operational", err, outcome.Code(err))
	}
}

func TestPolicyValidate(t *testing.T) {
	p := &api.ImagePolicy{APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: "p",
		Signers:      []api.PolicySigner{{Key: testPublicKey}},
		Attestations: []api.PolicyAttestation{{Type: "vuln", Vuln: &api.VulnRequirement{MaxSeverity: api.MaxSeverityNone}}}}
	if err := p.Validate(); err != nil {
		t.Errorf("valid policy: %v", err)
	}
	p.Signers = append(p.Signers, api.PolicySigner{Subject: "a@example.com"})
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "signers[1]: a keyless signer needs issuer") {
		t.Errorf("identity without issuer: %v", err)
	}
}

const policySchemaFile = "../../schema/sc-policy.schema.json"

// TestPolicySchemaGolden keeps schema/sc-policy.schema.json equal to what
// the Go types generate. Refresh it with: go test ./pkg/api -run Schema -update
func TestPolicySchemaGolden(t *testing.T) {
	got, err := api.PolicySchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(policySchemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(policySchemaFile)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/api -run Schema -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./pkg/api -run Schema -update (-committed +generated):\n%s", policySchemaFile, diff)
	}
}

// TestPolicySchema accepts the example policy and rejects what the loader
// rejects on structure alone.
func TestPolicySchema(t *testing.T) {
	sch := compileSchemaOf(t, api.PolicySchema, api.PolicySchemaID)
	text, err := os.ReadFile("../../examples/policies/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(yamlInstance(t, text)); err != nil {
		t.Errorf("examples/policies/shop.yaml: %v", err)
	}
	if _, err := api.LoadPolicy(context.Background(), "../../examples/policies/shop.yaml"); err != nil {
		t.Errorf("examples/policies/shop.yaml does not load: %v", err)
	}
	const head = "apiVersion: sc.dev/v1\nkind: ImagePolicy\nname: shop\n"
	for name, text := range map[string]string{
		"unknown field":  head + "signers: [{key: k, trasparency: true}]",
		"no signers":     head + "signers: []",
		"wrong kind":     "apiVersion: sc.dev/v1\nkind: Policy\nname: shop\nsigners: [{key: k}]",
		"match both":     head + "signers: [{key: k}]\nattestations: [{type: slsaprovenance1, provenance: {builderID: {exact: a, prefix: b}}}]",
		"bad severity":   head + "signers: [{key: k}]\nattestations: [{type: vuln, vuln: {maxSeverity: severe}}]",
		"no name":        "apiVersion: sc.dev/v1\nkind: ImagePolicy\nsigners: [{key: k}]",
		"type missing":   head + "signers: [{key: k}]\nattestations: [{}]",
		"unanchored re":  head + "signers: [{subjectRegExp: 'a.*', issuer: x}]",
		"duration wrong": head + "signers: [{key: k}]\nattestations: [{type: vuln, vuln: {maxAge: 7}}]",
	} {
		if err := sch.Validate(yamlInstance(t, []byte(text))); err == nil {
			t.Errorf("%s: the schema accepts %s", name, text)
		}
	}
	if err := sch.Validate(yamlInstance(t, []byte(head+"signers: [{key: k}]\nattestations: [{type: vuln, vuln: {maxSeverity: none}}]"))); err != nil {
		t.Errorf("maxSeverity none: %v", err)
	}
}

// MarshalPolicy writes what LoadPolicy reads back as the same policy.
func TestMarshalPolicyRoundTrip(t *testing.T) {
	p := &api.ImagePolicy{APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: "shop",
		Images:  []string{"registry.example.com/shop/api:*"},
		Signers: []api.PolicySigner{{Key: testPublicKey, Transparency: new(true)}, {SubjectRegExp: `^https://github\.com/acme/.*$`, Issuer: "https://token.actions.githubusercontent.com"}},
		Attestations: []api.PolicyAttestation{
			{Type: "cyclonedx"},
			{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: "https://example.com/builder"}}},
			{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: api.Duration(36 * 3600e9), MaxSeverity: api.MaxSeverityNone}},
		}}
	b, err := api.MarshalPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loadPolicy(t, memFS{"policies/policy.yaml": string(b)})
	if err != nil {
		t.Fatalf("LoadPolicy:\n%v\n%s", err, b)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, b)
	}
	if !strings.Contains(string(b), "key: |") {
		t.Errorf("the PEM key is not a literal block:\n%s", b)
	}
}
