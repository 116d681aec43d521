package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
)

// effective loads a stack file with one service and returns its effective
// security.
func effective(t *testing.T, dir, security string) *api.Security {
	t.Helper()
	file := filepath.Join(dir, "sc.yaml")
	text := "stacks:\n  prod:\n    security:\n" + security + "    services:\n      api: {image: registry.example.com/shop/api:1}\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := api.Load(context.Background(), file)
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	return &rel.Services[0].Security
}

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t)
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), []byte(k.pem), 0o644); err != nil {
		t.Fatal(err)
	}
	week := api.Duration(7 * 24 * 3600e9)
	tests := []struct {
		name     string
		security string
		want     *api.ImagePolicy
		says     string // for an error
	}{{
		name: "key, defaults",
		security: "      signing: {privateKey: cosign.key, publicKey: cosign.pub}\n" +
			"      provenance: {builder: {id: https://example.com/builder}}\n",
		want: &api.ImagePolicy{Signers: []api.PolicySigner{{Key: k.pem, Transparency: new(true)}},
			Attestations: []api.PolicyAttestation{
				{Type: "cyclonedx"},
				{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: "https://example.com/builder"}}},
				{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: week, MaxSeverity: api.SeverityMedium}},
			}},
	}, {
		name: "key without a log, spdx, failOn critical, no provenance",
		security: "      signing: {privateKey: cosign.key, publicKey: cosign.pub, tlogUpload: false}\n" +
			"      sbom: {format: spdx-json}\n      provenance: {enabled: false}\n      scan: {failOn: critical}\n",
		want: &api.ImagePolicy{Signers: []api.PolicySigner{{Key: k.pem}},
			Attestations: []api.PolicyAttestation{
				{Type: "spdxjson"},
				{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: week, MaxSeverity: api.SeverityHigh}},
			}},
	}, {
		name: "keyless, an SBOM not attached, no vuln attestation when scan.attest is off",
		security: "      signing:\n        keyless: true\n        verify: {oidcIssuer: https://token.actions.githubusercontent.com, identityRegexp: '^https://github\\.com/acme/.*$'}\n" +
			"      sbom: {attach: false, output: sbom.json}\n      scan: {attest: false}\n",
		want: &api.ImagePolicy{Signers: []api.PolicySigner{{SubjectRegExp: `^https://github\.com/acme/.*$`, Issuer: "https://token.actions.githubusercontent.com"}},
			Attestations: []api.PolicyAttestation{{Type: "slsaprovenance1"}}},
	}, {
		name:     "failOn unknown allows nothing",
		security: "      signing: {privateKey: cosign.key, publicKey: cosign.pub}\n      sbom: {enabled: false}\n      provenance: {enabled: false}\n      scan: {failOn: unknown, warnOn: ''}\n",
		want: &api.ImagePolicy{Signers: []api.PolicySigner{{Key: k.pem, Transparency: new(true)}},
			Attestations: []api.PolicyAttestation{{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: week, MaxSeverity: api.MaxSeverityNone}}}},
	}, {
		name:     "a private key without its public key",
		security: "      signing: {privateKey: cosign.key}\n",
		says:     "set signing.publicKey",
	}, {
		name:     "no signing",
		security: "      scan: {failOn: high}\n",
		says:     "signing is off",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := effective(t, dir, tt.security)
			got, err := policy.FromConfig(t.Context(), "Shop API", []string{"registry.example.com/shop/api:*"}, sec, week, os.ReadFile)
			if tt.want == nil {
				if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("FromConfig: %v, want invalid saying %q", err, tt.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.APIVersion, tt.want.Kind, tt.want.Name = api.PolicyAPIVersion, api.ImagePolicyKind, "shop-api"
			tt.want.Images = []string{"registry.example.com/shop/api:*"}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
			// what it writes, Load reads back the same
			b, err := api.MarshalPolicy(got)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := policy.Load(context.Background(), file)
			if err != nil {
				t.Fatalf("Load:\n%v\n%s", err, b)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("round trip (-wrote +read):\n%s", diff)
			}
		})
	}
}
