package export

import (
	"fmt"
	"strings"
	"time"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/signing"
)

// The Kyverno ClusterPolicy, as far as sc writes it: kyverno.io/v1 of
// Kyverno v1.19 (api/kyverno/v1 in github.com/kyverno/kyverno). Kyverno's
// own types are not imported: its module is far heavier than these few
// structs, which the tests check against the CRD's schema.

type kvClusterPolicy struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       kvSpec     `yaml:"spec"`
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type kvSpec struct {
	Background            bool     `yaml:"background"`
	FailurePolicy         string   `yaml:"failurePolicy"`
	WebhookTimeoutSeconds int      `yaml:"webhookTimeoutSeconds"`
	Rules                 []kvRule `yaml:"rules"`
}

type kvRule struct {
	Name         string          `yaml:"name"`
	Match        kvMatch         `yaml:"match"`
	VerifyImages []kvVerifyImage `yaml:"verifyImages"`
}

type kvMatch struct {
	Any []kvResourceFilter `yaml:"any"`
}

type kvResourceFilter struct {
	Resources kvResources `yaml:"resources"`
}

type kvResources struct {
	Kinds []string `yaml:"kinds"`
}

type kvVerifyImage struct {
	ImageReferences []string        `yaml:"imageReferences"`
	Type            string          `yaml:"type"`
	FailureAction   string          `yaml:"failureAction"`
	Required        bool            `yaml:"required"`
	MutateDigest    bool            `yaml:"mutateDigest"`
	VerifyDigest    bool            `yaml:"verifyDigest"`
	Attestors       []kvAttestorSet `yaml:"attestors"`
	Attestations    []kvAttestation `yaml:"attestations,omitempty"`
}

type kvAttestorSet struct {
	Count   int          `yaml:"count"`
	Entries []kvAttestor `yaml:"entries"`
}

type kvAttestor struct {
	Keys    *kvKeys    `yaml:"keys,omitempty"`
	Keyless *kvKeyless `yaml:"keyless,omitempty"`
}

type kvKeys struct {
	PublicKeys string   `yaml:"publicKeys,omitempty"`
	KMS        string   `yaml:"kms,omitempty"`
	Rekor      *kvRekor `yaml:"rekor,omitempty"`
	CTLog      *kvCTLog `yaml:"ctlog,omitempty"`
}

type kvKeyless struct {
	Subject       string   `yaml:"subject,omitempty"`
	SubjectRegExp string   `yaml:"subjectRegExp,omitempty"`
	Issuer        string   `yaml:"issuer,omitempty"`
	IssuerRegExp  string   `yaml:"issuerRegExp,omitempty"`
	Roots         string   `yaml:"roots,omitempty"`
	Rekor         *kvRekor `yaml:"rekor,omitempty"`
	CTLog         *kvCTLog `yaml:"ctlog,omitempty"`
}

type kvRekor struct {
	URL        string `yaml:"url,omitempty"`
	PubKey     string `yaml:"pubkey,omitempty"`
	IgnoreTlog bool   `yaml:"ignoreTlog,omitempty"`
}

type kvCTLog struct {
	IgnoreSCT bool   `yaml:"ignoreSCT,omitempty"`
	PubKey    string `yaml:"pubkey,omitempty"`
}

type kvAttestation struct {
	Name       string          `yaml:"name"`
	Type       string          `yaml:"type"`
	Attestors  []kvAttestorSet `yaml:"attestors"`
	Conditions []kvConditions  `yaml:"conditions,omitempty"`
}

type kvConditions struct {
	All []kvCondition `yaml:"all"`
}

type kvCondition struct {
	Key      string `yaml:"key"`
	Operator string `yaml:"operator"`
	Value    any    `yaml:"value"`
	Message  string `yaml:"message"`
}

// publicRekor is the transparency log keyless signatures are checked
// against, and key-based ones when the policy asks for the log.
const publicRekor = "https://rekor.sigstore.dev"

