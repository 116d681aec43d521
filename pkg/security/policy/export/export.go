package export

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
)

// Format names a cluster policy engine.
type Format string

const (
	// FormatKyverno is a Kyverno ClusterPolicy (kyverno.io/v1).
	FormatKyverno Format = "kyverno"
	// FormatPolicyController is a Sigstore policy-controller
	// ClusterImagePolicy (policy.sigstore.dev/v1beta1).
	FormatPolicyController Format = "policy-controller"
)

// Formats lists the formats Export writes.
func Formats() []Format { return []Format{FormatKyverno, FormatPolicyController} }

// Sentinels for the outcomes callers branch on; both are invalid usage.
var (
	// ErrInvalidPolicy: the policy cannot be exported as written (no
	// signer, a signer with both a key and an identity, an unknown
	// attestation type or severity, a name that is not a Kubernetes name,
	// a key that is not a PEM public key).
	ErrInvalidPolicy = outcome.Invalid("invalid image policy")
	// ErrUnsupported: the target engine cannot require what the policy
	// requires (policy-controller and a key-signed Sigstore bundle).
	ErrUnsupported = outcome.Invalid("not expressible in the target policy")
)

// Option configures Export.
type Option func(*options)

type options struct {
	format   api.SignatureFormat
	readFile func(string) ([]byte, error)
	trusted  *root.TrustedRoot
}

// WithSignatureFormat says how the image's signatures and attestations are
// stored, as signing.format does: api.SignatureBundle (Sigstore bundles as
// OCI referrers) or api.SignatureLegacy (cosign's .sig and .att tags).
// Default: api.SignatureBundle, sc's default.
func WithSignatureFormat(f api.SignatureFormat) Option {
	return func(o *options) { o.format = f }
}

// WithReadFile sets how a signer's key file is read; a key given as PEM is
// not read. Default: os.ReadFile (a relative path is relative to the
// working directory).
func WithReadFile(read func(path string) ([]byte, error)) Option {
	return func(o *options) { o.readFile = read }
}

// WithTrustedRoot verifies signers against the Sigstore instance tr
// describes (a private one: its Fulcio CA, its one Rekor log and CT log,
// its TSAs) instead of the public-good Sigstore the engines trust by
// default. Kyverno's attestors then carry the instance's material (roots,
// rekor.url and rekor.pubkey, ctlog.pubkey), which Kyverno v1.19 reads in
// the legacy (Cosign) format only: for Sigstore bundles it takes trusted
// material from its TUF repository alone (getTrustedMaterial in
// pkg/image/verifiers/cpol/cosign/sigstore.go), so a bundle policy whose
// signers need Sigstore's trust is ErrUnsupported. policy-controller's
// export is preceded by a TrustRoot resource (policy.sigstore.dev/v1alpha1,
// named after the policy, sigstoreKeys) that its authorities name by
// trustRootRef; policy-controller v0.13 verifies bundles against such a
// TrustRoot never (see clusterImagePolicy), so there too the legacy
// format is the one exported. Default: the public-good Sigstore.
func WithTrustedRoot(tr *root.TrustedRoot) Option {
	return func(o *options) { o.trusted = tr }
}

// Export writes p as a cluster policy of format f, as YAML. Errors wrap
// ErrInvalidPolicy or ErrUnsupported, or are the error reading a key file.
func Export(p *api.ImagePolicy, f Format, opts ...Option) ([]byte, error) {
	o := options{format: api.SignatureBundle, readFile: os.ReadFile}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.format.Valid() {
		return nil, fmt.Errorf("%w: signature format %q: want bundle or legacy", ErrInvalidPolicy, o.format)
	}
	pol, err := resolve(p, o)
	if err != nil {
		return nil, err
	}
	var in *instance
	if o.trusted != nil {
		if in, err = newInstance(o.trusted); err != nil {
			return nil, err
		}
	}
	var docs []any
	switch f {
	case FormatKyverno:
		doc, err := kyvernoPolicy(pol, o.format, in)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	case FormatPolicyController:
		doc, err := clusterImagePolicy(pol, o.format, in)
		if err != nil {
			return nil, err
		}
		if in != nil {
			docs = append(docs, trustRootFor(pol.name, in))
		}
		docs = append(docs, doc)
	default:
		return nil, outcome.Invalidf("export format %q: want kyverno or policy-controller", f)
	}
	var buf bytes.Buffer
	for i, doc := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&buf, yaml.UseLiteralStyleIfMultiline(true), yaml.IndentSequence(true))
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("writing the %s policy: %w", f, err)
		}
	}
	return buf.Bytes(), nil
}

