package policy

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// Registry is what a check reads: signatures and attestations, and the
// platform images of an index. sc's registry.Client implements it.
type Registry interface {
	signing.Reader
	// Platforms lists the platform images of d (d itself for an image).
	Platforms(ctx context.Context, d name.Digest, selection ...v1.Platform) (*registry.Platforms, error)
}

var _ Registry = (*registry.Client)(nil)

// Option configures a Checker.
type Option func(*Checker)

// WithClock sets the clock the age of vuln attestations is measured
// against. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// WithLogger sets the logger for progress at debug level. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(c *Checker) { c.logger = l } }

// WithReadFile reads the key files signers name through fn. Default:
// os.ReadFile.
func WithReadFile(fn func(string) ([]byte, error)) Option {
	return func(c *Checker) { c.readFile = fn }
}

// WithInsecureIgnoreSCT accepts Fulcio certificates without a certificate
// transparency timestamp for every keyless signer (a private Fulcio without
// CT). Default: one verified SCT is required.
func WithInsecureIgnoreSCT() Option { return func(c *Checker) { c.ignoreSCT = true } }

// Checker checks images against one policy.
type Checker struct {
	reg      Registry
	trusted  root.TrustedMaterial
	policy   *api.ImagePolicy
	now      func() time.Time
	logger   *slog.Logger
	readFile func(string) ([]byte, error)

	ignoreSCT    bool
	signers      []signer   // the policy's
	attestations [][]signer // each attestation's: its own, or the policy's
	types        []string   // each attestation's predicate type URI
}

// signer is one accepted signer as the signing package takes it.
type signer struct {
	desc   string
	policy signing.Policy
	opts   []signing.VerifyOption
}

// NeedsTrustedMaterial reports whether checking p needs Sigstore trusted
// material: for a keyless signer (the Fulcio CAs), and for a signer whose
// signatures must be in the transparency log.
func NeedsTrustedMaterial(p *api.ImagePolicy) bool {
	need := false
	each(p, func(s api.PolicySigner) {
		need = need || s.Key == "" || transparency(s)
	})
	return need
}

func each(p *api.ImagePolicy, fn func(api.PolicySigner)) {
	for _, s := range p.Signers {
		fn(s)
	}
	for _, a := range p.Attestations {
		for _, s := range a.Signers {
			fn(s)
		}
	}
}

// transparency is whether s requires a transparency log entry: by default
// for a keyless signer, not for a key.
func transparency(s api.PolicySigner) bool {
	if s.Transparency != nil {
		return *s.Transparency
	}
	return s.Key == ""
}

// NewChecker returns a checker of policy p reading through reg. trusted is
// the Sigstore trusted material; it may be nil when NeedsTrustedMaterial
// says none is needed. The public key of a signer whose key is an
// awskms:// or hashivault:// URI is read from the KMS now
// (setup.PublicKey), so that a KMS that cannot be reached or does not know
// the key fails before any check, as outcome.ErrOperational. An invalid
// policy, a key that cannot be read or parsed, an unsupported KMS key URI,
// or missing trusted material is outcome.ErrInvalid.
func NewChecker(ctx context.Context, reg Registry, trusted root.TrustedMaterial, p *api.ImagePolicy, opts ...Option) (*Checker, error) {
	c := &Checker{reg: reg, trusted: trusted, policy: p, now: time.Now,
		logger: slog.New(slog.DiscardHandler), readFile: os.ReadFile}
	for _, o := range opts {
		o(c)
	}
	if err := validate(p); err != nil {
		return nil, err
	}
	var err error
	if c.signers, err = c.newSigners(ctx, p.Signers, "signers"); err != nil {
		return nil, err
	}
	for i, a := range p.Attestations {
		uri, err := attest.PredicateType(a.Type)
		if err != nil {
			return nil, err
		}
		c.types = append(c.types, uri)
		own := c.signers
		if len(a.Signers) > 0 {
			if own, err = c.newSigners(ctx, a.Signers, fmt.Sprintf("attestations[%d].signers", i)); err != nil {
				return nil, err
			}
		}
		c.attestations = append(c.attestations, own)
	}
	return c, nil
}

