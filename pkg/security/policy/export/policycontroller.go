package export

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/signing"
)

// The ClusterImagePolicy, as far as sc writes it: policy.sigstore.dev/v1beta1
// of policy-controller v0.13 (pkg/apis/policy/v1beta1 in
// github.com/sigstore/policy-controller). Its types are not imported: they
// bring Knative and Kubernetes along; the tests check these structs
// against the CRD's schema.

type cipPolicy struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       cipSpec    `yaml:"spec"`
}

type cipSpec struct {
	Images      []cipImage     `yaml:"images"`
	Authorities []cipAuthority `yaml:"authorities"`
	Policy      *cipRego       `yaml:"policy,omitempty"`
}

type cipImage struct {
	Glob string `yaml:"glob"`
}

type cipAuthority struct {
	Name            string           `yaml:"name"`
	Key             *cipKey          `yaml:"key,omitempty"`
	Keyless         *cipKeyless      `yaml:"keyless,omitempty"`
	CTLog           *cipCTLog        `yaml:"ctlog,omitempty"`
	SignatureFormat string           `yaml:"signatureFormat"`
	Attestations    []cipAttestation `yaml:"attestations,omitempty"`
}

type cipKey struct {
	Data          string `yaml:"data,omitempty"`
	KMS           string `yaml:"kms,omitempty"`
	HashAlgorithm string `yaml:"hashAlgorithm"`
}

type cipKeyless struct {
	URL          string        `yaml:"url"`
	TrustRootRef string        `yaml:"trustRootRef,omitempty"`
	Identities   []cipIdentity `yaml:"identities"`
}

type cipIdentity struct {
	Issuer        string `yaml:"issuer,omitempty"`
	IssuerRegExp  string `yaml:"issuerRegExp,omitempty"`
	Subject       string `yaml:"subject,omitempty"`
	SubjectRegExp string `yaml:"subjectRegExp,omitempty"`
}

// cipCTLog is the transparency log (Rekor, despite the name); without it
// policy-controller does not look for the signature in a log.
type cipCTLog struct {
	URL          string `yaml:"url"`
	TrustRootRef string `yaml:"trustRootRef,omitempty"`
}

type cipAttestation struct {
	Name          string   `yaml:"name"`
	PredicateType string   `yaml:"predicateType"`
	Policy        *cipRego `yaml:"policy,omitempty"`
}

type cipRego struct {
	Type string `yaml:"type"`
	Data string `yaml:"data"`
}

// publicFulcio is the certificate authority keyless signers are checked
// against.
const publicFulcio = "https://fulcio.sigstore.dev"

