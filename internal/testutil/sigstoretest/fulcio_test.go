package sigstoretest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// certRequest is the Fulcio v2 JSON request, built by hand so that tests can
// break any part of it.
type certRequest struct {
	Credentials               *credentials      `json:"credentials,omitempty"`
	PublicKeyRequest          *publicKeyRequest `json:"publicKeyRequest,omitempty"`
	CertificateSigningRequest []byte            `json:"certificateSigningRequest,omitempty"`
}

type credentials struct {
	OIDCIdentityToken string `json:"oidcIdentityToken"`
}

type publicKeyRequest struct {
	PublicKey         publicKey `json:"publicKey"`
	ProofOfPossession []byte    `json:"proofOfPossession"`
}

type publicKey struct {
	Algorithm string `json:"algorithm"`
	Content   string `json:"content"`
}

// fulcioResponse holds either a certificate chain or a gRPC-gateway error.
type fulcioResponse struct {
	Status int
	Chain  []string
	Code   int
	Msg    string
}

func postSigningCert(t *testing.T, fulcioURL, bearer string, body []byte) fulcioResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fulcioURL+"/api/v2/signingCert", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", resp.StatusCode, err, raw)
	}
	return fulcioResponse{
		Status: resp.StatusCode,
		Chain:  parsed.SignedCertificateEmbeddedSct.Chain.Certificates,
		Code:   parsed.Code,
		Msg:    parsed.Message,
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func publicKeyPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	p, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// proof signs subject with key as sigstore-go's Fulcio client does.
func proof(t *testing.T, key *ecdsa.PrivateKey, subject string) []byte {
	t.Helper()
	digest := sha256.Sum256([]byte(subject))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseChain(t *testing.T, pems []string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for _, p := range pems {
		c, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c...)
	}
	return certs
}

func TestFulcioIssuesCertificates(t *testing.T) {
	s := sigstoretest.New(t)
	key := newKey(t)

	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{EmailAddresses: []string{email}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})

	tests := []struct {
		name     string
		identity string
		bearer   bool // token in the Authorization header rather than the body
		csr      bool
		wantSAN  string
	}{
		{name: "email, token in header", identity: email, bearer: true, wantSAN: email},
		{name: "email, token in body", identity: email, wantSAN: email},
		{name: "URI subject", identity: workflow, bearer: true, wantSAN: workflow},
		{name: "CSR instead of proof of possession", identity: email, csr: true, wantSAN: email},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := s.Token(tc.identity)
			req := certRequest{}
			if tc.csr {
				req.CertificateSigningRequest = csrPEM
			} else {
				req.PublicKeyRequest = &publicKeyRequest{
					PublicKey:         publicKey{Algorithm: "ECDSA", Content: publicKeyPEM(t, key.Public())},
					ProofOfPossession: proof(t, key, tc.identity),
				}
			}
			bearer := ""
			if tc.bearer {
				bearer = token
			} else {
				req.Credentials = &credentials{OIDCIdentityToken: token}
			}
			resp := postSigningCert(t, s.FulcioURL, bearer, mustJSON(t, req))
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d: %d %s", resp.Status, resp.Code, resp.Msg)
			}
			chain := parseChain(t, resp.Chain)
			if len(chain) != 3 {
				t.Fatalf("chain has %d certificates, want leaf, intermediate and root", len(chain))
			}
			leaf := chain[0]

			exts, err := certificate.ParseExtensions(leaf.Extensions)
			if err != nil {
				t.Fatalf("parsing Fulcio extensions: %v", err)
			}
			var legacyIssuer string
			for _, e := range leaf.Extensions {
				if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}) {
					legacyIssuer = string(e.Value)
				}
			}
			var sans []string
			sans = append(sans, leaf.EmailAddresses...)
			for _, u := range leaf.URIs {
				sans = append(sans, u.String())
			}
			type summary struct {
				SANs         []string
				Issuer       string
				LegacyIssuer string
				Lifetime     time.Duration
				KeyUsage     x509.KeyUsage
				ExtKeyUsage  []x509.ExtKeyUsage
				SameKey      bool
			}
			got := summary{
				SANs:         sans,
				Issuer:       exts.Issuer,
				LegacyIssuer: legacyIssuer,
				Lifetime:     leaf.NotAfter.Sub(leaf.NotBefore),
				KeyUsage:     leaf.KeyUsage,
				ExtKeyUsage:  leaf.ExtKeyUsage,
				SameKey:      key.PublicKey.Equal(leaf.PublicKey),
			}
			want := summary{
				SANs:         []string{tc.wantSAN},
				Issuer:       s.OIDCIssuerURL,
				LegacyIssuer: s.OIDCIssuerURL,
				Lifetime:     10 * time.Minute,
				KeyUsage:     x509.KeyUsageDigitalSignature,
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
				SameKey:      true,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("certificate (-want +got):\n%s", diff)
			}

			// The chain is the trusted root's, and the embedded SCT verifies
			// with its CT log key.
			ca := s.TrustedRoot().FulcioCertificateAuthorities()[0]
			chains, err := ca.Verify(leaf, leaf.NotBefore.Add(time.Minute))
			if err != nil {
				t.Fatalf("chain does not verify against the trusted root: %v", err)
			}
			if err := verify.VerifySignedCertificateTimestamp(chains, 1, s.TrustedRoot()); err != nil {
				t.Fatalf("embedded SCT: %v", err)
			}
		})
	}
}

