package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// serviceTimeout bounds each request to Fulcio, Rekor or a timestamp
// authority; ctx cancellation still applies.
const serviceTimeout = 30 * time.Second

// ErrNoToken is returned by a keyless signer whose token source gave no
// identity token. It is operational: the environment could not supply one.
var ErrNoToken = outcome.Operational("no OIDC identity token for keyless signing")

// TokenSource supplies OIDC identity tokens for keyless signing. sc's
// execution context implements it; any func-backed type will do in tests.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Services names the Sigstore services a signer talks to. An empty field
// means the service is not used; there are no defaults here
// (pkg/security/signing/setup fills Services from a signing block, with the
// public-good instance as its default).
type Services struct {
	// FulcioURL is the base URL of the Fulcio certificate authority
	// (v2 signingCert API). Keyless signing only.
	FulcioURL string
	// RekorURL is the base URL of the Rekor v1 transparency log. Empty:
	// signatures are not logged (air-gapped key-based signing; verifiers
	// then need --insecure-ignore-tlog).
	RekorURL string
	// TSAURL is the full URL of an RFC 3161 timestamp authority endpoint.
	// Empty: no signed timestamp.
	TSAURL string
}

// Validate checks the services' URLs without changing them: each must be an
// absolute https URL, or http to a loopback address (a local Sigstore for
// tests). Plain http elsewhere would carry the identity token and the
// signature in clear, and let anyone on the path hand back a certificate or
// log entry of their choosing. Invalid usage.
func (s Services) Validate() error {
	for _, u := range []struct{ name, raw string }{{"Fulcio", s.FulcioURL}, {"Rekor", s.RekorURL}, {"timestamp authority", s.TSAURL}} {
		if u.raw == "" {
			continue
		}
		p, err := url.Parse(u.raw)
		switch {
		case err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http"):
			return outcome.Invalidf("%s URL %q: want an absolute https URL", u.name, u.raw)
		case p.Scheme == "http" && !registry.IsLoopback(p.Hostname()):
			return outcome.Invalidf("%s URL %s uses plain http: the identity token and signature would travel in clear; use https (http only for a loopback address)", u.name, u.raw)
		}
	}
	return nil
}

// Identity is who a Signer signs as, the way a verifier sees it.
type Identity struct {
	// KeyID identifies the signing public key (see KeyID). For a keyless
	// signer it is the current ephemeral key's, which changes between runs.
	KeyID string `json:"keyId"`
	// Subject is the certificate's subject alternative name (an e-mail or
	// a workflow URI); empty for key-based signers.
	Subject string `json:"subject,omitempty"`
	// Issuer is the OIDC issuer recorded in the certificate; empty for
	// key-based signers.
	Issuer string `json:"issuer,omitempty"`
	// PublicKey is the signing public key.
	PublicKey crypto.PublicKey `json:"-"`
	// TransparencyLog tells whether the signer records its signatures in a
	// transparency log, so that verifying them requires a log entry.
	TransparencyLog bool `json:"-"`
}

// Keyless tells whether the identity is a certificate identity.
func (id Identity) Keyless() bool { return id.Subject != "" }

// String names the identity for messages.
func (id Identity) String() string {
	if id.Keyless() {
		return fmt.Sprintf("%s (issuer %s)", id.Subject, id.Issuer)
	}
	return "key " + id.KeyID
}

// Signer signs content into Sigstore bundles. A content is a sign.Content
// from sigstore-go: &sign.PlainData{Data: payload} for a message signature
// (cosign's legacy simple-signing signatures) or &sign.DSSEData{...} for a
// DSSE envelope (in-toto statements: bundle-format signatures and
// attestations). KeySigner and KeylessSigner implement it.
type Signer interface {
	// Identity returns who the signer signs as. A keyless signer obtains
	// its certificate on the first call.
	Identity(ctx context.Context) (Identity, error)
	// Sign signs content and returns the bundle, with a transparency log
	// entry and a signed timestamp when the signer's services include them.
	Sign(ctx context.Context, content sign.Content) (*Signature, error)
}

// Signature is signed content: a Sigstore bundle v0.3.
type Signature struct {
	// Bundle holds the signature or DSSE envelope, the verification
	// material (public key hint or certificate), and any log entries and
	// timestamps.
	Bundle *protobundle.Bundle

	// timestamp asks the timestamp authority the bundle's timestamp came
	// from to timestamp other bytes (nil without one): a legacy attestation
	// is timestamped over its whole DSSE envelope, as cosign v2 writes and
	// verifies it, not over the signature as a bundle is.
	timestamp func(ctx context.Context, data []byte) ([]byte, error)
}

