package sigflags

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// The verification flags reach setup's check with every key form --key
// takes; what cannot be a check is invalid usage.
func TestVerification(t *testing.T) {
	kp, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PUB": string(kp.PublicPEM)}
	root := &options.Root{Getenv: func(k string) string { return env[k] }}
	tests := []struct {
		name       string
		o          options.Verification
		wantErr    bool
		key        bool
		ignoreTlog bool
	}{
		{name: "key file", o: options.Verification{Key: pub}, key: true},
		{name: "key in the environment", o: options.Verification{Key: "env://PUB", InsecureIgnoreTlog: true}, key: true, ignoreTlog: true},
		{name: "PEM content", o: options.Verification{Key: string(kp.PublicPEM)}, key: true},
		{name: "identity and issuer", o: options.Verification{CertIdentity: "a@example.com", CertOIDCIssuer: "https://issuer.example"}},
		{name: "regexps", o: options.Verification{CertIdentityRegexp: "^a@", CertOIDCIssuerRegexp: "^https://"}},
		{name: "identity without issuer", o: options.Verification{CertIdentity: "a@example.com"}, wantErr: true},
		{name: "nothing", o: options.Verification{}, wantErr: true},
		{name: "missing key file", o: options.Verification{Key: filepath.Join(t.TempDir(), "none.pub")}, wantErr: true},
		{name: "unset variable", o: options.Verification{Key: "env://NOPE"}, wantErr: true},
		{name: "env:// without a name", o: options.Verification{Key: "env://"}, wantErr: true},
		{name: "private key", o: options.Verification{Key: priv}, wantErr: true},
		{name: "unsupported KMS key", o: options.Verification{Key: "azurekms://vault.example/key"}, wantErr: true},
		{name: "bad annotation", o: options.Verification{Key: pub, Annotations: []string{"novalue"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verification(t.Context(), root, &tt.o, slog.New(slog.DiscardHandler))
			if tt.wantErr {
				if outcome.Code(err) != outcome.ExitInvalid {
					t.Fatalf("Verification = %v (exit %d), want a usage error", err, outcome.Code(err))
				}
				if strings.Contains(err.Error(), "-----BEGIN") {
					t.Errorf("error %q shows key material", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (v.Policy.Key != nil) != tt.key || (v.Policy.Identity != nil) == tt.key {
				t.Errorf("policy %+v: key %v", v.Policy, tt.key)
			}
			if v.InsecureIgnoreTlog != tt.ignoreTlog {
				t.Errorf("InsecureIgnoreTlog = %v, want %v", v.InsecureIgnoreTlog, tt.ignoreTlog)
			}
		})
	}
}

// An unanchored identity pattern on the command line is accepted, as cosign
// accepts it, with a warning naming the risk; an anchored one is silent.
func TestVerificationWarnsUnanchored(t *testing.T) {
	root := &options.Root{Getenv: func(string) string { return "" }}
	for _, tt := range []struct {
		identity string
		warn     bool
	}{
		{identity: "github.com/acme/shop/.*", warn: true},
		{identity: "^https://github.com/acme/shop/.*$"},
	} {
		var logs bytes.Buffer
		o := options.Verification{CertIdentityRegexp: tt.identity, CertOIDCIssuer: "https://token.actions.githubusercontent.com"}
		if _, err := Verification(t.Context(), root, &o, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatalf("%s: %v", tt.identity, err)
		}
		if got := strings.Contains(logs.String(), "--certificate-identity-regexp is not anchored"); got != tt.warn {
			t.Errorf("%s: warned %v, want %v:\n%s", tt.identity, got, tt.warn, logs.String())
		}
	}
}

// A key-based check that explicitly ignores the log needs no trusted
// material (and so no network); a named --trusted-root is read all the
// same, so a wrong one is never silently ignored.
func TestTrust(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	v, err := Verification(t.Context(), &options.Root{}, &options.Verification{Key: string(mustKey(t).PublicPEM), InsecureIgnoreTlog: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if v.NeedsTrustedMaterial() {
		t.Fatal("a key-based check without the log needs trusted material")
	}
	tr, err := Trust(&options.Trust{}).Material(ctx, v.NeedsTrustedMaterial(), logger)
	if err != nil || tr != nil {
		t.Fatalf("Material = %v, %v; want nil, nil", tr, err)
	}
	missing := filepath.Join(t.TempDir(), "trusted_root.json")
	if _, err := Trust(&options.Trust{TrustedRoot: missing}).Material(ctx, false, logger); outcome.Code(err) != outcome.ExitInvalid {
		t.Fatalf("a missing --trusted-root: %v, want a usage error", err)
	}
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(file, sigstoretest.New(t).TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	if tr, err := Trust(&options.Trust{TrustedRoot: file}).Material(ctx, true, logger); err != nil || tr == nil {
		t.Fatalf("Material(--trusted-root) = %v, %v", tr, err)
	}
}

func mustKey(t *testing.T) *signing.KeyPair {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}
