package attest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// Attach an SPDX JSON SBOM to an image as a signed attestation, with a
// cosign key and no transparency log, in the bundle format.
func ExampleAttach() {
	ctx := context.Background()
	reg := registry.New()
	d, err := reg.Resolve(ctx, "registry.example.com/shop:1.4.0") // once: from here on, the digest
	if err != nil {
		panic(err)
	}
	pemBytes, err := os.ReadFile("cosign.key")
	if err != nil {
		panic(err)
	}
	sv, err := signing.LoadPrivateKey(pemBytes, []byte(os.Getenv("SC_KEY_PASSWORD")))
	if err != nil {
		panic(err)
	}
	signer, err := signing.NewKeySigner(sv, signing.Services{})
	if err != nil {
		panic(err)
	}
	doc, err := os.ReadFile("sbom.spdx.json")
	if err != nil {
		panic(err)
	}
	res, err := attest.Attach(ctx, reg, signer, d, attest.Predicate{Type: attest.PredicateSPDX, Data: doc},
		attest.AttachOptions{Format: signing.FormatBundle})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Image, res.Artifact)
}

// Verify the SLSA provenance of an image made by a GitHub Actions
// workflow, keylessly, and print the newest verified predicate.
func ExampleVerifier() {
	ctx := context.Background()
	trusted, err := signing.PublicGoodTrustedRoot(ctx, signing.TUFOptions{})
	if err != nil {
		panic(err)
	}
	reg := registry.New()
	sv, err := signing.NewVerifier(reg, trusted, signing.Policy{Identity: &signing.IdentityPolicy{
		SubjectRegexp: `^https://github\.com/acme/shop/\.github/workflows/release\.yml@refs/tags/`,
		Issuer:        "https://token.actions.githubusercontent.com",
	}})
	if err != nil {
		panic(err)
	}
	v := attest.NewVerifier(reg, sv)
	res, err := v.Verify(ctx, "registry.example.com/shop:1.4.0", "slsaprovenance1")
	if err != nil {
		panic(err) // attest.ErrNoAttestation or attest.ErrVerificationFailed: exit 1
	}
	newest := res.Verified[0]
	fmt.Println(newest.Subject, newest.Format, len(newest.Predicate))
}
