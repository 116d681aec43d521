package sigstoretest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

const (
	email    = "release-bot@example.com"
	workflow = "https://github.com/sc-project/sc/.github/workflows/release.yml@refs/heads/main"
)

// signOptions picks what a test bundle is made of.
type signOptions struct {
	dsse      bool   // a DSSE envelope (dsse entry) instead of a message signature (hashedrekord)
	timestamp bool   // also ask the TSA
	fulcioURL string // another Fulcio than s's
}

// signBundle signs artifact keylessly with sigstore-go's own clients against
// s: an ephemeral key, a Fulcio certificate for token, a Rekor entry and,
// if asked, an RFC 3161 timestamp.
func signBundle(t *testing.T, s *sigstoretest.Sigstore, token string, artifact []byte, o signOptions) (*bundle.Bundle, error) {
	t.Helper()
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	var content sign.Content = &sign.PlainData{Data: artifact}
	if o.dsse {
		content = &sign.DSSEData{Data: artifact, PayloadType: "application/vnd.in-toto+json"}
	}
	fulcioURL := s.FulcioURL
	if o.fulcioURL != "" {
		fulcioURL = o.fulcioURL
	}
	opts := sign.BundleOptions{
		Context:                    t.Context(),
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioURL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})},
	}
	if o.timestamp {
		opts.TimestampAuthorities = []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})}
	}
	pb, err := sign.Bundle(content, keypair, opts)
	if err != nil {
		return nil, err
	}
	return bundle.NewBundle(pb)
}

