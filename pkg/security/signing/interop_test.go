package signing_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sc-project/sc/internal/testutil/cosigntest"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/security/signing"
)

// The cosign side of these tests uses cosign's pkg/ exactly as the cosign
// v3.1.3 CLI does in cmd/cosign/cli/sign (signDigest, signDigestBundle) and
// cmd/cosign/cli/verify (VerifyImageSignatures for legacy signatures,
// VerifyImageAttestations with NewBundleFormat for bundles).

func cosignRemote() []ociremote.Option {
	return []ociremote.Option{
		ociremote.WithRemoteOptions(remote.WithAuth(authn.Anonymous)),
		ociremote.WithNameOptions(name.Insecure),
	}
}

// cosignSigner signs the way the cosign CLI does (cosigntest.Signer); its
// methods write what it signs with cosign's writers.
type cosignSigner struct{ *cosigntest.Signer }

func cosignKeySigner(t *testing.T) (*cosignSigner, crypto.PublicKey) {
	t.Helper()
	s, pub, err := cosigntest.NewKeySigner()
	if err != nil {
		t.Fatal(err)
	}
	return &cosignSigner{s}, pub
}

func cosignKeylessSigner(t *testing.T, ss *sigstoretest.Sigstore) *cosignSigner {
	t.Helper()
	s, err := cosigntest.NewKeylessSigner(ss.SigningConfigJSON(), ss.Token(identity), ss.TrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	return &cosignSigner{s}
}

func (c *cosignSigner) bundle(t *testing.T, content sign.Content) *protobundle.Bundle {
	t.Helper()
	b, err := c.SignData(context.Background(), content)
	if err != nil {
		t.Fatalf("cosign SignData: %v", err)
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	return &pb
}

// writeLegacy is cosign's signDigest + WriteSignatures.
func (c *cosignSigner) writeLegacy(t *testing.T, d name.Digest, annotations map[string]any) {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d, Annotations: annotations}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	pb := c.bundle(t, &sign.PlainData{Data: payload})
	b64sig := base64.StdEncoding.EncodeToString(pb.GetMessageSignature().GetSignature())
	var opts []static.Option
	if cert := pb.GetVerificationMaterial().GetCertificate(); cert != nil {
		certPEM := cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, cert.GetRawBytes())
		opts = append(opts, static.WithCertChain(certPEM, nil))
	}
	if entries := pb.GetVerificationMaterial().GetTlogEntries(); len(entries) > 0 {
		e := entries[0]
		opts = append(opts, static.WithBundle(&cbundle.RekorBundle{
			SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
			Payload: cbundle.RekorPayload{
				Body:           e.GetCanonicalizedBody(),
				IntegratedTime: e.GetIntegratedTime(),
				LogIndex:       e.GetLogIndex(),
				LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
			},
		}))
	}
	sig, err := static.NewSignature(payload, b64sig, opts...)
	if err != nil {
		t.Fatal(err)
	}
	se, err := mutate.AttachSignatureToEntity(ociremote.SignedUnknown(d, cosignRemote()...), sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Repository, se, cosignRemote()...); err != nil {
		t.Fatalf("cosign WriteSignatures: %v", err)
	}
}

// writeBundle is cosign's signDigestBundle + WriteAttestationNewBundleFormat.
func (c *cosignSigner) writeBundle(t *testing.T, d name.Digest, annotations map[string]any) {
	t.Helper()
	alg, hexDigest, _ := strings.Cut(d.DigestStr(), ":")
	ann, _ := structpb.NewStruct(annotations)
	stmt, err := protojson.Marshal(&intotov1.Statement{
		Type:          intotov1.StatementTypeUri,
		Subject:       []*intotov1.ResourceDescriptor{{Digest: map[string]string{alg: hexDigest}, Annotations: ann}},
		PredicateType: signing.SignPredicateType,
		Predicate:     &structpb.Struct{},
	})
	if err != nil {
		t.Fatal(err)
	}
	pb := c.bundle(t, &sign.DSSEData{Data: stmt, PayloadType: "application/vnd.in-toto+json"})
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, signing.SignPredicateType, cosignRemote()...); err != nil {
		t.Fatalf("cosign WriteAttestationNewBundleFormat: %v", err)
	}
}

