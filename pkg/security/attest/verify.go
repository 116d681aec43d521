package attest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// Verification outcomes, in the outcome.ErrCheckFailed class (exit 1).
var (
	// ErrNoAttestation: the image has no attestation of the requested
	// predicate types at all.
	ErrNoAttestation = outcome.CheckFailed("no attestation")
	// ErrVerificationFailed: the image has attestations of the requested
	// types, and none of them verifies.
	ErrVerificationFailed = outcome.CheckFailed("no valid attestation")
)

// Option configures a Verifier.
type Option func(*Verifier)

// WithAnySubjectName accepts a statement whose subject has the image's
// digest but names another repository: an image copied or promoted between
// registries together with its attestations. Default: a subject that has a
// name must name the image's repository.
func WithAnySubjectName() Option { return func(v *Verifier) { v.anySubjectName = true } }

// Verifier finds and verifies the attestations of images.
type Verifier struct {
	reg            signing.Reader
	sv             *signing.Verifier
	anySubjectName bool
}

// NewVerifier returns a verifier reading attestations through reg whose
// signatures sv checks: sv's trusted material, policy (a key or a
// certificate identity; its annotations must be among the statement
// subject's), transparency log and SCT rules, formats and logger apply to
// attestations as they do to image signatures.
func NewVerifier(reg signing.Reader, sv *signing.Verifier, opts ...Option) *Verifier {
	v := &Verifier{reg: reg, sv: sv}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Result lists what verification found for one image.
type Result struct {
	// Image is the image verified, repo@sha256:….
	Image string `json:"image"`
	// PredicateTypes are the predicate types asked for.
	PredicateTypes []string `json:"predicateTypes"`
	// Verified are the valid attestations, newest first (see VerifyDigest).
	Verified []Attestation `json:"verified"`
	// Rejected are the attestations of the requested types that did not
	// verify, with the reason.
	Rejected []Rejected `json:"rejected"`
	// Others are the predicate types of attestations that were not asked
	// for (image signatures aside), as stored.
	Others []string `json:"others,omitempty"`
}

// Attestation is a verified attestation.
type Attestation struct {
	// Verified says who signed, how it is stored and, when logged or
	// timestamped, when it was signed.
	signing.Verified
	// PredicateType is the signed statement's predicate type.
	PredicateType string `json:"predicateType"`
	// Created is when a bundle was stored, from its referrer's
	// org.opencontainers.image.created annotation (not signed); nil for
	// the legacy format.
	Created *time.Time `json:"created,omitempty"`
	// Text tells that the predicate is text (a JSON string in the
	// statement), not a JSON object.
	Text bool `json:"text,omitempty"`
	// Statement is the signed in-toto statement, exactly as signed.
	Statement []byte `json:"-"`
	// Predicate is the statement's predicate: the JSON object as it is in
	// the statement, or the text of a string predicate.
	Predicate []byte `json:"-"`
}

// Rejected describes an attestation that did not verify.
type Rejected struct {
	Format   signing.Format `json:"format"`
	Artifact string         `json:"artifact"`
	// PredicateType is the type the attestation claims, as stored; "" when
	// unknown.
	PredicateType string `json:"predicateType,omitempty"`
	Reason        string `json:"reason"`
}

// Verify resolves ref once and verifies the attestations of the digest (see
// VerifyDigest).
func (v *Verifier) Verify(ctx context.Context, ref string, predicateTypes ...string) (*Result, error) {
	d, err := v.reg.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	return v.VerifyDigest(ctx, d, predicateTypes...)
}

// VerifyDigest verifies the attestations of the image d whose predicate
// type is one of predicateTypes (URIs, or cosign --type names; at least
// one). Attestations of other types, and image signatures, are left alone.
//
// Verified attestations come newest first by the verified signing time (log
// entry or timestamp), in whole seconds. Those without one follow in
// storage order (later first): the bundle's creation annotation is not
// signed, so it orders nothing; callers that pick one of several undated
// attestations should say so (see Result.Undated).
//
// It returns the result, and an error wrapping ErrNoAttestation or
// ErrVerificationFailed (exit 1) when none verifies, naming the reason for
// each rejected one. Registry failures are operational errors (exit 3); the
// result is then nil. An answer past a registry limit
// (registry.LimitError) rejects what it held, and all reads run under
// registry.MaxVerifyTime.
func (v *Verifier) VerifyDigest(ctx context.Context, d name.Digest, predicateTypes ...string) (*Result, error) {
	ctx, cancel := registry.Deadline(ctx, registry.MaxVerifyTime)
	defer cancel()
	if len(predicateTypes) == 0 {
		return nil, outcome.Invalid("no predicate type to verify")
	}
	want := map[string]bool{}
	var types []string
	for _, t := range predicateTypes {
		uri, err := PredicateType(t)
		if err != nil {
			return nil, err
		}
		if !want[uri] {
			want[uri] = true
			types = append(types, uri)
		}
	}
	run := &run{v: v, d: d, want: want, others: map[string]bool{},
		res: &Result{Image: d.String(), PredicateTypes: types, Verified: []Attestation{}, Rejected: []Rejected{}}}
	for _, f := range v.sv.Formats() {
		var err error
		switch f {
		case signing.FormatBundle:
			err = run.bundles(ctx)
		case signing.FormatLegacy:
			err = run.legacy(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	res := run.result()
	return res, res.err()
}

// run is one VerifyDigest call.
type run struct {
	v      *Verifier
	d      name.Digest
	want   map[string]bool
	others map[string]bool
	found  []found
	res    *Result
}

// found is a verified attestation with its place in storage order.
type found struct {
	att Attestation
	seq int
}

func (r *run) reject(f signing.Format, artifact, predicateType, reason string) {
	r.v.sv.Logger().Debug("rejected attestation", "image", r.d.String(), "artifact", artifact, "predicateType", predicateType, "reason", reason)
	r.res.Rejected = append(r.res.Rejected, Rejected{Format: f, Artifact: artifact, PredicateType: predicateType, Reason: reason})
}

// unreadable tells whether a registry error concerns one artifact's
// content (it is then rejected) rather than the registry as a whole (the
// check cannot run).
func unreadable(err error) bool {
	return errors.Is(err, registry.ErrMalformed) || errors.Is(err, registry.ErrNotFound)
}

// selected decides, from the predicate type an attestation is stored under
// (stored, an unsigned annotation, "" when absent) and the one its
// statement names (signed, not yet verified; "" when unreadable), whether
// to verify it. A reason is returned for an attestation to reject without
// verifying.
func (r *run) selected(stored, signed string) (bool, string) {
	switch {
	case stored == signing.SignPredicateType || (stored == "" && signed == signing.SignPredicateType):
		return false, "" // an image signature
	case stored != "" && signed != "" && stored != signed:
		if r.want[stored] || r.want[signed] {
			return true, fmt.Sprintf("the signed statement's predicate type is %s, but it is stored as %s", signed, stored)
		}
		r.others[stored] = true
		return false, ""
	}
	t := stored
	if t == "" {
		t = signed
	}
	if t != "" && !r.want[t] {
		r.others[t] = true
		return false, ""
	}
	return true, ""
}

func (r *run) bundles(ctx context.Context) error {
	descs, err := r.v.reg.Referrers(ctx, r.d, signing.BundleMediaType)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return nil
		case errors.Is(err, registry.ErrMalformed): // e.g. past a registry limit
			r.reject(signing.FormatBundle, "referrers", "", "unreadable referrers: "+err.Error())
			return nil
		}
		return fmt.Errorf("listing attestations of %s: %w", r.d, err)
	}
	for i, desc := range descs {
		stored := desc.Annotations[signing.AnnotationBundlePredicateType]
		if stored == signing.SignPredicateType || (stored != "" && !r.want[stored]) {
			if stored != signing.SignPredicateType {
				r.others[stored] = true
			}
			continue
		}
		art := desc.Digest.String()
		a, err := r.v.reg.FetchReferrer(ctx, r.d, desc)
		if err != nil {
			if unreadable(err) {
				r.reject(signing.FormatBundle, art, stored, "unreadable attestation: "+err.Error())
				continue
			}
			return fmt.Errorf("fetching attestation %s of %s: %w", art, r.d, err)
		}
		att, ok := r.check(ctx, signing.FormatBundle, art, stored, a)
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339, desc.Annotations[signing.AnnotationCreated]); err == nil {
			t = t.UTC()
			att.Created = &t
		}
		r.found = append(r.found, found{att: *att, seq: i})
	}
	return nil
}

func (r *run) legacy(ctx context.Context) error {
	arts, err := r.v.reg.FetchLegacy(ctx, r.d, signing.AttestationSuffix)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return nil
		case errors.Is(err, registry.ErrMalformed):
			tag := strings.Replace(r.d.DigestStr(), ":", "-", 1) + "." + signing.AttestationSuffix
			r.reject(signing.FormatLegacy, tag, "", "unreadable attestation image: "+err.Error())
			return nil
		}
		return fmt.Errorf("fetching legacy attestations of %s: %w", r.d, err)
	}
	for i, a := range arts {
		att, ok := r.check(ctx, signing.FormatLegacy, a.Digest.String(), a.Annotations[signing.AnnotationPredicateType], a)
		if !ok {
			continue
		}
		// After every bundle: legacy layers carry no creation time.
		r.found = append(r.found, found{att: *att, seq: 1<<20 + i})
	}
	return nil
}

