package attest_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// stored is an attestation as it sits in the registry.
type stored struct {
	data          []byte
	predicateType string // the annotation
}

// signStatement signs statement as sc would, returning the bundle.
func signStatement(t testing.TB, s signing.Signer, statement []byte) *signing.Signature {
	t.Helper()
	sig, err := s.Sign(context.Background(), &sign.DSSEData{Data: statement, PayloadType: signing.InTotoPayloadType})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// store writes an attestation next to d in format f by hand, the way sc
// and cosign lay it out, with whatever content and annotation it is given.
func store(t testing.TB, r *testRegistry, d name.Digest, f signing.Format, a stored, created string) string {
	t.Helper()
	ctx := context.Background()
	if f == signing.FormatBundle {
		ann := map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", signing.AnnotationBundlePredicateType: a.predicateType}
		if created != "" {
			ann[signing.AnnotationCreated] = created
		}
		h, err := r.client.AttachReferrer(ctx, d, signing.BundleMediaType,
			registry.Artifact{MediaType: signing.BundleMediaType, Data: a.data}, ann)
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	if _, err := r.client.AttachLegacy(ctx, d, signing.AttestationSuffix, registry.Artifact{
		MediaType:   "application/vnd.dsse.envelope.v1+json",
		Data:        a.data,
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": "", signing.AnnotationPredicateType: a.predicateType},
	}); err != nil {
		t.Fatal(err)
	}
	arts, err := r.client.FetchLegacy(ctx, d, signing.AttestationSuffix)
	if err != nil {
		t.Fatal(err)
	}
	return arts[len(arts)-1].Digest.String()
}

// signed returns what sc stores for a signature in format f.
func signed(t testing.TB, sig *signing.Signature, f signing.Format) []byte {
	t.Helper()
	if f == signing.FormatBundle {
		b, err := sig.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b, err := json.Marshal(sig.Bundle.GetDsseEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attachBundleAt attaches p as a bundle with the given creation time.
func attachBundleAt(t testing.TB, r *testRegistry, s signing.Signer, d name.Digest, p attest.Predicate, created string) string {
	t.Helper()
	st, err := attest.NewStatement(d, p)
	if err != nil {
		t.Fatal(err)
	}
	return store(t, r, d, signing.FormatBundle, stored{signed(t, signStatement(t, s, st), signing.FormatBundle), p.Type}, created)
}

// fetchOne reads the one attestation stored next to d in format f.
func fetchOne(t testing.TB, r *testRegistry, d name.Digest, f signing.Format) stored {
	t.Helper()
	ctx := context.Background()
	if f == signing.FormatBundle {
		descs, err := r.client.Referrers(ctx, d, signing.BundleMediaType)
		if err != nil || len(descs) != 1 {
			t.Fatalf("referrers of %s: %v, %v", d, descs, err)
		}
		a, err := r.client.FetchReferrer(ctx, d, descs[0])
		if err != nil {
			t.Fatal(err)
		}
		return stored{a.Data, a.ManifestAnnotations[signing.AnnotationBundlePredicateType]}
	}
	arts, err := r.client.FetchLegacy(ctx, d, signing.AttestationSuffix)
	if err != nil || len(arts) != 1 {
		t.Fatalf("legacy attestations of %s: %v, %v", d, arts, err)
	}
	return stored{arts[0].Data, arts[0].Annotations[signing.AnnotationPredicateType]}
}

// tamper rewrites the signed statement inside a stored attestation, leaving
// the signature as it was.
func tamper(t testing.TB, data []byte, f signing.Format, edit func([]byte) []byte) []byte {
	t.Helper()
	if f == signing.FormatBundle {
		var b protobundle.Bundle
		if err := protojson.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		b.GetDsseEnvelope().Payload = edit(b.GetDsseEnvelope().GetPayload())
		out, err := protojson.Marshal(&b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	var payload []byte
	if err := json.Unmarshal([]byte(`"`+env["payload"].(string)+`"`), &payload); err != nil {
		t.Fatal(err)
	}
	env["payload"] = edit(payload)
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdversarial: attestations that must not verify, each with a reason a
// user can act on, next to a valid one that still does.
func TestAdversarial(t *testing.T) {
	ctx := context.Background()
	sbomDoc := attest.Predicate{Type: attest.PredicateCycloneDX, Data: readTestdata(t, "sbom.cdx.json")}
	prov := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: readTestdata(t, "provenance.json")}
	tests := []struct {
		name string
		// prepare stores the bad attestation next to d (with a valid
		// SBOM attestation of a already there) and returns the predicate
		// type to verify.
		prepare func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string
		reason  string
		// valid tells whether a's valid SBOM attestation is in d's result.
		valid bool
	}{
		{
			name: "copied from another image",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				store(t, r, d, f, fetchOne(t, r, a, f), "")
				return "cyclonedx"
			},
			reason: "about another image",
		},
		{
			name: "tampered statement",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				st, err := attest.NewStatement(d, sbomDoc)
				if err != nil {
					t.Fatal(err)
				}
				data := tamper(t, signed(t, signStatement(t, s, st), f), f, func(p []byte) []byte {
					return bytes.Replace(p, []byte("4.19.2"), []byte("4.99.9"), 1)
				})
				store(t, r, d, f, stored{data, attest.PredicateCycloneDX}, "")
				return "cyclonedx"
			},
			reason: "does not verify with the given key (wrong key, or tampered content)",
		},
		{
			name: "tampered subject",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				st, err := attest.NewStatement(a, sbomDoc)
				if err != nil {
					t.Fatal(err)
				}
				data := tamper(t, signed(t, signStatement(t, s, st), f), f, func(p []byte) []byte {
					return bytes.ReplaceAll(p, []byte(a.DigestStr()[len("sha256:"):]), []byte(d.DigestStr()[len("sha256:"):]))
				})
				store(t, r, d, f, stored{data, attest.PredicateCycloneDX}, "")
				return "cyclonedx"
			},
			reason: "does not verify with the given key",
		},
		{
			name: "predicate type not the one stored",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				st, err := attest.NewStatement(d, prov)
				if err != nil {
					t.Fatal(err)
				}
				store(t, r, d, f, stored{signed(t, signStatement(t, s, st), f), attest.PredicateCycloneDX}, "")
				return "cyclonedx"
			},
			reason: "predicate type is https://slsa.dev/provenance/v1, but it is stored as https://cyclonedx.org/bom",
		},
		{
			name: "statement for another repository",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				elsewhere, err := name.NewDigest("registry.example.com/evil@" + d.DigestStr())
				if err != nil {
					t.Fatal(err)
				}
				st, err := attest.NewStatement(elsewhere, sbomDoc)
				if err != nil {
					t.Fatal(err)
				}
				store(t, r, d, f, stored{signed(t, signStatement(t, s, st), f), attest.PredicateCycloneDX}, "")
				return "cyclonedx"
			},
			reason: `in repository "registry.example.com/evil"`,
		},
		{
			name: "not a bundle or envelope",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				store(t, r, d, f, stored{[]byte(`garbage`), attest.PredicateCycloneDX}, "")
				return "cyclonedx"
			},
			reason: "not a",
		},
		{
			name: "signed by another key",
			prepare: func(t *testing.T, r *testRegistry, s signing.Signer, f signing.Format, a, d name.Digest) string {
				other, _ := newKey(t, signing.Services{})
				if _, err := attest.Attach(ctx, r.client, other, d, sbomDoc, attest.AttachOptions{Format: f}); err != nil {
					t.Fatal(err)
				}
				return "cyclonedx"
			},
			reason: "does not verify with the given key",
		},
	}
	for _, f := range formats {
		for _, tt := range tests {
			t.Run(string(f)+"/"+tt.name, func(t *testing.T) {
				r := newTestRegistry(t, inProcess)
				a, _ := r.push(t, "a:1")
				d, _ := r.push(t, "b:1")
				s, pub := newKey(t, signing.Services{})
				if _, err := attest.Attach(ctx, r.client, s, a, sbomDoc, attest.AttachOptions{Format: f}); err != nil {
					t.Fatal(err)
				}
				typ := tt.prepare(t, r, s, f, a, d)
				res, err := keyVerifier(t, r.client, pub).VerifyDigest(ctx, d, typ)
				if !errors.Is(err, attest.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
					t.Fatalf("Verify = %s, %v; want ErrVerificationFailed", summary(res), err)
				}
				if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, tt.reason) {
					t.Fatalf("rejected = %s, want one saying %q", summary(res), tt.reason)
				}
				t.Logf("reason: %s", res.Rejected[0].Reason)
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("error %q does not give the reason", err)
				}
				// The genuine attestation of a still verifies.
				if res, err := keyVerifier(t, r.client, pub).VerifyDigest(ctx, a, "cyclonedx"); err != nil || len(res.Verified) != 1 {
					t.Errorf("Verify of the original = %s, %v", summary(res), err)
				}
			})
		}
	}
}

