package sigstoretest_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/tuf"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// legacySignature signs payload the way cosign's pre-bundle flow did: a
// Fulcio certificate, a plain signature, and a hashedrekord entry whose
// response becomes the signature's Rekor bundle.
func legacySignature(t *testing.T, s *sigstoretest.Sigstore, identity string, payload []byte) oci.Signature {
	t.Helper()
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	certDER, err := sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL}).GetCertificate(t.Context(), keypair, &sign.CertificateProviderOptions{IDToken: s.Token(identity)})
	if err != nil {
		t.Fatalf("Fulcio: %v", err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	fca := s.TrustedRoot().FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM(append(fca.Intermediates, fca.Root))
	if err != nil {
		t.Fatal(err)
	}
	sig, _, err := keypair.SignData(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}

	digest := sha256.Sum256(payload)
	pe, err := hashedrekord.New().CreateProposedEntry(t.Context(), "", types.ArtifactProperties{
		PublicKeyBytes: [][]byte{certPEM},
		PKIFormat:      string(pki.X509),
		SignatureBytes: sig,
		ArtifactHash:   "sha256:" + hex.EncodeToString(digest[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := createEntry(t, rekorClient(t, s), pe)
	if err != nil {
		t.Fatalf("Rekor: %v", err)
	}
	_, e := only(t, resp.Payload)
	rb := &cbundle.RekorBundle{
		SignedEntryTimestamp: e.Verification.SignedEntryTimestamp,
		Payload: cbundle.RekorPayload{
			Body:           e.Body,
			IntegratedTime: *e.IntegratedTime,
			LogIndex:       *e.LogIndex,
			LogID:          *e.LogID,
		},
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig), static.WithCertChain(certPEM, chainPEM), static.WithBundle(rb))
	if err != nil {
		t.Fatal(err)
	}
	return ociSig
}

// legacyCheckOpts trusts s without a trusted root: Fulcio root and
// intermediate pools, CT log and Rekor keys, as cosign's TUF-era
// environment variables provided them.
func legacyCheckOpts(t *testing.T, s *sigstoretest.Sigstore, ids []cosign.Identity) *cosign.CheckOpts {
	t.Helper()
	tr := s.TrustedRoot()
	fca := tr.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(fca.Root)
	intermediates.AddCert(fca.Intermediates[0])
	keys := func(logs map[string]*root.TransparencyLog) *cosign.TrustedTransparencyLogPubKeys {
		k := cosign.NewTrustedTransparencyLogPubKeys()
		for _, l := range logs {
			p, err := cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.AddTransparencyLogPubKey(p, tuf.Active); err != nil {
				t.Fatal(err)
			}
		}
		return &k
	}
	return &cosign.CheckOpts{
		RootCerts:         roots,
		IntermediateCerts: intermediates,
		CTLogPubKeys:      keys(tr.CTLogs()),
		RekorPubKeys:      keys(tr.RekorLogs()),
		Identities:        ids,
		Offline:           true,
	}
}

func TestCosignVerifiesLegacySignatures(t *testing.T) {
	s := sigstoretest.New(t)
	other := sigstoretest.New(t)
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("b", 64) + `"},"type":"cosign container image signature"},"optional":null}`)
	sig := legacySignature(t, s, email, payload)
	right := []cosign.Identity{{Issuer: s.OIDCIssuerURL, Subject: email}}
	wrong := []cosign.Identity{{Issuer: s.OIDCIssuerURL, Subject: "mallory@example.com"}}

	tests := []struct {
		name    string
		co      *cosign.CheckOpts
		wantErr string // "" means verified with the Rekor bundle
	}{
		{name: "trusted root", co: &cosign.CheckOpts{TrustedMaterial: s.TrustedRoot(), Identities: right, Offline: true}},
		{name: "legacy keys and pools", co: legacyCheckOpts(t, s, right)},
		{name: "wrong identity", co: &cosign.CheckOpts{TrustedMaterial: s.TrustedRoot(), Identities: wrong, Offline: true}, wantErr: "none of the expected identities matched"},
		{name: "another Sigstore's trusted root", co: &cosign.CheckOpts{TrustedMaterial: other.TrustedRoot(), Identities: right, Offline: true}, wantErr: "verifying bundle with trusted root"},
		{name: "another Sigstore's Rekor key", co: func() *cosign.CheckOpts {
			co := legacyCheckOpts(t, s, right)
			co.RekorPubKeys = legacyCheckOpts(t, other, right).RekorPubKeys
			return co
		}(), wantErr: "rekor log public key not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundleVerified, err := cosign.VerifyBlobSignature(t.Context(), sig, tc.co)
			if tc.wantErr == "" {
				if err != nil || !bundleVerified {
					t.Fatalf("VerifyBlobSignature() = %v, %v; want verified with the bundle", bundleVerified, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyBlobSignature() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