// check verifies one stored attestation of format f, artifact art, stored
// under the predicate type stored (an unsigned annotation, "" when
// absent). It reads the envelope and parses the statement once, strictly:
// that one reading decides whether the attestation is of a requested type,
// whether it is about this image, which annotations the policy sees, and
// is what the result returns once the signature over it verifies. It
// returns false for an attestation left alone or rejected.
func (r *run) check(ctx context.Context, f signing.Format, art, stored string, a registry.Artifact) (*Attestation, bool) {
	e, readErr := signing.ReadEnvelope(f, a)
	var (
		st       *Statement
		parseErr error
		signed   string
	)
	if readErr == nil {
		if st, parseErr = ParseStatement(e.Payload); parseErr == nil {
			signed = st.PredicateType
		}
	}
	ok, reason := r.selected(stored, signed)
	if !ok {
		return nil, false
	}
	if reason != "" {
		r.reject(f, art, stored, reason)
		return nil, false
	}
	reject := func(err error) (*Attestation, bool) {
		r.reject(f, art, firstOf(stored, signed), err.Error())
		return nil, false
	}
	switch {
	case readErr != nil:
		return reject(readErr)
	case parseErr != nil:
		return reject(fmt.Errorf("signed statement: %w", parseErr))
	}
	sub := st.About(r.d)
	if sub == nil {
		return reject(fmt.Errorf("the statement is about another image: it names %s, not %s", st.digests(), r.d.DigestStr()))
	}
	vf, err := r.v.sv.VerifyEnvelope(ctx, e, r.d, subjectAnnotations(sub))
	if err != nil {
		return reject(err)
	}
	if n := sub.GetName(); n != "" && !r.v.anySubjectName && !sameRepository(n, r.d.Context()) {
		return reject(fmt.Errorf("the statement is about %s in repository %q, not in %q (copied from another repository?)",
			r.d.DigestStr(), n, r.d.Context().Name()))
	}
	att := &Attestation{Verified: *vf, PredicateType: st.PredicateType, Text: st.Text, Statement: e.Payload, Predicate: st.Predicate}
	att.Artifact = art
	return att, true
}

