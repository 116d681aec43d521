package setup_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

func keyRef(t *testing.T, text string) api.KeyRef {
	t.Helper()
	k, err := api.ParseKeyRef(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func secret(t *testing.T, text string) api.Secret {
	t.Helper()
	s, err := api.ParseSecret(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type keyFiles struct {
	pair          *signing.KeyPair
	priv, pubPath string
}

func newKey(t *testing.T, password string) keyFiles {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := keyFiles{pair: kp, priv: filepath.Join(dir, "cosign.key"), pubPath: filepath.Join(dir, "cosign.pub")}
	if err := os.WriteFile(k.priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.pubPath, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

type tokens string

func (s tokens) Token(context.Context) (string, error) { return string(s), nil }

func TestServices(t *testing.T) {
	tests := []struct {
		name string
		cfg  *api.Signing
		want signing.Services
	}{
		{"key: public-good Rekor", &api.Signing{}, signing.Services{RekorURL: api.DefaultRekorURL}},
		{"keyless: public-good Fulcio and Rekor", &api.Signing{Keyless: new(true)},
			signing.Services{FulcioURL: api.DefaultFulcioURL, RekorURL: api.DefaultRekorURL}},
		{"no log", &api.Signing{TlogUpload: new(false), RekorURL: "https://rekor.example"}, signing.Services{}},
		{"own services", &api.Signing{Keyless: new(true), FulcioURL: "https://f", RekorURL: "https://r", TSAURL: "https://t"},
			signing.Services{FulcioURL: "https://f", RekorURL: "https://r", TSAURL: "https://t"}},
		{"key: Fulcio ignored", &api.Signing{FulcioURL: "https://f", TlogUpload: new(true)}, signing.Services{RekorURL: api.DefaultRekorURL}},
		{"keyless without a log but a timestamp authority", &api.Signing{Keyless: new(true), TlogUpload: new(false), TSAURL: "https://t"},
			signing.Services{FulcioURL: api.DefaultFulcioURL, TSAURL: "https://t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, setup.Services(tt.cfg)); diff != "" {
				t.Errorf("Services (-want +got):\n%s", diff)
			}
		})
	}
}

// Trusted material is needed for keyless and logged signatures, and the
// signing-side answer is the answer for the check after signing.
func TestNeedsTrustedMaterial(t *testing.T) {
	k := newKey(t, "pw")
	pub, err := signing.LoadPublicKey(k.pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	verify := &api.Verify{Identity: "ci@example.com", OIDCIssuer: "https://issuer.example"}
	tests := []struct {
		name string
		cfg  *api.Signing
		want bool
	}{
		{"key, logged by default", &api.Signing{}, true},
		{"key, logged", &api.Signing{TlogUpload: new(true)}, true},
		{"key, no log", &api.Signing{TlogUpload: new(false)}, false},
		{"key, no log, timestamps", &api.Signing{TlogUpload: new(false), TSAURL: "https://t"}, false},
		{"keyless", &api.Signing{Keyless: new(true), Verify: verify}, true},
		{"keyless, no log", &api.Signing{Keyless: new(true), TlogUpload: new(false), TSAURL: "https://t", Verify: verify}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := setup.NeedsTrustedMaterial(tt.cfg); got != tt.want {
				t.Errorf("NeedsTrustedMaterial = %v, want %v", got, tt.want)
			}
			v, err := setup.AfterSigning(t.Context(), tt.cfg, os.ReadFile, pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.NeedsTrustedMaterial(); got != tt.want {
				t.Errorf("AfterSigning(…).NeedsTrustedMaterial = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUsesDefaultPassword(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  *api.Signing
		want bool
	}{
		{"key without password", &api.Signing{PrivateKey: keyRef(t, "cosign.key")}, true},
		{"key with password", &api.Signing{PrivateKey: keyRef(t, "cosign.key"), Password: secret(t, "${env:PW}")}, false},
		{"keyless", &api.Signing{Keyless: new(true)}, false},
		{"nil", nil, false},
	} {
		if got := setup.UsesDefaultPassword(tt.cfg); got != tt.want {
			t.Errorf("%s: UsesDefaultPassword = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSigners(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, "s3cret")
	other := newKey(t, "s3cret")
	pub, err := signing.LoadPublicKey(k.pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	wantID, err := signing.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PW": "s3cret", "KEY": string(k.pair.PrivatePEM), "WRONG": "nope"}
	getenv := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noLog := new(false)
	tests := []struct {
		name     string
		cfg      *api.Signing
		defaults []byte
		code     int
		logged   bool
	}{
		{"key file, password from the environment", &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:PW}"), TlogUpload: noLog}, nil, outcome.ExitOK, false},
		{"key in the environment, password from a file", &api.Signing{PrivateKey: keyRef(t, "${env:KEY}"), Password: secret(t, "${file:"+pwFile+"}"), TlogUpload: noLog}, nil, outcome.ExitOK, false},
		{"key from a file reference, default password", &api.Signing{PrivateKey: keyRef(t, "${file:"+k.priv+"}"), TlogUpload: noLog}, []byte("s3cret"), outcome.ExitOK, false},
		{"PEM content, logged", &api.Signing{PrivateKey: keyRef(t, string(k.pair.PrivatePEM)), Password: secret(t, "${env:PW}")}, nil, outcome.ExitOK, true},
		{"the block's password wins over the default", &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:PW}")}, []byte("nope"), outcome.ExitOK, true},
		{"wrong password", &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:WRONG}")}, nil, outcome.ExitInvalid, false},
		{"wrong default password", &api.Signing{PrivateKey: keyRef(t, k.priv)}, []byte("nope"), outcome.ExitInvalid, false},
		{"unset password variable", &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:NOPE}")}, nil, outcome.ExitInvalid, false},
		{"missing key file", &api.Signing{PrivateKey: keyRef(t, filepath.Join(t.TempDir(), "none.key"))}, nil, outcome.ExitInvalid, false},
		{"public key as private key", &api.Signing{PrivateKey: keyRef(t, k.pubPath)}, nil, outcome.ExitInvalid, false},
		{"unsupported KMS key", &api.Signing{PrivateKey: keyRef(t, "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k")}, nil, outcome.ExitInvalid, false},
		{"malformed awskms key", &api.Signing{PrivateKey: keyRef(t, "awskms://")}, nil, outcome.ExitInvalid, false},
		{"no key", &api.Signing{}, nil, outcome.ExitInvalid, false},
		{"keyless without a token source", &api.Signing{Keyless: new(true)}, nil, outcome.ExitInvalid, false},
		{"nil", nil, nil, outcome.ExitInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup.NewSigners(getenv, nil, setup.WithDefaultPassword(tt.defaults))
			signer, err := s.Signer(ctx, tt.cfg)
			if code := outcome.Code(err); code != tt.code {
				t.Fatalf("Signer = %v (exit %d), want exit %d", err, code, tt.code)
			}
			if err != nil {
				for _, secret := range []string{"s3cret", "nope", "-----BEGIN"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows %q", err, secret)
					}
				}
				return
			}
			id, err := signer.Identity(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id.KeyID != wantID || id.TransparencyLog != tt.logged || id.Keyless() {
				t.Errorf("identity %+v, want key %s, logged %v", id, wantID, tt.logged)
			}
		})
	}

	t.Run("a key is loaded once; other services, another signer", func(t *testing.T) {
		reads := 0
		s := setup.NewSigners(getenv, nil, setup.WithReadFile(func(p string) ([]byte, error) {
			reads++
			return os.ReadFile(p)
		}))
		cfg := &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:PW}"), TlogUpload: noLog}
		a, err := s.Signer(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		again := *cfg
		b, err := s.Signer(ctx, &again)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Error("the same key and services gave two signers")
		}
		logged := *cfg
		logged.TlogUpload = nil
		c, err := s.Signer(ctx, &logged)
		if err != nil {
			t.Fatal(err)
		}
		if c == a {
			t.Error("a logged and an unlogged block share a signer")
		}
		otherCfg := &api.Signing{PrivateKey: keyRef(t, other.priv), Password: secret(t, "${env:PW}"), TlogUpload: noLog}
		d, err := s.Signer(ctx, otherCfg)
		if err != nil {
			t.Fatal(err)
		}
		if d == a {
			t.Error("two keys share a signer")
		}
		if reads != 4 {
			t.Errorf("%d key reads, want 4 (each Signer call resolves, the cache decides)", reads)
		}
	})

	t.Run("the password is asked once, after the key is read", func(t *testing.T) {
		asked := 0
		s := setup.NewSigners(getenv, nil, setup.WithPasswordFunc(func() ([]byte, error) {
			asked++
			return []byte("s3cret"), nil
		}))
		missing := &api.Signing{PrivateKey: keyRef(t, filepath.Join(t.TempDir(), "none.key")), TlogUpload: noLog}
		if _, err := s.Signer(ctx, missing); outcome.Code(err) != outcome.ExitInvalid || asked != 0 {
			t.Fatalf("a missing key: %v, asked %d times; want invalid before asking", err, asked)
		}
		withPassword := &api.Signing{PrivateKey: keyRef(t, k.priv), Password: secret(t, "${env:PW}"), TlogUpload: noLog}
		if _, err := s.Signer(ctx, withPassword); err != nil || asked != 0 {
			t.Fatalf("a block with a password: %v, asked %d times", err, asked)
		}
		for _, key := range []string{k.priv, other.priv} {
			if _, err := s.Signer(ctx, &api.Signing{PrivateKey: keyRef(t, key), TlogUpload: noLog}); err != nil {
				t.Fatal(err)
			}
		}
		if asked != 1 {
			t.Errorf("asked %d times for two keys, want once", asked)
		}
		failing := setup.NewSigners(getenv, nil, setup.WithPasswordFunc(func() ([]byte, error) {
			return nil, outcome.Invalid("no key password")
		}))
		if _, err := failing.Signer(ctx, &api.Signing{PrivateKey: keyRef(t, k.priv)}); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("a failing password source: %v, want its error", err)
		}
	})

	t.Run("one keyless signer per set of services", func(t *testing.T) {
		s := setup.NewSigners(getenv, tokens("t"))
		a, err := s.Signer(ctx, &api.Signing{Keyless: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Signer(ctx, &api.Signing{Keyless: new(true), FulcioURL: api.DefaultFulcioURL})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Signer(ctx, &api.Signing{Keyless: new(true), TSAURL: "https://tsa.example"})
		if err != nil {
			t.Fatal(err)
		}
		if a != b || a == c {
			t.Errorf("keyless signers: default and explicit public good shared %v, with a TSA shared %v", a == b, a == c)
		}
		if _, err := s.Signer(ctx, &api.Signing{Keyless: new(true), TlogUpload: new(false)}); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("keyless without a log or timestamps: %v, want invalid", err)
		}
	})
}

func TestAfterSigning(t *testing.T) {
	k := newKey(t, "pw")
	other := newKey(t, "pw")
	signerKey, err := signing.LoadPublicKey(k.pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := signing.LoadPublicKey(other.pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        *api.Signing
		wantKey    any
		identity   *signing.IdentityPolicy
		ignoreTlog bool
		code       int
	}{
		{name: "the signer's key", cfg: &api.Signing{}, wantKey: signerKey},
		{name: "the signer's key, no log", cfg: &api.Signing{TlogUpload: new(false)}, wantKey: signerKey, ignoreTlog: true},
		{name: "publicKey", cfg: &api.Signing{PublicKey: other.pubPath}, wantKey: otherKey},
		{name: "publicKey as PEM", cfg: &api.Signing{PublicKey: string(other.pair.PublicPEM)}, wantKey: otherKey},
		{name: "missing publicKey", cfg: &api.Signing{PublicKey: filepath.Join(t.TempDir(), "none.pub")}, code: outcome.ExitInvalid},
		{name: "private key as publicKey", cfg: &api.Signing{PublicKey: k.priv}, code: outcome.ExitInvalid},
		{name: "unsupported KMS publicKey", cfg: &api.Signing{PublicKey: "gcpkms://projects/p/keys/k"}, code: outcome.ExitInvalid},
		{name: "keyless", cfg: &api.Signing{Keyless: new(true), Verify: &api.Verify{IdentityRegexp: "^ci@", OIDCIssuer: "https://issuer.example"}},
			identity: &signing.IdentityPolicy{SubjectRegexp: "^ci@", Issuer: "https://issuer.example"}},
		{name: "keyless without an issuer", cfg: &api.Signing{Keyless: new(true), Verify: &api.Verify{Identity: "ci@example.com"}}, code: outcome.ExitInvalid},
		{name: "keyless without verify", cfg: &api.Signing{Keyless: new(true)}, code: outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := setup.AfterSigning(t.Context(), tt.cfg, os.ReadFile, signerKey)
			if code := outcome.Code(err); code != tt.code {
				t.Fatalf("AfterSigning = %v (exit %d), want exit %d", err, code, tt.code)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.identity, v.Policy.Identity); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			if tt.wantKey != nil && !v.Policy.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.wantKey) {
				t.Errorf("key is not the expected one")
			}
			if v.InsecureIgnoreTlog != tt.ignoreTlog || v.InsecureIgnoreSCT {
				t.Errorf("opt-outs: tlog %v sct %v, want tlog %v", v.InsecureIgnoreTlog, v.InsecureIgnoreSCT, tt.ignoreTlog)
			}
		})
	}
}

func TestVerificationOptions(t *testing.T) {
	key := setup.Verification{Policy: signing.Policy{Key: "k"}}
	identity := setup.Verification{Policy: signing.Policy{Identity: &signing.IdentityPolicy{}}}
	for _, tt := range []struct {
		name  string
		v     setup.Verification
		needs bool
		opts  int
	}{
		{"key", key, true, 0},
		{"key without the log", setup.Verification{Policy: key.Policy, InsecureIgnoreTlog: true}, false, 1},
		{"identity", identity, true, 0},
		{"identity without the log or SCT", setup.Verification{Policy: identity.Policy, InsecureIgnoreTlog: true, InsecureIgnoreSCT: true}, true, 2},
	} {
		if got := tt.v.NeedsTrustedMaterial(); got != tt.needs {
			t.Errorf("%s: NeedsTrustedMaterial = %v, want %v", tt.name, got, tt.needs)
		}
		if n := len(tt.v.SignatureOptions()); n != tt.opts {
			t.Errorf("%s: %d signature options, want %d", tt.name, n, tt.opts)
		}
	}
}

func TestTrustMaterial(t *testing.T) {
	ctx := context.Background()
	tr, err := setup.Trust{}.Material(ctx, false, nil)
	if err != nil || tr != nil {
		t.Fatalf("Material when not needed = %v, %v; want nil, nil", tr, err)
	}
	missing := filepath.Join(t.TempDir(), "trusted_root.json")
	if _, err := (setup.Trust{TrustedRoot: missing}).Material(ctx, false, nil); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("a missing trusted root not needed: %v, want invalid (a named root is always read)", err)
	}
	if tr, err := (setup.Trust{TrustedRoot: missing}).Material(ctx, true, nil); outcome.Code(err) != outcome.ExitInvalid || tr != nil {
		t.Errorf("a missing trusted root: %v, %v; want nil and invalid", tr, err)
	}
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(file, sigstoretest.New(t).TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	if tr, err := (setup.Trust{TrustedRoot: file}).Material(ctx, true, nil); err != nil || tr == nil {
		t.Fatalf("Material(trusted root) = %v, %v", tr, err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	offline := setup.Trust{TUF: signing.TUFOptions{MirrorURL: down.URL, CachePath: t.TempDir()}}
	if tr, err := offline.Material(ctx, true, nil); outcome.Code(err) != outcome.ExitOperational || tr != nil {
		t.Errorf("TUF down: %v, %v; want nil and an operational error", tr, err)
	}
}

// A signing block and its check after signing, end to end against a
// private Sigstore: the keyless signer setup builds signs as the token's
// identity, the check of signing.verify accepts it, and a check naming
// another identity or another key does not.
func TestSignAndCheck(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	client := registry.New()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref("setup/app:v1"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d := ref.Context().Digest(h.String())

	keyless := func(identity string) *api.Signing {
		return &api.Signing{Keyless: new(true), FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL,
			Verify: &api.Verify{Identity: identity, OIDCIssuer: ss.OIDCIssuerURL}}
	}
	signers := setup.NewSigners(nil, tokens(ss.Token("ci@example.com")))
	cfg := keyless("ci@example.com")
	signer, err := signers.Signer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.SignImage(ctx, client, d.String(), signer, signing.SignOptions{Trusted: ss.TrustedRoot()}); err != nil {
		t.Fatal(err)
	}

	check := func(cfg *api.Signing, signerKey any) error {
		t.Helper()
		v, err := setup.AfterSigning(t.Context(), cfg, os.ReadFile, signerKey)
		if err != nil {
			t.Fatal(err)
		}
		verifier, err := signing.NewVerifier(client, ss.TrustedRoot(), v.Policy, v.SignatureOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = verifier.VerifyDigest(ctx, d)
		return err
	}
	if err := check(cfg, nil); err != nil {
		t.Errorf("the check after signing rejects the signature: %v", err)
	}
	if err := check(keyless("mallory@example.com"), nil); !errors.Is(err, signing.ErrVerificationFailed) {
		t.Errorf("another identity: %v, want ErrVerificationFailed", err)
	}
	k := newKey(t, "pw")
	if err := check(&api.Signing{PublicKey: k.pubPath}, nil); !errors.Is(err, signing.ErrVerificationFailed) {
		t.Errorf("a key that did not sign: %v, want ErrVerificationFailed", err)
	}
}
