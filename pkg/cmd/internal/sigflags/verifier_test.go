package sigflags

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

func TestPolicy(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	root := &options.Root{Getenv: func(string) string { return "" }}
	tests := []struct {
		name    string
		o       options.Verification
		wantErr bool
		key     bool
	}{
		{name: "key", o: options.Verification{Key: pub}, key: true},
		{name: "identity and issuer", o: options.Verification{CertIdentity: "a@example.com", CertOIDCIssuer: "https://issuer.example"}},
		{name: "identity without issuer", o: options.Verification{CertIdentity: "a@example.com"}, wantErr: true},
		{name: "nothing", o: options.Verification{}, wantErr: true},
		{name: "missing key file", o: options.Verification{Key: filepath.Join(t.TempDir(), "none.pub")}, wantErr: true},
		{name: "bad annotation", o: options.Verification{Key: pub, Annotations: []string{"novalue"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Policy(root, &tt.o)
			if tt.wantErr {
				if outcome.Code(err) != outcome.ExitInvalid {
					t.Fatalf("Policy = %v (exit %d), want a usage error", err, outcome.Code(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (p.Key != nil) != tt.key || (p.Identity != nil) == tt.key {
				t.Errorf("policy %+v: key %v", p, tt.key)
			}
		})
	}
}

// A key-based check that explicitly ignores the log needs no trusted
// material (and so no network); anything else reads --trusted-root.
func TestTrusted(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	tr, err := Trusted(ctx, &options.Verification{Key: "k.pub", Trust: options.Trust{}, InsecureIgnoreTlog: true}, logger)
	if err != nil || tr != nil {
		t.Fatalf("Trusted = %v, %v; want nil, nil", tr, err)
	}
	missing := filepath.Join(t.TempDir(), "trusted_root.json")
	_, err = Trusted(ctx, &options.Verification{Key: "k.pub", Trust: options.Trust{TrustedRoot: missing}, InsecureIgnoreTlog: true}, logger)
	if err == nil {
		t.Fatal("a missing --trusted-root was accepted")
	}
}