// strictVerifier demands everything a production verifier should: an SCT, a
// Rekor entry, and an observer timestamp (integrated time or TSA).
func strictVerifier(t *testing.T, tm root.TrustedMaterial) *verify.Verifier {
	t.Helper()
	v, err := verify.NewVerifier(tm,
		verify.WithSignedCertificateTimestamps(1),
		verify.WithTransparencyLog(1),
		verify.WithObserverTimestamps(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func policyFor(t *testing.T, artifact []byte, o signOptions, issuer, san string) verify.PolicyBuilder {
	t.Helper()
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		t.Fatal(err)
	}
	artifactOpt := verify.WithArtifact(bytes.NewReader(artifact))
	if o.dsse {
		artifactOpt = verify.WithoutArtifactUnsafe()
	}
	return verify.NewPolicy(artifactOpt, verify.WithCertificateIdentity(id))
}

func TestSigstoreGoSignsAndVerifies(t *testing.T) {
	s := sigstoretest.New(t)
	artifact := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"img","digest":{"sha256":"` + strings.Repeat("a", 64) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)

	tests := []struct {
		name     string
		identity string
		opts     signOptions
		wantTS   []string // verified timestamp types
	}{
		{name: "email identity, message signature", identity: email, wantTS: []string{"Tlog"}},
		{name: "URI identity, DSSE envelope", identity: workflow, opts: signOptions{dsse: true}, wantTS: []string{"Tlog"}},
		{name: "with TSA timestamp", identity: email, opts: signOptions{timestamp: true}, wantTS: []string{"Tlog", "TimestampAuthority"}},
		{name: "DSSE with TSA timestamp", identity: workflow, opts: signOptions{dsse: true, timestamp: true}, wantTS: []string{"Tlog", "TimestampAuthority"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // one Sigstore serving concurrent signers
			b, err := signBundle(t, s, s.Token(tc.identity), artifact, tc.opts)
			if err != nil {
				t.Fatalf("signing: %v", err)
			}
			res, err := strictVerifier(t, s.TrustedRoot()).Verify(b, policyFor(t, artifact, tc.opts, s.OIDCIssuerURL, tc.identity))
			if err != nil {
				t.Fatalf("verifying: %v", err)
			}
			got := struct{ SAN, Issuer string }{
				SAN:    res.VerifiedIdentity.SubjectAlternativeName.SubjectAlternativeName,
				Issuer: res.VerifiedIdentity.Issuer.Issuer,
			}
			want := struct{ SAN, Issuer string }{SAN: tc.identity, Issuer: s.OIDCIssuerURL}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("verified identity (-want +got):\n%s", diff)
			}
			wantKind := "hashedrekord"
			if tc.opts.dsse {
				wantKind = "dsse"
			}
			if kind := b.GetVerificationMaterial().GetTlogEntries()[0].GetKindVersion().GetKind(); kind != wantKind {
				t.Errorf("Rekor entry kind %q, want %q", kind, wantKind)
			}
			var types []string
			for _, ts := range res.VerifiedTimestamps {
				types = append(types, ts.Type)
			}
			if diff := cmp.Diff(tc.wantTS, types); diff != "" {
				t.Errorf("verified timestamps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrustedRootJSONRoundTrips(t *testing.T) {
	s := sigstoretest.New(t)
	artifact := []byte("hello")
	b, err := signBundle(t, s, s.Token(email), artifact, signOptions{timestamp: true})
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	// What a CLI would read from --trusted-root.
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRootJSON())
	if err != nil {
		t.Fatalf("parsing TrustedRootJSON: %v", err)
	}
	if _, err := strictVerifier(t, tr).Verify(b, policyFor(t, artifact, signOptions{}, s.OIDCIssuerURL, email)); err != nil {
		t.Fatalf("verifying against the parsed trusted root: %v", err)
	}
	sc, err := root.NewSigningConfigFromJSON(s.SigningConfigJSON())
	if err != nil {
		t.Fatalf("parsing SigningConfigJSON: %v", err)
	}
	now := time.Now()
	got := map[string]string{}
	for name, services := range map[string][]root.Service{
		"ca":   sc.FulcioCertificateAuthorityURLs(),
		"oidc": sc.OIDCProviderURLs(),
		"tlog": sc.RekorLogURLs(),
		"tsa":  sc.TimestampAuthorityURLs(),
	} {
		svc, err := root.SelectService(services, []uint32{1}, now)
		if err != nil {
			t.Fatalf("selecting %s: %v", name, err)
		}
		got[name] = svc.URL
	}
	want := map[string]string{"ca": s.FulcioURL, "oidc": s.OIDCIssuerURL, "tlog": s.RekorURL, "tsa": s.TSAURL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signing config URLs (-want +got):\n%s", diff)
	}
}

func TestVerifierRejects(t *testing.T) {
	s := sigstoretest.New(t)
	other := sigstoretest.New(t)
	artifact := []byte("artifact")
	good, err := signBundle(t, s, s.Token(email), artifact, signOptions{})
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	// Certified by the other Sigstore's Fulcio (for its issuer's token),
	// logged in s's Rekor.
	foreign, err := signBundle(t, s, other.Token(email), artifact, signOptions{fulcioURL: other.FulcioURL})
	if err != nil {
		t.Fatalf("signing with the other Sigstore: %v", err)
	}

	tests := []struct {
		name     string
		bundle   *bundle.Bundle
		artifact []byte
		issuer   string
		san      string
		wantErr  string
	}{
		{name: "wrong identity", bundle: good, artifact: artifact, issuer: s.OIDCIssuerURL, san: "mallory@example.com", wantErr: "no matching CertificateIdentity"},
		{name: "wrong issuer", bundle: good, artifact: artifact, issuer: other.OIDCIssuerURL, san: email, wantErr: "no matching CertificateIdentity"},
		{name: "tampered artifact", bundle: good, artifact: []byte("artifacT"), issuer: s.OIDCIssuerURL, san: email, wantErr: "signature"},
		{name: "certificate from an untrusted Fulcio", bundle: foreign, artifact: artifact, issuer: other.OIDCIssuerURL, san: email, wantErr: "leaf certificate verification failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strictVerifier(t, s.TrustedRoot()).Verify(tc.bundle, policyFor(t, tc.artifact, signOptions{}, tc.issuer, tc.san))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	artifact := []byte("artifact")
	tests := []struct {
		name    string
		svc     sigstoretest.Service
		skew    time.Duration
		opts    signOptions
		wantErr string // "" means the bundle verifies
	}{
		{
			// Fulcio an hour behind: the certificate expired 50 minutes
			// before Rekor logged the signature.
			name: "certificate expired before it was logged", svc: sigstoretest.Fulcio, skew: -time.Hour,
			wantErr: "integrated time outside certificate validity",
		},
		{
			// Rekor an hour ahead: the entry was logged after the
			// certificate had expired.
			name: "logged after expiry", svc: sigstoretest.Rekor, skew: time.Hour,
			wantErr: "integrated time outside certificate validity",
		},
		{
			// A TSA an hour ahead stamps outside the certificate's life.
			name: "timestamped after expiry", svc: sigstoretest.TSA, skew: time.Hour, opts: signOptions{timestamp: true},
			wantErr: "leaf certificate verification failed",
		},
		{
			// A few seconds of skew stay inside the certificate's 10 minutes.
			name: "small skew is harmless", svc: sigstoretest.Rekor, skew: 5 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sigstoretest.New(t)
			s.SetClockSkew(tc.svc, tc.skew)
			b, err := signBundle(t, s, s.Token(email), artifact, tc.opts)
			if err != nil {
				t.Fatalf("signing: %v", err)
			}
			_, err = strictVerifier(t, s.TrustedRoot()).Verify(b, policyFor(t, artifact, tc.opts, s.OIDCIssuerURL, email))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Verify() = %v, want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Verify() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The bundle sign.Bundle verifies itself when given the trusted root: the
// cheapest end-to-end check a caller can make.
func TestSignBundleSelfVerifies(t *testing.T) {
	s := sigstoretest.New(t)
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sign.Bundle(&sign.PlainData{Data: []byte("x")}, keypair, sign.BundleOptions{
		Context:                    context.Background(),
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.Token(workflow)},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL})},
		TrustedRoot:                s.TrustedRoot(),
	})
	if err != nil {
		t.Fatalf("sign.Bundle with TrustedRoot: %v", err)
	}
}
