package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

var formats = []signing.Format{signing.FormatBundle, signing.FormatLegacy}

// TestSignVerifyKey signs with a key in both formats on every registry,
// verifies, and checks that signing again is skipped while signing other
// annotations adds a signature.
func TestSignVerifyKey(t *testing.T) {
	ctx := context.Background()
	for _, kind := range allRegistries {
		for _, format := range formats {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				d, _ := r.push(t, "app:v1")
				ref := r.host.Ref("app:v1")
				s, pub := newKey(t, signing.Services{})
				keyID, err := signing.KeyID(pub)
				if err != nil {
					t.Fatal(err)
				}
				opts := signing.SignOptions{Format: format, Annotations: map[string]string{"env": "prod"}, VerifyAfterSign: true}

				res, err := signing.SignImage(ctx, r.client, ref, s, opts)
				if err != nil {
					t.Fatalf("SignImage: %v", err)
				}
				if res.Image != d.String() || res.Skipped || res.Format != format || res.Artifact == "" || res.Signer.KeyID != keyID {
					t.Fatalf("SignImage result = %+v, want a new %s signature of %s by %s", res, format, d, keyID)
				}

				v := keyVerifier(t, r.client, pub)
				vr, err := v.Verify(ctx, ref)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := []signing.Verified{{Format: format, KeyID: keyID, Annotations: map[string]string{"env": "prod"}}}
				if diff := cmp.Diff(want, vr.Verified, cmpopts.IgnoreFields(signing.Verified{}, "Artifact"), cmpopts.IgnoreUnexported(signing.Verified{})); diff != "" {
					t.Errorf("verified (-want +got):\n%s", diff)
				}
				if vr.Verified[0].Artifact != res.Artifact {
					t.Errorf("verified artifact %s, SignImage reported %s", vr.Verified[0].Artifact, res.Artifact)
				}
				if len(vr.Rejected) != 0 || vr.Image != d.String() {
					t.Errorf("result = %+v, want image %s and no rejection", vr, d)
				}

				// The same signer and annotations: nothing new.
				again, err := signing.SignImage(ctx, r.client, ref, s, opts)
				if err != nil {
					t.Fatalf("SignImage again: %v", err)
				}
				if !again.Skipped || again.Artifact != vr.Verified[0].Artifact {
					t.Errorf("second SignImage = %+v, want skipped with artifact %s", again, vr.Verified[0].Artifact)
				}
				if vr, err := v.Verify(ctx, ref); err != nil || len(vr.Verified) != 1 {
					t.Errorf("after the second signing: %d verified, err %v; want 1", len(vr.Verified), err)
				}

				// Other annotations are another claim: a second signature.
				opts.Annotations = map[string]string{"env": "staging"}
				third, err := signing.SignImage(ctx, r.client, ref, s, opts)
				if err != nil || third.Skipped {
					t.Fatalf("SignImage with other annotations = %+v, %v; want a new signature", third, err)
				}
				vr, err = v.Verify(ctx, ref)
				if err != nil || len(vr.Verified) != 2 {
					t.Fatalf("after signing other annotations: %+v, %v; want 2 verified", vr, err)
				}

				// A policy on annotations picks the matching one.
				va, err := signing.NewVerifier(r.client, nil, signing.Policy{Key: pub, Annotations: map[string]string{"env": "staging"}}, signing.WithInsecureIgnoreTlog())
				if err != nil {
					t.Fatal(err)
				}
				vr, err = va.Verify(ctx, ref)
				if err != nil || len(vr.Verified) != 1 || vr.Verified[0].Annotations["env"] != "staging" || len(vr.Rejected) != 1 {
					t.Errorf("annotation policy: %+v, %v; want the staging signature verified and the prod one rejected", vr, err)
				}
			})
		}
	}
}

