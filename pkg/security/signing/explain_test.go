package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// The tests of this file make sigstore-go, cosign and the libraries under
// them produce each error classify recognises, through the calls and
// options the Verifier uses wherever that is possible, and check the kind
// of failure and the reason users read. A library upgrade that rewords a
// message fails here rather than changing a verdict.

const explainIdentity = "ci@example.com"

// explainFixture is what the cases sign and verify with.
type explainFixture struct {
	d, other name.Digest
	// good is the Sigstore that signs; untrusted another one; past a
	// Sigstore whose Fulcio runs an hour behind (its certificates expired
	// before Rekor logged them), future one whose Fulcio runs an hour
	// ahead (issued after).
	good, untrusted, past, future *sigstoretest.Sigstore
}

func newExplainFixture(t *testing.T) *explainFixture {
	f := &explainFixture{
		d:         explainDigest(t, "0123456789abcdef"),
		other:     explainDigest(t, "fedcba9876543210"),
		good:      sigstoretest.New(t),
		untrusted: sigstoretest.New(t),
		past:      sigstoretest.New(t),
		future:    sigstoretest.New(t),
	}
	for _, svc := range []sigstoretest.Service{sigstoretest.Fulcio, sigstoretest.OIDCIssuer} {
		f.past.SetClockSkew(svc, -time.Hour)
		f.future.SetClockSkew(svc, time.Hour)
	}
	return f
}