func (c *Checker) newSigners(ctx context.Context, list []api.PolicySigner, at string) ([]signer, error) {
	out := make([]signer, 0, len(list))
	for i, s := range list {
		sg := signer{}
		if s.Key != "" {
			pub, kmsURI, err := c.publicKey(ctx, s.Key)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", at, i, err)
			}
			id, err := signing.KeyID(pub)
			if err != nil {
				return nil, outcome.Invalidf("%s[%d]: %w", at, i, err)
			}
			sg.policy, sg.desc = signing.Policy{Key: pub}, "key "+id
			if kmsURI != "" {
				sg.desc = "key " + kmsURI + " (" + id + ")"
			}
		} else {
			sg.policy = signing.Policy{Identity: &signing.IdentityPolicy{
				Subject: s.Subject, SubjectRegexp: s.SubjectRegExp, Issuer: s.Issuer, IssuerRegexp: s.IssuerRegExp}}
			sg.desc = fmt.Sprintf("identity %s (issuer %s)", firstOf(s.Subject, s.SubjectRegExp), firstOf(s.Issuer, s.IssuerRegExp))
		}
		sg.opts = []signing.VerifyOption{signing.WithLogger(c.logger)}
		if !transparency(s) {
			sg.opts = append(sg.opts, signing.WithInsecureIgnoreTlog())
		}
		if c.ignoreSCT {
			sg.opts = append(sg.opts, signing.WithInsecureIgnoreSCT())
		}
		// fail now on what would fail every check: no trusted material
		if _, err := signing.NewVerifier(c.reg, c.trusted, sg.policy, sg.opts...); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", at, i, err)
		}
		out = append(out, sg)
	}
	return out, nil
}

// publicKey reads the public key of a signer: a KMS key's from the KMS
// (its URI is returned too), else a PEM file's or the PEM's.
func (c *Checker) publicKey(ctx context.Context, key string) (crypto.PublicKey, string, error) {
	if ref, err := api.ParseKeyRef(key); err == nil && ref.IsKMS() {
		pub, err := setup.PublicKey(ctx, ref, nil, c.readFile)
		return pub, key, err
	}
	pub, err := c.pemPublicKey(key)
	return pub, "", err
}

func (c *Checker) pemPublicKey(key string) (crypto.PublicKey, error) {
	text := []byte(key)
	if !strings.Contains(key, "-----BEGIN") {
		b, err := c.readFile(key)
		if err != nil {
			return nil, outcome.Invalidf("reading the public key: %w", err)
		}
		text = b
	}
	pub, err := signing.LoadPublicKey(text)
	if err != nil {
		return nil, outcome.Invalidf("public key %s: %w", oneLine(key), err)
	}
	return pub, nil
}

func oneLine(key string) string {
	if strings.Contains(key, "\n") {
		return "(PEM)"
	}
	return key
}

// Check checks the image ref against the policy: it resolves ref once,
// lists the platform images of an index, and checks every requirement (see
// the package documentation). It returns the result and Result.Err; only
// when ref cannot be resolved or the index cannot be read is the result
// nil (the error then says why: outcome.ErrInvalid for a bad reference,
// the registry's class otherwise).
func (c *Checker) Check(ctx context.Context, ref string) (*Result, error) {
	d, err := c.reg.Resolve(ctx, ref)
	if err != nil {
		return nil, err // it names ref
	}
	ps, err := c.reg.Platforms(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("listing the platform images of %s: %w", d, err)
	}
	r := &run{c: c, reg: newShared(c.reg)}
	res := &Result{Policy: c.policy.Name, Reference: ref, Image: d.String(), Index: ps.Index, Requirements: []Requirement{}}
	res.Requirements = append(res.Requirements, r.signature(ctx, d))
	for _, img := range ps.Images {
		for i := range c.policy.Attestations {
			res.Requirements = append(res.Requirements, r.attestation(ctx, img, i)...)
		}
	}
	return res, res.Err()
}

