package key_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	keycmd "github.com/sc-project/sc/pkg/cmd/key"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

func run(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
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
	c := rootcmd.New(root, keycmd.New(root))
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	c.SetIn(strings.NewReader(""))
	err := rootcmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

func TestKeyGenerate(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		password string
	}{
		{"SC_KEY_PASSWORD", map[string]string{"SC_KEY_PASSWORD": "s3cret", "COSIGN_PASSWORD": "other"}, "s3cret"},
		{"COSIGN_PASSWORD", map[string]string{"COSIGN_PASSWORD": "cosign"}, "cosign"},
		{"empty COSIGN_PASSWORD", map[string]string{"COSIGN_PASSWORD": ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := filepath.Join(t.TempDir(), "release")
			stdout, _, err := run(t, tt.env, "key", "generate", "--output-prefix", prefix)
			if err != nil {
				t.Fatalf("key generate: %v", err)
			}
			if !strings.Contains(stdout, prefix+".key") || !strings.Contains(stdout, prefix+".pub") {
				t.Errorf("stdout %q does not name the files", stdout)
			}
			priv, err := os.ReadFile(prefix + ".key")
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(prefix + ".key"); fi.Mode().Perm() != 0o600 {
				t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
			}
			// What `cosign sign --key` does with it.
			if _, err := cosign.LoadPrivateKey(priv, []byte(tt.password), nil); err != nil {
				t.Errorf("cosign cannot load the key with the password: %v", err)
			}
			if strings.Contains(stdout, "PRIVATE KEY") {
				t.Error("key material printed")
			}
		})
	}
}

func TestKeyGenerateRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "cosign")
	if err := os.WriteFile(existing+".pub", []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"existing public key", map[string]string{"SC_KEY_PASSWORD": "x"}, []string{"--output-prefix", existing}},
		{"no password and no terminal", map[string]string{}, []string{"--output-prefix", filepath.Join(dir, "new")}},
		{"argument", map[string]string{"SC_KEY_PASSWORD": "x"}, []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.env, append([]string{"key", "generate"}, tt.args...)...)
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("key generate = %v, want exit 2", err)
			}
		})
	}
	if b, _ := os.ReadFile(existing + ".pub"); string(b) != "keep me" {
		t.Error("an existing file was overwritten")
	}
	if _, err := os.Stat(existing + ".key"); err == nil {
		t.Error("a private key was written next to an existing public key")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.key")); err == nil {
		t.Error("a key was written without a password")
	}
}

// A prefix in a directory that does not exist is refused before the
// password is asked for, naming the flag.
func TestKeyGenerateUnwritablePrefix(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "missing", "cosign")
	_, _, err := run(t, map[string]string{}, "key", "generate", "--output-prefix", prefix)
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "--output-prefix "+prefix+".key") {
		t.Errorf("key generate = %v, want exit 2 naming --output-prefix and the file", err)
	}
}