func explainDigest(t *testing.T, pattern string) name.Digest {
	t.Helper()
	d, err := name.NewDigest("127.0.0.1:5000/app@sha256:" + strings.Repeat(pattern, 4))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *explainFixture) hash(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type explainTokens func(context.Context) (string, error)

func (f explainTokens) Token(ctx context.Context) (string, error) { return f(ctx) }

// testKeySigner is a signer with a fresh ECDSA P-256 key.
func testKeySigner(t testing.TB, services Services) (*KeySigner, crypto.PublicKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySigner(sv, services)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv.Public()
}

func explainKeylessSigner(t *testing.T, ss *sigstoretest.Sigstore, services Services) *KeylessSigner {
	t.Helper()
	token := ss.Token(explainIdentity)
	s, err := NewKeylessSigner(explainTokens(func(context.Context) (string, error) { return token, nil }), services)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func explainVerifier(t *testing.T, trusted root.TrustedMaterial, p Policy, opts ...VerifyOption) *Verifier {
	t.Helper()
	v, err := NewVerifier(nil, trusted, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func identityOf(ss *sigstoretest.Sigstore, subject string) Policy {
	return Policy{Identity: &IdentityPolicy{Subject: subject, Issuer: ss.OIDCIssuerURL}}
}

// signedStatement is the DSSE envelope over the image signature statement
// for d that s makes.
func signedStatement(t testing.TB, s Signer, d name.Digest) *Signature {
	t.Helper()
	stmt, err := signStatement(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(context.Background(), &sign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// signedBundle is the bundle-format image signature s makes for d.
func signedBundle(t *testing.T, s Signer, d name.Digest) *bundle.Bundle {
	t.Helper()
	data, err := signedStatement(t, s, d).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	b, err := readBundle(data, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// legacySigned is the legacy image signature s makes for d, as cosign
// reads it back from the layer.
func legacySigned(t *testing.T, s Signer, d name.Digest) oci.Signature {
	t.Helper()
	payload, err := legacyPayload(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(context.Background(), &sign.PlainData{Data: payload})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := legacyArtifact(t.Context(), sig, payload, "")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := legacySignature(a)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// legacyAttested is the legacy attestation s makes of a statement about d.
func legacyAttested(t *testing.T, s Signer, d name.Digest) oci.Signature {
	t.Helper()
	a, _, err := legacyArtifact(t.Context(), signedStatement(t, s, d), nil, "https://example.com/predicate")
	if err != nil {
		t.Fatal(err)
	}
	la, err := legacyAttestation(a)
	if err != nil {
		t.Fatal(err)
	}
	return la
}

// sigstoreGoError is sigstore-go's verdict on b for d, as v asks for it.
func sigstoreGoError(t *testing.T, v *Verifier, b *bundle.Bundle, d name.Digest) error {
	t.Helper()
	sev, popts, err := v.bundleVerifier(b)
	if err != nil {
		t.Fatal(err)
	}
	alg, h, _ := strings.Cut(d.DigestStr(), ":")
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sev.Verify(b, verify.NewPolicy(verify.WithArtifactDigest(alg, raw), popts...))
	return err
}

// cosignError is cosign's verdict on sig for h, with v's options.
func cosignError(t *testing.T, v *Verifier, sig oci.Signature, h v1.Hash, claims claimVerifier, check cosignCheck, edit ...func(*cosign.CheckOpts)) error {
	t.Helper()
	co := v.checkOpts(sig, claims)
	for _, e := range edit {
		e(co)
	}
	_, err := check(context.Background(), sig, h, co)
	return err
}

func leafCertificate(t *testing.T, b *bundle.Bundle) *x509.Certificate {
	t.Helper()
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		t.Fatalf("no certificate in the bundle: %v", err)
	}
	return vc.Certificate()
}

// notYetValid is crypto/x509's verdict on a self-signed certificate whose
// validity starts tomorrow.
func notYetValid(t *testing.T) error {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "later"},
		NotBefore:             time.Now().Add(24 * time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots})
	return err
}

// noCTLogs is trusted material that trusts no certificate transparency log.
type noCTLogs struct{ root.TrustedMaterial }

func (noCTLogs) CTLogs() map[string]*root.TransparencyLog { return nil }

// explainCase is one library error and the failure it reports.
type explainCase struct {
	name    string
	produce func(t *testing.T, f *explainFixture) error
	want    failure
	// keyPolicy is the kind of policy the error arises under.
	keyPolicy bool
}

func explainCases() []explainCase {
	ignoreTlog := WithInsecureIgnoreTlog()
	return []explainCase{
		{name: "sigstore-go: certificate identity", want: failureIdentity, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, RekorURL: f.good.RekorURL})
			v := explainVerifier(t, f.good.TrustedRoot(), identityOf(f.good, "mallory@example.com"))
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "sigstore-go: SAN value", want: failureIdentity, produce: func(t *testing.T, f *explainFixture) error {
			san, err := verify.NewSANMatcher("mallory@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			return san.Verify(certificate.Summary{SubjectAlternativeName: explainIdentity})
		}},
		{name: "sigstore-go: SAN regexp", want: failureIdentity, produce: func(t *testing.T, f *explainFixture) error {
			san, err := verify.NewSANMatcher("", `^.*@corp\.example$`)
			if err != nil {
				t.Fatal(err)
			}
			return san.Verify(certificate.Summary{SubjectAlternativeName: explainIdentity})
		}},
		{name: "cosign: certificate identity", want: failureIdentity, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, RekorURL: f.good.RekorURL})
			v := explainVerifier(t, f.good.TrustedRoot(), identityOf(f.good, "mallory@example.com"))
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "sigstore-go: artifact digest", want: failureDigest, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{})
			v := explainVerifier(t, nil, Policy{Key: pub}, ignoreTlog)
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.other)
		}},
		{name: "cosign: digest in claim", want: failureDigest, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{})
			v := explainVerifier(t, nil, Policy{Key: pub}, ignoreTlog)
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.other), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "sigstore-go: integrated time outside certificate validity", want: failureValidity, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.past, Services{FulcioURL: f.past.FulcioURL, RekorURL: f.past.RekorURL})
			v := explainVerifier(t, f.past.TrustedRoot(), identityOf(f.past, explainIdentity))
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "cosign: certificate expired before the log entry", want: failureValidity, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.past, Services{FulcioURL: f.past.FulcioURL, RekorURL: f.past.RekorURL})
			v := explainVerifier(t, f.past.TrustedRoot(), identityOf(f.past, explainIdentity))
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "sigstore-go: log inclusion", want: failureTlog, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{RekorURL: f.good.RekorURL})
			v := explainVerifier(t, f.untrusted.TrustedRoot(), Policy{Key: pub})
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "sigstore-go: log entries", want: failureTlog, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, _ := testKeySigner(t, Services{})
			_, err := verify.VerifyTlogEntry(signedBundle(t, s, f.d), f.good.TrustedRoot(), 1, true)
			return err
		}},
		{name: "cosign: offline verification", want: failureTlog, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{})
			v := explainVerifier(t, f.good.TrustedRoot(), Policy{Key: pub})
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "cosign: no Rekor client", want: failureTlog, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{})
			v := explainVerifier(t, f.good.TrustedRoot(), Policy{Key: pub})
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature,
				func(co *cosign.CheckOpts) { co.Offline = false })
		}},
		{name: "cosign: Rekor bundle", want: failureTlog, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{RekorURL: f.good.RekorURL})
			v := explainVerifier(t, f.untrusted.TrustedRoot(), Policy{Key: pub})
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "sigstore-go: signed certificate timestamp", want: failureSCT, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, RekorURL: f.good.RekorURL})
			v := explainVerifier(t, noCTLogs{f.good.TrustedRoot()}, identityOf(f.good, explainIdentity))
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "cosign: SCT", want: failureSCT, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, RekorURL: f.good.RekorURL})
			v := explainVerifier(t, noCTLogs{f.good.TrustedRoot()}, identityOf(f.good, explainIdentity))
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "sigstore-go: leaf certificate", want: failureCertificate, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, RekorURL: f.good.RekorURL})
			v := explainVerifier(t, f.untrusted.TrustedRoot(), identityOf(f.good, explainIdentity), ignoreTlog)
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "sigstore-go: signed timestamp", want: failureCertificate, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.good, Services{FulcioURL: f.good.FulcioURL, TSAURL: f.good.TSAURL})
			v := explainVerifier(t, f.untrusted.TrustedRoot(), identityOf(f.good, explainIdentity), ignoreTlog)
			return sigstoreGoError(t, v, signedBundle(t, s, f.d), f.d)
		}},
		{name: "cosign: expired certificate without a timestamp", want: failureCertificate, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.past, Services{FulcioURL: f.past.FulcioURL, RekorURL: f.past.RekorURL})
			v := explainVerifier(t, f.past.TrustedRoot(), identityOf(f.past, explainIdentity), ignoreTlog)
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "cosign: certificate issued after the log entry", want: failureCertificate, produce: func(t *testing.T, f *explainFixture) error {
			s := explainKeylessSigner(t, f.future, Services{FulcioURL: f.future.FulcioURL, RekorURL: f.future.RekorURL})
			v := explainVerifier(t, f.future.TrustedRoot(), identityOf(f.future, explainIdentity))
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "crypto/x509: not yet valid", want: failureCertificate, produce: func(t *testing.T, f *explainFixture) error {
			return notYetValid(t)
		}},
		{name: "sigstore-go: tampered envelope", want: failureSignature, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, pub := testKeySigner(t, Services{})
			b := signedBundle(t, s, f.d)
			env := b.GetDsseEnvelope()
			env.Payload = []byte(strings.Replace(string(env.GetPayload()), "cosign/sign/v1", "cosign/sign/v2", 1))
			v := explainVerifier(t, nil, Policy{Key: pub}, ignoreTlog)
			return sigstoreGoError(t, v, b, f.d)
		}},
		{name: "sigstore: ECDSA signature", want: failureSignature, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, _ := testKeySigner(t, Services{})
			_, other := testKeySigner(t, Services{})
			v := explainVerifier(t, nil, Policy{Key: other}, ignoreTlog)
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
		{name: "securesystemslib: DSSE threshold", want: failureSignature, produce: func(t *testing.T, f *explainFixture) error {
			s, _ := testKeySigner(t, Services{})
			_, other := testKeySigner(t, Services{})
			v := explainVerifier(t, nil, Policy{Key: other}, ignoreTlog)
			return cosignError(t, v, legacyAttested(t, s, f.d), f.hash(t, f.d), cosign.IntotoSubjectClaimVerifier, cosign.VerifyBlobAttestation)
		}},
		{name: "sigstore-go: ErrVerification", want: failureSignature, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			return verify.NewVerificationError(errors.New("envelope"))
		}},
		{name: "cosign: annotations", want: failureAnnotations, keyPolicy: true, produce: func(t *testing.T, f *explainFixture) error {
			s, _ := testKeySigner(t, Services{})
			return cosign.SimpleClaimVerifier(legacySigned(t, s, f.d), f.hash(t, f.d), map[string]any{"env": "prod"})
		}},
		{name: "cosign: no certificate (not classified)", want: failureOther, produce: func(t *testing.T, f *explainFixture) error {
			s, _ := testKeySigner(t, Services{})
			v := explainVerifier(t, f.good.TrustedRoot(), identityOf(f.good, explainIdentity), ignoreTlog)
			return cosignError(t, v, legacySigned(t, s, f.d), f.hash(t, f.d), cosign.SimpleClaimVerifier, cosign.VerifyImageSignature)
		}},
	}
}

