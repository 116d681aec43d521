package release_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// A key with an empty password, named by `password: ${env:COSIGN_PASSWORD}`:
// COSIGN_PASSWORD= (set, empty) is the empty password, as `sc image sign`
// and cosign read it, so the release signs; unset, it is "not set" (exit 2).
func TestCreateEmptyPassword(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	kp, err := signing.GenerateKeyPair([]byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cosign.key"), kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	img := testutil.FixtureImages(t, 1)[0]
	client := registry.New()
	ref := reg.Ref("shop/api:1.0")
	r, err := client.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, client.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `stacks:
  production:
    security:
      signing: {privateKey: cosign.key, password: "${env:COSIGN_PASSWORD}", tlogUpload: false}
      sbom: {enabled: false}
      provenance: {enabled: false}
      scan: {enabled: false}
    services:
      api: {image: %q}
`, ref), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(dir, "cache")

	env := map[string]string{options.EnvCacheDir: cacheDir, options.EnvCosignPassword: ""}
	stdout, stderr, err := run(ctx, t, env, "release", "create", "-f", config)
	if err != nil {
		t.Fatalf("COSIGN_PASSWORD set but empty: %v (exit %d)\nstdout:\n%s\nstderr:\n%s", err, outcome.Code(err), stdout, stderr)
	}
	if !strings.Contains(stdout, "1 ok") {
		t.Errorf("want the service signed and verified:\n%s", stdout)
	}
	if stdout, stderr, err := run(ctx, t, env, "config", "validate", config); err != nil || strings.Contains(stderr, "COSIGN_PASSWORD") {
		t.Errorf("config validate with COSIGN_PASSWORD set but empty: %v\n%s%s", err, stdout, stderr)
	}

	delete(env, options.EnvCosignPassword)
	_, _, err = run(ctx, t, env, "release", "create", "-f", config)
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "${env:COSIGN_PASSWORD} is not set") {
		t.Errorf("COSIGN_PASSWORD unset: %v (exit %d), want exit 2 saying it is not set", err, outcome.Code(err))
	}
	if _, stderr, err := run(ctx, t, env, "config", "validate", config); err != nil || !strings.Contains(stderr, "${env:COSIGN_PASSWORD} is not set") {
		t.Errorf("config validate with COSIGN_PASSWORD unset: %v, want a warning that it is not set:\n%s", err, stderr)
	}
}

// A compose file whose services have no x-sc-security block (the block
// forgotten, or misspelt and then reported by validation): the release
// does nothing and succeeds, and says so on stderr, naming the services.
func TestCreateSecurityOffWarns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	config := filepath.Join(dir, "docker-compose.yaml")
	if err := os.WriteFile(config, []byte(`services:
  web: {image: registry.example.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}
  db: {image: registry.example.com/db@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{options.EnvCacheDir: filepath.Join(dir, "cache")}
	stdout, stderr, err := run(ctx, t, env, "release", "create", "-f", config)
	if err != nil {
		t.Fatalf("release create: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if want := "security is off for every service (web, db)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}