// run is one Check.
type run struct {
	c   *Checker
	reg *shared
}

// signature is the requirement that one of the policy's signers signed d.
func (r *run) signature(ctx context.Context, d name.Digest) Requirement {
	req := Requirement{Name: "signature", Image: d.String()}
	var failed, errs []string
	for _, s := range r.c.signers {
		v, err := signing.NewVerifier(r.reg, r.c.trusted, s.policy, s.opts...)
		if err != nil {
			errs = append(errs, s.desc+": "+err.Error())
			continue
		}
		res, err := v.VerifyDigest(ctx, d)
		switch {
		case err == nil:
			req.Status, req.Reason = StatusOK, "signed by "+describe(res.Verified[0])
			return req
		case errors.Is(err, outcome.ErrCheckFailed) && res != nil:
			failed = append(failed, s.desc+": "+signatureFailure(res))
		default:
			errs = append(errs, s.desc+": "+err.Error())
		}
	}
	return conclude(req, failed, errs)
}

// conclude makes req failed when every signer was checked, and an error
// when one could not be.
func conclude(req Requirement, failed, errs []string) Requirement {
	if len(errs) > 0 {
		req.Status, req.Reason = StatusError, "could not check: "+strings.Join(append(errs, failed...), "; ")
		return req
	}
	req.Status, req.Reason = StatusFailed, strings.Join(failed, "; ")
	return req
}

func signatureFailure(res *signing.Result) string {
	if len(res.Rejected) == 0 {
		return "not signed"
	}
	reasons := make([]string, len(res.Rejected))
	for i, rj := range res.Rejected {
		reasons[i] = fmt.Sprintf("%s %s: %s", rj.Format, digest.Short(rj.Artifact), rj.Reason)
	}
	return fmt.Sprintf("no valid signature, %d rejected (%s)", len(res.Rejected), strings.Join(reasons, "; "))
}

func describe(v signing.Verified) string {
	who := "key " + v.KeyID
	if v.Subject != "" {
		who = fmt.Sprintf("%s (issuer %s)", v.Subject, v.Issuer)
	}
	return fmt.Sprintf("%s (%s %s)", who, v.Format, digest.Short(v.Artifact))
}

