package export_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy/export"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// loadPolicy reads a policy file into api.ImagePolicy (strictly: an
// unknown field is a test bug), with its key files read from testdata.
func loadPolicy(t *testing.T, file string) *api.ImagePolicy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var p api.ImagePolicy
	if err := yaml.UnmarshalWithOptions(data, &p, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &p
}

func readTestdata(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", path))
}

func exportOrFail(t *testing.T, p *api.ImagePolicy, f export.Format, opts ...export.Option) []byte {
	t.Helper()
	out, err := export.Export(p, f, append([]export.Option{export.WithReadFile(readTestdata)}, opts...)...)
	if err != nil {
		t.Fatalf("Export %s: %v", f, err)
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", name, diff)
	}
}

// The exported policies are what the golden files show, and each
// validates against the CRD schema of its engine.
func TestExportGolden(t *testing.T) {
	p := loadPolicy(t, "policy.yaml")
	for _, c := range []struct {
		golden string
		format export.Format
		sig    api.SignatureFormat
		crd    *crd
	}{
		{"kyverno-bundle.golden.yaml", export.FormatKyverno, api.SignatureBundle, kyvernoCRD},
		{"kyverno-legacy.golden.yaml", export.FormatKyverno, api.SignatureLegacy, kyvernoCRD},
		{"policy-controller-legacy.golden.yaml", export.FormatPolicyController, api.SignatureLegacy, policyControllerCRD},
	} {
		t.Run(c.golden, func(t *testing.T) {
			out := exportOrFail(t, p, c.format, export.WithSignatureFormat(c.sig))
			golden(t, c.golden, out)
			if err := c.crd.validate(t, out); err != nil {
				t.Errorf("the exported policy does not validate against %s:\n%v", c.crd.file, err)
			}
		})
	}
}

// The default is sc's default signature format, bundle.
func TestExportDefaultFormatIsBundle(t *testing.T) {
	p := loadPolicy(t, "policy.yaml")
	def := exportOrFail(t, p, export.FormatKyverno)
	bundle := exportOrFail(t, p, export.FormatKyverno, export.WithSignatureFormat(api.SignatureBundle))
	if !bytes.Equal(def, bundle) {
		t.Error("the default export is not the bundle export")
	}
	if !bytes.Contains(def, []byte("type: SigstoreBundle")) {
		t.Errorf("a bundle policy does not verify Sigstore bundles:\n%s", def)
	}
}

// A keyless-only policy exports to policy-controller in the bundle format
// too, and every variant of the requirements validates.
func TestExportVariantsValidate(t *testing.T) {
	keyless := api.PolicySigner{SubjectRegExp: `^https://github\.com/example/.*$`, Issuer: "https://token.actions.githubusercontent.com"}
	off := false
	cases := map[string]*api.ImagePolicy{
		"signature only": {Name: "sig", Signers: []api.PolicySigner{keyless}},
		"no transparency": {Name: "notlog", Signers: []api.PolicySigner{{
			Subject: "ci@example.com", IssuerRegExp: `^https://issuer\.example\.com/.*$`, Transparency: &off,
		}}},
		"no findings at all": {Name: "none", Signers: []api.PolicySigner{keyless}, Attestations: []api.PolicyAttestation{
			{Type: "vuln", Vuln: &api.VulnRequirement{MaxSeverity: "none"}},
			{Type: "https://cosign.sigstore.dev/attestation/vuln/v1", Vuln: &api.VulnRequirement{MaxAge: api.Duration(36e11)}},
			{Type: "https://example.com/review/v1"},
			{Type: "openvex"},
		}},
		"provenance exact source": {Name: "prov", Signers: []api.PolicySigner{keyless}, Attestations: []api.PolicyAttestation{
			{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{SourceRepository: &api.Match{Exact: "https://github.com/example/it's"}}},
		}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			for _, f := range []struct {
				format export.Format
				crd    *crd
			}{{export.FormatKyverno, kyvernoCRD}, {export.FormatPolicyController, policyControllerCRD}} {
				for _, sig := range []api.SignatureFormat{api.SignatureBundle, api.SignatureLegacy} {
					out := exportOrFail(t, p, f.format, export.WithSignatureFormat(sig))
					if err := f.crd.validate(t, out); err != nil {
						t.Errorf("%s %s does not validate:\n%v\n%s", f.format, sig, err, out)
					}
				}
			}
		})
	}
}

