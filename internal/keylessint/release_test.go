package keylessint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/registry"
)

// testReleaseCreate runs `sc release create` keylessly against the real
// services: every image is signed, its SBOM, provenance and vuln result
// attested, everything verified by sc as it goes; then the real cosign
// CLI verifies the signature and each attestation type.
func testReleaseCreate(t *testing.T, e *env) {
	dir := t.TempDir()
	client := registry.New()
	var refs []string
	for i, img := range testutil.FixtureImages(t, 2) {
		ref := e.reg.Ref(fmt.Sprintf("shop/%s:%s", fixture.ServiceName(i), fixture.Version))
		r, err := client.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img, client.RemoteOptions(context.Background())...); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r.Context().Digest(d.String()).String())
	}
	var b strings.Builder
	fmt.Fprintf(&b, `stacks:
  production:
    security:
      signing:
        keyless: true
        fulcioURL: %q
        rekorURL: %q
        tsaURL: %q
        verify: {oidcIssuer: %q, identity: %q}
      provenance: {builder: {id: "https://example.com/builder"}}
      scan: {softFail: true}
    services:
`, e.ss.FulcioURL, e.ss.RekorURL, e.ss.TSAURL, e.ss.OIDCIssuerURL, identity)
	for i, ref := range refs {
		fmt.Fprintf(&b, "      %s: {image: %q}\n", fixture.ServiceName(i), ref)
	}
	config := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{options.EnvCacheDir: filepath.Join(dir, "cache"), "SIGSTORE_ID_TOKEN": e.ss.Token(identity),
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_SHA": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b", "GITHUB_REF": "refs/heads/main",
		"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/release.yml@refs/heads/main"}
	if _, _, err := runSC(t, env, "scan", "db", "import", tv.DB(t, tv.FixtureAdvisories()...)); err != nil {
		t.Fatalf("importing the test database: %v", err)
	}
	stdout, stderr, err := runSC(t, env, "release", "create", "--config", config, "--db-no-update", "--trusted-root", e.trustedRoot)
	if err != nil {
		t.Fatalf("release create: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "2 service(s): 0 ok, 2 warned, 0 failed") {
		t.Errorf("release summary:\n%s", stdout)
	}
	for _, ref := range refs {
		id := []string{"--trusted-root", e.trustedRoot, "--certificate-identity", identity,
			"--certificate-oidc-issuer", e.ss.OIDCIssuerURL, "--allow-http-registry"}
		if out, err := cosigntest.Run(t, append(append([]string{"verify"}, id...), ref)...); err != nil {
			t.Errorf("cosign verify %s: %v\n%s", ref, err, out)
		}
		for _, typ := range []string{"cyclonedx", "slsaprovenance1", "vuln"} {
			args := append(append([]string{"verify-attestation", "--type", typ}, id...), ref)
			if out, err := cosigntest.Run(t, args...); err != nil {
				t.Errorf("cosign verify-attestation --type %s %s: %v\n%s", typ, ref, err, out)
			}
		}
	}
}
