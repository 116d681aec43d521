package sigstoretest_test

import (
	"bytes"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

func TestTSATimestamps(t *testing.T) {
	s := sigstoretest.New(t)
	s.SetClockSkew(sigstoretest.TSA, -2*time.Hour)
	sig := []byte("a signature")

	tsr, err := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL}).GetTimestamp(t.Context(), sig)
	if err != nil {
		t.Fatalf("GetTimestamp: %v", err)
	}

	// sigstore-go's check against the trusted root.
	ts, err := s.TrustedRoot().TimestampingAuthorities()[0].Verify(tsr, sig)
	if err != nil {
		t.Fatalf("verifying against the trusted root: %v", err)
	}
	if !ts.Time.Before(time.Now().Add(-time.Hour)) {
		t.Errorf("timestamp %v does not carry the TSA's two-hour skew", ts.Time)
	}

	// The timestamp-authority project's own verifier, with the chain the
	// TSA serves.
	resp, err := http.Get(s.TSAURL + "/certchain")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pemChain, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := cryptoutils.UnmarshalCertificatesFromPEM(pemChain)
	if err != nil || len(chain) != 3 {
		t.Fatalf("cert chain: %d certificates, %v", len(chain), err)
	}
	if _, err := verification.VerifyTimestampResponse(tsr, bytes.NewReader(sig), verification.VerifyOpts{
		TSACertificate: chain[0],
		Intermediates:  chain[1:2],
		Roots:          chain[2:],
		CurrentTime:    ts.Time,
	}); err != nil {
		t.Fatalf("timestamp-authority verification: %v", err)
	}
}

func TestTSARejects(t *testing.T) {
	s := sigstoretest.New(t)
	query := func(h crypto.Hash, digest []byte) []byte {
		q, err := (&timestamp.Request{HashAlgorithm: h, HashedMessage: digest}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantStatus  int
		wantMsg     string
	}{
		{name: "SHA-1", contentType: "application/timestamp-query", body: query(crypto.SHA1, make([]byte, 20)), wantStatus: 400, wantMsg: "Weak hash algorithm in timestamp request"},
		{name: "digest of the wrong length", contentType: "application/timestamp-query", body: query(crypto.SHA256, make([]byte, 20)), wantStatus: 400, wantMsg: "Message digest has incorrect length for specified algorithm"},
		{name: "not DER", contentType: "application/timestamp-query", body: []byte("hello"), wantStatus: 400, wantMsg: "Error generating timestamp response"},
		{name: "wrong content type", contentType: "text/plain", body: query(crypto.SHA256, make([]byte, 32)), wantStatus: 415, wantMsg: "Error generating timestamp response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(s.TSAURL, tc.contentType, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			got := []any{resp.StatusCode, e.Code, e.Message}
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantStatus, tc.wantMsg}, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}