// TestAnySubjectName: an attestation of an image copied to another
// repository is accepted only when asked for.
func TestAnySubjectName(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t, inProcess)
	a, _ := r.push(t, "staging/shop:1")
	s, pub := newKey(t, signing.Services{})
	if _, err := attest.Attach(ctx, r.client, s, a, attest.Predicate{Type: attest.PredicateCycloneDX, Data: []byte(`{"bomFormat":"CycloneDX"}`)}, attest.AttachOptions{}); err != nil {
		t.Fatal(err)
	}
	// Promote: the same digest in another repository, with its attestation.
	promoted, err := name.NewDigest(r.host.Ref("prod/shop@"+a.DigestStr()), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := r.client.Image(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, promoted, img)
	store(t, r, promoted, signing.FormatBundle, fetchOne(t, r, a, signing.FormatBundle), "")

	if _, err := keyVerifier(t, r.client, pub).VerifyDigest(ctx, promoted, "cyclonedx"); !errors.Is(err, attest.ErrVerificationFailed) {
		t.Errorf("Verify of the promoted image: %v, want ErrVerificationFailed", err)
	}
	res, err := keyVerifier(t, r.client, pub, attest.WithAnySubjectName()).VerifyDigest(ctx, promoted, "cyclonedx")
	if err != nil || len(res.Verified) != 1 {
		t.Errorf("Verify WithAnySubjectName = %s, %v", summary(res), err)
	}
}

