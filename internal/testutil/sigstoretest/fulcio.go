package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

const (
	// certLifetime is the validity of Fulcio's code-signing certificates.
	certLifetime = 10 * time.Minute
	// ctLogURL names the CT log in the trusted root. The log is not served:
	// like a Fulcio with an embedded-SCT CA, this one gets its SCTs from a
	// log key it holds and embeds them; nothing ever fetches from the log.
	ctLogURL = "https://ctlog.sigstoretest.invalid"
	// maxRequestBytes bounds every request body the servers read.
	maxRequestBytes = 8 << 20
)

// Fulcio's client-facing error messages (pkg/server/error.go).
const (
	msgInvalidSignature     = "The signature supplied in the request could not be verified"
	msgInvalidPublicKey     = "The public key supplied in the request could not be parsed"
	msgInvalidCSR           = "The certificate signing request could not be parsed"
	msgInsecurePublicKey    = "The public key supplied in the request is insecure"
	msgInvalidIdentityToken = "There was an error processing the identity token"
	msgGenericCAError       = "error communicating with CA backend"
)

// gRPC status codes that Fulcio's grpc-gateway maps to HTTP statuses.
const (
	grpcInvalidArgument = 3  // HTTP 400
	grpcInternal        = 13 // HTTP 500
)

// fulcio is Fulcio's v2 REST API (the grpc-gateway JSON mapping of
// CreateSigningCertificate) over an authority that embeds SCTs.
type fulcio struct {
	ca        *authority
	ctKey     *ecdsa.PrivateKey
	issuerURL string
	verifier  *oidc.IDTokenVerifier
	now       func() time.Time
}

func (f *fulcio) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", f.signingCert)
	mux.HandleFunc("GET /api/v2/trustBundle", f.trustBundle)
	return mux
}

