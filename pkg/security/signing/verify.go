package signing

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Verification outcomes, in the outcome.ErrCheckFailed class.
var (
	// ErrNotSigned: the image has no signature at all in the formats read.
	ErrNotSigned = outcome.CheckFailed("image is not signed")
	// ErrVerificationFailed: the image has signatures, and none of them
	// verifies under the policy.
	ErrVerificationFailed = outcome.CheckFailed("no valid signature")
)

// Policy says whose signatures are accepted. Exactly one of Key and
// Identity is set: there is no "any signer" policy.
type Policy struct {
	// Key accepts signatures made with the private key of this public key.
	Key crypto.PublicKey
	// Identity accepts keyless signatures whose Fulcio certificate matches.
	Identity *IdentityPolicy
	// Annotations, when not empty, must all be present with these values
	// among a signature's signed annotations.
	Annotations map[string]string
}

// IdentityPolicy matches a certificate identity. A subject (exact or
// regular expression) and an issuer (exact or regular expression) are both
// required. Regular expressions are Go syntax and must match the whole
// value, as in cosign: anchor them with ^ and $.
type IdentityPolicy struct {
	// Subject is the exact subject alternative name (an e-mail address or
	// a URI such as a workflow ref).
	Subject string
	// SubjectRegexp is a regular expression for the subject.
	SubjectRegexp string
	// Issuer is the exact OIDC issuer URL.
	Issuer string
	// IssuerRegexp is a regular expression for the issuer.
	IssuerRegexp string
}

// Validate checks that exactly one kind of policy is set and that an
// identity policy names both a subject and an issuer with valid regular
// expressions.
func (p Policy) Validate() error {
	switch {
	case p.Key != nil && p.Identity != nil:
		return outcome.Invalid("a verification policy takes either a key or a certificate identity, not both")
	case p.Key == nil && p.Identity == nil:
		return outcome.Invalid("a verification policy needs a key, or a certificate identity and issuer")
	case p.Key != nil:
		if _, err := loadVerifier(p.Key); err != nil {
			return err
		}
		return nil
	}
	id := p.Identity
	if (id.Subject == "") == (id.SubjectRegexp == "") {
		return outcome.Invalid("keyless verification needs exactly one of a certificate identity and a certificate identity regexp")
	}
	if (id.Issuer == "") == (id.IssuerRegexp == "") {
		return outcome.Invalid("keyless verification needs exactly one of a certificate OIDC issuer and a certificate OIDC issuer regexp")
	}
	for _, re := range []string{id.SubjectRegexp, id.IssuerRegexp} {
		if re == "" {
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			return outcome.Invalidf("invalid regular expression %q: %w", re, err)
		}
	}
	return nil
}

// identityPolicy returns the policy that accepts exactly id's signatures.
func identityPolicy(id Identity) Policy {
	if id.Keyless() {
		return Policy{Identity: &IdentityPolicy{Subject: id.Subject, Issuer: id.Issuer}}
	}
	return Policy{Key: id.PublicKey}
}

// Result lists what verification found for one image.
type Result struct {
	// Image is the image verified, repo@sha256:….
	Image string `json:"image"`
	// Verified are the valid signatures.
	Verified []Verified `json:"verified"`
	// Rejected are the signatures that did not verify, with the reason.
	Rejected []Rejected `json:"rejected"`
}

// Verified describes a valid signature.
type Verified struct {
	// Format is how the signature is stored.
	Format Format `json:"format"`
	// Artifact is the digest of the referrer manifest (bundle) or of the
	// layer of the .sig image (legacy).
	Artifact string `json:"artifact"`
	// Subject and Issuer are the certificate identity (keyless).
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// KeyID identifies the public key that verified the signature (see
	// KeyID).
	KeyID string `json:"keyId"`
	// TlogIndex is the log index of the verified transparency log entry.
	TlogIndex *int64 `json:"tlogIndex,omitempty"`
	// SignedAt is the verified time of signing (log integrated time or
	// signed timestamp), when there is one.
	SignedAt *time.Time `json:"signedAt,omitempty"`
	// Annotations are the signed annotations.
	Annotations map[string]string `json:"annotations,omitempty"`

	signature []byte // the raw signature, to recognise one just written
}