// The schema check can fail: a misspelt field, a wrong type and a value
// outside an enum in an otherwise valid export are each refused.
func TestSchemaRefusesWrongFields(t *testing.T) {
	p := loadPolicy(t, "policy.yaml")
	kv := exportOrFail(t, p, export.FormatKyverno)
	cip := exportOrFail(t, p, export.FormatPolicyController, export.WithSignatureFormat(api.SignatureLegacy))
	for _, c := range []struct {
		name     string
		crd      *crd
		doc      []byte
		old, new string
	}{
		{"kyverno unknown field", kyvernoCRD, kv, "publicKeys:", "publicKey:"},
		{"kyverno wrong type", kyvernoCRD, kv, "count: 1", "count: one"},
		{"kyverno enum", kyvernoCRD, kv, "type: SigstoreBundle", "type: Sigstore"},
		{"kyverno operator", kyvernoCRD, kv, "operator: LessThanOrEquals", "operator: AtMost"},
		{"policy-controller unknown field", policyControllerCRD, cip, "predicateType:", "predicate:"},
		{"policy-controller wrong type", policyControllerCRD, cip, "- glob: registry.example.com/shop/*", "- glob: [registry.example.com/shop/*]"},
		{"policy-controller unknown authority field", policyControllerCRD, cip, "hashAlgorithm:", "hash:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(c.doc, []byte(c.old)) {
				t.Fatalf("the export has no %q to break", c.old)
			}
			bad := bytes.Replace(c.doc, []byte(c.old), []byte(c.new), 1)
			if err := c.crd.validate(t, bad); err == nil {
				t.Errorf("%q instead of %q validates", c.new, c.old)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	pub, err := os.ReadFile("testdata/cosign.pub")
	if err != nil {
		t.Fatal(err)
	}
	key := api.PolicySigner{Key: string(pub)}
	id := api.PolicySigner{Subject: "ci@example.com", Issuer: "https://issuer.example.com"}
	for _, c := range []struct {
		name   string
		p      *api.ImagePolicy
		format export.Format
		opts   []export.Option
		want   error
		says   string
	}{
		{"key bundle policy-controller", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{key}}, export.FormatPolicyController, nil, export.ErrUnsupported, "keyless signers only"},
		{"attestation key bundle policy-controller", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "vuln", Signers: []api.PolicySigner{key}, Vuln: &api.VulnRequirement{MaxSeverity: "high"}}}}, export.FormatPolicyController, nil, export.ErrUnsupported, "legacy"},
		{"no signers", &api.ImagePolicy{Name: "p"}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "no signers"},
		{"key and identity", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{Key: string(pub), Subject: "a", Issuer: "b"}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "signers[0]"},
		{"subject without issuer", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{Subject: "a"}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "issuer"},
		{"bad regexp", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{SubjectRegExp: "^(a$", Issuer: "b"}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "regular expression"},
		{"not a key", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{Key: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "PEM public key"},
		{"name", &api.ImagePolicy{Name: "Shop Release", Signers: []api.PolicySigner{id}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "name"},
		{"type", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "sbom"}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "attestations[0]"},
		{"vuln on provenance", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "slsaprovenance1", Vuln: &api.VulnRequirement{MaxSeverity: "high"}}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "vuln"},
		{"provenance on vuln", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "vuln", Provenance: &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: "x"}}}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "slsaprovenance1"},
		{"exact and prefix", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: "x", Prefix: "y"}}}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "builderID"},
		{"severity", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "vuln", Vuln: &api.VulnRequirement{MaxSeverity: "severe"}}}}, export.FormatKyverno, nil, export.ErrInvalidPolicy, "maxSeverity"},
		{"braces for kyverno", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{BuilderID: &api.Match{Exact: "https://ci/{{request.object}}"}}}}}, export.FormatKyverno, nil, export.ErrUnsupported, "braces"},
		{"signature format", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}}, export.FormatKyverno, []export.Option{export.WithSignatureFormat("oci")}, export.ErrInvalidPolicy, "oci"},
		{"format", &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}}, "gatekeeper", nil, outcome.ErrInvalid, "gatekeeper"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := export.Export(c.p, c.format, c.opts...)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Export: %v (%d bytes), want %v saying %q", err, len(out), c.want, c.says)
			}
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitInvalid)
			}
		})
	}
}