func kyvernoPolicy(p *policy, format api.SignatureFormat, in *instance) (*kvClusterPolicy, error) {
	typ := "SigstoreBundle"
	if format == api.SignatureLegacy {
		typ = "Cosign"
	}
	if in != nil && format == api.SignatureBundle && p.needsSigstore() {
		return nil, fmt.Errorf("%w: Kyverno v1.19 verifies Sigstore bundles against the trusted root of its TUF repository only, not an attestor's roots and keys: export a private Sigstore's policy with the legacy signature format (images signed with signing.format: legacy)", ErrUnsupported)
	}
	kvAttestors := func(signers []signer) []kvAttestorSet { return kvAttestors(signers, in) }
	images := p.images
	if len(images) == 0 {
		images = []string{"*"}
	}
	vi := kvVerifyImage{
		ImageReferences: images,
		Type:            typ,
		FailureAction:   "Enforce",
		Required:        true,
		MutateDigest:    true,
		VerifyDigest:    true,
		Attestors:       kvAttestors(p.signers),
	}
	if format == api.SignatureBundle {
		// Kyverno's SigstoreBundle attestors accept any bundle that
		// verifies, an attestation's too: require the signature's own
		// statement as well, so that an attested but unsigned image is
		// refused as in the legacy format
		vi.Attestations = append(vi.Attestations, kvAttestation{
			Name:      "signature",
			Type:      signing.SignPredicateType,
			Attestors: kvAttestors(p.signers),
		})
	}
	for _, a := range p.attestations {
		conds, err := kvAttestationConditions(a)
		if err != nil {
			return nil, err
		}
		vi.Attestations = append(vi.Attestations, kvAttestation{
			Name:       a.name,
			Type:       a.predicateType,
			Attestors:  kvAttestors(a.signers),
			Conditions: conds,
		})
	}
	return &kvClusterPolicy{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata:   objectMeta{Name: p.name, Annotations: annotations()},
		Spec: kvSpec{
			// image verification calls registries: admission only
			Background:            false,
			FailurePolicy:         "Fail",
			WebhookTimeoutSeconds: 30,
			Rules: []kvRule{{
				Name:         "verify-image",
				Match:        kvMatch{Any: []kvResourceFilter{{Resources: kvResources{Kinds: []string{"Pod"}}}}},
				VerifyImages: []kvVerifyImage{vi},
			}},
		},
	}, nil
}

func annotations() map[string]string {
	return map[string]string{"sc.dev/generated-by": "sc policy export"}
}

// kvAttestors is one attestor set of which any one signer suffices,
// verified against the instance in (nil: the public Sigstore).
func kvAttestors(signers []signer, in *instance) []kvAttestorSet {
	set := kvAttestorSet{Count: 1}
	for _, s := range signers {
		rekor := &kvRekor{URL: publicRekor}
		if in != nil {
			rekor = &kvRekor{URL: in.rekorURL, PubKey: in.rekorPEM}
		}
		if !s.transparency {
			rekor = &kvRekor{IgnoreTlog: true}
		}
		if !s.keyless() {
			// a key has no certificate, so no SCT to check
			// a KMS key is read by Kyverno (cosign's KMS providers, with
			// the credentials of Kyverno's environment)
			set.Entries = append(set.Entries, kvAttestor{Keys: &kvKeys{PublicKeys: s.pem, KMS: s.kms, Rekor: rekor, CTLog: &kvCTLog{IgnoreSCT: true}}})
			continue
		}
		k := &kvKeyless{
			Subject: s.subject, SubjectRegExp: s.subjectRegExp,
			Issuer: s.issuer, IssuerRegExp: s.issuerRegExp,
			Rekor: rekor,
		}
		if in != nil {
			k.Roots, k.CTLog = in.fulcioPEM, &kvCTLog{PubKey: in.ctlogPEM}
		}
		set.Entries = append(set.Entries, kvAttestor{Keyless: k})
	}
	return []kvAttestorSet{set}
}