// MarshalJSON returns the bundle in its canonical protobuf-JSON form, as
// stored in registries and read by cosign and sigstore-go.
func (s *Signature) MarshalJSON() ([]byte, error) {
	return protojson.Marshal(s.Bundle)
}

var (
	_ Signer = (*KeySigner)(nil)
	_ Signer = (*KeylessSigner)(nil)
)

// KeySigner signs with a long-lived private key.
type KeySigner struct {
	kp       *keypair
	services Services
}

// NewKeySigner returns a signer for sv (see LoadPrivateKey). Services.RekorURL
// and Services.TSAURL are used when set; FulcioURL is ignored.
func NewKeySigner(sv signature.SignerVerifier, services Services) (*KeySigner, error) {
	services.FulcioURL = ""
	if err := services.Validate(); err != nil {
		return nil, err
	}
	kp, err := newKeypair(sv)
	if err != nil {
		return nil, err
	}
	return &KeySigner{kp: kp, services: services}, nil
}

// Identity returns the key's identity.
func (s *KeySigner) Identity(context.Context) (Identity, error) {
	return Identity{
		KeyID:           s.kp.keyID,
		PublicKey:       s.kp.pub,
		TransparencyLog: s.services.RekorURL != "",
	}, nil
}

// Sign signs content with the key.
func (s *KeySigner) Sign(ctx context.Context, content sign.Content) (*Signature, error) {
	return signBundle(ctx, content, s.kp, nil, s.services)
}

// KeylessSigner signs with an ephemeral key certified by Fulcio for the
// identity in an OIDC token. One certificate (valid for minutes) serves all
// signatures of a run; it is renewed with a fresh key when near expiry.
type KeylessSigner struct {
	tokens   TokenSource
	services Services
	fulcio   *sign.Fulcio

	mu       sync.Mutex
	kp       *keypair
	certDER  []byte
	identity Identity
	notAfter time.Time
}

// NewKeylessSigner returns a keyless signer that gets identity tokens from
// tokens and certificates from services.FulcioURL. A transparency log or a
// timestamp authority is required: without either, a certificate that
// expires within minutes could never be verified later.
func NewKeylessSigner(tokens TokenSource, services Services) (*KeylessSigner, error) {
	if tokens == nil {
		return nil, outcome.Invalid("keyless signing needs an OIDC token source")
	}
	if services.FulcioURL == "" {
		return nil, outcome.Invalid("keyless signing needs a Fulcio URL")
	}
	if services.RekorURL == "" && services.TSAURL == "" {
		return nil, outcome.Invalid("keyless signing needs a transparency log (Rekor) or a timestamp authority: without either the short-lived certificate cannot be verified later")
	}
	if err := services.Validate(); err != nil {
		return nil, err
	}
	return &KeylessSigner{
		tokens:   tokens,
		services: services,
		fulcio:   sign.NewFulcio(&sign.FulcioOptions{BaseURL: services.FulcioURL, Timeout: serviceTimeout, Retries: 1}),
	}, nil
}

// renewBefore is how long before its expiry a certificate is replaced.
const renewBefore = time.Minute

// certify returns the current key pair and certificate, getting new ones
// from Fulcio when there are none or they are about to expire.
func (s *KeylessSigner) certify(ctx context.Context) (*keypair, []byte, Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kp != nil && time.Now().Before(s.notAfter.Add(-renewBefore)) {
		return s.kp, s.certDER, s.identity, nil
	}
	token, err := s.tokens.Token(ctx)
	if err != nil {
		return nil, nil, Identity{}, fmt.Errorf("getting identity token: %w", err)
	}
	if token == "" {
		return nil, nil, Identity{}, ErrNoToken
	}
	priv, err := cosign.GeneratePrivateKey()
	if err != nil {
		return nil, nil, Identity{}, fmt.Errorf("generating ephemeral key: %w", err)
	}
	sv, err := signature.LoadDefaultSignerVerifier(priv)
	if err != nil {
		return nil, nil, Identity{}, fmt.Errorf("loading ephemeral key: %w", err)
	}
	kp, err := newKeypair(sv)
	if err != nil {
		return nil, nil, Identity{}, err
	}
	der, err := s.fulcio.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: token})
	if err != nil {
		return nil, nil, Identity{}, outcome.Operationalf("getting a signing certificate from %s: %w", s.services.FulcioURL, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, Identity{}, outcome.Operationalf("parsing the certificate from %s: %w", s.services.FulcioURL, err)
	}
	if err := cryptoutils.EqualKeys(cert.PublicKey, kp.pub); err != nil {
		return nil, nil, Identity{}, outcome.Operationalf("certificate from %s is not for the signing key: %w", s.services.FulcioURL, err)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, nil, Identity{}, outcome.Operationalf("reading the certificate from %s: %w", s.services.FulcioURL, err)
	}
	s.kp, s.certDER, s.notAfter = kp, der, cert.NotAfter
	s.identity = Identity{
		KeyID:           kp.keyID,
		Subject:         sum.SubjectAlternativeName,
		Issuer:          sum.Issuer,
		PublicKey:       kp.pub,
		TransparencyLog: s.services.RekorURL != "",
	}
	return s.kp, s.certDER, s.identity, nil
}

