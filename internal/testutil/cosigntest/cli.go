package cosigntest

import (
	"context"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/internal/testutil"
)

// CLI runs the real cosign executable (built by .ci/tools.sh; the test is
// skipped without it, or fails under CI=true) with args and the public key
// pub as --key, offline: no transparency log, a home of its own (no TUF
// cache, no credentials of the machine). It returns cosign's combined
// output.
func CLI(t testing.TB, pub crypto.PublicKey, args ...string) (string, error) {
	t.Helper()
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(keyPath, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return Run(t, append(args, "--key", keyPath, "--insecure-ignore-tlog")...)
}

// Run runs the real cosign executable with args as they are, in a home
// of its own (no TUF cache, no credentials of the machine), and returns
// its combined output. Keyless runs pass --trusted-root (and, to sign,
// --signing-config or the service URLs) themselves.
func Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin := testutil.Tool(t, "cosign")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "DOCKER_CONFIG=" + dir, "TUF_ROOT=" + filepath.Join(dir, "tuf")}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
