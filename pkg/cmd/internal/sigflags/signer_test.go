package sigflags

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
)

func command(t *testing.T) *cobra.Command {
	cmd := &cobra.Command{}
	cmd.SetContext(t.Context())
	cmd.SetIn(strings.NewReader(""))
	cmd.SetErr(io.Discard)
	return cmd
}

// The signer flags give the signer setup builds for a signing block: a key
// in each form --key takes, decrypted with the password of the
// environment, or keylessly the identity of the token.
func TestNewSigner(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	wantKeyID, err := signing.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		env  []string
		key  string
		code int
	}{
		{"key file", []string{"SC_KEY_PASSWORD=pw"}, priv, outcome.ExitOK},
		{"key in the environment", []string{"COSIGN_PASSWORD=pw", "SIGNING_KEY=" + string(kp.PrivatePEM)}, "env://SIGNING_KEY", outcome.ExitOK},
		{"PEM content", []string{"SC_KEY_PASSWORD=pw"}, string(kp.PrivatePEM), outcome.ExitOK},
		{"wrong password", []string{"SC_KEY_PASSWORD=nope"}, priv, outcome.ExitInvalid},
		{"no password and no terminal", nil, priv, outcome.ExitInvalid},
		{"missing key", []string{"SC_KEY_PASSWORD=pw"}, filepath.Join(t.TempDir(), "none.key"), outcome.ExitInvalid},
		{"unset variable", []string{"SC_KEY_PASSWORD=pw"}, "env://NOPE", outcome.ExitInvalid},
		{"KMS key", []string{"SC_KEY_PASSWORD=pw"}, "gcpkms://projects/p/keys/k", outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := &options.Root{Environ: func() []string { return tt.env }}
			root.Getenv = func(k string) string {
				for _, kv := range tt.env {
					if name, v, _ := strings.Cut(kv, "="); name == k {
						return v
					}
				}
				return ""
			}
			s := &options.Signer{Key: tt.key, TlogUpload: false}
			signer, err := NewSigner(command(t), root, s, nil, logger)
			if code := outcome.Code(err); code != tt.code {
				t.Fatalf("NewSigner = %v (exit %d), want exit %d", err, code, tt.code)
			}
			if err != nil {
				if strings.Contains(err.Error(), "-----BEGIN") || strings.Contains(err.Error(), "nope") {
					t.Errorf("error %q shows a secret", err)
				}
				return
			}
			id, err := signer.Identity(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if id.KeyID != wantKeyID || id.TransparencyLog {
				t.Errorf("identity %+v: want key %s, no transparency log", id, wantKeyID)
			}
		})
	}

	t.Run("keyless", func(t *testing.T) {
		ss := sigstoretest.New(t)
		root := &options.Root{Getenv: func(k string) string {
			if k == "SIGSTORE_ID_TOKEN" {
				return ss.Token("ci@example.com")
			}
			return ""
		}}
		s := &options.Signer{TlogUpload: true, FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL}
		signer, err := NewSigner(command(t), root, s, nil, logger)
		if err != nil {
			t.Fatal(err)
		}
		id, err := signer.Identity(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "ci@example.com" || id.Issuer != ss.OIDCIssuerURL || !id.TransparencyLog {
			t.Errorf("identity %+v", id)
		}
	})

	t.Run("keyless without a token", func(t *testing.T) {
		s := &options.Signer{TlogUpload: true, FulcioURL: "https://fulcio.invalid", RekorURL: "https://rekor.invalid"}
		signer, err := NewSigner(command(t), &options.Root{Getenv: func(string) string { return "" }}, s, nil, logger)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signer.Identity(t.Context()); !errors.Is(err, runenv.ErrNoIdentityToken) {
			t.Fatalf("Identity without a token = %v, want ErrNoIdentityToken", err)
		}
	})
}