// Rejected describes a signature that did not verify.
type Rejected struct {
	Format   Format `json:"format"`
	Artifact string `json:"artifact"`
	Reason   string `json:"reason"`
}

// VerifyOption configures a Verifier.
type VerifyOption func(*Verifier)

// WithInsecureIgnoreTlog accepts signatures without a transparency log
// entry: required for key-based signatures made without one
// (--tlog-upload=false). A keyless signature is then checked against a
// signed timestamp if it has one, else against the current time, so an
// expired certificate is rejected. Default: a verified log entry is
// required.
func WithInsecureIgnoreTlog() VerifyOption { return func(v *Verifier) { v.ignoreTlog = true } }

// WithInsecureIgnoreSCT accepts Fulcio certificates without a signed
// certificate timestamp from a trusted CT log (private Fulcio without CT).
// Default: one verified SCT is required.
func WithInsecureIgnoreSCT() VerifyOption { return func(v *Verifier) { v.ignoreSCT = true } }

// WithFormats restricts the formats read. Default: both.
func WithFormats(formats ...Format) VerifyOption {
	return func(v *Verifier) { v.formats = formats }
}

// WithLogger sets the logger for progress at debug level. Default: discard.
func WithLogger(l *slog.Logger) VerifyOption { return func(v *Verifier) { v.logger = l } }

// Verifier checks the signatures of images against trusted material and a
// policy.
type Verifier struct {
	reg        Reader
	trusted    root.TrustedMaterial
	policy     Policy
	ignoreTlog bool
	ignoreSCT  bool
	formats    []Format
	logger     *slog.Logger

	keyVerifier signature.Verifier // key policy
	keyID       string             // key policy
	keyMaterial root.TrustedMaterial
}

// verifiedLogIndex is the log index of the entry sigstore-go verified
// (called only after verification that required a log entry passed).
// sigstore-go does not say which entry that was, and a bundle may carry
// entries it skipped (another log, no trusted key): with one entry it is
// that one; with several, the one whose integrated time sigstore-go reports
// as a verified "Tlog" timestamp; else nil rather than the index of an
// entry nobody checked.
func verifiedLogIndex(entries []*tlog.Entry, verified []verify.TimestampVerificationResult) *int64 {
	if len(entries) == 1 {
		idx := entries[0].LogIndex()
		return &idx
	}
	for _, ts := range verified {
		if ts.Type != "Tlog" {
			continue
		}
		for _, e := range entries {
			if e.IntegratedTime().Equal(ts.Timestamp) {
				idx := e.LogIndex()
				return &idx
			}
		}
	}
	return nil
}

// NeedsTrustedMaterial is the one rule for trusted material: a certificate
// identity always needs the Fulcio CAs, and a transparency log entry the
// log's keys; only a public key whose signatures are accepted without a
// log (ignoreTlog) needs none.
func NeedsTrustedMaterial(keyPolicy, ignoreTlog bool) bool {
	return !keyPolicy || !ignoreTlog
}

