package signing

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sc-project/sc/pkg/security/registry"
)

const fuzzDigest = "127.0.0.1:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fuzzSetup signs fuzzDigest in both formats with a fresh key and returns a
// verifier for that key and the two artifacts as seeds.
func fuzzSetup(f *testing.F) (*Verifier, name.Digest, []byte, registry.Artifact) {
	f.Helper()
	d, err := name.NewDigest(fuzzDigest)
	if err != nil {
		f.Fatal(err)
	}
	s, pub := testKeySigner(f, Services{})
	ctx := context.Background()
	stmt, err := signStatement(d, map[string]string{"a": "b"})
	if err != nil {
		f.Fatal(err)
	}
	bsig, err := s.Sign(ctx, &sign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType})
	if err != nil {
		f.Fatal(err)
	}
	bundleJSON, err := bsig.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	payload, err := legacyPayload(d, nil)
	if err != nil {
		f.Fatal(err)
	}
	lsig, err := s.Sign(ctx, &sign.PlainData{Data: payload})
	if err != nil {
		f.Fatal(err)
	}
	layer, _, err := legacyArtifact(context.Background(), lsig, payload, "")
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(nil, nil, Policy{Key: pub}, WithInsecureIgnoreTlog())
	if err != nil {
		f.Fatal(err)
	}
	return v, d, bundleJSON, layer
}

// FuzzCheckBundle feeds arbitrary registry content to the bundle verifier:
// it must never panic, and only the untouched seed may verify.
func FuzzCheckBundle(f *testing.F) {
	v, d, seed, _ := fuzzSetup(f)
	f.Add(seed)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ok, err := v.checkBundle(data, d)
		if err == nil && ok == nil {
			t.Fatal("no error and no result")
		}
		if err == nil && string(data) != string(seed) {
			// A different byte string may still be the same bundle (JSON
			// whitespace, field order); it must then carry the same
			// signature.
			if string(ok.signature) == "" {
				t.Fatalf("verified content without a signature: %q", data)
			}
		}
	})
}

// FuzzCheckLegacy feeds arbitrary layer content and annotations to the
// legacy verifier.
func FuzzCheckLegacy(f *testing.F) {
	v, d, _, layer := fuzzSetup(f)
	ann, err := json.Marshal(layer.Annotations)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(layer.Data, ann)
	f.Add([]byte(`{"critical":{}}`), []byte(`{"dev.cosignproject.cosign/signature":"AAAA","dev.sigstore.cosign/bundle":"{}"}`))
	f.Add([]byte(`{}`), []byte(`{"dev.cosignproject.cosign/signature":"AAAA","dev.sigstore.cosign/certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}`))
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data, annJSON []byte) {
		var annotations map[string]string
		if json.Unmarshal(annJSON, &annotations) != nil {
			return
		}
		a := registry.Artifact{MediaType: simpleSigningMediaType, Data: data, Annotations: annotations}
		ok, err := v.checkLegacy(context.Background(), a, h)
		if err == nil && ok == nil {
			t.Fatal("no error and no result")
		}
	})
}

// FuzzVerifyEnvelope feeds arbitrary registry content to the attestation
// envelope reader and verifier, in both formats: it must never panic, and
// what verifies must carry a signature.
func FuzzVerifyEnvelope(f *testing.F) {
	d, err := name.NewDigest(fuzzDigest)
	if err != nil {
		f.Fatal(err)
	}
	s, pub := testKeySigner(f, Services{})
	sig := signedStatement(f, s, d)
	bundleJSON, err := sig.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	layer, _, err := legacyArtifact(context.Background(), sig, nil, "https://example.com/p")
	if err != nil {
		f.Fatal(err)
	}
	ann, err := json.Marshal(layer.Annotations)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, bundleJSON, []byte(`{}`))
	f.Add(false, layer.Data, ann)
	f.Add(false, []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`), []byte(`{}`))
	v, err := NewVerifier(nil, nil, Policy{Key: pub}, WithInsecureIgnoreTlog())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, bundleFormat bool, data, annJSON []byte) {
		var annotations map[string]string
		if json.Unmarshal(annJSON, &annotations) != nil {
			return
		}
		format, mediaType := FormatLegacy, dsseMediaType
		if bundleFormat {
			format, mediaType = FormatBundle, BundleMediaType
		}
		e, err := ReadEnvelope(format, registry.Artifact{MediaType: types.MediaType(mediaType), Data: data, Annotations: annotations})
		if err != nil {
			return
		}
		ok, err := v.VerifyEnvelope(context.Background(), e, d, nil)
		if err == nil && (ok == nil || len(ok.signature) == 0) {
			t.Fatalf("verified content without a signature: %q", data)
		}
	})
}
