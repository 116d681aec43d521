package signing_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// signAndCheck signs a message with the private key and checks it with the
// public key, so that a loaded pair is proven to belong together.
func signAndCheck(t *testing.T, privatePEM, password, publicPEM []byte) {
	t.Helper()
	sv, err := signing.LoadPrivateKey(privatePEM, password)
	if err != nil {
		t.Fatalf("LoadPrivateKey: %v", err)
	}
	msg := []byte("payload")
	sig, err := sv.SignMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(publicPEM)
	if err != nil {
		t.Fatalf("LoadPublicKey: %v", err)
	}
	own, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := cryptoutils.EqualKeys(pub, own); err != nil {
		t.Fatalf("public key does not match the private key: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

func TestGenerateKeyPair(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(kp.PrivatePEM)
	if block == nil || block.Type != cosign.SigstorePrivateKeyPemType {
		t.Fatalf("private key PEM type = %v, want %q", block, cosign.SigstorePrivateKeyPemType)
	}
	pub, err := signing.LoadPublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	if ec, ok := pub.(*ecdsa.PublicKey); !ok || ec.Curve != elliptic.P256() {
		t.Fatalf("public key is %T, want ECDSA P-256", pub)
	}
	signAndCheck(t, kp.PrivatePEM, []byte("s3cret"), kp.PublicPEM)

	// What `cosign sign --key` does with the file: cosign's own loader.
	if _, err := cosign.LoadPrivateKey(kp.PrivatePEM, []byte("s3cret"), nil); err != nil {
		t.Errorf("cosign cannot load sc's key: %v", err)
	}
}

// TestLoadCosignKeys loads keys made by cosign's library the way `cosign
// generate-key-pair` makes them, including the older PEM type.
func TestLoadCosignKeys(t *testing.T) {
	pass := []byte("cosign-pass")
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return pass, nil })
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(kb.PrivateBytes)
	older := pem.EncodeToMemory(&pem.Block{Type: cosign.CosignPrivateKeyPemType, Bytes: block.Bytes})
	empty, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		priv     []byte
		password []byte
		pub      []byte
	}{
		{"sigstore type", kb.PrivateBytes, pass, kb.PublicBytes},
		{"cosign type", older, pass, kb.PublicBytes},
		{"empty password", empty.PrivateBytes, nil, empty.PublicBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signAndCheck(t, tt.priv, tt.password, tt.pub)
		})
	}
}

func TestLoadPrivateKeyErrors(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(kp.PrivatePEM)
	corrupt := pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: []byte(`{"kdf":`)})
	plain := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	tests := []struct {
		name     string
		priv     []byte
		password string
		want     error
	}{
		{"wrong password", kp.PrivatePEM, "wrong", signing.ErrWrongPassword},
		{"no password", kp.PrivatePEM, "", signing.ErrWrongPassword},
		{"not PEM", []byte("hello"), "right", signing.ErrInvalidKey},
		{"public key", kp.PublicPEM, "right", signing.ErrInvalidKey},
		{"unencrypted key", plain, "right", signing.ErrInvalidKey},
		{"corrupt ciphertext", corrupt, "right", signing.ErrWrongPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.LoadPrivateKey(tt.priv, []byte(tt.password))
			if !errors.Is(err, tt.want) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("LoadPrivateKey = %v, want %v (exit 2)", err, tt.want)
			}
		})
	}
}

func TestLoadPublicKey(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"public key", kp.PublicPEM, true},
		{"private key", kp.PrivatePEM, false},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), false},
		{"not PEM", []byte("ssh-ed25519 AAAA"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.LoadPublicKey(tt.in)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, signing.ErrInvalidKey)) {
				t.Errorf("LoadPublicKey = %v, want ok=%v (ErrInvalidKey otherwise)", err, tt.ok)
			}
		})
	}
}
