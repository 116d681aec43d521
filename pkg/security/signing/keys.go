package signing

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing/keyfile"
)

// Key errors. All are in the outcome.ErrInvalid class: the key or its
// password given by the user is wrong.
var (
	// ErrWrongPassword is returned when a private key cannot be decrypted
	// with the password given.
	ErrWrongPassword = outcome.Invalid("cannot decrypt the private key: wrong password, or the key is corrupt")
	// ErrInvalidKey is returned for key material that is not a key in a
	// format sc reads.
	ErrInvalidKey = outcome.Invalid("invalid key")
)

// KeyPair is a private key encrypted in cosign's format ("ENCRYPTED
// SIGSTORE PRIVATE KEY", scrypt + secretbox, as written by `cosign
// generate-key-pair`) and its public key, both PEM-encoded.
type KeyPair struct {
	// PrivatePEM is the encrypted private key.
	PrivatePEM []byte
	// PublicPEM is the public key ("PUBLIC KEY", PKIX).
	PublicPEM []byte
}

// GenerateKeyPair creates an ECDSA P-256 key pair in cosign's format and
// encrypts the private key with password (package keyfile, which makes
// sc's keys without linking cosign; LoadPrivateKey reads them with
// cosign's library). An empty password is allowed, as in cosign, but
// callers should ask for one.
func GenerateKeyPair(password []byte) (*KeyPair, error) {
	kp, err := keyfile.Generate(password)
	if err != nil {
		return nil, fmt.Errorf("generating key pair: %w", err)
	}
	return &KeyPair{PrivatePEM: kp.PrivatePEM, PublicPEM: kp.PublicPEM}, nil
}

// LoadPrivateKey decrypts a private key in cosign's encrypted PEM format
// ("ENCRYPTED SIGSTORE PRIVATE KEY" or the older "ENCRYPTED COSIGN PRIVATE
// KEY") with password and returns a signer for it. ECDSA, RSA and Ed25519
// keys are accepted, as cosign accepts them (Ed25519 signs in the pre-hashed
// Ed25519ph mode, as cosign does). A wrong password is ErrWrongPassword;
// material that is not such a key is ErrInvalidKey.
func LoadPrivateKey(privatePEM, password []byte) (signature.SignerVerifier, error) {
	block, _ := pem.Decode(privatePEM)
	if block == nil {
		return nil, fmt.Errorf("%w: private key is not PEM-encoded", ErrInvalidKey)
	}
	if block.Type != cosign.SigstorePrivateKeyPemType && block.Type != cosign.CosignPrivateKeyPemType {
		return nil, fmt.Errorf("%w: private key has PEM type %q, want %q (import other keys with `cosign import-key-pair`)",
			ErrInvalidKey, block.Type, cosign.SigstorePrivateKeyPemType)
	}
	sv, err := cosign.LoadPrivateKey(privatePEM, password, nil)
	if err != nil {
		// cosign wraps every decryption failure as "decrypt: ...": a wrong
		// password and a mangled ciphertext cannot be told apart.
		if strings.HasPrefix(err.Error(), "decrypt:") {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return sv, nil
}

// LoadPublicKey parses a PEM-encoded public key ("PUBLIC KEY", PKIX) or the
// public key of a PEM-encoded certificate.
func LoadPublicKey(publicPEM []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(publicPEM)
	if block == nil {
		return nil, fmt.Errorf("%w: public key is not PEM-encoded", ErrInvalidKey)
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: parsing certificate: %w", ErrInvalidKey, err)
		}
		return cert.PublicKey, nil
	case cosign.SigstorePrivateKeyPemType, cosign.CosignPrivateKeyPemType:
		return nil, fmt.Errorf("%w: got a private key where a public key was expected (use the .pub file)", ErrInvalidKey)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing public key: %w", ErrInvalidKey, err)
	}
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return pub, nil
}

// KeyID is the identifier sc reports for a public key: the hex SHA-256 of
// its PKIX DER encoding (as Rekor computes log IDs).
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: encoding public key: %w", ErrInvalidKey, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// loadVerifier returns a signature verifier for a public key with cosign's
// default algorithm choices.
func loadVerifier(pub crypto.PublicKey) (signature.Verifier, error) {
	v, err := signature.LoadDefaultVerifier(pub, sigopts.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return v, nil
}
