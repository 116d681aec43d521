package signing

import (
	"crypto"
	"testing"
)

// NewKeyForTest gives the package's external tests testKeySigner.
func NewKeyForTest(t testing.TB, services Services) (*KeySigner, crypto.PublicKey) {
	t.Helper()
	return testKeySigner(t, services)
}

// VerifiedLogIndex gives the external tests verifiedLogIndex.
var VerifiedLogIndex = verifiedLogIndex
