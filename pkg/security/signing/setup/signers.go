package setup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/kms"
)

// Services returns the Sigstore services of signatures made under cfg: Rekor
// (cfg.RekorURL, default the public-good instance) unless Logged is false,
// the timestamp authority cfg names (default none), and for keyless signing
// Fulcio (cfg.FulcioURL, default the public-good instance).
func Services(cfg *api.Signing) signing.Services {
	var sv signing.Services
	if cfg == nil {
		return sv
	}
	if Logged(cfg) {
		sv.RekorURL = orDefault(cfg.RekorURL, api.DefaultRekorURL)
	}
	sv.TSAURL = cfg.TSAURL
	if cfg.IsKeyless() {
		sv.FulcioURL = orDefault(cfg.FulcioURL, api.DefaultFulcioURL)
	}
	return sv
}

// Logged reports whether signatures made under cfg are recorded in a
// transparency log: unless tlogUpload is false.
func Logged(cfg *api.Signing) bool {
	return cfg == nil || cfg.TlogUpload == nil || *cfg.TlogUpload
}

// NeedsTrustedMaterial reports whether checking the signatures made under
// cfg needs Sigstore trusted material (a trusted root): it does for keyless
// signatures and for those recorded in a transparency log. Only key-based
// signing with tlogUpload: false works without. It is the rule of
// Verification.NeedsTrustedMaterial applied to AfterSigning's verification.
func NeedsTrustedMaterial(cfg *api.Signing) bool {
	return needsTrust(!cfg.IsKeyless(), !Logged(cfg))
}

// UsesDefaultPassword reports whether the signer of cfg is a key decrypted
// with the default password (WithDefaultPassword): a key-based block that
// names no password and whose key is not a KMS key (a KMS needs none).
func UsesDefaultPassword(cfg *api.Signing) bool {
	return cfg != nil && !cfg.IsKeyless() && !cfg.PrivateKey.IsKMS() && cfg.Password.IsZero()
}

// needsTrust is signing's rule for trusted material.
func needsTrust(keyPolicy, ignoreTlog bool) bool {
	return signing.NeedsTrustedMaterial(keyPolicy, ignoreTlog)
}

// Signers builds the signers of signing blocks: a signing.KeySigner from
// privateKey (a path, ${env:…}/${file:…} holding the PEM key, PEM
// content, or an awskms:// or hashivault:// key URI, see package kms) and
// password, or a signing.KeylessSigner from the identity token
// source, each with the Services of its block. A key is loaded (decrypted)
// once however many blocks name it; one keyless signer serves every block
// with the same services, so one Fulcio certificate covers them. It is
// safe for concurrent use.
type Signers struct {
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	tokens    signing.TokenSource
	askOnce   func() ([]byte, error)

	mu      sync.Mutex
	signers map[string]signing.Signer
}

// Option configures NewSigners.
type Option func(*Signers)

// WithDefaultPassword sets the password of keys whose signing block names
// none (sc passes $SC_KEY_PASSWORD or $COSIGN_PASSWORD, or what a prompt
// read). Default: the empty password.
func WithDefaultPassword(password []byte) Option {
	return WithPasswordFunc(func() ([]byte, error) { return password, nil })
}

// WithPasswordFunc is WithDefaultPassword with the password got from fn,
// called once, when the first key without a password in its block has
// been read: a key that cannot be read fails before anyone is asked for
// its password. An error of fn is returned for every such key.
func WithPasswordFunc(fn func() ([]byte, error)) Option {
	return func(s *Signers) { s.askOnce = sync.OnceValues(fn) }
}

// WithReadFile sets how key files and ${file:…} references are read.
// Default: os.ReadFile.
func WithReadFile(fn func(string) ([]byte, error)) Option {
	return func(s *Signers) { s.readFile = fn }
}

// NewSigners returns signers that resolve ${env:…} references with
// lookupEnv (the caller's os.LookupEnv; this package never reads the
// process environment: a variable set to "" is an empty value, an unset
// one is "not set") and get identity tokens for keyless signing from tokens
// (nil: keyless signing is refused).
func NewSigners(lookupEnv func(string) (string, bool), tokens signing.TokenSource, opts ...Option) *Signers {
	s := &Signers{lookupEnv: lookupEnv, readFile: os.ReadFile, tokens: tokens, signers: map[string]signing.Signer{},
		askOnce: func() ([]byte, error) { return nil, nil }}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Signer returns the signer cfg describes, building it on first use. A
// missing key or token source, an unsupported KMS key URI, an unreadable
// key or a wrong password is an outcome.ErrInvalid error; a KMS that
// cannot be reached or does not know the key (kms.Load) is an
// outcome.ErrOperational one. Errors name the key reference, never key
// material or a password.
func (s *Signers) Signer(ctx context.Context, cfg *api.Signing) (signing.Signer, error) {
	if cfg == nil {
		return nil, outcome.Invalid("no signing configuration")
	}
	services := Services(cfg)
	if cfg.IsKeyless() {
		if s.tokens == nil {
			return nil, outcome.Invalid("keyless signing needs an OIDC identity token source")
		}
		id := fmt.Sprintf("keyless\x00%s\x00%s\x00%s", services.FulcioURL, services.RekorURL, services.TSAURL)
		return s.cached(id, func() (signing.Signer, error) { return signing.NewKeylessSigner(s.tokens, services) })
	}
	if cfg.PrivateKey.IsZero() {
		return nil, outcome.Invalid("key-based signing needs a private key")
	}
	if cfg.PrivateKey.IsKMS() {
		uri := cfg.PrivateKey.String()
		id := fmt.Sprintf("kms\x00%s\x00%s\x00%s", uri, services.RekorURL, services.TSAURL)
		return s.cached(id, func() (signing.Signer, error) {
			sv, err := kms.Load(ctx, uri)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			return signing.NewKeySigner(sv, services)
		})
	}
	keyPEM, err := cfg.PrivateKey.Resolve(s.lookupEnv, s.readFile)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	var password []byte
	if cfg.Password.IsZero() {
		if password, err = s.askOnce(); err != nil {
			return nil, err
		}
	} else {
		pw, err := cfg.Password.Resolve(s.lookupEnv, s.readFile)
		if err != nil {
			return nil, fmt.Errorf("key password: %w", err)
		}
		password = []byte(pw)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(keyPEM), password, []byte(services.RekorURL), []byte(services.TSAURL)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	id := "key\x00" + hex.EncodeToString(h.Sum(nil))
	return s.cached(id, func() (signing.Signer, error) {
		sv, err := signing.LoadPrivateKey([]byte(keyPEM), password)
		if err != nil {
			return nil, fmt.Errorf("private key %s: %w", cfg.PrivateKey, err)
		}
		return signing.NewKeySigner(sv, services)
	})
}

func (s *Signers) cached(id string, build func() (signing.Signer, error)) (signing.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sg, ok := s.signers[id]; ok {
		return sg, nil
	}
	sg, err := build()
	if err != nil {
		return nil, err
	}
	s.signers[id] = sg
	return sg, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