// attestation is the requirements of attestation i on img: that one of its
// signers attested it, and what its content must say.
func (r *run) attestation(ctx context.Context, img registry.PlatformImage, i int) []Requirement {
	pa := r.c.policy.Attestations[i]
	uri := r.c.types[i]
	base := Requirement{Image: img.Digest.String(), Platform: img.Name()}
	req := base
	req.Name = "attestation " + pa.Type
	var (
		valid        []found
		failed, errs []string
	)
	for si, s := range r.c.attestations[i] {
		sv, err := signing.NewVerifier(r.reg, r.c.trusted, s.policy, s.opts...)
		if err != nil {
			errs = append(errs, s.desc+": "+err.Error())
			continue
		}
		res, err := attest.NewVerifier(r.reg, sv).VerifyDigest(ctx, img.Digest, uri)
		switch {
		case err == nil:
			for k, a := range res.Verified {
				valid = append(valid, found{att: a, signer: si, seq: k})
			}
		case errors.Is(err, outcome.ErrCheckFailed) && res != nil:
			failed = append(failed, s.desc+": "+attestationFailure(res))
		default:
			errs = append(errs, s.desc+": "+err.Error())
		}
	}
	var newest *attest.Attestation
	if len(valid) > 0 {
		newest = pickNewest(valid)
		req.Status = StatusOK
		req.Reason = fmt.Sprintf("%d valid; newest signed by %s", len(valid), describe(newest.Verified))
		if newest.SignedAt != nil {
			req.Reason += " at " + newest.SignedAt.UTC().Format(time.RFC3339)
		}
	} else {
		req = conclude(req, failed, errs)
	}
	out := []Requirement{req}
	// the content checks of an attestation that is not there
	missing := func(name string) Requirement {
		m := base
		m.Name, m.Status, m.Reason = name, req.Status, "no valid "+pa.Type+" attestation to read"
		if m.Status == StatusError {
			m.Reason = "could not check: the " + pa.Type + " attestation could not be verified"
		}
		return m
	}
	if p := pa.Provenance; p != nil {
		for _, m := range []struct {
			name  string
			match *api.Match
			exp   func(*api.Match) provenance.Expectations
		}{
			{"provenance builderID", p.BuilderID, func(m *api.Match) provenance.Expectations {
				return provenance.Expectations{BuilderID: m.Exact, BuilderIDPrefix: m.Prefix}
			}},
			{"provenance sourceRepository", p.SourceRepository, func(m *api.Match) provenance.Expectations {
				return provenance.Expectations{SourceURI: m.Exact, SourceURIPrefix: m.Prefix}
			}},
		} {
			if m.match == nil {
				continue
			}
			if newest == nil {
				out = append(out, missing(m.name))
				continue
			}
			q := base
			q.Name = m.name
			q.Status, q.Reason = checkProvenance(newest, m.exp(m.match), m.match)
			out = append(out, q)
		}
	}
	if v := pa.Vuln; v != nil {
		names := []string{}
		if v.MaxAge != 0 {
			names = append(names, "vuln maxAge")
		}
		if v.MaxSeverity != "" {
			names = append(names, "vuln maxSeverity")
		}
		if newest == nil {
			for _, n := range names {
				out = append(out, missing(n))
			}
			return out
		}
		pred, result, perr := readVuln(newest.Predicate)
		if v.MaxAge != 0 {
			q := base
			q.Name = "vuln maxAge"
			q.Status, q.Reason = r.checkAge(pred, perr, time.Duration(v.MaxAge), v.MaxAge)
			out = append(out, q)
		}
		if v.MaxSeverity != "" {
			q := base
			q.Name = "vuln maxSeverity"
			q.Status, q.Reason = checkSeverity(result, perr, v.MaxSeverity)
			out = append(out, q)
		}
	}
	return out
}

func attestationFailure(res *attest.Result) string {
	if len(res.Rejected) == 0 {
		if len(res.Others) > 0 {
			return "none of this type (the image has " + strings.Join(res.Others, ", ") + ")"
		}
		return "none of this type"
	}
	reasons := make([]string, len(res.Rejected))
	for i, rj := range res.Rejected {
		reasons[i] = fmt.Sprintf("%s %s: %s", rj.Format, digest.Short(rj.Artifact), rj.Reason)
	}
	return fmt.Sprintf("none valid, %d rejected (%s)", len(res.Rejected), strings.Join(reasons, "; "))
}

// found is a verified attestation, with the signer that verified it and
// its place in that signer's result (newest first).
type found struct {
	att    attest.Attestation
	signer int
	seq    int
}

// pickNewest returns the newest attestation by verified signing time;
// among those without one (or with the same), the attest package's order
// for the first signer that verified any: storage order, later first.
func pickNewest(list []found) *attest.Attestation {
	sorted := slices.Clone(list)
	sort.SliceStable(sorted, func(i, j int) bool {
		ti, tj := signedAt(sorted[i].att), signedAt(sorted[j].att)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		if sorted[i].signer != sorted[j].signer {
			return sorted[i].signer < sorted[j].signer
		}
		return sorted[i].seq < sorted[j].seq
	})
	return &sorted[0].att
}

func signedAt(a attest.Attestation) time.Time {
	if a.SignedAt != nil {
		return *a.SignedAt
	}
	return time.Time{}
}