// signingCertRequest is fulcio.v2.CreateSigningCertificateRequest in
// protojson form; bytes fields are base64.
type signingCertRequest struct {
	Credentials *struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest *struct {
		PublicKey *struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession protoBytes `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
	CertificateSigningRequest protoBytes `json:"certificateSigningRequest"`
}

// protoBytes decodes a protojson bytes field, which may be standard or
// URL-safe base64, padded or not.
type protoBytes []byte

func (b *protoBytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			*b = raw
			return nil
		}
	}
	return errors.New("invalid base64 in bytes field")
}

// chain is fulcio.v2.CertificateChain.
type chain struct {
	Certificates []string `json:"certificates"`
}

func (f *fulcio) signingCert(w http.ResponseWriter, r *http.Request) {
	var req signingCertRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&req); err != nil {
		fulcioError(w, grpcInvalidArgument, err.Error())
		return
	}

	// The token travels in the body or, as sigstore-go sends it, in the
	// Authorization header that the gateway turns into gRPC metadata.
	token := ""
	if req.Credentials != nil {
		token = req.Credentials.OIDCIdentityToken
	}
	if token == "" {
		if h := r.Header.Get("Authorization"); len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
			token = h[len("Bearer "):]
		}
	}
	p, err := f.authenticate(r.Context(), token)
	if err != nil {
		fulcioError(w, grpcInvalidArgument, msgInvalidIdentityToken)
		return
	}

	var pub crypto.PublicKey
	if len(req.CertificateSigningRequest) > 0 {
		csr, err := cryptoutils.ParseCSR(req.CertificateSigningRequest)
		if err != nil {
			fulcioError(w, grpcInvalidArgument, msgInvalidCSR)
			return
		}
		if err := cryptoutils.ValidatePubKey(csr.PublicKey); err != nil {
			fulcioError(w, grpcInvalidArgument, msgInsecurePublicKey)
			return
		}
		if err := csr.CheckSignature(); err != nil {
			fulcioError(w, grpcInvalidArgument, msgInvalidSignature)
			return
		}
		pub = csr.PublicKey
	} else {
		var content string
		var proof []byte
		if pk := req.PublicKeyRequest; pk != nil {
			if pk.PublicKey != nil {
				content = pk.PublicKey.Content
			}
			proof = pk.ProofOfPossession
		}
		pub, err = parsePublicKey(content)
		if err != nil {
			fulcioError(w, grpcInvalidArgument, msgInvalidPublicKey)
			return
		}
		if err := cryptoutils.ValidatePubKey(pub); err != nil {
			fulcioError(w, grpcInvalidArgument, msgInsecurePublicKey)
			return
		}
		// The proof of possession is a signature over the token's subject
		// (its email for email identities), checked with SHA-256 as Fulcio's
		// challenges.CheckSignature does.
		verifier, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			fulcioError(w, grpcInvalidArgument, msgInvalidPublicKey)
			return
		}
		if err := verifier.VerifySignature(bytes.NewReader(proof), strings.NewReader(p.name)); err != nil {
			fulcioError(w, grpcInvalidArgument, msgInvalidSignature)
			return
		}
	}

	certs, err := f.issue(p, pub)
	if err != nil {
		fulcioError(w, grpcInternal, msgGenericCAError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": chain{Certificates: certs}},
	})
}

func (f *fulcio) trustBundle(w http.ResponseWriter, _ *http.Request) {
	certs, err := pemChain(f.ca.intermediate, f.ca.root)
	if err != nil {
		fulcioError(w, grpcInternal, msgGenericCAError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chains": []chain{{Certificates: certs}}})
}

// fulcioError writes a gRPC status the way grpc-gateway renders it.
func fulcioError(w http.ResponseWriter, code int, message string) {
	status := http.StatusInternalServerError
	if code == grpcInvalidArgument {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]any{"code": code, "message": message, "details": []any{}})
}

// principal is the identity an ID token proves.
type principal struct {
	name  string   // what the proof of possession signs
	email string   // SAN for email identities
	uri   *url.URL // SAN for URI identities
}

// authenticate verifies token against the issuer (signature via JWKS,
// issuer, audience "sigstore", expiry at Fulcio's clock) and extracts the
// identity.
func (f *fulcio) authenticate(ctx context.Context, token string) (principal, error) {
	if token == "" {
		return principal{}, errors.New("no identity token")
	}
	idt, err := f.verifier.Verify(ctx, token)
	if err != nil {
		return principal{}, err
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return principal{}, err
	}
	if claims.Email != "" {
		if !claims.EmailVerified {
			return principal{}, errors.New("email_verified claim was false")
		}
		return principal{name: claims.Email, email: claims.Email}, nil
	}
	u, err := url.Parse(idt.Subject)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return principal{}, fmt.Errorf("subject %q is neither an email nor a URI", idt.Subject)
	}
	return principal{name: idt.Subject, uri: u}, nil
}

// parsePublicKey parses a PEM or DER public key, as Fulcio's
// challenges.ParsePublicKey does.
func parsePublicKey(content string) (crypto.PublicKey, error) {
	if content == "" {
		return nil, errors.New("public key not provided")
	}
	if pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(content)); err == nil {
		return pub, nil
	}
	return x509.ParsePKIXPublicKey([]byte(content))
}

// issue certifies pub for p and returns the PEM chain leaf first. Like
// Fulcio's embedded-SCT flow, it signs a precertificate, gets an SCT for it
// and issues the final certificate with the SCT in place of the poison.
func (f *fulcio) issue(p principal, pub crypto.PublicKey) ([]string, error) {
	now := f.now()
	skid, err := cryptoutils.SKID(pub)
	if err != nil {
		return nil, err
	}
	serial, err := cryptoutils.GenerateSerialNumber()
	if err != nil {
		return nil, err
	}
	issuerV2, err := asn1.MarshalWithParams(f.issuerURL, "utf8")
	if err != nil {
		return nil, err
	}
	exts := []pkix.Extension{
		{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(f.issuerURL)}, // Issuer (deprecated)
		{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},            // Issuer (V2)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		SubjectKeyId: skid,
		NotBefore:    now,
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if p.email != "" {
		tmpl.EmailAddresses = []string{p.email}
	} else {
		tmpl.URIs = []*url.URL{p.uri}
	}

	poison := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: asn1.NullBytes}
	tmpl.ExtraExtensions = append(slices.Clone(exts), poison)
	precert, err := f.ca.issue(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("issuing precertificate: %w", err)
	}
	sctList, err := f.sctList(precert, now)
	if err != nil {
		return nil, fmt.Errorf("creating SCT: %w", err)
	}
	tmpl.ExtraExtensions = append(exts, sctList)
	der, err := f.ca.issue(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return pemChain(leaf, f.ca.intermediate, f.ca.root)
}

// sctList returns the embedded-SCT-list extension (RFC 6962 section 3.3)
// holding the CT log's SCT for precert, timestamped at.
func (f *fulcio) sctList(precert []byte, at time.Time) (pkix.Extension, error) {
	ts := uint64(at.UnixMilli()) //nolint:gosec // wall-clock milliseconds are positive
	leaf, err := ct.MerkleTreeLeafFromRawChain([]ct.ASN1Cert{{Data: precert}, {Data: f.ca.intermediate.Raw}}, ct.PrecertLogEntryType, ts)
	if err != nil {
		return pkix.Extension{}, err
	}
	id, err := logID(f.ctKey.Public())
	if err != nil {
		return pkix.Extension{}, err
	}
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: id}, Timestamp: ts}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: *leaf})
	if err != nil {
		return pkix.Extension{}, err
	}
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, f.ctKey, digest[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	sctBytes, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: sctBytes}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}, Value: value}, nil
}

// pemChain PEM-encodes certs in order.
func pemChain(certs ...*x509.Certificate) ([]string, error) {
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		p, err := cryptoutils.MarshalCertificateToPEM(c)
		if err != nil {
			return nil, err
		}
		out = append(out, string(p))
	}
	return out, nil
}
