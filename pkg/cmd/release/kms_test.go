package release_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/kmstest"
	"github.com/sc-project/sc/pkg/outcome"
)

// withKMSKey rewrites the signing block of the stack file setup wrote to
// sign with the KMS key uri (and check with its public key).
func withKMSKey(t *testing.T, config, uri string) {
	t.Helper()
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	old := `signing: {privateKey: cosign.key, password: "${env:TEST_KEY_PASSWORD}", tlogUpload: false}`
	if !strings.Contains(string(b), old) {
		t.Fatalf("the stack file has no signing block to replace:\n%s", b)
	}
	s := strings.Replace(string(b), old, `signing: {privateKey: "`+uri+`", publicKey: "`+uri+`", tlogUpload: false}`, 1)
	if err := os.WriteFile(config, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A release signed with signing.privateKey awskms://… (local-kms) writes a
// signature and SBOM and vuln attestations that the cosign CLI
// verifies by the same URI; an unknown alias stops the release with exit 3
// before anything is written to the registry.
func TestCreateWithAWSKMS(t *testing.T) {
	ctx := context.Background()
	a := kmstest.StartAWS(t)
	a.CreateKey(t, "release")
	var (
		mu     sync.Mutex
		writes []string
	)
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				mu.Lock()
				writes = append(writes, r.Method+" "+r.URL.Path)
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}))
	env, config, _ := setup(t, reg, 1, "      scan: {softFail: true}")
	takeWrites := func() []string {
		mu.Lock()
		defer mu.Unlock()
		w := writes
		writes = nil
		return w
	}

	t.Run("unknown alias", func(t *testing.T) {
		withKMSKey(t, config, a.URI("missing"))
		takeWrites()
		stdout, stderr, err := run(ctx, t, env, "release", "create", "--config", config, "--db-no-update")
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), a.URI("missing")) {
			t.Errorf("release with an unknown KMS alias: %v (exit %d), want exit 3 naming the key\n%s\n%s", err, outcome.Code(err), stdout, stderr)
		}
		if w := takeWrites(); len(w) != 0 {
			t.Errorf("a release whose KMS key is unknown wrote to the registry: %v", w)
		}
		// put the stack file back for the next case
		b, _ := os.ReadFile(config)
		_ = os.WriteFile(config, []byte(strings.Replace(string(b),
			`signing: {privateKey: "`+a.URI("missing")+`", publicKey: "`+a.URI("missing")+`", tlogUpload: false}`,
			`signing: {privateKey: cosign.key, password: "${env:TEST_KEY_PASSWORD}", tlogUpload: false}`, 1)), 0o644)
	})

	key := a.URI("release")
	withKMSKey(t, config, key)
	stdout, stderr, err := run(ctx, t, env, "release", "create", "--config", config, "--db-no-update", "-o", "json")
	if err != nil {
		t.Fatalf("release create with %s: %v\n%s\n%s", key, err, stdout, stderr)
	}
	image := reg.Ref("shop/service-01@") + digestOf(t, stdout)

	bin := testutil.Tool(t, "cosign")
	for _, args := range [][]string{
		{"verify", image},
		{"verify-attestation", "--type", "cyclonedx", image},
		{"verify-attestation", "--type", "vuln", image},
	} {
		home := t.TempDir()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(cctx, bin, append(args, "--key", key, "--insecure-ignore-tlog", "--allow-http-registry")...)
		cmd.Env = append(a.Env(home), "DOCKER_CONFIG="+home, "TUF_ROOT="+home+"/tuf")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("cosign %s --key %s: %v\n%s", strings.Join(args[:len(args)-1], " "), key, err, out)
		}
	}
	if _, stderr, err := run(ctx, t, env, "verify-attestation", image, "--type", "vuln", "--key", key, "--insecure-ignore-tlog"); err != nil {
		t.Errorf("sc verify-attestation --key %s: %v\n%s", key, err, stderr)
	}
}

// digestOf is the digest of the one service of a JSON release result.
func digestOf(t *testing.T, stdout string) string {
	t.Helper()
	i := strings.Index(stdout, `"digest": "sha256:`)
	if i < 0 {
		i = strings.Index(stdout, `"digest":"sha256:`)
	}
	if i < 0 {
		t.Fatalf("no digest in the release result:\n%s", stdout)
	}
	rest := stdout[i:]
	j := strings.Index(rest, "sha256:")
	return rest[j : j+len("sha256:")+64]
}