// NewVerifier returns a verifier reading signatures through reg. trusted is
// the Sigstore trusted material (Fulcio CAs, Rekor and CT log keys, TSAs;
// see PublicGoodTrustedRoot and LoadTrustedRoot); it may be nil only for a
// key policy with WithInsecureIgnoreTlog.
func NewVerifier(reg Reader, trusted root.TrustedMaterial, policy Policy, opts ...VerifyOption) (*Verifier, error) {
	v := &Verifier{
		reg:     reg,
		trusted: trusted,
		policy:  policy,
		formats: []Format{FormatBundle, FormatLegacy},
		logger:  slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(v)
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	for _, f := range v.formats {
		if _, err := ParseFormat(string(f)); err != nil {
			return nil, err
		}
	}
	if trusted == nil && NeedsTrustedMaterial(policy.Key != nil, v.ignoreTlog) {
		if policy.Key == nil {
			return nil, outcome.Invalid("keyless verification needs trusted material (a Sigstore trusted root)")
		}
		return nil, outcome.Invalid("verifying transparency log entries needs trusted material (a Sigstore trusted root); " +
			"for signatures made without a log use --insecure-ignore-tlog")
	}
	if policy.Key != nil {
		kv, err := loadVerifier(policy.Key)
		if err != nil {
			return nil, err
		}
		id, err := KeyID(policy.Key)
		if err != nil {
			return nil, err
		}
		v.keyVerifier, v.keyID = kv, id
		base := trusted
		if base == nil {
			base = &root.BaseTrustedMaterial{}
		}
		ek := root.NewExpiringKey(kv, time.Time{}, time.Time{})
		v.keyMaterial = &keyMaterial{TrustedMaterial: base, key: ek}
	}
	return v, nil
}

// keyMaterial is trusted material whose only public key is the policy key,
// whatever key hint a bundle carries (cosign's verifyTrustedMaterial).
type keyMaterial struct {
	root.TrustedMaterial
	key root.TimeConstrainedVerifier
}

func (k *keyMaterial) PublicKeyVerifier(string) (root.TimeConstrainedVerifier, error) {
	return k.key, nil
}

// Formats returns the storage formats v reads, in the order it reads them.
func (v *Verifier) Formats() []Format { return slices.Clone(v.formats) }

// Logger returns the logger v reports progress to.
func (v *Verifier) Logger() *slog.Logger { return v.logger }

// Verify resolves ref once and verifies the signatures of the digest.
func (v *Verifier) Verify(ctx context.Context, ref string) (*Result, error) {
	d, err := v.reg.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	return v.VerifyDigest(ctx, d)
}

// VerifyDigest verifies the signatures of the image d. It returns the
// result, and an error wrapping ErrNotSigned or ErrVerificationFailed (exit
// 1) when no signature verifies, naming the reason for each rejected one.
// Registry failures are operational errors (exit 3); the result is then
// nil. An answer past a registry limit (registry.LimitError) rejects what
// it held, and all reads run under registry.MaxVerifyTime.
func (v *Verifier) VerifyDigest(ctx context.Context, d name.Digest) (*Result, error) {
	ctx, cancel := registry.Deadline(ctx, registry.MaxVerifyTime)
	defer cancel()
	res := &Result{Image: d.String(), Verified: []Verified{}, Rejected: []Rejected{}}
	for _, f := range v.formats {
		var err error
		switch f {
		case FormatBundle:
			err = v.verifyBundles(ctx, d, res)
		case FormatLegacy:
			err = v.verifyLegacy(ctx, d, res)
		}
		if err != nil {
			return nil, err
		}
	}
	return res, res.err()
}

// err is the outcome of a result: nil when a signature verified.
func (r *Result) err() error {
	if len(r.Verified) > 0 {
		return nil
	}
	if len(r.Rejected) == 0 {
		return fmt.Errorf("%s: %w", r.Image, ErrNotSigned)
	}
	reasons := make([]string, len(r.Rejected))
	for i, rj := range r.Rejected {
		reasons[i] = fmt.Sprintf("%s signature %s: %s", rj.Format, digest.Short(rj.Artifact), rj.Reason)
	}
	return fmt.Errorf("%w for %s: %d signature(s) rejected:\n  %s",
		ErrVerificationFailed, r.Image, len(r.Rejected), strings.Join(reasons, "\n  "))
}

// fetchFailed tells whether a registry error concerns one artifact's
// content (it is then rejected) rather than the registry as a whole (the
// check cannot run).
func fetchFailed(err error) bool {
	return errors.Is(err, registry.ErrMalformed) || errors.Is(err, registry.ErrNotFound)
}

// errNoTlogEntry rejects a signature without a log entry when one is
// required.
var errNoTlogEntry = errors.New("signature has no transparency log entry (signed with --tlog-upload=false? " +
	"then verify with --insecure-ignore-tlog)")

// errNotSignature marks a bundle that is an attestation, not a signature.
var errNotSignature = errors.New("not a signature")

func (v *Verifier) verifyBundles(ctx context.Context, d name.Digest, res *Result) error {
	descs, err := v.reg.Referrers(ctx, d, BundleMediaType)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return nil
		case errors.Is(err, registry.ErrMalformed): // e.g. past a registry limit
			res.Rejected = append(res.Rejected, Rejected{Format: FormatBundle, Artifact: "referrers", Reason: "unreadable referrers: " + err.Error()})
			return nil
		}
		return fmt.Errorf("listing bundle referrers of %s: %w", d, err)
	}
	for _, desc := range descs {
		if pt, ok := desc.Annotations[AnnotationBundlePredicateType]; ok && pt != SignPredicateType {
			continue // an attestation
		}
		art := desc.Digest.String()
		a, err := v.reg.FetchReferrer(ctx, d, desc)
		if err != nil {
			if fetchFailed(err) {
				res.Rejected = append(res.Rejected, Rejected{Format: FormatBundle, Artifact: art, Reason: "unreadable signature artifact: " + err.Error()})
				continue
			}
			return fmt.Errorf("fetching bundle %s of %s: %w", art, d, err)
		}
		ok, err := v.checkBundle(a.Data, d)
		if errors.Is(err, errNotSignature) {
			continue
		}
		if err != nil {
			v.logger.Debug("rejected signature", "image", d.String(), "artifact", art, "reason", err.Error())
			res.Rejected = append(res.Rejected, Rejected{Format: FormatBundle, Artifact: art, Reason: err.Error()})
			continue
		}
		ok.Format, ok.Artifact = FormatBundle, art
		res.Verified = append(res.Verified, *ok)
	}
	return nil
}

