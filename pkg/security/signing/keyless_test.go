package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/proto"
)

const identity = "ci@example.com"

func keylessSigner(t testing.TB, ss *sigstoretest.Sigstore, id string, tsa bool) *signing.KeylessSigner {
	t.Helper()
	services := signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL}
	if tsa {
		services.TSAURL = ss.TSAURL
	}
	s, err := signing.NewKeylessSigner(staticToken(ss.Token(id)), services)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func identityVerifier(t testing.TB, reg signing.Reader, ss *sigstoretest.Sigstore, id signing.IdentityPolicy, opts ...signing.VerifyOption) *signing.Verifier {
	t.Helper()
	v, err := signing.NewVerifier(reg, ss.TrustedRoot(), signing.Policy{Identity: &id}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestKeylessEndToEnd signs keylessly against the private Sigstore (Fulcio
// certificate, Rekor entry with inclusion proof, optionally a TSA
// timestamp) in both formats on every registry, and verifies.
func TestKeylessEndToEnd(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	for _, kind := range allRegistries {
		for _, format := range formats {
			for _, tsa := range []bool{false, true} {
				name := string(kind) + "/" + string(format)
				if tsa {
					name += "/tsa"
				}
				t.Run(name, func(t *testing.T) {
					r := newTestRegistry(t, kind)
					d, _ := r.push(t, "app:v1")
					ref := r.host.Ref("app:v1")
					s := keylessSigner(t, ss, identity, tsa)
					opts := signing.SignOptions{Format: format, Trusted: ss.TrustedRoot(), VerifyAfterSign: true}
					res, err := signing.SignImage(ctx, r.client, ref, s, opts)
					if err != nil {
						t.Fatalf("SignImage: %v", err)
					}
					if res.Skipped || res.Signer.Subject != identity || res.Signer.Issuer != ss.OIDCIssuerURL || res.TlogIndex == nil {
						t.Fatalf("SignImage = %+v, want a new logged signature by %s", res, identity)
					}

					v := identityVerifier(t, r.client, ss, signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL})
					vr, err := v.Verify(ctx, ref)
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if len(vr.Verified) != 1 || vr.Image != d.String() {
						t.Fatalf("Verify = %+v, want one valid signature of %s", vr, d)
					}
					got := vr.Verified[0]
					if got.Subject != identity || got.Issuer != ss.OIDCIssuerURL || got.TlogIndex == nil || *got.TlogIndex != *res.TlogIndex || got.SignedAt == nil || got.KeyID == "" {
						t.Errorf("verified = %+v, want identity, issuer, log index %d and time", got, *res.TlogIndex)
					}

					// A new run with a new certificate of the same identity
					// recognises the existing signature.
					again, err := signing.SignImage(ctx, r.client, ref, keylessSigner(t, ss, identity, tsa), opts)
					if err != nil || !again.Skipped {
						t.Errorf("second SignImage = %+v, %v; want skipped", again, err)
					}
					// Another identity signs anew.
					other, err := signing.SignImage(ctx, r.client, ref, keylessSigner(t, ss, "other@example.com", tsa), opts)
					if err != nil || other.Skipped {
						t.Errorf("SignImage by another identity = %+v, %v; want a new signature", other, err)
					}

					// Regular expressions.
					vre := identityVerifier(t, r.client, ss, signing.IdentityPolicy{SubjectRegexp: `^.*@example\.com$`, IssuerRegexp: `^http://127\.0\.0\.1:`})
					if vr, err := vre.Verify(ctx, ref); err != nil || len(vr.Verified) != 2 {
						t.Errorf("Verify with regexps = %+v, %v; want both identities", vr, err)
					}
				})
			}
		}
	}
}

// TestKeyWithTlog signs with a key and a Rekor entry; the verifier then
// requires and checks the entry.
func TestKeyWithTlog(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			r.push(t, "app:v1")
			ref := r.host.Ref("app:v1")
			s, pub := newKey(t, signing.Services{RekorURL: ss.RekorURL})
			res, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format, Trusted: ss.TrustedRoot(), VerifyAfterSign: true})
			if err != nil || res.TlogIndex == nil {
				t.Fatalf("SignImage = %+v, %v; want a logged signature", res, err)
			}
			v, err := signing.NewVerifier(r.client, ss.TrustedRoot(), signing.Policy{Key: pub})
			if err != nil {
				t.Fatal(err)
			}
			vr, err := v.Verify(ctx, ref)
			if err != nil || len(vr.Verified) != 1 || vr.Verified[0].TlogIndex == nil || *vr.Verified[0].TlogIndex != *res.TlogIndex {
				t.Fatalf("Verify = %+v, %v; want the signature with log index %d", vr, err, *res.TlogIndex)
			}
			again, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format, Trusted: ss.TrustedRoot()})
			if err != nil || !again.Skipped {
				t.Errorf("second SignImage = %+v, %v; want skipped", again, err)
			}
		})
	}
}

