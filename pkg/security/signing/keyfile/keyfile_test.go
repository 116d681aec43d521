package keyfile_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/sc-project/sc/pkg/security/signing/keyfile"
)

// open decrypts a private key file as cosign does.
func open(t *testing.T, privPEM, password []byte) (*ecdsa.PrivateKey, error) {
	t.Helper()
	block, rest := pem.Decode(privPEM)
	if block == nil || block.Type != keyfile.PrivateKeyType || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("private key PEM: block %v, %d bytes after it", block, len(rest))
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatalf("PKCS #8: %v", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is a %T", k)
	}
	return ec, nil
}

func TestGenerate(t *testing.T) {
	for _, password := range [][]byte{[]byte("correct horse"), {}, nil} {
		kp, err := keyfile.Generate(password)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := open(t, kp.PrivatePEM, password)
		if err != nil {
			t.Fatalf("decrypting with the password %q: %v", password, err)
		}
		if priv.Curve != elliptic.P256() {
			t.Errorf("curve %s, want P-256", priv.Curve.Params().Name)
		}
		block, _ := pem.Decode(kp.PublicPEM)
		if block == nil || block.Type != keyfile.PublicKeyType {
			t.Fatalf("public key PEM: %q", kp.PublicPEM)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.PublicKey.Equal(pub) {
			t.Error("the public key is not the private key's")
		}
	}
}

func TestGenerateWrongPassword(t *testing.T) {
	kp, err := keyfile.Generate([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, kp.PrivatePEM, []byte("wrong")); err == nil {
		t.Error("the key decrypts with the wrong password")
	}
	if _, err := open(t, kp.PrivatePEM, nil); err == nil {
		t.Error("the key decrypts without a password")
	}
}

func TestGenerateFresh(t *testing.T) {
	a, err := keyfile.Generate([]byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyfile.Generate([]byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.PublicPEM, b.PublicPEM) || bytes.Equal(a.PrivatePEM, b.PrivatePEM) {
		t.Error("two keys are the same")
	}
}

// The package stays light: `sc key generate` must not link cosign or
// sigstore.
func TestLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sc-project/sc/pkg/security/signing/keyfile").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/sigstore/") || strings.HasPrefix(p, "github.com/anchore/") {
			t.Errorf("keyfile depends on %s", p)
		}
	}
}
