package signing_test

import (
	"context"
	"testing"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/security/signing"
)

// BenchmarkSign signs one image per iteration against the in-process
// registry with the referrers API: resolve, check existing signatures,
// sign, store. Each iteration signs a fresh image so that none is skipped.
//
//	go test ./pkg/security/signing -run '^$' -bench . -benchtime 50x
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	for _, format := range formats {
		b.Run("key/"+string(format), func(b *testing.B) {
			r := newTestRegistry(b, inProcess)
			s, _ := newKey(b, signing.Services{})
			refs := make([]string, b.N)
			for i := range refs {
				r.push(b, "app:v1")
				d, err := r.client.Resolve(ctx, r.host.Ref("app:v1"))
				if err != nil {
					b.Fatal(err)
				}
				refs[i] = d.String()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := signing.SignImage(ctx, r.client, refs[i], s, signing.SignOptions{Format: format}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("keyless/"+string(format), func(b *testing.B) {
			ss := sigstoretest.New(b)
			r := newTestRegistry(b, inProcess)
			s := keylessSigner(b, ss, identity, false)
			refs := make([]string, b.N)
			for i := range refs {
				r.push(b, "app:v1")
				d, err := r.client.Resolve(ctx, r.host.Ref("app:v1"))
				if err != nil {
					b.Fatal(err)
				}
				refs[i] = d.String()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := signing.SignImage(ctx, r.client, refs[i], s, signing.SignOptions{Format: format, Trusted: ss.TrustedRoot()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies one signed image per iteration.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, format := range formats {
		b.Run("key/"+string(format), func(b *testing.B) {
			r := newTestRegistry(b, inProcess)
			d, _ := r.push(b, "app:v1")
			s, pub := newKey(b, signing.Services{})
			if _, err := signing.SignImage(ctx, r.client, d.String(), s, signing.SignOptions{Format: format}); err != nil {
				b.Fatal(err)
			}
			v := keyVerifier(b, r.client, pub)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.VerifyDigest(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("keyless/"+string(format), func(b *testing.B) {
			ss := sigstoretest.New(b)
			r := newTestRegistry(b, inProcess)
			d, _ := r.push(b, "app:v1")
			if _, err := signing.SignImage(ctx, r.client, d.String(), keylessSigner(b, ss, identity, false),
				signing.SignOptions{Format: format, Trusted: ss.TrustedRoot()}); err != nil {
				b.Fatal(err)
			}
			v := identityVerifier(b, r.client, ss, signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.VerifyDigest(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