// checkProvenance checks the SLSA v1 statement of a against exp.
func checkProvenance(a *attest.Attestation, exp provenance.Expectations, m *api.Match) (Status, string) {
	_, pred, err := provenance.Parse(a.Statement)
	if err != nil {
		return StatusFailed, fmt.Sprintf("the newest provenance (%s) cannot be read: %v", digest.Short(a.Artifact), err)
	}
	if err := provenance.Verify(pred, exp); err != nil {
		var mm *provenance.MismatchError
		if errors.As(err, &mm) {
			return StatusFailed, fmt.Sprintf("%s is %q, want %s (provenance %s)", mm.Field, mm.Got, describeMatch(m), digest.Short(a.Artifact))
		}
		return StatusFailed, err.Error()
	}
	return StatusOK, fmt.Sprintf("%s (provenance %s)", describeMatch(m), digest.Short(a.Artifact))
}

func describeMatch(m *api.Match) string {
	if m.Exact != "" {
		return fmt.Sprintf("%q", m.Exact)
	}
	return fmt.Sprintf("a value starting with %q", m.Prefix)
}

// readVuln reads cosign's vuln predicate and the sc scan result in its
// scanner.result; the result is nil (with no error) when scanner.result is
// not sc's.
func readVuln(predicate []byte) (*attestation.CosignVulnPredicate, *scan.Result, error) {
	var p attestation.CosignVulnPredicate
	if err := json.Unmarshal(predicate, &p); err != nil {
		return nil, nil, fmt.Errorf("not a cosign vuln predicate: %w", err)
	}
	raw, err := json.Marshal(p.Scanner.Result)
	if err != nil {
		return &p, nil, nil
	}
	var res scan.Result
	// the schema version the exported cluster policies require too, so
	// that sc verify and the admission controllers agree
	if err := json.Unmarshal(raw, &res); err != nil || res.SchemaVersion != scan.SchemaVersion {
		return &p, nil, nil
	}
	return &p, &res, nil
}

func (r *run) checkAge(p *attestation.CosignVulnPredicate, perr error, maxAge time.Duration, shown api.Duration) (Status, string) {
	if perr != nil {
		return StatusFailed, "the newest vuln attestation: " + perr.Error()
	}
	finished := p.Metadata.ScanFinishedOn
	if finished.IsZero() {
		return StatusFailed, "the newest vuln attestation has no metadata.scanFinishedOn"
	}
	age := r.c.now().Sub(finished)
	when := finished.UTC().Format(time.RFC3339)
	if age > maxAge {
		return StatusFailed, fmt.Sprintf("scanned at %s, %s ago: older than maxAge %s", when, roundAge(age), shown)
	}
	return StatusOK, fmt.Sprintf("scanned at %s, within maxAge %s", when, shown)
}

func roundAge(d time.Duration) string {
	if d >= 24*time.Hour {
		return api.Duration(d.Round(time.Hour)).String()
	}
	return d.Round(time.Second).String()
}

func checkSeverity(res *scan.Result, perr error, max api.Severity) (Status, string) {
	if perr != nil {
		return StatusFailed, "the newest vuln attestation: " + perr.Error()
	}
	if res == nil {
		return StatusFailed, "the newest vuln attestation's scanner.result is not an sc scan result: its findings cannot be read"
	}
	limit := -1 // none: every finding is over
	if max != api.MaxSeverityNone {
		limit = scan.Severity(max).Rank()
	}
	var over []string
	for _, m := range res.Matches {
		if m.Severity.Rank() > limit {
			over = append(over, fmt.Sprintf("%s (%s, %s)", m.ID, m.Severity, m.Package.Name))
		}
	}
	if len(over) == 0 {
		return StatusOK, fmt.Sprintf("%d finding(s), none above %s", len(res.Matches), max)
	}
	const shown = 5
	list := strings.Join(over[:min(len(over), shown)], ", ")
	if len(over) > shown {
		list += fmt.Sprintf(", and %d more", len(over)-shown)
	}
	if max == api.MaxSeverityNone {
		return StatusFailed, fmt.Sprintf("%d finding(s), none allowed: %s", len(over), list)
	}
	return StatusFailed, fmt.Sprintf("%d finding(s) above %s: %s", len(over), max, list)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