// checkBundle verifies one bundle-format signature of d.
func (v *Verifier) checkBundle(data []byte, d name.Digest) (*Verified, error) {
	b, err := readBundle(data, "cosign image signatures sign an in-toto statement")
	if err != nil {
		return nil, err
	}
	var st intotov1.Statement
	if err := protojson.Unmarshal(b.GetDsseEnvelope().GetPayload(), &st); err != nil {
		return nil, fmt.Errorf("signed payload is not an in-toto statement: %w", err)
	}
	if st.GetPredicateType() != SignPredicateType {
		return nil, errNotSignature
	}
	alg, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	subject := findSubject(&st, alg, hexDigest)
	if subject == nil {
		return nil, fmt.Errorf("signature is for another image: it signs %s, not %s", statementDigests(&st), d.DigestStr())
	}
	annotations := map[string]string{}
	for k, val := range subject.GetAnnotations().AsMap() {
		annotations[k] = fmt.Sprint(val)
	}
	if err := v.checkAnnotations(annotations); err != nil {
		return nil, err
	}
	out, err := v.verifyBundle(b, d)
	if err != nil {
		return nil, err
	}
	out.Annotations = nonEmpty(annotations)
	if sigs := b.GetDsseEnvelope().GetSignatures(); len(sigs) > 0 {
		out.signature = sigs[0].GetSig()
	}
	return out, nil
}

// verifyBundle checks a bundle's signature, certificate, log entry and
// timestamps for d with sigstore-go, with extra added to the verifier's
// options, and describes the valid signature.
func (v *Verifier) verifyBundle(b *bundle.Bundle, d name.Digest, extra ...verify.VerifierOption) (*Verified, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fmt.Errorf("reading verification material: %w", err)
	}
	cert := vc.Certificate()
	if err := v.checkKind(cert); err != nil {
		return nil, err
	}
	if entries, err := b.TlogEntries(); err == nil && len(entries) == 0 && !v.ignoreTlog {
		return nil, errNoTlogEntry
	}

	sev, popts, err := v.bundleVerifier(b, extra...)
	if err != nil {
		return nil, err
	}
	alg, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	raw, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, fmt.Errorf("image digest %s: %w", d.DigestStr(), err)
	}
	vr, err := sev.Verify(b, verify.NewPolicy(verify.WithArtifactDigest(alg, raw), popts...))
	if err != nil {
		return nil, explain(err, v.policy.Key != nil)
	}

	out := &Verified{Format: FormatBundle, KeyID: v.keyID}
	if cert != nil {
		if err := summarize(out, cert); err != nil {
			return nil, err
		}
	}
	if entries, err := b.TlogEntries(); err == nil && !v.ignoreTlog {
		out.TlogIndex = verifiedLogIndex(entries, vr.VerifiedTimestamps)
	}
	for _, t := range vr.VerifiedTimestamps {
		tt := t.Timestamp.UTC()
		out.SignedAt = &tt
		break
	}
	return out, nil
}