// TestTlogRequired: with trusted material and no opt-out, an attestation
// without a log entry is rejected; one with an entry verifies.
func TestTlogRequired(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			d, _ := r.push(t, "shop:1")
			p := attest.Predicate{Type: attest.PredicateSPDX, Data: readTestdata(t, "sbom.spdx"), Text: true}
			offline, pub := newKey(t, signing.Services{})
			if _, err := attest.Attach(ctx, r.client, offline, d, p, attest.AttachOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			v := verifierWith(t, r, ss, signing.Policy{Key: pub})
			res, err := v.VerifyDigest(ctx, d, "spdx")
			if !errors.Is(err, attest.ErrVerificationFailed) || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "no transparency log entry") {
				t.Fatalf("Verify = %s, %v; want a rejection for the missing log entry", summary(res), err)
			}

			logged, pub2 := newKey(t, signing.Services{RekorURL: ss.RekorURL})
			a, err := attest.Attach(ctx, r.client, logged, d, p, attest.AttachOptions{Format: f})
			if err != nil || a.TlogIndex == nil {
				t.Fatalf("Attach with Rekor = %+v, %v", a, err)
			}
			res, err = verifierWith(t, r, ss, signing.Policy{Key: pub2}).VerifyDigest(ctx, d, "spdx")
			if err != nil || len(res.Verified) != 1 || res.Verified[0].TlogIndex == nil || *res.Verified[0].TlogIndex != *a.TlogIndex {
				t.Fatalf("Verify of the logged attestation = %s, %v", summary(res), err)
			}
		})
	}
}

func verifierWith(t testing.TB, r *testRegistry, ss *sigstoretest.Sigstore, p signing.Policy, opts ...attest.Option) *attest.Verifier {
	t.Helper()
	return newVerifier(t, r.client, ss.TrustedRoot(), p, nil, opts...)
}

