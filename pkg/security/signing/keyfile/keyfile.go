// Package keyfile makes signing keys in cosign's file format: an ECDSA
// P-256 private key in PKCS #8, encrypted with a password in
// go-securesystemslib's "encrypted" format (scrypt and NaCl secretbox) and
// PEM-encoded as "ENCRYPTED SIGSTORE PRIVATE KEY", as `cosign
// generate-key-pair` writes it, and its public key as a PKIX "PUBLIC KEY"
// PEM block.
//
// It is the one place sc generates keys: package signing's GenerateKeyPair
// uses it, and `sc key generate` calls it directly, so that the command
// does not link cosign or sigstore (this package imports neither).
//
// It does not read, decrypt or load keys, sign, or store keys anywhere:
// package signing loads keys with cosign's library, and callers write the
// files.
package keyfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types, cosign's.
const (
	// PrivateKeyType is the PEM type of an encrypted private key.
	PrivateKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// PublicKeyType is the PEM type of a public key.
	PublicKeyType = "PUBLIC KEY"
)

// KeyPair is a private key encrypted in cosign's format and its public
// key, both PEM-encoded.
type KeyPair struct {
	// PrivatePEM is the encrypted private key (PrivateKeyType).
	PrivatePEM []byte
	// PublicPEM is the public key (PublicKeyType, PKIX).
	PublicPEM []byte
}

// Generate creates an ECDSA P-256 key pair and encrypts the private key
// with password. An empty password is allowed, as in cosign, but callers
// should ask for one.
func Generate(password []byte) (*KeyPair, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the private key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	if password == nil {
		password = []byte{}
	}
	sealed, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting the private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return &KeyPair{
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: PrivateKeyType, Bytes: sealed}),
		PublicPEM:  pem.EncodeToMemory(&pem.Block{Type: PublicKeyType, Bytes: pub}),
	}, nil
}