// TestSignOtherSignerAdds checks that another key's signature does not count
// as "already signed".
func TestSignOtherSignerAdds(t *testing.T) {
	ctx := context.Background()
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			r.push(t, "app:v1")
			ref := r.host.Ref("app:v1")
			a, pubA := newKey(t, signing.Services{})
			b, pubB := newKey(t, signing.Services{})
			for _, s := range []*signing.KeySigner{a, b} {
				res, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format})
				if err != nil || res.Skipped {
					t.Fatalf("SignImage = %+v, %v; want a new signature", res, err)
				}
			}
			for _, pub := range []any{pubA, pubB} {
				vr, err := keyVerifier(t, r.client, pub).Verify(ctx, ref)
				if err != nil || len(vr.Verified) != 1 || len(vr.Rejected) != 1 {
					t.Errorf("Verify = %+v, %v; want one verified and the other key's rejected", vr, err)
				}
			}
		})
	}
}

// TestSignDoesNotPullLayers proves with the registry's request log that
// signing and verifying read no layer or config of the image.
func TestSignDoesNotPullLayers(t *testing.T) {
	ctx := context.Background()
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			_, img := r.push(t, "app:v1")
			ref := r.host.Ref("app:v1")
			s, pub := newKey(t, signing.Services{})
			r.faults.Reset()
			if _, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format, VerifyAfterSign: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := keyVerifier(t, r.client, pub).Verify(ctx, ref); err != nil {
				t.Fatal(err)
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			own := []string{cfg.String()}
			for _, l := range layers {
				h, err := l.Digest()
				if err != nil {
					t.Fatal(err)
				}
				own = append(own, h.String())
			}
			var pulled []string
			for _, req := range r.faults.Requests() {
				if req.Class != testutil.ClassBlob || req.Method != "GET" {
					continue
				}
				for _, h := range own {
					if strings.HasSuffix(req.Path, h) {
						pulled = append(pulled, req.Path)
					}
				}
			}
			if len(pulled) > 0 {
				t.Errorf("signing pulled the image's blobs: %v", pulled)
			}
			if r.faults.Count("", testutil.ClassManifest) == 0 {
				t.Error("the request log recorded no manifest request: it does not see the traffic")
			}
		})
	}
}

// TestSignResolvesTagOnce checks that a tag moved after resolution does not
// change what is signed: the digest is signed, and verification of the new
// tag target finds nothing.
func TestSignSignsDigestNotTag(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t, inProcess)
	d1, _ := r.push(t, "app:v1")
	s, pub := newKey(t, signing.Services{})
	res, err := signing.SignImage(ctx, r.client, r.host.Ref("app:v1"), s, signing.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != d1.String() {
		t.Fatalf("signed %s, want %s", res.Image, d1)
	}
	r.push(t, "app:v1") // the tag now points at another image
	_, err = keyVerifier(t, r.client, pub).Verify(ctx, r.host.Ref("app:v1"))
	if !errors.Is(err, signing.ErrNotSigned) {
		t.Errorf("Verify of the moved tag: %v, want ErrNotSigned", err)
	}
	if _, err := keyVerifier(t, r.client, pub).Verify(ctx, d1.String()); err != nil {
		t.Errorf("Verify of the signed digest: %v", err)
	}
}

func TestSignOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts signing.SignOptions
		want int
	}{
		{"defaults", signing.SignOptions{}, outcome.ExitOK},
		{"legacy", signing.SignOptions{Format: "legacy"}, outcome.ExitOK},
		{"unknown format", signing.SignOptions{Format: "v2"}, outcome.ExitInvalid},
		{"empty annotation key", signing.SignOptions{Annotations: map[string]string{"": "x"}}, outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcome.Code(tt.opts.Validate()); got != tt.want {
				t.Errorf("Validate() exit code = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestSignNeedsTrustWithTlog checks that a logging signer without trusted
// material is refused before anything is written.
func TestSignNeedsTrustWithTlog(t *testing.T) {
	r := newTestRegistry(t, inProcess)
	r.push(t, "app:v1")
	s, _ := newKey(t, signing.Services{RekorURL: "http://127.0.0.1:1"})
	_, err := signing.SignImage(context.Background(), r.client, r.host.Ref("app:v1"), s, signing.SignOptions{})
	if outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("SignImage = %v, want an invalid-usage error", err)
	}
}
