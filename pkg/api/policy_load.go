package api

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/sc-project/sc/pkg/outcome"
)

// PolicyAPIVersion is the apiVersion of a policy file.
const PolicyAPIVersion = "sc.dev/v1"

// MaxSeverityNone is the VulnRequirement.MaxSeverity that allows no finding
// at all.
const MaxSeverityNone Severity = "none"

// policyNameRE is a Kubernetes object name (an RFC 1123 subdomain): what
// the exported cluster policies are called.
var policyNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// WithPolicyCheck adds fn's checks to LoadPolicy: fn sees the decoded
// policy (when it decoded without problems) and returns problems whose Path
// is a path in the file (attestations[1].type); LoadPolicy gives them
// their file, line and column. It is how the library that evaluates a
// policy adds what this package cannot know without linking it (which
// predicate types exist). Default: none.
func WithPolicyCheck(fn func(*ImagePolicy) []Problem) LoadOption {
	return func(c *loadConfig) { c.policyChecks = append(c.policyChecks, fn) }
}

// LoadPolicy reads the policy file at path (YAML or JSON) strictly: unknown
// fields (with a suggestion), wrong types and invalid values are reported
// at once, each with its file, line and column, in a *ValidationError
// (outcome.ErrInvalid). A key file named by a signer is relative to the
// policy file; it is returned relative to the working directory, and must
// hold a PEM public key. A KMS key URI is returned as written and not
// contacted (its scheme must be one of KMSSchemes). A file that does not exist is invalid; other read
// failures are operational. WithReadFile and WithPolicyCheck apply; other
// options are ignored.
func LoadPolicy(ctx context.Context, path string, opts ...LoadOption) (*ImagePolicy, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.readFile == nil {
		cfg.readFile = readLimited
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path = filepath.Clean(path)
	data, err := cfg.readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, outcome.Invalidf("reading the policy: %w", err)
		}
		return nil, outcome.Operationalf("reading the policy: %w", err)
	}
	var ps problems
	ps.registerFile(path)
	body := parseYAML(path, data, &ps)
	if body == nil {
		return nil, ps.err()
	}
	d := newDecoder(path, &ps)
	p := &ImagePolicy{}
	if _, isMap := topKeys(body); !isMap {
		pos := nodePos(body)
		ps.add(Problem{File: path, Line: pos.line, Column: pos.col, Message: "expected a mapping with apiVersion: " + PolicyAPIVersion + " and kind: " + ImagePolicyKind + ", got " + describe(body)})
		return nil, ps.err()
	}
	d.decodeInto(body, p)
	at := func(pr Problem) {
		if d.ix.isBroken(pr.Path) {
			return
		}
		for b := range d.ix.broken {
			if strings.HasPrefix(b, pr.Path+".") {
				return // a block whose part could not be decoded: already said
			}
		}
		pr.File = path
		if pos, _, ok := d.ix.lookup(pr.Path); ok {
			pr.Line, pr.Column = pos.line, pos.col
		}
		ps.add(pr)
	}
	var c checks
	p.check(&c)
	dir := filepath.Dir(path)
	p.eachSigner(func(at0 string, s *PolicySigner) {
		if s.Key == "" || looksLikeKeyMaterial(s.Key) || isURI(s.Key) {
			return // a KMS URI: check has judged its scheme
		}
		s.Key = joinPath(dir, s.Key)
		if d.ix.isBroken(at0 + ".key") {
			return
		}
		b, err := cfg.readFile(s.Key)
		switch {
		case err != nil:
			c.add(at0+".key", "cannot read the public key %s: %v", s.Key, errors.Unwrap(err))
		case !isPublicKeyPEM(b):
			c.add(at0+".key", "%s holds no PEM public key (a PUBLIC KEY block, as cosign.pub)", s.Key)
		}
	})
	for _, is := range c.list {
		at(Problem{Path: is.path, Message: is.msg})
	}
	if ps.empty() {
		for _, fn := range cfg.policyChecks {
			for _, pr := range fn(p) {
				at(pr)
			}
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func isPublicKeyPEM(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "PUBLIC KEY" {
			return true
		}
	}
}

// Validate checks p as LoadPolicy does, without reading key files or
// changing p: the apiVersion and kind, a name, at least one signer, each
// signer a key (a KMS key URI of one of KMSSchemes only) or an identity (a
// subject and an issuer, exact or as an anchored regular expression), each
// match exact or a prefix, vuln and provenance constraints that say
// something. The error is a
// *ValidationError whose problems have paths but no lines.
func (p *ImagePolicy) Validate() error {
	var c checks
	p.check(&c)
	var ps problems
	for _, is := range c.list {
		ps.add(Problem{Path: is.path, Message: is.msg})
	}
	return ps.err()
}

func (p *ImagePolicy) check(c *checks) {
	switch p.APIVersion {
	case PolicyAPIVersion:
	case "":
		c.add("apiVersion", "a policy needs apiVersion: %s", PolicyAPIVersion)
	default:
		c.add("apiVersion", "unsupported apiVersion %q; this sc reads %s", p.APIVersion, PolicyAPIVersion)
	}
	switch p.Kind {
	case ImagePolicyKind:
	case "":
		c.add("kind", "a policy needs kind: %s", ImagePolicyKind)
	default:
		c.add("kind", "unsupported kind %q; a policy file is kind: %s", p.Kind, ImagePolicyKind)
	}
	switch {
	case p.Name == "":
		c.add("name", "a policy needs a name (the name of the exported cluster policies)")
	case len(p.Name) > 253 || !policyNameRE.MatchString(p.Name):
		c.add("name", "a policy name is lower-case letters, digits, '-' and '.', as Kubernetes names are; got %q", p.Name)
	}
	for i, img := range p.Images {
		if strings.TrimSpace(img) == "" || strings.ContainsAny(img, " \t\r\n") {
			c.add(fmt.Sprintf("images[%d]", i), "an image pattern is a reference glob without spaces, such as registry.example.com/shop/*")
		}
	}
	if len(p.Signers) == 0 {
		c.add("signers", "a policy needs at least one signer: a key, or a subject and an issuer")
	}
	for i := range p.Signers {
		p.Signers[i].check(c, fmt.Sprintf("signers[%d]", i))
	}
	for i := range p.Attestations {
		a := &p.Attestations[i]
		at := fmt.Sprintf("attestations[%d]", i)
		if strings.TrimSpace(a.Type) == "" {
			c.add(at, "an attestation needs a type: a cosign --type name (cyclonedx, spdxjson, slsaprovenance1, vuln, …) or a predicate type URI")
		}
		for j := range a.Signers {
			a.Signers[j].check(c, fmt.Sprintf("%s.signers[%d]", at, j))
		}
		if pr := a.Provenance; pr != nil {
			if pr.BuilderID == nil && pr.SourceRepository == nil {
				c.add(at+".provenance", "provenance needs builderID or sourceRepository (or leave the block out)")
			}
			pr.BuilderID.check(c, at+".provenance.builderID")
			pr.SourceRepository.check(c, at+".provenance.sourceRepository")
		}
		if v := a.Vuln; v != nil {
			if v.MaxAge == 0 && v.MaxSeverity == "" {
				c.add(at+".vuln", "vuln needs maxAge or maxSeverity (or leave the block out)")
			}
			if v.MaxSeverity != "" && v.MaxSeverity != MaxSeverityNone && !v.MaxSeverity.Valid() {
				c.add(at+".vuln.maxSeverity", "%s", unknownValue("severity", v.MaxSeverity, append(severitiesDesc(), MaxSeverityNone)))
			}
		}
	}
}

func (s *PolicySigner) check(c *checks, at string) {
	identity := s.Subject != "" || s.SubjectRegExp != "" || s.Issuer != "" || s.IssuerRegExp != ""
	switch {
	case s.Key != "" && identity:
		c.add(at, "a signer is a key or an identity (subject and issuer), not both; list them as two signers")
		return
	case s.Key != "":
		if isURI(s.Key) && !IsSupportedKMS(s.Key) {
			c.add(at+".key", msgPolicyKMS, uriScheme(s.Key))
		}
		return
	case !identity:
		c.add(at, "a signer needs a key, or a subject (or subjectRegExp) and an issuer (or issuerRegExp)")
		return
	}
	switch {
	case s.Subject != "" && s.SubjectRegExp != "":
		c.add(at, "set either subject or subjectRegExp, not both")
	case s.Subject == "" && s.SubjectRegExp == "":
		c.add(at, "a keyless signer needs subject or subjectRegExp")
	}
	switch {
	case s.Issuer != "" && s.IssuerRegExp != "":
		c.add(at, "set either issuer or issuerRegExp, not both")
	case s.Issuer == "" && s.IssuerRegExp == "":
		c.add(at, "a keyless signer needs issuer or issuerRegExp")
	}
	for _, f := range []struct{ key, re string }{{"subjectRegExp", s.SubjectRegExp}, {"issuerRegExp", s.IssuerRegExp}} {
		if f.re == "" {
			continue
		}
		if err := CheckAnchored(f.re); err != nil {
			c.add(at+"."+f.key, "%s", err)
		}
	}
	checkURL(c, at+".issuer", s.Issuer)
}

// msgPolicyKMS refuses a signer key URI of a scheme sc does not verify
// with.
const msgPolicyKMS = "%s keys are not supported: a signer's key is a PEM public key file, the PEM itself, or an awskms:// or hashivault:// KMS key URI"

func (m *Match) check(c *checks, at string) {
	if m == nil {
		return
	}
	switch {
	case m.Exact != "" && m.Prefix != "":
		c.add(at, "set either exact or prefix, not both")
	case m.Exact == "" && m.Prefix == "":
		c.add(at, "set exact or prefix")
	}
}

// eachSigner calls fn with the path and address of every signer of p.
func (p *ImagePolicy) eachSigner(fn func(path string, s *PolicySigner)) {
	for i := range p.Signers {
		fn(fmt.Sprintf("signers[%d]", i), &p.Signers[i])
	}
	for i := range p.Attestations {
		for j := range p.Attestations[i].Signers {
			fn(fmt.Sprintf("attestations[%d].signers[%d]", i, j), &p.Attestations[i].Signers[j])
		}
	}
}

// MarshalPolicy writes p as the YAML of a policy file, which LoadPolicy
// reads back as p (a PEM key as a literal block).
func MarshalPolicy(p *ImagePolicy) ([]byte, error) {
	b, err := yaml.MarshalWithOptions(p, yaml.UseLiteralStyleIfMultiline(true), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("writing the policy: %w", err)
	}
	return b, nil
}
