package image_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// runSC executes sc with args in-process and returns stdout, stderr and the
// error (whose outcome.Code is the exit code). The machine's docker
// credentials play no part.
func runSC(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := &options.Root{
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var out []string
			for k, v := range env {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	c.SetIn(strings.NewReader(""))
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// pushImage writes a random image to the registry and returns its tag
// reference and digest.
func pushImage(t *testing.T, reg *testutil.Registry, repoTag string) (string, name.Digest) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return reg.Ref(repoTag), ref.Context().Digest(h.String())
}

// keyFiles generates a key pair with sc and returns the two paths.
func keyFiles(t *testing.T, password string) (string, string) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "cosign")
	if _, _, err := runSC(t, map[string]string{"SC_KEY_PASSWORD": password}, "key", "generate", "--output-prefix", prefix); err != nil {
		t.Fatal(err)
	}
	return prefix + ".key", prefix + ".pub"
}

func TestSignVerifyWithKey(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	priv, pub := keyFiles(t, "pw")
	env := map[string]string{"SC_KEY_PASSWORD": "pw"}
	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			ref, d := pushImage(t, reg, "app-"+format+":v1")
			stdout, _, err := runSC(t, env, "image", "sign", ref, "--key", priv, "--tlog-upload=false", "--format", format, "-a", "env=prod", "--verify")
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			if !strings.HasPrefix(stdout, "Signed "+d.String()) {
				t.Errorf("sign output %q", stdout)
			}
			stdout, _, err = runSC(t, env, "image", "sign", ref, "--key", priv, "--tlog-upload=false", "--format", format, "-a", "env=prod", "-o", "json")
			if err != nil {
				t.Fatalf("sign again: %v", err)
			}
			var res signing.SignResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil || !res.Skipped || res.Image != d.String() {
				t.Errorf("second sign JSON %q (%v): want skipped", stdout, err)
			}

			stdout, _, err = runSC(t, env, "image", "verify", ref, "--key", pub, "--insecure-ignore-tlog", "-a", "env=prod", "-o", "json")
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var vr signing.Result
			if err := json.Unmarshal([]byte(stdout), &vr); err != nil {
				t.Fatalf("verify JSON %q: %v", stdout, err)
			}
			if len(vr.Verified) != 1 || string(vr.Verified[0].Format) != format || vr.Verified[0].KeyID == "" {
				t.Errorf("verify result %+v", vr)
			}
			stdout, _, err = runSC(t, env, "image", "verify", d.String(), "--key", "env://PUB", "--insecure-ignore-tlog")
			if err == nil {
				t.Errorf("verify with an unset env:// key succeeded: %s", stdout)
			}
			pubPEM, _ := os.ReadFile(pub)
			stdout, _, err = runSC(t, map[string]string{"PUB": string(pubPEM)}, "image", "verify", d.String(), "--key", "env://PUB", "--insecure-ignore-tlog")
			if err != nil || !strings.Contains(stdout, "1 valid signature") {
				t.Errorf("verify with env:// key: %q, %v", stdout, err)
			}
		})
	}
}

func TestVerifyExitCodes(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	priv, pub := keyFiles(t, "pw")
	_, otherPub := keyFiles(t, "pw")
	signed, _ := pushImage(t, reg, "signed:v1")
	unsigned, _ := pushImage(t, reg, "unsigned:v1")
	if _, _, err := runSC(t, map[string]string{"SC_KEY_PASSWORD": "pw"}, "image", "sign", signed, "--key", priv, "--tlog-upload=false"); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	offline := []string{"--tuf-mirror", down.URL, "--tuf-cache-dir", t.TempDir()}

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string // substring
		stderr string // substring of the error
	}{
		{"valid", []string{signed, "--key", pub, "--insecure-ignore-tlog"}, nil, outcome.ExitOK, "1 valid signature", ""},
		{"wrong key", []string{signed, "--key", otherPub, "--insecure-ignore-tlog"}, nil, outcome.ExitCheckFailed, "does not verify with the given key", "no valid signature"},
		{"unsigned", []string{unsigned, "--key", pub, "--insecure-ignore-tlog"}, nil, outcome.ExitCheckFailed, "", "not signed"},
		{"no policy", []string{signed}, nil, outcome.ExitInvalid, "", "--key"},
		{"identity without issuer", []string{signed, "--certificate-identity", "a@example.com"}, nil, outcome.ExitInvalid, "", "issuer"},
		{"issuer without identity", []string{signed, "--certificate-oidc-issuer", "https://issuer"}, nil, outcome.ExitInvalid, "", "identity"},
		{"key and identity", []string{signed, "--key", pub, "--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://i"}, nil, outcome.ExitInvalid, "", "exclude"},
		{"private key given", []string{signed, "--key", priv, "--insecure-ignore-tlog"}, nil, outcome.ExitInvalid, "", "private key"},
		{"bad output", []string{signed, "--key", pub, "-o", "yaml"}, nil, outcome.ExitInvalid, "", "--output"},
		{"offline TUF", append([]string{signed, "--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://i"}, offline...), nil,
			outcome.ExitOperational, "", "--trusted-root"},
		{"tlog required without trust offline", append([]string{signed, "--key", pub}, offline...), nil, outcome.ExitOperational, "", "--trusted-root"},
		{"registry down", []string{"127.0.0.1:1/app:v1", "--key", pub, "--insecure-ignore-tlog"}, nil, outcome.ExitOperational, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runSC(t, tt.env, append([]string{"image", "verify"}, tt.args...)...)
			if code := outcome.Code(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d; stdout %q", code, err, tt.code, stdout)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if tt.stderr != "" && (err == nil || !strings.Contains(err.Error(), tt.stderr)) {
				t.Errorf("error %v, want it to mention %q", err, tt.stderr)
			}
		})
	}
}