// TestInteropCosignToSC: sc verifies signatures written by cosign's
// library, key-based and keyless, in both formats, on every registry.
func TestInteropCosignToSC(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	for _, kind := range allRegistries {
		for _, format := range formats {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				d, _ := r.push(t, "app:v1")
				keyed, pub := cosignKeySigner(t)
				keyless := cosignKeylessSigner(t, ss)
				ann := map[string]any{"team": "payments"}
				for _, c := range []*cosignSigner{keyed, keyless} {
					if format == signing.FormatBundle {
						c.writeBundle(t, d, ann)
					} else {
						c.writeLegacy(t, d, ann)
					}
				}

				kv, err := signing.NewVerifier(r.client, nil, signing.Policy{Key: pub, Annotations: map[string]string{"team": "payments"}}, signing.WithInsecureIgnoreTlog())
				if err != nil {
					t.Fatal(err)
				}
				vr, err := kv.Verify(ctx, d.String())
				if err != nil || len(vr.Verified) != 1 || vr.Verified[0].Format != format || vr.Verified[0].Annotations["team"] != "payments" {
					t.Errorf("key verification of cosign's signature = %+v, %v", vr, err)
				}

				iv := identityVerifier(t, r.client, ss, signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL})
				vr, err = iv.Verify(ctx, d.String())
				if err != nil || len(vr.Verified) != 1 || vr.Verified[0].Subject != identity || vr.Verified[0].TlogIndex == nil {
					t.Errorf("keyless verification of cosign's signature = %+v, %v", vr, err)
				}
			})
		}
	}
}

// TestInteropSCToCosign: cosign's verification (what `cosign verify` runs)
// accepts what sc wrote, key-based and keyless, in both formats, on every
// registry.
func TestInteropSCToCosign(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	for _, kind := range allRegistries {
		for _, format := range formats {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				r.push(t, "keyed:v1")
				r.push(t, "keyless:v1")
				ks, pub := newKey(t, signing.Services{})
				opts := signing.SignOptions{Format: format, Annotations: map[string]string{"team": "payments"}, Trusted: ss.TrustedRoot()}
				if _, err := signing.SignImage(ctx, r.client, r.host.Ref("keyed:v1"), ks, opts); err != nil {
					t.Fatal(err)
				}
				if _, err := signing.SignImage(ctx, r.client, r.host.Ref("keyless:v1"), keylessSigner(t, ss, identity, false), opts); err != nil {
					t.Fatal(err)
				}

				sv, err := signature.LoadVerifier(pub, crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				keyOpts := &cosign.CheckOpts{
					RegistryClientOpts: cosignRemote(),
					SigVerifier:        sv,
					IgnoreTlog:         true, // cosign verify --key cosign.pub --insecure-ignore-tlog
					Annotations:        map[string]any{"team": "payments"},
				}
				keylessOpts := &cosign.CheckOpts{
					RegistryClientOpts: cosignRemote(),
					TrustedMaterial:    ss.TrustedRoot(),
					Identities:         []cosign.Identity{{Subject: identity, Issuer: ss.OIDCIssuerURL}},
					Annotations:        map[string]any{"team": "payments"},
				}
				for _, tc := range []struct {
					image string
					co    *cosign.CheckOpts
				}{{"keyed:v1", keyOpts}, {"keyless:v1", keylessOpts}} {
					ref, err := name.ParseReference(r.host.Ref(tc.image), name.Insecure)
					if err != nil {
						t.Fatal(err)
					}
					var n int
					if format == signing.FormatBundle {
						tc.co.NewBundleFormat = true
						tc.co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
						sigs, _, err := cosign.VerifyImageAttestations(ctx, ref, tc.co, name.Insecure)
						if err != nil {
							t.Fatalf("cosign verification of %s: %v", tc.image, err)
						}
						n = len(sigs)
					} else {
						tc.co.ClaimVerifier = cosign.SimpleClaimVerifier
						sigs, _, err := cosign.VerifyImageSignatures(ctx, ref, tc.co)
						if err != nil {
							t.Fatalf("cosign verification of %s: %v", tc.image, err)
						}
						n = len(sigs)
					}
					if n != 1 {
						t.Errorf("cosign verified %d signatures of %s, want 1", n, tc.image)
					}
				}
			})
		}
	}
}
