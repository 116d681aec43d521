package keylessint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/clitest"
	"github.com/sc-project/sc/internal/testutil/sigstorelocal"
)

// env is a local Sigstore, a registry, and the files a CLI takes.
type env struct {
	ss          *sigstorelocal.Services
	reg         *testutil.Registry
	trustedRoot string
	signingCfg  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ss := sigstorelocal.Start(t)
	dir := t.TempDir()
	e := &env{ss: ss, reg: testutil.NewRegistry(t),
		trustedRoot: filepath.Join(dir, "trusted_root.json"), signingCfg: filepath.Join(dir, "signing_config.json")}
	if err := os.WriteFile(e.trustedRoot, ss.TrustedRootJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.signingCfg, ss.SigningConfigJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// signFlags are sc's keyless signing flags for these services.
func (e *env) signFlags() []string {
	return []string{"--fulcio-url", e.ss.FulcioURL, "--rekor-url", e.ss.RekorURL, "--timestamp-server-url", e.ss.TSAURL}
}

// runSC runs sc's command line in this process with only the environment
// variables given.
func runSC(t *testing.T, environ map[string]string, args ...string) (string, string, error) {
	t.Helper()
	return clitest.Run(t, environ, args...)
}

// pushImage writes a random image and returns its reference by digest.
func (e *env) pushImage(t *testing.T, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(e.reg.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}