// checkKind rejects a keyless signature under a key policy and a key
// signature under an identity policy, with a message saying which.
func (v *Verifier) checkKind(cert *x509.Certificate) error {
	switch {
	case v.policy.Key != nil && cert != nil:
		who := "an unknown identity"
		if s, err := certificate.SummarizeCertificate(cert); err == nil {
			who = s.SubjectAlternativeName
		}
		return fmt.Errorf("signed keylessly (certificate for %s), not with the given key", who)
	case v.policy.Identity != nil && cert == nil:
		return errors.New("signed with a key, not with a certificate identity (verify it with --key)")
	}
	return nil
}

func (v *Verifier) certificateIdentity() (verify.CertificateIdentity, error) {
	id := v.policy.Identity
	san, err := verify.NewSANMatcher(id.Subject, id.SubjectRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, outcome.Invalidf("certificate identity: %w", err)
	}
	iss, err := verify.NewIssuerMatcher(id.Issuer, id.IssuerRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, outcome.Invalidf("certificate issuer: %w", err)
	}
	ci, err := verify.NewCertificateIdentity(san, iss, certificate.Extensions{})
	if err != nil {
		return verify.CertificateIdentity{}, outcome.Invalidf("certificate identity: %w", err)
	}
	return ci, nil
}

func (v *Verifier) checkAnnotations(have map[string]string) error {
	for k, want := range v.policy.Annotations {
		got, ok := have[k]
		switch {
		case !ok:
			return fmt.Errorf("signed annotation %q is missing (want %q)", k, want)
		case got != want:
			return fmt.Errorf("signed annotation %q is %q, want %q", k, got, want)
		}
	}
	return nil
}

func findSubject(st *intotov1.Statement, alg, hexDigest string) *intotov1.ResourceDescriptor {
	for _, s := range st.GetSubject() {
		if s.GetDigest()[alg] == hexDigest {
			return s
		}
	}
	return nil
}

func statementDigests(st *intotov1.Statement) string {
	var ds []string
	for _, s := range st.GetSubject() {
		for alg, h := range s.GetDigest() {
			ds = append(ds, alg+":"+h)
		}
	}
	if len(ds) == 0 {
		return "no digest"
	}
	return strings.Join(ds, ", ")
}

// summarize fills the identity of a certificate into out.
func summarize(out *Verified, cert *x509.Certificate) error {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return fmt.Errorf("reading certificate: %w", err)
	}
	out.Subject, out.Issuer = s.SubjectAlternativeName, s.Issuer
	id, err := KeyID(cert.PublicKey)
	if err != nil {
		return err
	}
	out.KeyID = id
	return nil
}

func (v *Verifier) verifyLegacy(ctx context.Context, d name.Digest, res *Result) error {
	arts, err := v.reg.FetchLegacy(ctx, d, signatureSuffix)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return nil
		case errors.Is(err, registry.ErrMalformed):
			res.Rejected = append(res.Rejected, Rejected{Format: FormatLegacy, Artifact: legacyTag(d), Reason: "unreadable signature image: " + err.Error()})
			return nil
		}
		return fmt.Errorf("fetching legacy signatures of %s: %w", d, err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return outcome.Invalidf("image digest %s: %w", d.DigestStr(), err)
	}
	for _, a := range arts {
		art := a.Digest.String()
		ok, err := v.checkLegacy(ctx, a, h)
		if err != nil {
			v.logger.Debug("rejected signature", "image", d.String(), "artifact", art, "reason", err.Error())
			res.Rejected = append(res.Rejected, Rejected{Format: FormatLegacy, Artifact: art, Reason: err.Error()})
			continue
		}
		ok.Format, ok.Artifact = FormatLegacy, art
		res.Verified = append(res.Verified, *ok)
	}
	return nil
}

func legacyTag(d name.Digest) string {
	return strings.Replace(d.DigestStr(), ":", "-", 1) + "." + signatureSuffix
}