// explainReasons are the reasons users read for each kind of failure, by
// kind of policy: part of sc's output, which must not change by accident.
var explainReasons = map[failure][2]string{ // [identity policy, key policy]
	failureIdentity:    {"certificate identity does not match the policy: ", "certificate identity does not match the policy: "},
	failureDigest:      {"signature is for another image: ", "signature is for another image: "},
	failureValidity:    {"certificate was not valid when used (the log entry or timestamp is outside its validity): ", "certificate was not valid when used (the log entry or timestamp is outside its validity): "},
	failureTlog:        {"transparency log entry does not verify against the trusted root: ", "transparency log entry does not verify against the trusted root: "},
	failureSCT:         {"certificate has no valid signed certificate timestamp from a trusted CT log: ", "certificate has no valid signed certificate timestamp from a trusted CT log: "},
	failureCertificate: {"certificate is not trusted or was not valid when used (no log entry or timestamp proves the signing time): ", "certificate is not trusted or was not valid when used (no log entry or timestamp proves the signing time): "},
	failureSignature:   {"signature does not match the signed content (tampered): ", "signature does not verify with the given key (wrong key, or tampered content): "},
	failureAnnotations: {"signed annotations do not match the policy: ", "signed annotations do not match the policy: "},
	failureOther:       {"", ""},
}