// A signer whose key is a KMS URI exports as Kyverno's keys.kms and
// policy-controller's key.kms (the engine reads the key from the KMS),
// with no key material, and validates against both CRDs;
// policy-controller refuses an awskms:// key that is not an ARN, and no
// engine gets a scheme sc does not support.
func TestExportKMSKeys(t *testing.T) {
	const (
		arn   = "awskms://kms.eu-west-2.amazonaws.com:443/arn:aws:kms:eu-west-2:111122223333:alias/release"
		alias = "awskms://127.0.0.1:4566/alias/release"
		vault = "hashivault://release"
	)
	p := &api.ImagePolicy{Name: "kms", Signers: []api.PolicySigner{{Key: arn}}, Attestations: []api.PolicyAttestation{
		{Type: "vuln", Signers: []api.PolicySigner{{Key: vault}}, Vuln: &api.VulnRequirement{MaxSeverity: "high"}},
	}}
	for _, c := range []struct {
		format export.Format
		sig    api.SignatureFormat
		crd    *crd
	}{
		{export.FormatKyverno, api.SignatureBundle, kyvernoCRD},
		{export.FormatKyverno, api.SignatureLegacy, kyvernoCRD},
		{export.FormatPolicyController, api.SignatureLegacy, policyControllerCRD},
	} {
		t.Run(string(c.format)+" "+string(c.sig), func(t *testing.T) {
			out, err := export.Export(p, c.format, export.WithSignatureFormat(c.sig), export.WithReadFile(func(path string) ([]byte, error) {
				t.Errorf("Export read %s for a KMS key", path)
				return nil, os.ErrNotExist
			}))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.crd.validate(t, out); err != nil {
				t.Errorf("does not validate: %v\n%s", err, out)
			}
			for _, uri := range []string{arn, vault} {
				if !bytes.Contains(out, []byte("kms: "+uri+"\n")) {
					t.Errorf("no kms: %s in\n%s", uri, out)
				}
			}
			for _, no := range []string{"publicKeys:", "BEGIN PUBLIC KEY"} {
				if bytes.Contains(out, []byte(no)) {
					t.Errorf("a KMS-only policy exports %q:\n%s", no, out)
				}
			}
		})
	}
	t.Run("policy-controller alias", func(t *testing.T) {
		q := &api.ImagePolicy{Name: "kms", Signers: []api.PolicySigner{{Key: alias}}}
		_, err := export.Export(q, export.FormatPolicyController, export.WithSignatureFormat(api.SignatureLegacy))
		if !errors.Is(err, export.ErrUnsupported) || !strings.Contains(err.Error(), "ARN") || !strings.Contains(err.Error(), alias) {
			t.Errorf("Export of %s for policy-controller: %v, want ErrUnsupported asking for an ARN", alias, err)
		}
		if _, err := export.Export(q, export.FormatKyverno); err != nil {
			t.Errorf("Kyverno takes an alias: %v", err)
		}
	})
	t.Run("policy-controller bundle", func(t *testing.T) {
		_, err := export.Export(p, export.FormatPolicyController)
		if !errors.Is(err, export.ErrUnsupported) {
			t.Errorf("a KMS key in the bundle format for policy-controller: %v, want ErrUnsupported", err)
		}
	})
	for _, uri := range []string{"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "azurekms://vault.example/key", "k8s://ns/secret"} {
		q := &api.ImagePolicy{Name: "kms", Signers: []api.PolicySigner{{Key: uri}}}
		for _, f := range export.Formats() {
			_, err := export.Export(q, f, export.WithSignatureFormat(api.SignatureLegacy))
			if !errors.Is(err, export.ErrInvalidPolicy) || !strings.Contains(err.Error(), uri) {
				t.Errorf("Export %s of %s: %v, want ErrInvalidPolicy naming it", f, uri, err)
			}
		}
	}
}