func TestSignExitCodes(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	priv, _ := keyFiles(t, "pw")
	ref, _ := pushImage(t, reg, "app:v1")
	ss := sigstoretest.New(t)
	trusted := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(trusted, ss.TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"wrong password", map[string]string{"SC_KEY_PASSWORD": "nope"}, []string{ref, "--key", priv, "--tlog-upload=false"}, outcome.ExitInvalid},
		{"no password", nil, []string{ref, "--key", priv, "--tlog-upload=false"}, outcome.ExitInvalid},
		{"missing key", map[string]string{"SC_KEY_PASSWORD": "pw"}, []string{ref, "--key", "/nonexistent/cosign.key", "--tlog-upload=false"}, outcome.ExitInvalid},
		{"bad format", map[string]string{"SC_KEY_PASSWORD": "pw"}, []string{ref, "--key", priv, "--tlog-upload=false", "--format", "v1"}, outcome.ExitInvalid},
		{"bad annotation", map[string]string{"SC_KEY_PASSWORD": "pw"}, []string{ref, "--key", priv, "--tlog-upload=false", "-a", "novalue"}, outcome.ExitInvalid},
		{"keyless without a log", nil, []string{ref, "--tlog-upload=false"}, outcome.ExitInvalid},
		{"keyless without a token", nil, []string{ref, "--trusted-root", trusted, "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL}, outcome.ExitInvalid},
		{"keyless with a refused token", map[string]string{"SIGSTORE_ID_TOKEN": "not-a-jwt"},
			[]string{ref, "--trusted-root", trusted, "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL}, outcome.ExitOperational},
		{"missing trusted root", map[string]string{"SIGSTORE_ID_TOKEN": "x"}, []string{ref, "--trusted-root", "/nonexistent.json"}, outcome.ExitInvalid},
		{"registry down", map[string]string{"SC_KEY_PASSWORD": "pw"}, []string{"127.0.0.1:1/app:v1", "--key", priv, "--tlog-upload=false"}, outcome.ExitOperational},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runSC(t, tt.env, append([]string{"image", "sign"}, tt.args...)...)
			if code := outcome.Code(err); code != tt.code {
				t.Errorf("exit %d (%v), want %d", code, err, tt.code)
			}
		})
	}
}

// TestKeylessCommands signs keylessly against the private Sigstore and
// verifies with identity and issuer, through the command line.
func TestKeylessCommands(t *testing.T) {
	ss := sigstoretest.New(t)
	reg := testutil.NewRegistry(t)
	trusted := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(trusted, ss.TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, d := pushImage(t, reg, "app:v1")
	env := map[string]string{"SIGSTORE_ID_TOKEN": ss.Token("ci@example.com")}
	for _, format := range []string{"bundle", "legacy"} {
		stdout, _, err := runSC(t, env, "image", "sign", ref, "--format", format, "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL,
			"--timestamp-server-url", ss.TSAURL, "--trusted-root", trusted, "--verify")
		if err != nil {
			t.Fatalf("keyless sign %s: %v", format, err)
		}
		if !strings.Contains(stdout, "ci@example.com") || !strings.Contains(stdout, "tlog index") {
			t.Errorf("sign output %q", stdout)
		}
	}
	stdout, _, err := runSC(t, nil, "image", "verify", ref, "--certificate-identity", "ci@example.com",
		"--certificate-oidc-issuer", ss.OIDCIssuerURL, "--trusted-root", trusted, "-o", "json")
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var vr signing.Result
	if err := json.Unmarshal([]byte(stdout), &vr); err != nil || len(vr.Verified) != 2 || vr.Image != d.String() {
		t.Fatalf("verify result %q (%v), want both formats", stdout, err)
	}
	for _, s := range vr.Verified {
		if s.Subject != "ci@example.com" || s.Issuer != ss.OIDCIssuerURL || s.TlogIndex == nil {
			t.Errorf("verified %+v", s)
		}
	}
	stdout, _, err = runSC(t, nil, "image", "verify", ref, "--certificate-identity", "mallory@example.com",
		"--certificate-oidc-issuer", ss.OIDCIssuerURL, "--trusted-root", trusted)
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(stdout, "certificate identity does not match") {
		t.Errorf("verify with the wrong identity: exit %d, stdout %q", outcome.Code(err), stdout)
	}
}