// policy is an ImagePolicy checked and resolved for export: keys read,
// attestation types as URIs, every attestation with its signers.
type policy struct {
	name         string
	images       []string
	signers      []signer
	attestations []attestation
}

type signer struct {
	pem                                          string // a public key; or
	kms                                          string // a KMS key URI; else the identity
	subject, subjectRegExp, issuer, issuerRegExp string
	transparency                                 bool
}

func (s signer) keyless() bool { return s.pem == "" && s.kms == "" }

// needsSigstore reports whether a signer of p, of its signature or an
// attestation, is verified with Sigstore's trusted material: keyless, or
// in the transparency log.
func (p *policy) needsSigstore() bool {
	need := func(list []signer) bool {
		for _, s := range list {
			if s.keyless() || s.transparency {
				return true
			}
		}
		return false
	}
	if need(p.signers) {
		return true
	}
	for _, a := range p.attestations {
		if need(a.signers) {
			return true
		}
	}
	return false
}

type attestation struct {
	name          string // a Kubernetes-style name unique in the policy
	predicateType string
	signers       []signer
	provenance    *api.ProvenanceRequirement
	vuln          *api.VulnRequirement
}

// k8sName is a Kubernetes object name (an RFC 1123 subdomain).
var k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func resolve(p *api.ImagePolicy, o options) (*policy, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: no policy", ErrInvalidPolicy)
	}
	if !k8sName.MatchString(p.Name) {
		return nil, fmt.Errorf("%w: name %q: the cluster policy's name must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", ErrInvalidPolicy, p.Name)
	}
	out := &policy{name: p.Name, images: p.Images}
	for _, img := range p.Images {
		if strings.TrimSpace(img) == "" {
			return nil, fmt.Errorf("%w: an empty image pattern", ErrInvalidPolicy)
		}
	}
	var err error
	if len(p.Signers) == 0 {
		return nil, fmt.Errorf("%w: no signers", ErrInvalidPolicy)
	}
	if out.signers, err = resolveSigners(p.Signers, "signers", o); err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, a := range p.Attestations {
		where := fmt.Sprintf("attestations[%d]", i)
		uri, err := attest.PredicateType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, where, err)
		}
		ra := attestation{predicateType: uri, provenance: a.Provenance, vuln: a.Vuln, signers: out.signers}
		if len(a.Signers) > 0 {
			if ra.signers, err = resolveSigners(a.Signers, where+".signers", o); err != nil {
				return nil, err
			}
		}
		if err := checkProvenance(a.Provenance, uri, where); err != nil {
			return nil, err
		}
		if err := checkVuln(a.Vuln, uri, where); err != nil {
			return nil, err
		}
		base := attestationName(a.Type, uri)
		seen[base]++
		ra.name = base
		if n := seen[base]; n > 1 {
			ra.name = fmt.Sprintf("%s-%d", base, n)
		}
		out.attestations = append(out.attestations, ra)
	}
	return out, nil
}

// attestationName names an attestation after its cosign type name, or
// "attestation" for a URI.
func attestationName(typ, uri string) string {
	switch uri {
	case attest.PredicateVuln:
		return "vuln"
	case attest.PredicateSLSAProvenanceV1, attest.PredicateSLSAProvenanceV02:
		return "provenance"
	case attest.PredicateCycloneDX, attest.PredicateSPDX, attest.PredicateSyft:
		return "sbom"
	}
	t := strings.ToLower(strings.TrimSpace(typ))
	if t != uri && k8sName.MatchString(t) {
		return t
	}
	return "attestation"
}

func checkProvenance(r *api.ProvenanceRequirement, uri, where string) error {
	if r == nil {
		return nil
	}
	if uri != attest.PredicateSLSAProvenanceV1 {
		return fmt.Errorf("%w: %s: provenance requirements need type slsaprovenance1 (%s), not %s", ErrInvalidPolicy, where, attest.PredicateSLSAProvenanceV1, uri)
	}
	if r.BuilderID == nil && r.SourceRepository == nil {
		return fmt.Errorf("%w: %s.provenance: neither builderID nor sourceRepository", ErrInvalidPolicy, where)
	}
	for name, m := range map[string]*api.Match{"builderID": r.BuilderID, "sourceRepository": r.SourceRepository} {
		if m != nil && (m.Exact == "") == (m.Prefix == "") {
			return fmt.Errorf("%w: %s.provenance.%s: exactly one of exact and prefix", ErrInvalidPolicy, where, name)
		}
	}
	return nil
}