// clusterImagePolicy maps the policy onto policy-controller's model, where
// the authorities of a ClusterImagePolicy are alternatives (any one that
// verifies admits the image) and an authority with attestations checks
// only those. So each signer of the image signature is an authority
// "signature-<i>", each signer of the n-th attestation an authority
// "<name>-<i>", and the spec-level Rego policy, evaluated over the
// authorities that verified, requires one signature authority and, for
// every attestation, one of its authorities.
//
// In the bundle format the image signature is checked as an attestation:
// policy-controller v0.13.1 links cosign v2.5.0, whose
// VerifyImageSignatures refuses bundles outright ("bundle support for
// image signatures is not yet implemented", pkg/cosign/verify.go:593)
// while VerifyImageAttestations verifies them; a bundle signature is a
// DSSE envelope of an in-toto statement of predicate type
// signing.SignPredicateType about the image, so the signature authority
// requires that statement.
//
// A private instance's TrustRoot (sigstoreKeys) verifies the legacy format
// only: policy-controller records each log's ID as the bytes of its hex
// string (ConvertTransparencyLogInstance, pkg/apis/config/sigstore_keys.go:175,
// KeyId: []byte(logID)), which its legacy checks read back as that string
// (pkg/webhook/validator.go:1656) but sigstore-go, which verifies bundles
// (root.NewTrustedRootFromProtobuf, validator.go:1386), indexes by the hex
// of those bytes: no Rekor entry of a bundle is ever found ("not enough
// verified log entries from transparency log: 0 < 1").
func clusterImagePolicy(p *policy, format api.SignatureFormat, in *instance) (*cipPolicy, error) {
	if in != nil && format == api.SignatureBundle && p.needsSigstore() {
		return nil, fmt.Errorf("%w: policy-controller v0.13 cannot verify Sigstore bundles against a TrustRoot of sigstoreKeys (it files the transparency logs under IDs sigstore-go does not look up): export a private Sigstore's policy with the legacy signature format (images signed with signing.format: legacy)", ErrUnsupported)
	}
	trust := trustFor(p.name, in)
	globs := p.images
	if len(globs) == 0 {
		globs = []string{"**"}
	}
	spec := cipSpec{}
	for _, g := range globs {
		spec.Images = append(spec.Images, cipImage{Glob: g})
	}
	sigs := authorityGroup{what: "the image signature"}
	for i, s := range p.signers {
		a, err := cipAuthorityFor(s, fmt.Sprintf("signature-%d", i), format, trust)
		if err != nil {
			return nil, err
		}
		if format == api.SignatureBundle {
			a.Attestations = []cipAttestation{{Name: "signature", PredicateType: signing.SignPredicateType}}
		}
		spec.Authorities = append(spec.Authorities, a)
		sigs.names = append(sigs.names, a.Name)
	}
	groups := []authorityGroup{sigs}
	for _, att := range p.attestations {
		rego := cipAttestationPolicy(att)
		g := authorityGroup{what: "the " + att.predicateType + " attestation"}
		for i, s := range att.signers {
			a, err := cipAuthorityFor(s, fmt.Sprintf("%s-%d", att.name, i), format, trust)
			if err != nil {
				return nil, err
			}
			a.Attestations = []cipAttestation{{Name: att.name, PredicateType: att.predicateType, Policy: rego}}
			spec.Authorities = append(spec.Authorities, a)
			g.names = append(g.names, a.Name)
		}
		groups = append(groups, g)
	}
	if len(p.attestations) > 0 {
		spec.Policy = &cipRego{Type: "rego", Data: requireAll(groups)}
	}
	return &cipPolicy{
		APIVersion: "policy.sigstore.dev/v1beta1",
		Kind:       "ClusterImagePolicy",
		Metadata:   objectMeta{Name: p.name, Annotations: annotations()},
		Spec:       spec,
	}, nil
}

// cipTrust is where authorities find the Sigstore instance: the public
// one by URL, or a TrustRoot by name.
type cipTrust struct {
	fulcioURL, rekorURL, trustRoot string
}

func trustFor(name string, in *instance) cipTrust {
	if in == nil {
		return cipTrust{fulcioURL: publicFulcio, rekorURL: publicRekor}
	}
	return cipTrust{fulcioURL: in.fulcioURL, rekorURL: in.rekorURL, trustRoot: name}
}

func cipAuthorityFor(s signer, name string, format api.SignatureFormat, trust cipTrust) (cipAuthority, error) {
	a := cipAuthority{Name: name, SignatureFormat: string(format)}
	if s.transparency {
		a.CTLog = &cipCTLog{URL: trust.rekorURL, TrustRootRef: trust.trustRoot}
	}
	if !s.keyless() {
		if format == api.SignatureBundle {
			return a, fmt.Errorf("%w: policy-controller v0.13 verifies Sigstore bundles of keyless signers only; sign and attest with a key in the legacy format (signing.format: legacy) and export with the legacy signature format", ErrUnsupported)
		}
		if err := cipKMSKey(s.kms); err != nil {
			return a, err
		}
		a.Key = &cipKey{Data: s.pem, KMS: s.kms, HashAlgorithm: "sha256"}
		return a, nil
	}
	a.Keyless = &cipKeyless{URL: trust.fulcioURL, TrustRootRef: trust.trustRoot, Identities: []cipIdentity{{
		Issuer: s.issuer, IssuerRegExp: s.issuerRegExp,
		Subject: s.subject, SubjectRegExp: s.subjectRegExp,
	}}}
	return a, nil
}