// TestClassify: each library error is the failure it reports, and the
// reason says so in sc's words with the library's detail after them.
// Every message and type classify matches is produced by some case.
func TestClassify(t *testing.T) {
	f := newExplainFixture(t)
	var produced []error
	for _, c := range explainCases() {
		t.Run(c.name, func(t *testing.T) {
			err := c.produce(t, f)
			if err == nil {
				t.Fatal("the library reported no error")
			}
			produced = append(produced, err)
			t.Logf("library error: %v", err)
			if got := classify(err); got != c.want {
				t.Errorf("classify = %d, want %d", got, c.want)
			}
			policy := 0
			if c.keyPolicy {
				policy = 1
			}
			want := explainReasons[c.want][policy] + err.Error()
			got := explain(err, c.keyPolicy)
			if got.Error() != want {
				t.Errorf("explain = %q\nwant     %q", got, want)
			}
			if !errors.Is(got, err) {
				t.Error("the reason does not wrap the library's error")
			}
		})
	}
	for _, r := range failureRules() {
		for _, m := range r.messages {
			if !containsMessage(produced, m) {
				t.Errorf("no library error produced here contains %q: produce it or drop the rule", m)
			}
		}
		if r.is != nil && !anyIs(produced, r.is) {
			t.Errorf("no library error produced here is of the type rule %d matches", r.failure)
		}
	}
}

func containsMessage(errs []error, m string) bool {
	for _, err := range errs {
		if strings.Contains(err.Error(), m) {
			return true
		}
	}
	return false
}

func anyIs(errs []error, is func(error) bool) bool {
	for _, err := range errs {
		if is(err) {
			return true
		}
	}
	return false
}
