package pipeline

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// SignerSource gives the signer for a service's signing configuration. The
// executor asks once per service before anything runs, so that a key that
// cannot be loaded stops the release before any work is done.
type SignerSource interface {
	// Signer returns the signer cfg describes. Errors in the
	// outcome.ErrInvalid class (a missing key, a wrong password) stop the
	// release.
	Signer(ctx context.Context, cfg *api.Signing) (signing.Signer, error)
}

var _ SignerSource = (*Signers)(nil)

// Signers builds signers from the signing blocks of a configuration: a
// KeySigner from privateKey (a path, or an ${env:…}/${file:…} reference
// holding the PEM key) and password, or a KeylessSigner from the identity
// token source, with the Fulcio, Rekor and timestamp URLs of the block. A
// key is loaded (decrypted) once per release however many services use it;
// one keyless signer serves every service with the same services, so one
// Fulcio certificate covers them.
type Signers struct {
	lookupEnv       func(string) (string, bool)
	readFile        func(string) ([]byte, error)
	tokens          signing.TokenSource
	defaultPassword []byte

	mu      sync.Mutex
	signers map[string]signing.Signer
}

// SignersOption configures NewSigners.
type SignersOption func(*Signers)

// WithDefaultPassword sets the password of keys whose signing block has no
// password (sc passes $SC_KEY_PASSWORD or $COSIGN_PASSWORD). Default: the
// empty password.
func WithDefaultPassword(password []byte) SignersOption {
	return func(s *Signers) { s.defaultPassword = password }
}

// WithSignersReadFile sets how key files and ${file:…} references are
// read. Default: os.ReadFile.
func WithSignersReadFile(fn func(string) ([]byte, error)) SignersOption {
	return func(s *Signers) { s.readFile = fn }
}

// NewSigners returns a SignerSource that resolves secret references with
// lookupEnv (the caller's os.LookupEnv; this package never reads the
// process environment: a variable set to "" is an empty password, an unset
// one an error) and gets identity tokens for keyless signing from tokens
// (nil: keyless signing is refused).
func NewSigners(lookupEnv func(string) (string, bool), tokens signing.TokenSource, opts ...SignersOption) *Signers {
	s := &Signers{lookupEnv: lookupEnv, readFile: os.ReadFile, tokens: tokens, signers: map[string]signing.Signer{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Signer returns the signer cfg describes, building it on first use.
func (s *Signers) Signer(ctx context.Context, cfg *api.Signing) (signing.Signer, error) {
	if cfg == nil {
		return nil, outcome.Invalid("no signing configuration")
	}
	services := signingServices(cfg)
	if cfg.IsKeyless() {
		if s.tokens == nil {
			return nil, outcome.Invalid("keyless signing needs an OIDC identity token source")
		}
		id := fmt.Sprintf("keyless\x00%s\x00%s\x00%s", services.FulcioURL, services.RekorURL, services.TSAURL)
		return s.cached(id, func() (signing.Signer, error) { return signing.NewKeylessSigner(s.tokens, services) })
	}
	if cfg.PrivateKey.IsZero() {
		return nil, outcome.Invalid("key-based signing needs signing.privateKey")
	}
	if cfg.PrivateKey.IsKMS() {
		return nil, outcome.Invalidf("signing.privateKey %s: KMS keys are not supported; use a cosign key file or ${env:…}/${file:…}", cfg.PrivateKey)
	}
	keyPEM, err := cfg.PrivateKey.Resolve(s.lookupEnv, s.readFile)
	if err != nil {
		return nil, fmt.Errorf("signing.privateKey: %w", err)
	}
	password := s.defaultPassword
	if !cfg.Password.IsZero() {
		pw, err := cfg.Password.Resolve(s.lookupEnv, s.readFile)
		if err != nil {
			return nil, fmt.Errorf("signing.password: %w", err)
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
			return nil, fmt.Errorf("signing.privateKey %s: %w", cfg.PrivateKey, err)
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

// signingServices are the Sigstore services of a signing block.
func signingServices(cfg *api.Signing) signing.Services {
	var sv signing.Services
	if cfg.TlogUpload == nil || *cfg.TlogUpload {
		sv.RekorURL = orDefault(cfg.RekorURL, api.DefaultRekorURL)
	}
	sv.TSAURL = cfg.TSAURL
	if cfg.IsKeyless() {
		sv.FulcioURL = orDefault(cfg.FulcioURL, api.DefaultFulcioURL)
	}
	return sv
}

// logsSignatures reports whether signatures made under cfg are recorded in
// a transparency log, so that checking them needs trusted material.
func logsSignatures(cfg *api.Signing) bool {
	return signingServices(cfg).RekorURL != ""
}

// verifyPolicy is whose signatures the verification after signing accepts:
// the certificate identity and issuer of signing.verify for keyless
// signing; for a key, signing.publicKey when set, else the signing key's
// own public key.
func verifyPolicy(cfg *api.Signing, readFile func(string) ([]byte, error), signerKey crypto.PublicKey) (signing.Policy, error) {
	if cfg.IsKeyless() {
		v := cfg.Verify
		if v == nil {
			v = &api.Verify{}
		}
		p := signing.Policy{Identity: &signing.IdentityPolicy{Subject: v.Identity, SubjectRegexp: v.IdentityRegexp, Issuer: v.OIDCIssuer}}
		if err := p.Validate(); err != nil {
			return signing.Policy{}, fmt.Errorf("signing.verify: %w", err)
		}
		return p, nil
	}
	if cfg.PublicKey == "" {
		return signing.Policy{Key: signerKey}, nil
	}
	if k, err := api.ParseKeyRef(cfg.PublicKey); err == nil && k.IsKMS() {
		return signing.Policy{}, outcome.Invalidf("signing.publicKey %s: KMS keys are not supported", cfg.PublicKey)
	}
	pemBytes, err := readFile(cfg.PublicKey)
	if err != nil {
		return signing.Policy{}, outcome.Invalidf("signing.publicKey: %w", err)
	}
	pub, err := signing.LoadPublicKey(pemBytes)
	if err != nil {
		return signing.Policy{}, fmt.Errorf("signing.publicKey %s: %w", cfg.PublicKey, err)
	}
	return signing.Policy{Key: pub}, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