// kvAttestationConditions are the JMESPath conditions on an attestation's predicate
// (Kyverno evaluates them with the predicate as the root). Comparisons
// are made in JMESPath and the condition checks that they are true:
// Kyverno's own Equals would read wildcards, durations and quantities
// into a string value.
func kvAttestationConditions(a attestation) ([]kvConditions, error) {
	var all []kvCondition
	if r := a.provenance; r != nil {
		for _, c := range []struct {
			field, what string
			m           *api.Match
		}{
			{"runDetails.builder.id", "the provenance's builder", r.BuilderID},
			{"buildDefinition.externalParameters.source.uri", "the provenance's source repository", r.SourceRepository},
		} {
			if c.m == nil {
				continue
			}
			cond, err := kvMatchCondition(c.field, c.m, c.what)
			if err != nil {
				return nil, err
			}
			all = append(all, cond)
		}
	}
	if r := a.vuln; r != nil {
		all = append(all, kvCondition{
			Key:      fmt.Sprintf("{{ scanner.result.schemaVersion == %s }}", jmesString(scanSchemaVersion)),
			Operator: "Equals",
			Value:    true,
			Message:  "the vulnerability attestation must carry sc's scan result (schema version " + scanSchemaVersion + ")",
		})
		if above := severitiesAbove(r.MaxSeverity); r.MaxSeverity == SeverityNone || len(above) > 0 {
			filter := "scanner.result.matches"
			msg := "the scan must have no findings"
			if r.MaxSeverity != SeverityNone {
				var alts []string
				for _, s := range above {
					alts = append(alts, "severity == "+jmesString(s))
				}
				filter = fmt.Sprintf("scanner.result.matches[?%s]", strings.Join(alts, " || "))
				msg = fmt.Sprintf("the scan must have no findings above %s", r.MaxSeverity)
			}
			all = append(all, kvCondition{
				Key:      fmt.Sprintf("{{ length(%s || `[]`) }}", filter),
				Operator: "Equals",
				Value:    0,
				Message:  msg,
			})
		}
		if r.MaxAge > 0 {
			all = append(all, kvCondition{
				Key:      "{{ time_since('', metadata.scanFinishedOn, '') }}",
				Operator: "LessThanOrEquals",
				Value:    time.Duration(r.MaxAge).String(),
				Message:  fmt.Sprintf("the scan must be at most %s old", r.MaxAge),
			})
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return []kvConditions{{All: all}}, nil
}

// scanSchemaVersion is the version of sc's scan result the conditions
// read (scan.SchemaVersion; pkg/security/scan is not linked for a
// constant, a test keeps them equal).
const scanSchemaVersion = "1"

func kvMatchCondition(field string, m *api.Match, what string) (kvCondition, error) {
	want := m.Exact + m.Prefix
	// JMESPath implementations differ on backslashes in raw strings, and
	// Kyverno would take braces for a variable
	if strings.ContainsAny(want, `\{}`) {
		return kvCondition{}, fmt.Errorf("%w: Kyverno: %s %q: backslashes and braces cannot be matched reliably", ErrUnsupported, what, want)
	}
	if m.Exact != "" {
		return kvCondition{
			Key:      fmt.Sprintf("{{ %s == %s }}", field, jmesString(m.Exact)),
			Operator: "Equals", Value: true,
			Message: fmt.Sprintf("%s must be %s", what, m.Exact),
		}, nil
	}
	return kvCondition{
		Key:      fmt.Sprintf("{{ starts_with(%s, %s) }}", field, jmesString(m.Prefix)),
		Operator: "Equals", Value: true,
		Message: fmt.Sprintf("%s must start with %s", what, m.Prefix),
	}, nil
}

// jmesString quotes s, free of backslashes, as a JMESPath raw string
// literal.
func jmesString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