// SeverityNone is the maxSeverity that allows no finding at all.
const SeverityNone api.Severity = "none"

func checkVuln(r *api.VulnRequirement, uri, where string) error {
	if r == nil {
		return nil
	}
	if uri != attest.PredicateVuln {
		return fmt.Errorf("%w: %s: vuln requirements need type vuln (%s), not %s", ErrInvalidPolicy, where, attest.PredicateVuln, uri)
	}
	if r.MaxAge < 0 {
		return fmt.Errorf("%w: %s.vuln.maxAge is negative", ErrInvalidPolicy, where)
	}
	if r.MaxSeverity != "" && r.MaxSeverity != SeverityNone && !r.MaxSeverity.Valid() {
		return fmt.Errorf("%w: %s.vuln.maxSeverity %q: want critical, high, medium, low, negligible, unknown or none", ErrInvalidPolicy, where, r.MaxSeverity)
	}
	if r.MaxAge == 0 && r.MaxSeverity == "" {
		return fmt.Errorf("%w: %s.vuln: neither maxAge nor maxSeverity", ErrInvalidPolicy, where)
	}
	return nil
}

// severitiesAbove returns the severities a finding must not have under
// maxSeverity max, most severe first: none for critical. (SeverityNone
// refuses every finding, whatever its severity; callers handle it.)
func severitiesAbove(max api.Severity) []string {
	var out []string
	for _, s := range []api.Severity{api.SeverityCritical, api.SeverityHigh, api.SeverityMedium, api.SeverityLow, api.SeverityNegligible, api.SeverityUnknown} {
		if s.Rank() > max.Rank() {
			out = append(out, string(s))
		}
	}
	return out
}

func resolveSigners(in []api.PolicySigner, where string, o options) ([]signer, error) {
	out := make([]signer, 0, len(in))
	for i, s := range in {
		at := fmt.Sprintf("%s[%d]", where, i)
		identity := s.Subject != "" || s.SubjectRegExp != "" || s.Issuer != "" || s.IssuerRegExp != ""
		switch {
		case s.Key != "" && identity:
			return nil, fmt.Errorf("%w: %s: a key and an identity: give one", ErrInvalidPolicy, at)
		case s.Key == "" && !identity:
			return nil, fmt.Errorf("%w: %s: neither a key nor an identity", ErrInvalidPolicy, at)
		case identity && (s.Subject == "") == (s.SubjectRegExp == ""):
			return nil, fmt.Errorf("%w: %s: exactly one of subject and subjectRegExp", ErrInvalidPolicy, at)
		case identity && (s.Issuer == "") == (s.IssuerRegExp == ""):
			return nil, fmt.Errorf("%w: %s: exactly one of issuer and issuerRegExp", ErrInvalidPolicy, at)
		}
		r := signer{subject: s.Subject, subjectRegExp: s.SubjectRegExp, issuer: s.Issuer, issuerRegExp: s.IssuerRegExp, transparency: identity}
		if s.Transparency != nil {
			r.transparency = *s.Transparency
		}
		for _, re := range []string{s.SubjectRegExp, s.IssuerRegExp} {
			if re == "" {
				continue
			}
			if _, err := regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("%w: %s: %q is not a regular expression: %w", ErrInvalidPolicy, at, re, err)
			}
		}
		if ref, err := api.ParseKeyRef(s.Key); s.Key != "" && err == nil && ref.IsKMS() {
			if !api.IsSupportedKMS(s.Key) {
				return nil, fmt.Errorf("%w: %s.key: %s is not an awskms:// or hashivault:// key URI", ErrInvalidPolicy, at, s.Key)
			}
			r.kms = s.Key // the engine reads the key from the KMS
		} else if s.Key != "" {
			pemKey, err := publicKeyPEM(s.Key, o.readFile)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", at, err)
			}
			r.pem = pemKey
		}
		out = append(out, r)
	}
	return out, nil
}

// publicKeyPEM returns key, PEM or a file holding it, as one PEM public
// key block.
func publicKeyPEM(key string, read func(string) ([]byte, error)) (string, error) {
	data := []byte(key)
	if !strings.Contains(key, "-----BEGIN") {
		var err error
		if data, err = read(key); err != nil {
			return "", fmt.Errorf("reading the public key: %w", err)
		}
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return "", fmt.Errorf("%w: the key is not a PEM public key", ErrInvalidPolicy)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "", fmt.Errorf("%w: the public key does not parse: %w", ErrInvalidPolicy, err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes})), nil
}
