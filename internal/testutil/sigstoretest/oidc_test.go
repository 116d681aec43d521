package sigstoretest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// A standard OIDC client (go-oidc, with discovery and JWKS) accepts the
// issuer's tokens and sees the claims Fulcio reads.
func TestTokensVerifyWithAStandardOIDCClient(t *testing.T) {
	s := sigstoretest.New(t)
	provider, err := oidc.NewProvider(t.Context(), s.OIDCIssuerURL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "sigstore"})

	type claims struct {
		Subject       string `json:"sub"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Ref           string `json:"job_workflow_ref"`
	}
	tests := []struct {
		name     string
		identity string
		opts     []sigstoretest.TokenOption
		want     claims
	}{
		{name: "email", identity: email, want: claims{Subject: email, Email: email, EmailVerified: true}},
		{name: "URI containing @", identity: workflow, want: claims{Subject: workflow}},
		{
			name: "extra claim", identity: workflow,
			opts: []sigstoretest.TokenOption{sigstoretest.WithClaim("job_workflow_ref", "sc-project/sc/.github/workflows/release.yml@refs/heads/main")},
			want: claims{Subject: workflow, Ref: "sc-project/sc/.github/workflows/release.yml@refs/heads/main"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idt, err := verifier.Verify(t.Context(), s.Token(tc.identity, tc.opts...))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var got claims
			if err := idt.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if idt.Issuer != s.OIDCIssuerURL || idt.Expiry.Sub(idt.IssuedAt) != 10*time.Minute {
				t.Errorf("iss %q, lifetime %v; want %q and 10m", idt.Issuer, idt.Expiry.Sub(idt.IssuedAt), s.OIDCIssuerURL)
			}
		})
	}

	bad := map[string]string{
		"wrong audience":   s.Token(email, sigstoretest.WithAudience("other")),
		"expired":          s.Token(email, sigstoretest.WithExpiry(time.Now().Add(-time.Minute))),
		"unpublished key":  s.Token(email, sigstoretest.WithUntrustedKey()),
		"different issuer": s.Token(email, sigstoretest.WithIssuer("https://accounts.example.com")),
	}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := verifier.Verify(t.Context(), tok); err == nil {
				t.Fatal("Verify() succeeded, want an error")
			}
		})
	}
}

// Whatever arrives at Fulcio, it answers with a well-formed 200 or a
// gRPC-gateway client error, never a server error (which sigstore-go would
// retry for seconds).
func FuzzFulcioSigningCert(f *testing.F) {
	f.Add([]byte(`{"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"x"},"proofOfPossession":"AAAA"}}`))
	f.Add([]byte(`{"certificateSigningRequest":"LS0tLS1CRUdJTg=="}`))
	f.Add([]byte(`{"credentials":{"oidcIdentityToken":"a.b.c"}}`))
	f.Add([]byte(`{"publicKeyRequest":{"proofOfPossession":"!!"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	s := sigstoretest.New(f)
	token := s.Token(email)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.FulcioURL+"/api/v2/signingCert", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("response is not JSON: %s", raw)
		}
	})
}