// TestKeylessSignerErrors covers what can go wrong before anything is
// signed.
func TestKeylessSignerErrors(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	tests := []struct {
		name     string
		services signing.Services
		tokens   signing.TokenSource
		want     int // exit code of NewKeylessSigner, or of Identity when it constructs
	}{
		{"no fulcio", signing.Services{RekorURL: ss.RekorURL}, staticToken("x"), outcome.ExitInvalid},
		{"no log and no tsa", signing.Services{FulcioURL: ss.FulcioURL}, staticToken("x"), outcome.ExitInvalid},
		{"no token source", signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL}, nil, outcome.ExitInvalid},
		{"empty token", signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL}, staticToken(""), outcome.ExitOperational},
		{"token source fails", signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL},
			tokens(func(context.Context) (string, error) { return "", outcome.Operational("no OIDC provider") }), outcome.ExitOperational},
		{"expired token", signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL},
			staticToken(ss.Token(identity, sigstoretest.WithExpiry(time.Now().Add(-time.Hour)))), outcome.ExitOperational},
		{"token from an untrusted key", signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL},
			staticToken(ss.Token(identity, sigstoretest.WithUntrustedKey())), outcome.ExitOperational},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := signing.NewKeylessSigner(tt.tokens, tt.services)
			if err == nil {
				_, err = s.Identity(ctx)
			}
			if got := outcome.Code(err); got != tt.want {
				t.Errorf("error %v: exit code %d, want %d", err, got, tt.want)
			}
		})
	}
}

// TestKeylessExpiredCertificateWithoutTlog: a certificate checked without a
// log entry or timestamp, after its validity, is rejected.
func TestKeylessExpiredCertificateWithoutTlog(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	// Fulcio an hour behind: the 10-minute certificate expired 50 minutes
	// ago; Rekor's clock is right, so the log entry postdates it too.
	ss.SetClockSkew(sigstoretest.Fulcio, -time.Hour)
	ss.SetClockSkew(sigstoretest.OIDCIssuer, -time.Hour)
	r := newTestRegistry(t, inProcess)
	r.push(t, "app:v1")
	ref := r.host.Ref("app:v1")
	s := keylessSigner(t, ss, identity, false)
	for _, format := range formats {
		// sigstore-go checks its own bundle only with trusted material; the
		// signing itself succeeds and stores what Rekor returned.
		if _, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format, Trusted: ss.TrustedRoot()}); err != nil {
			t.Fatalf("SignImage %s: %v", format, err)
		}
	}
	pol := signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL}
	for _, opts := range [][]signing.VerifyOption{nil, {signing.WithInsecureIgnoreTlog()}} {
		vr, err := identityVerifier(t, r.client, ss, pol, opts...).Verify(ctx, ref)
		if !errors.Is(err, signing.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("Verify (opts %d) = %+v, %v; want ErrVerificationFailed", len(opts), vr, err)
		}
		if len(vr.Rejected) != 2 {
			t.Errorf("rejected = %+v, want both formats", vr.Rejected)
		}
		for _, rj := range vr.Rejected {
			t.Logf("reason: %s", rj.Reason)
			if !strings.Contains(rj.Reason, "not valid when used") {
				t.Errorf("reason %q does not say the certificate was not valid", rj.Reason)
			}
		}
	}
}

