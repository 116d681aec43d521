package kms_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/sc-project/sc/internal/testutil/kmstest"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing/kms"
)

// signAndCheck signs a message with the KMS key uri and checks the
// signature with want, the key's public key as the KMS created it, and
// that it does not verify another message.
func signAndCheck(t *testing.T, uri string, want *ecdsa.PublicKey) {
	t.Helper()
	ctx := t.Context()
	sv, err := kms.Load(ctx, uri)
	if err != nil {
		t.Fatalf("Load(%s): %v", uri, err)
	}
	pub, err := kms.PublicKey(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := pub.(*ecdsa.PublicKey); !ok || !got.Equal(want) {
		t.Fatalf("PublicKey = %T, not the key the KMS created", pub)
	}
	msg := []byte("payload")
	sum := sha256.Sum256(msg)
	sig, err := sv.SignMessage(bytes.NewReader(msg), sigopts.WithContext(ctx), sigopts.WithDigest(sum[:]))
	if err != nil {
		t.Fatalf("SignMessage: %v", err)
	}
	v, err := signature.LoadECDSAVerifier(want, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
		t.Errorf("the KMS signature does not verify with the public key: %v", err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader([]byte("other"))); err == nil {
		t.Error("the KMS signature verifies another message")
	}
}

func TestAWS(t *testing.T) {
	a := kmstest.StartAWS(t)
	pub := a.CreateKey(t, "sc-test").(*ecdsa.PublicKey)
	other := a.CreateKey(t, "other").(*ecdsa.PublicKey)
	if pub.Equal(other) {
		t.Fatal("two keys are one")
	}
	signAndCheck(t, a.URI("sc-test"), pub)

	t.Run("unknown alias", func(t *testing.T) {
		_, err := kms.Load(t.Context(), a.URI("missing"))
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), a.URI("missing")) {
			t.Errorf("Load(unknown alias) = %v (exit %d), want an operational error naming the key", err, outcome.Code(err))
		}
	})
	t.Run("emulator down", func(t *testing.T) {
		uri := a.URI("sc-test")
		a.Stop()
		_, err := kms.Load(t.Context(), uri)
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("Load with the KMS down = %v (exit %d), want exit 3", err, outcome.Code(err))
		}
	})
}

func TestVault(t *testing.T) {
	v := kmstest.NewVault(t)
	pub := v.CreateKey(t, "sc-test").(*ecdsa.PublicKey)
	signAndCheck(t, v.URI("sc-test"), pub)

	t.Run("unknown key", func(t *testing.T) {
		_, err := kms.Load(t.Context(), v.URI("missing"))
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("Load(unknown key) = %v (exit %d), want exit 3", err, outcome.Code(err))
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", "s.wrong")
		_, err := kms.Load(t.Context(), v.URI("sc-test"))
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("Load with a wrong token = %v (exit %d), want exit 3 saying permission denied", err, outcome.Code(err))
		}
	})
	t.Run("server down", func(t *testing.T) {
		v.Close()
		_, err := kms.Load(t.Context(), v.URI("sc-test"))
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("Load with Vault down = %v (exit %d), want exit 3", err, outcome.Code(err))
		}
	})
}

// Schemes sc does not support, and malformed URIs of those it does, are
// refused before any I/O, and never handed to a sigstore-kms-* plugin.
func TestUnsupported(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, uri := range []string{
		"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"azurekms://vault.example/key",
		"k8s://ns/secret",
		"plugin://anything",
		"awskms://",
		"awskms:///not-an-alias",
		"hashivault://",
		"hashivault://a/b",
	} {
		for name, fn := range map[string]func() error{
			"Supported": func() error { return kms.Supported(uri) },
			"Load":      func() error { _, err := kms.Load(t.Context(), uri); return err },
			"PublicKey": func() error { _, err := kms.PublicKey(t.Context(), uri); return err },
		} {
			err := fn()
			if !errors.Is(err, kms.ErrUnsupported) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("%s(%s) = %v, want ErrUnsupported (exit 2)", name, uri, err)
			}
		}
	}
}

// The schemes of api.KMSSchemes are exactly those this package loads.
func TestSchemesAgree(t *testing.T) {
	ok := map[string]string{"awskms://": "awskms:///alias/k", "hashivault://": "hashivault://k"}
	if len(api.KMSSchemes()) != len(ok) {
		t.Fatalf("api.KMSSchemes() = %v, want the %d this package supports", api.KMSSchemes(), len(ok))
	}
	for _, s := range api.KMSSchemes() {
		uri, found := ok[s]
		if !found {
			t.Errorf("api.KMSSchemes() has %s, which this package does not load", s)
			continue
		}
		if err := kms.Supported(uri); err != nil {
			t.Errorf("Supported(%s) = %v", uri, err)
		}
		if !api.IsSupportedKMS(uri) {
			t.Errorf("api.IsSupportedKMS(%s) = false", uri)
		}
	}
}