func TestFulcioRejects(t *testing.T) {
	s := sigstoretest.New(t)
	other := sigstoretest.New(t)
	key := newKey(t)
	otherKey := newKey(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // deliberately weak
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrDER[len(csrDER)-1] ^= 0xff // corrupt the signature
	badCSR := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})

	const (
		badToken     = "There was an error processing the identity token"
		badSignature = "The signature supplied in the request could not be verified"
		badKey       = "The public key supplied in the request could not be parsed"
		weakKey      = "The public key supplied in the request is insecure"
	)
	pkr := func(pub crypto.PublicKey, pop []byte) *publicKeyRequest {
		return &publicKeyRequest{PublicKey: publicKey{Algorithm: "ECDSA", Content: publicKeyPEM(t, pub)}, ProofOfPossession: pop}
	}
	good := pkr(key.Public(), proof(t, key, email))

	tests := []struct {
		name    string
		token   string
		req     certRequest
		rawBody string // sent instead of req when set
		wantMsg string
	}{
		{name: "wrong audience", token: s.Token(email, sigstoretest.WithAudience("not-sigstore")), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "expired token", token: s.Token(email, sigstoretest.WithExpiry(time.Now().Add(-time.Minute))), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "token signed by an unpublished key", token: s.Token(email, sigstoretest.WithUntrustedKey()), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "token from another issuer", token: other.Token(email), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "token claiming another issuer", token: s.Token(email, sigstoretest.WithIssuer("https://accounts.example.com")), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "unverified email", token: s.Token(email, sigstoretest.WithUnverifiedEmail()), req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "subject neither email nor URI", token: s.Token("release-bot"), req: certRequest{PublicKeyRequest: pkr(key.Public(), proof(t, key, "release-bot"))}, wantMsg: badToken},
		{name: "not a JWT", token: "not.a.jwt", req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "no token", req: certRequest{PublicKeyRequest: good}, wantMsg: badToken},
		{name: "proof over another subject", token: s.Token(email), req: certRequest{PublicKeyRequest: pkr(key.Public(), proof(t, key, "mallory@example.com"))}, wantMsg: badSignature},
		{name: "proof by another key", token: s.Token(email), req: certRequest{PublicKeyRequest: pkr(key.Public(), proof(t, otherKey, email))}, wantMsg: badSignature},
		{name: "no proof", token: s.Token(email), req: certRequest{PublicKeyRequest: pkr(key.Public(), nil)}, wantMsg: badSignature},
		{name: "CSR with a bad signature", token: s.Token(email), req: certRequest{CertificateSigningRequest: badCSR}, wantMsg: badSignature},
		{name: "garbage public key", token: s.Token(email), req: certRequest{PublicKeyRequest: &publicKeyRequest{PublicKey: publicKey{Content: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}}, wantMsg: badKey},
		{name: "no public key", token: s.Token(email), req: certRequest{}, wantMsg: badKey},
		{name: "RSA-1024 key", token: s.Token(email), req: certRequest{PublicKeyRequest: &publicKeyRequest{PublicKey: publicKey{Algorithm: "RSA", Content: publicKeyPEM(t, weak.Public())}}}, wantMsg: weakKey},
		{name: "malformed JSON", token: s.Token(email), rawBody: `{"publicKeyRequest":`, wantMsg: "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.rawBody)
			if tc.rawBody == "" {
				body = mustJSON(t, tc.req)
			}
			got := postSigningCert(t, s.FulcioURL, tc.token, body)
			want := fulcioResponse{Status: http.StatusBadRequest, Code: 3, Msg: tc.wantMsg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// sigstore-go's client surfaces Fulcio's refusal without retrying (400 is not
// retryable) and with Fulcio's message.
func TestFulcioRefusalReachesSigstoreGo(t *testing.T) {
	s := sigstoretest.New(t)
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL, Retries: 3})
	_, err = f.GetCertificate(t.Context(), keypair, &sign.CertificateProviderOptions{
		IDToken: s.Token(email, sigstoretest.WithExpiry(time.Now().Add(-time.Second))),
	})
	if err == nil || !strings.Contains(err.Error(), "Fulcio returned 400") || !strings.Contains(err.Error(), "identity token") {
		t.Fatalf("GetCertificate() error = %v, want Fulcio's 400 about the identity token", err)
	}
}

func TestFulcioTrustBundle(t *testing.T) {
	s := sigstoretest.New(t)
	resp, err := http.Get(s.FulcioURL + "/api/v2/trustBundle")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tb struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tb); err != nil {
		t.Fatal(err)
	}
	if len(tb.Chains) != 1 {
		t.Fatalf("got %d chains, want 1", len(tb.Chains))
	}
	fca, ok := s.TrustedRoot().FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	if !ok {
		t.Fatalf("unexpected CA type %T", s.TrustedRoot().FulcioCertificateAuthorities()[0])
	}
	var got, want []string
	for _, c := range parseChain(t, tb.Chains[0].Certificates) {
		got = append(got, base64.StdEncoding.EncodeToString(c.Raw))
	}
	for _, c := range append(fca.Intermediates, fca.Root) {
		want = append(want, base64.StdEncoding.EncodeToString(c.Raw))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trust bundle (-want +got):\n%s", diff)
	}
}
