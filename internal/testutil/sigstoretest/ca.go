package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// authority is a two-level certificate authority in the shape Fulcio and the
// timestamp authority use: a self-signed root and one intermediate, whose key
// signs the leaves.
//
// sigstore-go's pkg/testing/ca builds the same shape but keeps the
// intermediate key private and only issues leaves for keys it generates
// itself, while Fulcio must certify a key the caller sends; so the chain is
// built here, with validity wide enough for clock-skew tests.
type authority struct {
	root         *x509.Certificate
	intermediate *x509.Certificate
	key          *ecdsa.PrivateKey // the intermediate's
}

// newAuthority creates a root and an intermediate restricted to eku, both
// valid for trustWindow either side of start.
func newAuthority(name string, eku x509.ExtKeyUsage, start time.Time) (*authority, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating root key: %w", err)
	}
	rootTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sigstoretest"}},
		NotBefore:             start.Add(-trustWindow),
		NotAfter:              start.Add(trustWindow),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	root, err := createCertificate(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("creating root certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating intermediate key: %w", err)
	}
	intermediate, err := createCertificate(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name + "-intermediate", Organization: []string{"sigstoretest"}},
		NotBefore:             start.Add(-trustWindow),
		NotAfter:              start.Add(trustWindow),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{eku},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, root, key.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("creating intermediate certificate: %w", err)
	}
	return &authority{root: root, intermediate: intermediate, key: key}, nil
}

// issue signs tmpl for pub with the intermediate key and returns the DER.
func (a *authority) issue(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	return x509.CreateCertificate(rand.Reader, tmpl, a.intermediate, pub, a.key)
}

// createCertificate signs tmpl (with a fresh random serial) and parses the
// result.
func createCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) (*x509.Certificate, error) {
	if tmpl.SerialNumber == nil {
		serial, err := cryptoutils.GenerateSerialNumber()
		if err != nil {
			return nil, err
		}
		tmpl.SerialNumber = serial
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// CodeSigningCA creates a two-level code-signing certificate authority of
// the shape Fulcio serves (a self-signed root and one intermediate with the
// code-signing extended key usage, both valid for a day either side of
// start) and returns both certificates and the intermediate's key: what a
// real Fulcio started with its file CA (--ca fileca) needs.
func CodeSigningCA(name string, start time.Time) (root, intermediate *x509.Certificate, key *ecdsa.PrivateKey, err error) {
	a, err := newAuthority(name, x509.ExtKeyUsageCodeSigning, start)
	if err != nil {
		return nil, nil, nil, err
	}
	return a.root, a.intermediate, a.key, nil
}