// sameRepository compares a subject name with the image's repository, both
// normalised (Docker Hub's defaults apply to both alike).
func sameRepository(subjectName string, repo name.Repository) bool {
	if subjectName == repo.Name() {
		return true
	}
	r, err := name.NewRepository(subjectName, name.WeakValidation)
	return err == nil && r.Name() == repo.Name()
}

// result orders the verified attestations newest first by the verified
// signing time, in whole seconds; attestations with the same time or none
// keep storage order (later first; legacy layers come after bundles). The
// unsigned creation annotation is reported (Created) but orders nothing: a
// registry, or anyone who can push, could set it to win.
func (r *run) result() *Result {
	key := func(a Attestation) time.Time {
		if a.SignedAt != nil {
			return *a.SignedAt
		}
		return time.Time{}
	}
	sort.SliceStable(r.found, func(i, j int) bool {
		ki, kj := key(r.found[i].att), key(r.found[j].att)
		if !ki.Equal(kj) {
			return ki.After(kj)
		}
		return r.found[i].seq > r.found[j].seq
	})
	for _, f := range r.found {
		r.res.Verified = append(r.res.Verified, f.att)
	}
	for t := range r.others {
		r.res.Others = append(r.res.Others, t)
	}
	sort.Strings(r.res.Others)
	return r.res
}

// Undated counts the verified attestations that carry no verified signing
// time: when more than one of a kind is valid and they are undated, which
// is "newest" cannot be told, only which was stored last.
func (r *Result) Undated() int {
	n := 0
	for _, a := range r.Verified {
		if a.SignedAt == nil {
			n++
		}
	}
	return n
}

// err is the outcome of a result: nil when an attestation verified.
func (r *Result) err() error {
	if len(r.Verified) > 0 {
		return nil
	}
	types := strings.Join(r.PredicateTypes, " or ")
	if len(r.Rejected) == 0 {
		found := ""
		if len(r.Others) > 0 {
			found = " (it has attestations of type " + strings.Join(r.Others, ", ") + ")"
		}
		return fmt.Errorf("%w of type %s for %s%s", ErrNoAttestation, types, r.Image, found)
	}
	reasons := make([]string, len(r.Rejected))
	for i, rj := range r.Rejected {
		reasons[i] = fmt.Sprintf("%s attestation %s: %s", rj.Format, digest.Short(rj.Artifact), rj.Reason)
	}
	return fmt.Errorf("%w of type %s for %s: %d attestation(s) rejected:\n  %s",
		ErrVerificationFailed, types, r.Image, len(r.Rejected), strings.Join(reasons, "\n  "))
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