// With a private instance's trusted root, Kyverno's legacy attestors carry
// its Fulcio roots, Rekor URL and key and CT log key, and policy-controller's
// export is a TrustRoot with the same material followed by a
// ClusterImagePolicy whose authorities name it; each document validates
// against its CRD. The bundle format, which neither engine can verify
// against a private instance's material, is refused for signers that need
// it.
func TestExportTrustedRoot(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot()
	id := api.PolicySigner{Subject: "ci@example.com", Issuer: ss.OIDCIssuerURL}
	p := &api.ImagePolicy{Name: "private", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{
		{Type: "vuln", Vuln: &api.VulnRequirement{MaxSeverity: "high"}},
	}}
	ca := tr.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	var rekorPEM, ctPEM []byte
	for _, l := range tr.RekorLogs() {
		rekorPEM, _ = cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
	}
	for _, l := range tr.CTLogs() {
		ctPEM, _ = cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw})

	t.Run("kyverno", func(t *testing.T) {
		out := exportOrFail(t, p, export.FormatKyverno, export.WithSignatureFormat(api.SignatureLegacy), export.WithTrustedRoot(tr))
		if err := kyvernoCRD.validate(t, out); err != nil {
			t.Errorf("does not validate: %v\n%s", err, out)
		}
		var doc struct {
			Spec struct {
				Rules []struct {
					VerifyImages []struct {
						Attestors []struct {
							Entries []struct {
								Keyless struct {
									Roots string
									Rekor struct{ URL, PubKey string }
									CTLog struct{ PubKey string }
								} `yaml:"keyless"`
							}
						}
					} `yaml:"verifyImages"`
				}
			}
		}
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		k := doc.Spec.Rules[0].VerifyImages[0].Attestors[0].Entries[0].Keyless
		if !strings.Contains(k.Roots, string(rootPEM)) || k.Rekor.URL != ss.RekorURL || k.Rekor.PubKey != string(rekorPEM) || k.CTLog.PubKey != string(ctPEM) {
			t.Errorf("the keyless attestor does not carry the instance's material: %+v\n%s", k, out)
		}
		if bytes.Contains(out, []byte("rekor.sigstore.dev")) {
			t.Errorf("the private policy names the public Rekor:\n%s", out)
		}
		_, err := export.Export(p, export.FormatKyverno, export.WithTrustedRoot(tr))
		if !errors.Is(err, export.ErrUnsupported) || !strings.Contains(err.Error(), "TUF") {
			t.Errorf("a bundle export with a trusted root: %v, want ErrUnsupported saying why", err)
		}
	})
	t.Run("policy-controller", func(t *testing.T) {
		_, err := export.Export(p, export.FormatPolicyController, export.WithTrustedRoot(tr))
		if !errors.Is(err, export.ErrUnsupported) || !strings.Contains(err.Error(), "legacy") {
			t.Errorf("a bundle export with a trusted root: %v, want ErrUnsupported saying to use legacy", err)
		}
		for _, sig := range []api.SignatureFormat{api.SignatureLegacy} {
			out := exportOrFail(t, p, export.FormatPolicyController, export.WithSignatureFormat(sig), export.WithTrustedRoot(tr))
			docs := strings.Split(string(out), "\n---\n")
			if len(docs) != 2 {
				t.Fatalf("%d documents, want a TrustRoot and a ClusterImagePolicy:\n%s", len(docs), out)
			}
			if err := trustRootCRD.validate(t, []byte(docs[0])); err != nil {
				t.Errorf("the TrustRoot does not validate: %v\n%s", err, docs[0])
			}
			if err := policyControllerCRD.validate(t, []byte(docs[1])); err != nil {
				t.Errorf("the ClusterImagePolicy does not validate: %v\n%s", err, docs[1])
			}
			var trust struct {
				Kind     string
				Metadata struct{ Name string }
				Spec     struct {
					SigstoreKeys struct {
						CertificateAuthorities []struct {
							URI       string
							CertChain string `yaml:"certChain"`
						} `yaml:"certificateAuthorities"`
						TLogs []struct {
							BaseURL   string `yaml:"baseURL"`
							PublicKey string `yaml:"publicKey"`
						} `yaml:"tLogs"`
					} `yaml:"sigstoreKeys"`
				}
			}
			if err := yaml.Unmarshal([]byte(docs[0]), &trust); err != nil {
				t.Fatal(err)
			}
			keys := trust.Spec.SigstoreKeys
			if trust.Kind != "TrustRoot" || trust.Metadata.Name != "private" || len(keys.CertificateAuthorities) != 1 || len(keys.TLogs) != 1 {
				t.Fatalf("TrustRoot: %+v", trust)
			}
			chain, _ := base64.StdEncoding.DecodeString(keys.CertificateAuthorities[0].CertChain)
			rekor, _ := base64.StdEncoding.DecodeString(keys.TLogs[0].PublicKey)
			if !bytes.HasSuffix(chain, rootPEM) || keys.CertificateAuthorities[0].URI != ss.FulcioURL || !bytes.Equal(rekor, rekorPEM) || keys.TLogs[0].BaseURL != ss.RekorURL {
				t.Errorf("the TrustRoot does not hold the instance's material:\n%s", docs[0])
			}
			for _, want := range []string{"trustRootRef: private", "url: " + ss.FulcioURL, "url: " + ss.RekorURL} {
				if !strings.Contains(docs[1], want) {
					t.Errorf("the ClusterImagePolicy lacks %q:\n%s", want, docs[1])
				}
			}
		}
	})
}

