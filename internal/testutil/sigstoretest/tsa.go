package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"
)

const tsaPath = "/api/v1/timestamp"

// The timestamp authority's client-facing error messages (pkg/api/error.go).
const (
	msgTimestampError         = "Error generating timestamp response"
	msgWeakHashAlgorithm      = "Weak hash algorithm in timestamp request"
	msgInconsistentDigest     = "Message digest has incorrect length for specified algorithm"
	msgUnacceptedPolicy       = "unaccepted policy: requested TSA policy is not supported by the TSA"
	msgUnacceptedExtension    = "unaccepted extension: requested extensions are not supported by the TSA"
	tsaPolicyOID              = "1.3.6.1.4.1.57264.2"
	timestampQueryContentType = "application/timestamp-query"
	timestampReplyContentType = "application/timestamp-reply"
	pemCertChainContentType   = "application/pem-certificate-chain"
	timestampAccuracy         = time.Second
)

// tsa is the Sigstore timestamp authority's REST API: RFC 3161 requests in
// DER, answered with responses signed by a leaf under a two-level chain, as
// the timestamp-authority server does with its in-memory signer.
type tsa struct {
	ca   *authority
	leaf *x509.Certificate
	key  *ecdsa.PrivateKey
	now  func() time.Time
}

func newTSA(start time.Time, now func() time.Time) (*tsa, error) {
	ca, err := newAuthority("sigstoretest-tsa", x509.ExtKeyUsageTimeStamping, start)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating TSA key: %w", err)
	}
	skid, err := cryptoutils.SKID(key.Public())
	if err != nil {
		return nil, err
	}
	// RFC 3161 section 2.3: the only extended key usage, marked critical.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	leaf, err := createCertificate(&x509.Certificate{
		Subject:      pkix.Name{CommonName: "sigstoretest-tsa-leaf", Organization: []string{"sigstoretest"}},
		SubjectKeyId: skid,
		NotBefore:    start.Add(-trustWindow),
		NotAfter:     start.Add(trustWindow),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku},
		},
	}, ca.intermediate, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("creating TSA leaf certificate: %w", err)
	}
	return &tsa{ca: ca, leaf: leaf, key: key, now: now}, nil
}

func (t *tsa) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tsaPath, t.timestamp)
	mux.HandleFunc("GET "+tsaPath+"/certchain", t.certChain)
	return mux
}

func (t *tsa) timestamp(w http.ResponseWriter, r *http.Request) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != timestampQueryContentType {
		apiError(w, http.StatusUnsupportedMediaType, msgTimestampError)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		apiError(w, http.StatusBadRequest, msgTimestampError)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, msgTimestampError)
		return
	}
	if err := verification.VerifyRequest(req); err != nil {
		msg := msgTimestampError
		switch {
		case errors.Is(err, verification.ErrWeakHashAlg):
			msg = msgWeakHashAlgorithm
		case errors.Is(err, verification.ErrInconsistentDigestLength):
			msg = msgInconsistentDigest
		}
		apiError(w, http.StatusBadRequest, msg)
		return
	}
	if len(req.TSAPolicyOID) > 0 && req.TSAPolicyOID.String() != tsaPolicyOID {
		apiError(w, http.StatusBadRequest, msgUnacceptedPolicy)
		return
	}
	if len(req.Extensions) > 0 {
		apiError(w, http.StatusBadRequest, msgUnacceptedExtension)
		return
	}

	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              t.now().UTC(),
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		Accuracy:          timestampAccuracy,
		AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(t.leaf, t.key, crypto.SHA256)
	if err != nil {
		apiError(w, http.StatusInternalServerError, msgTimestampError)
		return
	}
	w.Header().Set("Content-Type", timestampReplyContentType)
	_, _ = w.Write(resp)
}

func (t *tsa) certChain(w http.ResponseWriter, _ *http.Request) {
	certs, err := pemChain(t.leaf, t.ca.intermediate, t.ca.root)
	if err != nil {
		apiError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", pemCertChainContentType)
	_, _ = w.Write([]byte(strings.Join(certs, "")))
}