// cipKMSKey refuses a KMS key URI policy-controller does not take.
// policy-controller's reconciler reads a KMS key's public key in the
// cluster and inlines it; its admission webhook validates the URI first,
// and for awskms:// accepts a key ARN or an alias ARN only
// (validateAWSKMS in pkg/apis/policy/common/validation.go of v0.13.1: "a
// key or alias arn"), not a key id or alias/NAME. hashivault:// URIs are
// taken as they are. "" (no KMS key) is nil.
func cipKMSKey(uri string) error {
	rest, aws := strings.CutPrefix(uri, "awskms://")
	if !aws {
		return nil
	}
	_, key, _ := strings.Cut(rest, "/")
	if !strings.HasPrefix(key, "arn:") {
		return fmt.Errorf("%w: policy-controller v0.13 takes an awskms:// key by its key or alias ARN only (awskms://[ENDPOINT]/arn:aws:kms:REGION:ACCOUNT:alias/NAME), not %s", ErrUnsupported, uri)
	}
	return nil
}

// requireAll is the spec-level policy: in each group, one authority
// verified. Rego v0, as policy-controller evaluates it: package sigstore,
// rule isCompliant. (No blank lines: YAML would indent them.)
func requireAll(groups []authorityGroup) string {
	var b strings.Builder
	b.WriteString("package sigstore\ndefault isCompliant = false\n# a signature and every required attestation verified\nisCompliant {\n")
	for i := range groups {
		fmt.Fprintf(&b, "  group_%d\n", i)
	}
	b.WriteString("}\n")
	for i, g := range groups {
		fmt.Fprintf(&b, "# %s\n", g.what)
		for _, name := range g.names {
			fmt.Fprintf(&b, "group_%d {\n  input.authorityMatches[%s]\n}\n", i, regoString(name))
		}
	}
	return b.String()
}

// authorityGroup is a set of alternative authorities.
type authorityGroup struct {
	what  string
	names []string
}

// cipAttestationPolicy is the Rego policy an attestation must satisfy,
// evaluated over its in-toto statement; nil when only its presence and
// signer are required.
func cipAttestationPolicy(a attestation) *cipRego {
	var body, defs []string
	if r := a.provenance; r != nil {
		if m := r.BuilderID; m != nil {
			body = append(body, regoMatch("input.predicate.runDetails.builder.id", m))
		}
		if m := r.SourceRepository; m != nil {
			body = append(body, regoMatch("input.predicate.buildDefinition.externalParameters.source.uri", m))
		}
	}
	if r := a.vuln; r != nil {
		body = append(body, "input.predicate.scanner.result.schemaVersion == "+regoString(scanSchemaVersion))
		switch above := severitiesAbove(r.MaxSeverity); {
		case r.MaxSeverity == SeverityNone:
			body = append(body, "count([m | m := input.predicate.scanner.result.matches[_]]) == 0")
		case len(above) > 0:
			var quoted []string
			for _, s := range above {
				quoted = append(quoted, regoString(s))
			}
			defs = append(defs, fmt.Sprintf("# the severities above %s\nforbidden := {%s}", r.MaxSeverity, strings.Join(quoted, ", ")))
			body = append(body, "count([m | m := input.predicate.scanner.result.matches[_]; forbidden[m.severity]]) == 0")
		}
		if r.MaxAge > 0 {
			body = append(body, fmt.Sprintf("# at most %s old\n  time.now_ns() - time.parse_rfc3339_ns(input.predicate.metadata.scanFinishedOn) <= %d",
				r.MaxAge, time.Duration(r.MaxAge).Nanoseconds()))
		}
	}
	if len(body) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("package sigstore\ndefault isCompliant = false\n")
	for _, d := range defs {
		b.WriteString(d + "\n")
	}
	fmt.Fprintf(&b, "isCompliant {\n  input.predicateType == %s\n", regoString(a.predicateType))
	for _, l := range body {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("}\n")
	return &cipRego{Type: "rego", Data: b.String()}
}

func regoMatch(field string, m *api.Match) string {
	if m.Exact != "" {
		return field + " == " + regoString(m.Exact)
	}
	return fmt.Sprintf("startswith(%s, %s)", field, regoString(m.Prefix))
}

// regoString quotes s as a Rego string: Rego's string literals are JSON's.
func regoString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