// checkLegacy verifies one legacy signature layer with cosign's
// VerifyImageSignature, as `cosign verify` does for each layer.
func (v *Verifier) checkLegacy(ctx context.Context, a registry.Artifact, h v1.Hash) (*Verified, error) {
	if string(a.MediaType) != simpleSigningMediaType {
		return nil, fmt.Errorf("layer media type is %q, want %q", a.MediaType, simpleSigningMediaType)
	}
	sig, err := legacySignature(a)
	if err != nil {
		return nil, err
	}
	if err := v.checkLayerKind(sig); err != nil {
		return nil, err
	}
	var p struct {
		Optional map[string]any `json:"optional"`
	}
	if err := json.Unmarshal(a.Data, &p); err != nil {
		return nil, fmt.Errorf("signed payload is not a simple-signing payload: %w", err)
	}
	annotations := map[string]string{}
	for k, val := range p.Optional {
		annotations[k] = fmt.Sprint(val)
	}

	if rb, _ := sig.Bundle(); rb == nil && !v.ignoreTlog {
		return nil, errNoTlogEntry
	}
	out, err := v.verifyLayer(ctx, sig, h, cosign.SimpleClaimVerifier, cosign.VerifyImageSignature, "signature")
	if err != nil {
		return nil, err
	}
	if err := v.checkAnnotations(annotations); err != nil {
		return nil, err
	}
	out.Annotations = nonEmpty(annotations)
	out.signature, _ = sig.Signature()
	return out, nil
}

// checkLayerKind checks that a legacy layer's certificate annotation is
// readable and that the layer's kind (keyless or key) fits the policy.
func (v *Verifier) checkLayerKind(sig oci.Signature) error {
	cert, err := sig.Cert()
	if err != nil {
		return fmt.Errorf("unreadable certificate annotation: %w", err)
	}
	return v.checkKind(cert)
}

// claimVerifier is cosign's check of what a payload says about an image:
// SimpleClaimVerifier or IntotoSubjectClaimVerifier.
type claimVerifier = func(oci.Signature, v1.Hash, map[string]any) error

// checkOpts are cosign's options for checking sig under v's policy, with
// claims checking the payload, offline: the Rekor bundle in the layer is
// the only log evidence.
func (v *Verifier) checkOpts(sig oci.Signature, claims claimVerifier) *cosign.CheckOpts {
	co := &cosign.CheckOpts{
		ClaimVerifier:   claims,
		TrustedMaterial: v.trusted,
		IgnoreTlog:      v.ignoreTlog,
		IgnoreSCT:       v.ignoreSCT,
		Offline:         true,
	}
	if ts, _ := sig.RFC3161Timestamp(); ts != nil && v.trusted != nil {
		co.UseSignedTimestamps = true
	}
	if v.policy.Key != nil {
		co.SigVerifier = v.keyVerifier
	} else {
		id := v.policy.Identity
		co.Identities = []cosign.Identity{{Subject: id.Subject, SubjectRegExp: id.SubjectRegexp, Issuer: id.Issuer, IssuerRegExp: id.IssuerRegexp}}
	}
	return co
}

// cosignCheck is cosign's check of one legacy layer: VerifyImageSignature
// for signatures, VerifyBlobAttestation for attestations.
type cosignCheck func(ctx context.Context, sig oci.Signature, h v1.Hash, co *cosign.CheckOpts) (bool, error)

// verifyLayer runs check on one legacy layer under v's policy, with claims
// checking what the payload says about h, and describes the valid
// signature. A panic in cosign on hostile input (its parsers are not all
// hardened) becomes a rejection of the malformed what.
func (v *Verifier) verifyLayer(ctx context.Context, sig oci.Signature, h v1.Hash, claims claimVerifier, check cosignCheck, what string) (*Verified, error) {
	co := v.checkOpts(sig, claims)
	tlogVerified, err := func() (ok bool, err error) {
		defer func() {
			if r := recover(); r != nil {
				ok, err = false, fmt.Errorf("malformed %s: %v", what, r)
			}
		}()
		return check(ctx, sig, h, co)
	}()
	if err != nil {
		return nil, explain(err, v.policy.Key != nil)
	}

	out := &Verified{Format: FormatLegacy, KeyID: v.keyID}
	if cert, _ := sig.Cert(); cert != nil {
		if err := summarize(out, cert); err != nil {
			return nil, err
		}
	}
	if rb, _ := sig.Bundle(); rb != nil && tlogVerified {
		idx := rb.Payload.LogIndex
		out.TlogIndex = &idx
		t := time.Unix(rb.Payload.IntegratedTime, 0).UTC()
		out.SignedAt = &t
	}
	return out, nil
}

