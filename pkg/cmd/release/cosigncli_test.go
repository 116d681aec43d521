package release_test

import (
	"testing"

	"github.com/sc-project/sc/internal/testutil/cosigntest"
)

// cosignCLI runs the real cosign executable with args and the public key
// pub as --key, offline (cosigntest.CLI).
func cosignCLI(t *testing.T, pub any, args ...string) (string, error) {
	t.Helper()
	return cosigntest.CLI(t, pub, args...)
}