// Identity returns the certificate identity, getting a certificate first if
// there is none yet.
func (s *KeylessSigner) Identity(ctx context.Context) (Identity, error) {
	_, _, id, err := s.certify(ctx)
	return id, err
}

// Sign signs content with the ephemeral key and embeds the certificate.
func (s *KeylessSigner) Sign(ctx context.Context, content sign.Content) (*Signature, error) {
	kp, der, _, err := s.certify(ctx)
	if err != nil {
		return nil, err
	}
	return signBundle(ctx, content, kp, staticCert(der), s.services)
}

// staticCert is a sign.CertificateProvider that returns a certificate
// obtained earlier.
type staticCert []byte

func (c staticCert) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

// signBundle signs content with kp and completes the bundle with the
// certificate (when cert is not nil), a signed timestamp and a log entry.
func signBundle(ctx context.Context, content sign.Content, kp *keypair, cert sign.CertificateProvider, services Services) (*Signature, error) {
	opts := sign.BundleOptions{Context: ctx}
	if cert != nil {
		opts.CertificateProvider = cert
	}
	var tsa *sign.TimestampAuthority
	if services.TSAURL != "" {
		tsa = sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: services.TSAURL, Timeout: serviceTimeout, Retries: 1})
		opts.TimestampAuthorities = []*sign.TimestampAuthority{tsa}
	}
	if services.RekorURL != "" {
		opts.TransparencyLogs = []sign.Transparency{
			sign.NewRekor(&sign.RekorOptions{BaseURL: services.RekorURL, Timeout: serviceTimeout, Retries: 1, Version: 1}),
		}
	}
	b, err := sign.Bundle(content, kp, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, outcome.Operationalf("signing: %w", err)
	}
	sig := &Signature{Bundle: b}
	if tsa != nil {
		sig.timestamp = tsa.GetTimestamp
	}
	return sig, nil
}

// keypair adapts a sigstore signature.SignerVerifier to sigstore-go's
// sign.Keypair, as cosign's internal SignerVerifierKeypair does: the hint
// is the base64 SHA-256 of the PKIX public key, the algorithm the key's
// default.
type keypair struct {
	sv     signature.SignerVerifier
	pub    crypto.PublicKey
	pubPEM []byte
	hint   []byte
	keyID  string
	keyAlg string
	alg    signature.AlgorithmDetails
}

var _ sign.Keypair = (*keypair)(nil)

func newKeypair(sv signature.SignerVerifier) (*keypair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: reading public key: %w", ErrInvalidKey, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding public key: %w", ErrInvalidKey, err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding public key: %w", ErrInvalidKey, err)
	}
	var keyAlg string
	switch pub.(type) {
	case *ecdsa.PublicKey:
		keyAlg = "ECDSA"
	case *rsa.PublicKey:
		keyAlg = "RSA"
	case ed25519.PublicKey:
		keyAlg = "ED25519"
	default:
		return nil, fmt.Errorf("%w: unsupported key type %T", ErrInvalidKey, pub)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub, sigopts.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	sum := sha256.Sum256(der)
	keyID, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &keypair{
		sv:     sv,
		pub:    pub,
		pubPEM: pubPEM,
		hint:   []byte(base64.StdEncoding.EncodeToString(sum[:])),
		keyID:  keyID,
		keyAlg: keyAlg,
		alg:    alg,
	}, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }

func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}

func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetKeyAlgorithm() string        { return k.keyAlg }
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.pub }
func (k *keypair) GetPublicKeyPem() (string, error) {
	return string(k.pubPEM), nil
}

// SignData signs data and returns the signature and the digest signed.
func (k *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	var digest []byte
	opts := []signature.SignOption{sigopts.WithContext(ctx)}
	if h := k.alg.GetHashType(); h != 0 {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
		opts = append(opts, sigopts.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("signing with the key: %w", err)
	}
	return sig, digest, nil
}