// TestKeylessEndToEnd attests keylessly against the private Sigstore
// (Fulcio certificate, Rekor entry) in both formats on both registries, and
// verifies with the identity: the right one accepts, another rejects.
func TestKeylessEndToEnd(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	const identity = "ci@example.com"
	for _, kind := range registries {
		for _, f := range formats {
			t.Run(string(kind)+"/"+string(f), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				d, _ := r.push(t, "shop:1")
				s, err := signing.NewKeylessSigner(tokens(func(context.Context) (string, error) { return ss.Token(identity), nil }),
					signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL})
				if err != nil {
					t.Fatal(err)
				}
				p := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: readTestdata(t, "provenance.json")}
				a, err := attest.Attach(ctx, r.client, s, d, p, attest.AttachOptions{Format: f})
				if err != nil {
					t.Fatalf("Attach: %v", err)
				}
				if a.Signer.Subject != identity || a.TlogIndex == nil {
					t.Errorf("Attach = %+v", a)
				}
				v := verifierWith(t, r, ss, signing.Policy{Identity: &signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL}})
				res, err := v.Verify(ctx, r.host.Ref("shop:1"), "slsaprovenance1")
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				got := res.Verified[0]
				if len(res.Verified) != 1 || got.Subject != identity || got.Issuer != ss.OIDCIssuerURL || got.TlogIndex == nil ||
					*got.TlogIndex != *a.TlogIndex || got.SignedAt == nil || got.Artifact != a.Artifact {
					t.Errorf("verified = %s, attached %+v", summary(res), a)
				}
				if string(got.Predicate) != wantPredicate(p) {
					t.Errorf("predicate = %s", got.Predicate)
				}

				other := verifierWith(t, r, ss, signing.Policy{Identity: &signing.IdentityPolicy{Subject: "someone@example.com", Issuer: ss.OIDCIssuerURL}})
				res, err = other.VerifyDigest(ctx, d, "slsaprovenance1")
				if !errors.Is(err, attest.ErrVerificationFailed) || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "identity") {
					t.Errorf("Verify with another identity = %s, %v", summary(res), err)
				}
				keyed := verifierWith(t, r, ss, signing.Policy{Key: mustPublicKey(t)})
				res, err = keyed.VerifyDigest(ctx, d, "slsaprovenance1")
				if !errors.Is(err, attest.ErrVerificationFailed) || !strings.Contains(res.Rejected[0].Reason, "keylessly") {
					t.Errorf("Verify of a keyless attestation with a key = %s, %v", summary(res), err)
				}
			})
		}
	}
}

func mustPublicKey(t testing.TB) crypto.PublicKey {
	_, pub := newKey(t, signing.Services{})
	return pub
}

// TestNoImageLayersRead: attaching and verifying read manifests and the
// attestations' own blobs, never the image's layers or config.
func TestNoImageLayersRead(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registries {
		for _, f := range formats {
			t.Run(string(kind)+"/"+string(f), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				d, img := r.push(t, "shop:1")
				s, pub := newKey(t, signing.Services{})
				r.faults.Reset()
				for _, c := range predicates(t) {
					if _, err := attest.Attach(ctx, r.client, s, d, c.predicate, attest.AttachOptions{Format: f}); err != nil {
						t.Fatal(err)
					}
					if _, err := keyVerifier(t, r.client, pub).Verify(ctx, r.host.Ref("shop:1"), c.predicate.Type); err != nil {
						t.Fatal(err)
					}
				}
				layers, err := img.Layers()
				if err != nil {
					t.Fatal(err)
				}
				var imageBlobs []string
				for _, l := range layers {
					h, _ := l.Digest()
					imageBlobs = append(imageBlobs, h.String())
				}
				cfg, _ := img.ConfigName()
				imageBlobs = append(imageBlobs, cfg.String())
				var blobGets int
				for _, req := range r.faults.Requests() {
					if req.Class == "blob" && req.Method == "GET" {
						blobGets++
					}
					for _, b := range imageBlobs {
						if strings.Contains(req.Path, b) {
							t.Errorf("%s %s reads a blob of the image", req.Method, req.Path)
						}
					}
				}
				if blobGets == 0 {
					t.Error("no blob was read: the attestations themselves were not fetched")
				}
				t.Logf("%d requests, %d blob reads", len(r.faults.Requests()), blobGets)
			})
		}
	}
}

// pushImage writes img under d's repository (tests of promoted images).
func pushImage(t testing.TB, d name.Digest, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(d.Context().String()+":promoted", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}
