package image_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/kmstest"
	"github.com/sc-project/sc/pkg/outcome"
)

// writes records the requests that change a registry.
type writes struct {
	mu   sync.Mutex
	list []string
}

func (w *writes) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.mu.Lock()
			w.list = append(w.list, r.Method+" "+r.URL.Path)
			w.mu.Unlock()
		}
		next.ServeHTTP(rw, r)
	})
}

func (w *writes) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// cosignKMS runs the real cosign CLI with the emulator's environment.
func cosignKMS(t *testing.T, a *kmstest.AWS, args ...string) (string, error) {
	t.Helper()
	bin := testutil.Tool(t, "cosign")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(a.Env(home), "DOCKER_CONFIG="+home, "TUF_ROOT="+home+"/tuf")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// An image signed with an awskms:// key held by local-kms verifies with sc
// and with the cosign CLI by the same URI; another key of the KMS does not
// verify it; an unknown alias or a KMS that is down fails with exit 3
// before anything is written to the registry.
func TestSignVerifyAWSKMS(t *testing.T) {
	a := kmstest.StartAWS(t)
	a.CreateKey(t, "release")
	a.CreateKey(t, "other")
	var w writes
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(w.wrap))
	key := a.URI("release")
	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			ref, d := pushImage(t, reg, "kms-"+format+":v1")
			w.take()
			stdout, stderr, err := runSC(t, nil, "image", "sign", ref, "--key", key, "--tlog-upload=false", "--format", format, "--verify")
			if err != nil {
				t.Fatalf("sign --key %s: %v\n%s", key, err, stderr)
			}
			if !strings.HasPrefix(stdout, "Signed "+d.String()) {
				t.Errorf("sign output %q", stdout)
			}
			if len(w.take()) == 0 {
				t.Error("signing wrote nothing to the registry")
			}
			stdout, stderr, err = runSC(t, nil, "image", "verify", d.String(), "--key", key, "--insecure-ignore-tlog")
			if err != nil || !strings.Contains(stdout, "1 valid signature") {
				t.Errorf("sc verify --key %s: %q, %v\n%s", key, stdout, err, stderr)
			}
			_, _, err = runSC(t, nil, "image", "verify", d.String(), "--key", a.URI("other"), "--insecure-ignore-tlog")
			if outcome.Code(err) != outcome.ExitCheckFailed {
				t.Errorf("sc verify with another KMS key: %v (exit %d), want exit 1", err, outcome.Code(err))
			}
			if format == "bundle" {
				out, err := cosignKMS(t, a, "verify", "--key", key, "--insecure-ignore-tlog", "--allow-http-registry", d.String())
				if err != nil {
					t.Errorf("cosign verify --key %s: %v\n%s", key, err, out)
				}
				out, err = cosignKMS(t, a, "verify", "--key", a.URI("other"), "--insecure-ignore-tlog", "--allow-http-registry", d.String())
				if err == nil {
					t.Errorf("cosign verify with another KMS key succeeded:\n%s", out)
				}
			}
		})
	}

	t.Run("unknown alias", func(t *testing.T) {
		ref, _ := pushImage(t, reg, "kms-unknown:v1")
		w.take()
		_, stderr, err := runSC(t, nil, "image", "sign", ref, "--key", a.URI("missing"), "--tlog-upload=false")
		if outcome.Code(err) != outcome.ExitOperational || !strings.Contains(err.Error(), a.URI("missing")) {
			t.Errorf("sign with an unknown alias: %v (exit %d), want exit 3 naming the key\n%s", err, outcome.Code(err), stderr)
		}
		if got := w.take(); len(got) != 0 {
			t.Errorf("a failed KMS sign wrote to the registry: %v", got)
		}
	})
	t.Run("KMS down", func(t *testing.T) {
		ref, d := pushImage(t, reg, "kms-down:v1")
		w.take()
		a.Stop()
		_, _, err := runSC(t, nil, "image", "sign", ref, "--key", key, "--tlog-upload=false")
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("sign with the KMS down: %v (exit %d), want exit 3", err, outcome.Code(err))
		}
		if got := w.take(); len(got) != 0 {
			t.Errorf("a failed KMS sign wrote to the registry: %v", got)
		}
		_, _, err = runSC(t, nil, "image", "verify", d.String(), "--key", key, "--insecure-ignore-tlog")
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("verify with the KMS down: %v (exit %d), want exit 3 (could not check, not failed)", err, outcome.Code(err))
		}
	})
}

// hashivault:// keys sign and verify through the transit API (an in-test
// server: no Vault can be installed here).
func TestSignVerifyVault(t *testing.T) {
	v := kmstest.NewVault(t)
	v.CreateKey(t, "release")
	v.CreateKey(t, "other")
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	ref, d := pushImage(t, reg, "vault:v1")
	if _, stderr, err := runSC(t, nil, "image", "sign", ref, "--key", v.URI("release"), "--tlog-upload=false", "--verify"); err != nil {
		t.Fatalf("sign: %v\n%s", err, stderr)
	}
	if stdout, _, err := runSC(t, nil, "image", "verify", d.String(), "--key", v.URI("release"), "--insecure-ignore-tlog"); err != nil || !strings.Contains(stdout, "1 valid signature") {
		t.Errorf("verify: %q, %v", stdout, err)
	}
	if _, _, err := runSC(t, nil, "image", "verify", d.String(), "--key", v.URI("other"), "--insecure-ignore-tlog"); outcome.Code(err) != outcome.ExitCheckFailed {
		t.Errorf("verify with another Vault key: %v (exit %d), want exit 1", err, outcome.Code(err))
	}
}