// Sigstore services over plain http outside loopback would carry the
// identity token and the signature in clear: refused before any request.
func TestServicesValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    signing.Services
		ok   bool
	}{
		{"https", signing.Services{FulcioURL: "https://fulcio.example.com", RekorURL: "https://rekor.example.com", TSAURL: "https://tsa.example.com/api/v1/timestamp"}, true},
		{"loopback http", signing.Services{FulcioURL: "http://127.0.0.1:5555", RekorURL: "http://localhost:3000", TSAURL: "http://[::1]:8080/ts"}, true},
		{"none", signing.Services{}, true},
		{"http fulcio", signing.Services{FulcioURL: "http://fulcio.example.com", RekorURL: "https://rekor.example.com"}, false},
		{"http rekor", signing.Services{FulcioURL: "https://fulcio.example.com", RekorURL: "http://rekor.example.com"}, false},
		{"http tsa", signing.Services{TSAURL: "http://10.0.0.1/ts"}, false},
		{"not a URL", signing.Services{RekorURL: "rekor.example.com"}, false},
	} {
		err := tt.s.Validate()
		if (err == nil) != tt.ok || (err != nil && outcome.Code(err) != outcome.ExitInvalid) {
			t.Errorf("%s: Validate = %v, want ok %v (else exit 2)", tt.name, err, tt.ok)
		}
	}
	tokens := runenv.NewStaticToken("eyJ.e.y", "test")
	if _, err := signing.NewKeylessSigner(tokens, signing.Services{FulcioURL: "http://fulcio.example.com", RekorURL: "https://rekor.example.com"}); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("NewKeylessSigner with http Fulcio = %v, want exit 2", err)
	}
}

// The reported log index is that of the entry verification checked, not
// simply the first of the bundle: with an entry of another log in front,
// the verified one is found by its integrated time, and with no way to
// tell, none is reported.
func TestVerifiedLogIndex(t *testing.T) {
	ss := sigstoretest.New(t)
	s := keylessSigner(t, ss, identity, false)
	sig, err := s.Sign(context.Background(), &sign.PlainData{Data: []byte("payload")})
	if err != nil {
		t.Fatal(err)
	}
	real := sig.Bundle.GetVerificationMaterial().GetTlogEntries()[0]
	other := proto.Clone(real).(*protorekor.TransparencyLogEntry)
	other.LogIndex, other.IntegratedTime = real.LogIndex+1000, real.IntegratedTime+3600
	entries := make([]*tlog.Entry, 0, 2)
	for _, tle := range []*protorekor.TransparencyLogEntry{other, real} {
		e, err := tlog.NewTlogEntry(tle)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	verified := []verify.TimestampVerificationResult{{Type: "Tlog", Timestamp: time.Unix(real.IntegratedTime, 0)}}
	if got := signing.VerifiedLogIndex(entries, verified); got == nil || *got != real.LogIndex {
		t.Errorf("VerifiedLogIndex = %v, want the verified entry's %d (not the first, %d)", got, real.LogIndex, other.LogIndex)
	}
	if got := signing.VerifiedLogIndex(entries, nil); got != nil {
		t.Errorf("VerifiedLogIndex without a verified time = %d, want none", *got)
	}
	if got := signing.VerifiedLogIndex(entries[1:], nil); got == nil || *got != real.LogIndex {
		t.Errorf("VerifiedLogIndex of the one entry = %v, want %d", got, real.LogIndex)
	}
}