// policy-controller v0.13 verifies image signatures in the legacy format
// only (cosign v2.5's VerifyImageSignatures refuses bundles) and bundle
// attestations: in the bundle format the signature authority requires the
// signature's own statement as an attestation.
func TestExportPolicyControllerBundleSignature(t *testing.T) {
	p := &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{Subject: "ci@example.com", Issuer: "https://issuer.example.com"}}}
	var doc struct {
		Spec struct {
			Authorities []struct {
				Name            string
				SignatureFormat string `yaml:"signatureFormat"`
				Attestations    []struct {
					PredicateType string `yaml:"predicateType"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(exportOrFail(t, p, export.FormatPolicyController), &doc); err != nil {
		t.Fatal(err)
	}
	a := doc.Spec.Authorities
	if len(a) != 1 || a[0].SignatureFormat != "bundle" || len(a[0].Attestations) != 1 || a[0].Attestations[0].PredicateType != "https://sigstore.dev/cosign/sign/v1" {
		t.Errorf("bundle signature authority: %+v", a)
	}
	if err := yaml.Unmarshal(exportOrFail(t, p, export.FormatPolicyController, export.WithSignatureFormat(api.SignatureLegacy)), &doc); err != nil {
		t.Fatal(err)
	}
	if a := doc.Spec.Authorities; len(a) != 1 || len(a[0].Attestations) != 0 {
		t.Errorf("legacy signature authority: %+v", a)
	}
}

// A key file that cannot be read is an error naming the signer.
func TestExportKeyFile(t *testing.T) {
	p := &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{{Key: "missing.pub"}}}
	_, err := export.Export(p, export.FormatKyverno, export.WithReadFile(readTestdata))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "signers[0]") {
		t.Errorf("Export with a missing key file: %v", err)
	}
}

// crd is one engine's CRD, as copied into testdata/crds (README.md), and
// the version sc writes.
type crd struct {
	file, sha256, version string
	once                  sync.Once
	schema                *jsonschema.Schema
	err                   error
}

var (
	kyvernoCRD = &crd{
		file:    "kyverno.io_clusterpolicies.yaml.gz",
		sha256:  "8b567653a33c7db9843ec2d2c2f4845625bed6d4b005dbb5485e6646b9376703",
		version: "v1",
	}
	policyControllerCRD = &crd{
		file:    "300-clusterimagepolicy.yaml",
		sha256:  "e23467593124763d9937b1180d48cefe89dc72cf04e9bcf84cbf29822d51b20c",
		version: "v1beta1",
	}
	trustRootCRD = &crd{
		file:    "300-trustroot.yaml",
		sha256:  "aeda3d8b1399fc41f23d2fd00a5aa34fabe9b9f56bb273129035d7ce51672155",
		version: "v1alpha1",
	}
)

// validate checks a YAML document against the CRD's schema.
func (c *crd) validate(t *testing.T, doc []byte) error {
	t.Helper()
	c.once.Do(func() { c.schema, c.err = c.compile() })
	if c.err != nil {
		t.Fatalf("%s: %v", c.file, c.err)
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("the export is not YAML: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return c.schema.Validate(v)
}

func (c *crd) compile() (*jsonschema.Schema, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "crds", c.file))
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(c.file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != c.sha256 {
		return nil, errors.New("the CRD is not the one testdata/crds/README.md names")
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	var schema any
	spec, _ := doc.(map[string]any)["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	for _, v := range versions {
		v, _ := v.(map[string]any)
		if v["name"] == c.version {
			schema = v["schema"].(map[string]any)["openAPIV3Schema"]
		}
	}
	if schema == nil {
		return nil, errors.New("no schema for version " + c.version)
	}
	// every object has these, whether its CRD names them or not
	root, _ := schema.(map[string]any)
	props, _ := root["properties"].(map[string]any)
	for k, typ := range map[string]string{"apiVersion": "string", "kind": "string", "metadata": "object"} {
		if _, ok := props[k]; !ok {
			props[k] = map[string]any{"type": typ}
		}
	}
	strict(schema)
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("file:///crd.json", schema); err != nil {
		return nil, err
	}
	return comp.Compile("file:///crd.json")
}

// strict makes a structural schema refuse what the API server would prune
// (as kubectl apply --validate=strict does) and accept null where it says
// nullable.
func strict(s any) {
	switch s := s.(type) {
	case map[string]any:
		_, props := s["properties"]
		_, extra := s["additionalProperties"]
		if props && !extra && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		if s["nullable"] == true {
			if typ, ok := s["type"].(string); ok {
				s["type"] = []any{typ, "null"}
			}
		}
		for _, v := range s {
			strict(v)
		}
	case []any:
		for _, v := range s {
			strict(v)
		}
	}
}

// maxSeverity forbids exactly the severities above it: critical allows
// every finding, none allows no finding at all.
func TestMaxSeverity(t *testing.T) {
	id := api.PolicySigner{Subject: "ci@example.com", Issuer: "https://issuer.example.com"}
	for _, c := range []struct {
		max       api.Severity
		kyverno   string // the length() condition, "" for none
		forbidden string // the Rego condition, "" for none
	}{
		{"critical", "", ""},
		{"high", "length(scanner.result.matches[?severity == 'critical'] || `[]`)", `forbidden := {"critical"}`},
		{"low", "length(scanner.result.matches[?severity == 'critical' || severity == 'high' || severity == 'medium'] || `[]`)", `forbidden := {"critical", "high", "medium"}`},
		{"unknown", "severity == 'negligible'] || `[]`)", `"low", "negligible"}`},
		{"none", "length(scanner.result.matches || `[]`)", "count([m | m := input.predicate.scanner.result.matches[_]]) == 0"},
	} {
		t.Run(string(c.max), func(t *testing.T) {
			p := &api.ImagePolicy{Name: "p", Signers: []api.PolicySigner{id}, Attestations: []api.PolicyAttestation{
				{Type: "vuln", Vuln: &api.VulnRequirement{MaxSeverity: c.max}},
			}}
			kv := string(exportOrFail(t, p, export.FormatKyverno))
			cip := string(exportOrFail(t, p, export.FormatPolicyController))
			if c.kyverno == "" {
				if strings.Contains(kv, "length(") || strings.Contains(cip, "count(") {
					t.Errorf("maxSeverity %s restricts findings:\n%s\n%s", c.max, kv, cip)
				}
				return
			}
			if !strings.Contains(kv, c.kyverno) {
				t.Errorf("the Kyverno policy lacks %s:\n%s", c.kyverno, kv)
			}
			if !strings.Contains(cip, c.forbidden) {
				t.Errorf("the ClusterImagePolicy lacks %s:\n%s", c.forbidden, cip)
			}
			if c.max == "unknown" && strings.Contains(kv, "severity == 'unknown'") {
				t.Errorf("maxSeverity unknown forbids unknown:\n%s", kv)
			}
		})
	}
}
