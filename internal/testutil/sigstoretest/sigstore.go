package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Service names one of the servers, for SetClockSkew.
type Service int

// The services a Sigstore runs.
const (
	// OIDCIssuer is the OpenID Connect issuer: its clock sets a token's iat
	// and default exp.
	OIDCIssuer Service = iota
	// Fulcio is the certificate authority: its clock sets a certificate's
	// validity, the SCT timestamp, and the "now" it checks token expiry at.
	Fulcio
	// Rekor is the transparency log: its clock sets integratedTime.
	Rekor
	// TSA is the timestamp authority: its clock sets genTime.
	TSA
)

// String returns the service's name.
func (s Service) String() string {
	switch s {
	case OIDCIssuer:
		return "oidc-issuer"
	case Fulcio:
		return "fulcio"
	case Rekor:
		return "rekor"
	case TSA:
		return "tsa"
	default:
		return fmt.Sprintf("service(%d)", int(s))
	}
}

// trustWindow is how far before and after New the certificate authorities,
// logs and their entries in the trusted root are valid. Clock skews must stay
// well inside it.
const trustWindow = 24 * time.Hour

// Sigstore is a running private Sigstore: an OIDC issuer, Fulcio, Rekor and a
// timestamp authority on 127.0.0.1, and the trusted root that describes them.
// All methods are safe for concurrent use. The servers stop when the test
// that created them ends.
type Sigstore struct {
	// OIDCIssuerURL is the issuer URL: the "iss" of every token, and the
	// issuer Fulcio writes into certificates (OID 1.3.6.1.4.1.57264.1.8).
	OIDCIssuerURL string
	// FulcioURL is Fulcio's base URL (sign.FulcioOptions.BaseURL).
	FulcioURL string
	// RekorURL is Rekor's base URL (sign.RekorOptions.BaseURL).
	RekorURL string
	// TSAURL is the timestamp endpoint itself, …/api/v1/timestamp
	// (sign.TimestampAuthorityOptions.URL, cosign's --timestamp-server-url).
	TSAURL string

	tb     testing.TB
	issuer *issuer
	fulcio *fulcio
	rekor  *rekorLog
	tsa    *tsa

	trustedRoot     *root.TrustedRoot
	trustedRootJSON []byte
	signingConfig   []byte

	mu   sync.Mutex
	skew map[Service]time.Duration
}

// New starts a private Sigstore for the test tb and stops it when tb ends.
// Setup failures fail tb.
func New(tb testing.TB) *Sigstore {
	tb.Helper()
	s := &Sigstore{tb: tb, skew: map[Service]time.Duration{}}
	start := time.Now()

	var err error
	s.issuer, err = newIssuer(s.clock(OIDCIssuer))
	if err != nil {
		tb.Fatalf("sigstoretest: creating OIDC issuer: %v", err)
	}
	s.OIDCIssuerURL = s.serve(s.issuer.handler())
	s.issuer.url = s.OIDCIssuerURL

	// Fulcio verifies tokens the way the real one does: discovery document
	// and JWKS fetched over HTTP by go-oidc. The provider keeps the context
	// for later JWKS fetches, so it must outlive any one request: it is the
	// test's.
	provider, err := oidc.NewProvider(tb.Context(), s.OIDCIssuerURL)
	if err != nil {
		tb.Fatalf("sigstoretest: discovering the OIDC issuer: %v", err)
	}
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("sigstoretest: generating CT log key: %v", err)
	}
	fulcioCA, err := newAuthority("sigstoretest-fulcio", x509.ExtKeyUsageCodeSigning, start)
	if err != nil {
		tb.Fatalf("sigstoretest: creating Fulcio CA: %v", err)
	}
	s.fulcio = &fulcio{
		ca:        fulcioCA,
		ctKey:     ctKey,
		issuerURL: s.OIDCIssuerURL,
		verifier:  provider.Verifier(&oidc.Config{ClientID: "sigstore", Now: s.clock(Fulcio)}),
		now:       s.clock(Fulcio),
	}
	s.FulcioURL = s.serve(s.fulcio.handler())

	s.rekor, err = newRekorLog(s.clock(Rekor))
	if err != nil {
		tb.Fatalf("sigstoretest: creating Rekor: %v", err)
	}
	s.RekorURL = s.serve(s.rekor.handler())
	s.rekor.setOrigin(s.RekorURL)

	s.tsa, err = newTSA(start, s.clock(TSA))
	if err != nil {
		tb.Fatalf("sigstoretest: creating TSA: %v", err)
	}
	s.TSAURL = s.serve(s.tsa.handler()) + tsaPath

	if err := s.buildTrustedRoot(start); err != nil {
		tb.Fatalf("sigstoretest: building trusted root: %v", err)
	}
	if err := s.buildSigningConfig(start); err != nil {
		tb.Fatalf("sigstoretest: building signing config: %v", err)
	}
	return s
}

// serve starts h on 127.0.0.1 until the test ends and returns its base URL.
func (s *Sigstore) serve(h http.Handler) string {
	srv := httptest.NewServer(h)
	s.tb.Cleanup(srv.Close)
	return srv.URL
}

// SetClockSkew moves svc's clock by d (negative: behind) for everything it
// does from now on; 0 puts it back. Keep |d| under a few hours: the trusted
// root only vouches for a day either side of New.
//
// For example, SetClockSkew(Fulcio, -time.Hour) yields certificates that had
// already expired when Rekor logged and the TSA timestamped the signature, so
// a correct verifier rejects the bundle.
func (s *Sigstore) SetClockSkew(svc Service, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew[svc] = d
}

