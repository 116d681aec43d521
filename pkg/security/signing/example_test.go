package signing_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// Sign an image with a cosign key, without a transparency log, in the
// bundle format, and check that what was written verifies.
func ExampleSignImage() {
	ctx := context.Background()
	pemBytes, err := os.ReadFile("cosign.key")
	if err != nil {
		panic(err)
	}
	sv, err := signing.LoadPrivateKey(pemBytes, []byte(os.Getenv("SC_KEY_PASSWORD")))
	if err != nil {
		panic(err)
	}
	signer, err := signing.NewKeySigner(sv, signing.Services{}) // no Rekor: air-gapped
	if err != nil {
		panic(err)
	}
	res, err := signing.SignImage(ctx, registry.New(), "registry.example.com/shop:1.4.0", signer,
		signing.SignOptions{Format: signing.FormatBundle, Annotations: map[string]string{"git-sha": "4f2a9c1"}, VerifyAfterSign: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Image, res.Skipped)
}

// Verify keyless signatures made by a GitHub Actions workflow, with the
// public-good trusted root.
func ExampleVerifier() {
	ctx := context.Background()
	trusted, err := signing.PublicGoodTrustedRoot(ctx, signing.TUFOptions{})
	if err != nil {
		panic(err)
	}
	v, err := signing.NewVerifier(registry.New(), trusted, signing.Policy{Identity: &signing.IdentityPolicy{
		SubjectRegexp: `^https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/tags/`,
		Issuer:        "https://token.actions.githubusercontent.com",
	}})
	if err != nil {
		panic(err)
	}
	res, err := v.Verify(ctx, "registry.example.com/shop:1.4.0")
	if err != nil {
		panic(err) // signing.ErrNotSigned or signing.ErrVerificationFailed: exit 1
	}
	for _, s := range res.Verified {
		fmt.Println(s.Format, s.Subject, *s.TlogIndex)
	}
}