// legacySignature rebuilds cosign's view of a legacy signature layer from
// its content and annotations.
func legacySignature(a registry.Artifact) (oci.Signature, error) {
	b64sig, ok := a.Annotations[annotationSignature]
	if !ok || b64sig == "" {
		return nil, errors.New("layer has no signature annotation")
	}
	opts, err := layerOptions(a.MediaType, a.Annotations)
	if err != nil {
		return nil, err
	}
	sig, err := static.NewSignature(a.Data, b64sig, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading signature layer: %w", err)
	}
	if _, err := sig.Signature(); err != nil {
		return nil, fmt.Errorf("signature annotation is not base64: %w", err)
	}
	return sig, nil
}

// bundleVerifier is the sigstore-go verifier and policy options for one
// bundle under v's policy: a public key (with a transparency log entry
// unless ignoreTlog), or a certificate identity (with an SCT unless
// ignoreSCT, and a time from the log, a signed timestamp or, only when the
// log is explicitly ignored and there is no timestamp, the current time).
// extra are added to the verifier's options.
func (v *Verifier) bundleVerifier(b interface{ Timestamps() ([][]byte, error) }, extra ...verify.VerifierOption) (*verify.Verifier, []verify.PolicyOption, error) {
	vopts := append([]verify.VerifierOption(nil), extra...)
	var popts []verify.PolicyOption
	trusted := v.trusted
	if v.policy.Key != nil {
		trusted = v.keyMaterial
		popts = append(popts, verify.WithKey())
		if !v.ignoreTlog {
			vopts = append(vopts, verify.WithTransparencyLog(1))
		}
		vopts = append(vopts, verify.WithNoObserverTimestamps())
	} else {
		ci, err := v.certificateIdentity()
		if err != nil {
			return nil, nil, err
		}
		popts = append(popts, verify.WithCertificateIdentity(ci))
		if !v.ignoreSCT {
			vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
		}
		ts, _ := b.Timestamps()
		switch {
		case !v.ignoreTlog:
			vopts = append(vopts, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		case len(ts) > 0:
			vopts = append(vopts, verify.WithSignedTimestamps(1))
		default:
			vopts = append(vopts, verify.WithCurrentTime())
		}
	}
	sev, err := verify.NewVerifier(trusted, vopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("configuring verifier: %w", err)
	}
	return sev, popts, nil
}

// layerOptions reads the cosign annotations of a legacy signature or
// attestation layer (certificate and chain, Rekor bundle, RFC 3161
// timestamp) into the options that rebuild cosign's view of the layer.
// A copy of ann is kept as the layer's annotations.
func layerOptions(mediaType types.MediaType, ann map[string]string) ([]static.Option, error) {
	opts := []static.Option{static.WithLayerMediaType(mediaType), static.WithAnnotations(maps.Clone(ann))}
	if c := ann[annotationCertificate]; c != "" {
		certs, err := cryptoutils.LoadCertificatesFromPEM(strings.NewReader(c))
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("unreadable certificate annotation: %v", err)
		}
		opts = append(opts, static.WithCertChain([]byte(c), []byte(ann[annotationChain])))
	}
	if s := ann[annotationRekorBundle]; s != "" {
		var rb cbundle.RekorBundle
		if err := json.Unmarshal([]byte(s), &rb); err != nil {
			return nil, fmt.Errorf("unreadable Rekor bundle annotation: %w", err)
		}
		opts = append(opts, static.WithBundle(&rb))
	}
	if s := ann[annotationRFC3161Timestamp]; s != "" {
		var ts cbundle.RFC3161Timestamp
		if err := json.Unmarshal([]byte(s), &ts); err != nil {
			return nil, fmt.Errorf("unreadable RFC 3161 timestamp annotation: %w", err)
		}
		opts = append(opts, static.WithRFC3161Timestamp(&ts))
	}
	return opts, nil
}
