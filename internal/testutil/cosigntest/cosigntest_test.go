package cosigntest_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// What sc signs and attests, cosign verifies, in both formats; an image
// without a signature, or a signature by another key, does not verify.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	client := registry.New()
	kp, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signing.LoadPrivateKey(kp.PrivatePEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.NewKeySigner(sv, signing.Services{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	otherPub, err := signing.LoadPublicKey(other.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []signing.Format{signing.FormatBundle, signing.FormatLegacy} {
		t.Run(string(format), func(t *testing.T) {
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := client.ParseReference(reg.Ref("app:" + string(format)))
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img, client.RemoteOptions(ctx)...); err != nil {
				t.Fatal(err)
			}
			d, err := client.Resolve(ctx, ref.String())
			if err != nil {
				t.Fatal(err)
			}
			bundle := format == signing.FormatBundle
			if _, err := cosigntest.Verify(ctx, d.String(), pub, bundle); err == nil {
				t.Error("an unsigned image verifies")
			}
			if _, err := signing.SignImage(ctx, client, d.String(), signer, signing.SignOptions{Format: format}); err != nil {
				t.Fatal(err)
			}
			p := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: []byte(`{"buildDefinition":{}}`)}
			if _, err := attest.Attach(ctx, client, signer, d, p, attest.AttachOptions{Format: format}); err != nil {
				t.Fatal(err)
			}
			if n, err := cosigntest.Verify(ctx, d.String(), pub, bundle); err != nil || n != 1 {
				t.Errorf("Verify: %d, %v; want 1", n, err)
			}
			if n, err := cosigntest.VerifyAttestation(ctx, d.String(), pub, bundle, p.Type); err != nil || n != 1 {
				t.Errorf("VerifyAttestation: %d, %v; want 1", n, err)
			}
			if n, err := cosigntest.VerifyAttestation(ctx, d.String(), pub, bundle, attest.PredicateCycloneDX); err != nil || n != 0 {
				t.Errorf("VerifyAttestation of another type: %d, %v; want 0", n, err)
			}
			if _, err := cosigntest.Verify(ctx, d.String(), otherPub, bundle); err == nil {
				t.Error("a signature verifies with another key")
			}
		})
	}
}