// clock returns svc's clock: the wall clock plus svc's current skew.
func (s *Sigstore) clock(svc Service) func() time.Time {
	return func() time.Time {
		s.mu.Lock()
		d := s.skew[svc]
		s.mu.Unlock()
		return time.Now().Add(d)
	}
}

// Token mints an ID token for identity from the OIDC issuer, valid for ten
// minutes with audience "sigstore". An identity containing "@" becomes the
// token's verified email (and Fulcio issues an email SAN); any other identity
// is the subject and must be a URI (Fulcio issues a URI SAN). opts make the
// token bad in one chosen way, for adversarial tests. Tokens are RS256 JWTs,
// which the cosign CLI also accepts literally in --identity-token.
func (s *Sigstore) Token(identity string, opts ...TokenOption) string {
	s.tb.Helper()
	tok, err := s.issuer.token(identity, opts...)
	if err != nil {
		s.tb.Fatalf("sigstoretest: minting token for %q: %v", identity, err)
	}
	return tok
}

// TrustedRoot returns the trusted material for verifying what this Sigstore
// issued: the Fulcio CA, the CT log key, the Rekor key and the TSA chain. It
// is parsed from TrustedRootJSON, so both always agree.
func (s *Sigstore) TrustedRoot() *root.TrustedRoot {
	return s.trustedRoot
}

// TrustedRootJSON returns the trusted root as a Sigstore trusted_root.json
// document (media type application/vnd.dev.sigstore.trustedroot+json;version=0.1).
func (s *Sigstore) TrustedRootJSON() []byte {
	return append([]byte(nil), s.trustedRootJSON...)
}

// SigningConfigJSON returns a Sigstore signing config (media type
// application/vnd.dev.sigstore.signingconfig.v0.2+json) that points at this
// Sigstore's OIDC issuer, Fulcio, Rekor (v1 API) and TSA.
func (s *Sigstore) SigningConfigJSON() []byte {
	return append([]byte(nil), s.signingConfig...)
}

func (s *Sigstore) buildTrustedRoot(start time.Time) error {
	validFrom := start.Add(-trustWindow)
	fulcioCA := &root.FulcioCertificateAuthority{
		Root:                s.fulcio.ca.root,
		Intermediates:       []*x509.Certificate{s.fulcio.ca.intermediate},
		ValidityPeriodStart: validFrom,
		URI:                 s.FulcioURL,
	}
	tsaCA := &root.SigstoreTimestampingAuthority{
		Root:                s.tsa.ca.root,
		Intermediates:       []*x509.Certificate{s.tsa.ca.intermediate},
		Leaf:                s.tsa.leaf,
		ValidityPeriodStart: validFrom,
		URI:                 s.TSAURL,
	}
	ctLog, err := transparencyLog(ctLogURL, s.fulcio.ctKey.Public(), validFrom)
	if err != nil {
		return fmt.Errorf("describing CT log: %w", err)
	}
	rekor, err := transparencyLog(s.RekorURL, s.rekor.key.Public(), validFrom)
	if err != nil {
		return fmt.Errorf("describing Rekor: %w", err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{fulcioCA},
		map[string]*root.TransparencyLog{ctLog.key: ctLog.log},
		[]root.TimestampingAuthority{tsaCA},
		map[string]*root.TransparencyLog{rekor.key: rekor.log},
	)
	if err != nil {
		return err
	}
	s.trustedRootJSON, err = tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshalling trusted root: %w", err)
	}
	s.trustedRoot, err = root.NewTrustedRootFromJSON(s.trustedRootJSON)
	if err != nil {
		return fmt.Errorf("parsing our own trusted root: %w", err)
	}
	return nil
}

func (s *Sigstore) buildSigningConfig(start time.Time) error {
	validFrom := start.Add(-trustWindow)
	svc := func(url string, version uint32) []root.Service {
		return []root.Service{{URL: url, MajorAPIVersion: version, ValidityPeriodStart: validFrom, Operator: "sigstoretest"}}
	}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		svc(s.FulcioURL, 1),
		svc(s.OIDCIssuerURL, 1),
		svc(s.RekorURL, 1),
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		svc(s.TSAURL, 1),
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
	)
	if err != nil {
		return err
	}
	s.signingConfig, err = sc.MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshalling signing config: %w", err)
	}
	return nil
}

// keyedLog is a transparency log with the hex log ID trusted roots key it by.
type keyedLog struct {
	key string
	log *root.TransparencyLog
}

// transparencyLog describes a log whose ID is the SHA-256 of its PKIX public
// key, as Rekor and CT logs define it.
func transparencyLog(baseURL string, pub crypto.PublicKey, validFrom time.Time) (keyedLog, error) {
	id, err := logID(pub)
	if err != nil {
		return keyedLog{}, err
	}
	return keyedLog{
		key: fmt.Sprintf("%x", id),
		log: &root.TransparencyLog{
			BaseURL:             baseURL,
			ID:                  id[:],
			ValidityPeriodStart: validFrom,
			HashFunc:            crypto.SHA256,
			PublicKey:           pub,
			SignatureHashFunc:   crypto.SHA256,
		},
	}, nil
}

// logID is the SHA-256 digest of pub's PKIX encoding.
func logID(pub crypto.PublicKey) ([sha256.Size]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("marshalling log public key: %w", err)
	}
	return sha256.Sum256(der), nil
}
