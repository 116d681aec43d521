package export

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"sort"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// instance is the Sigstore instance signers are verified against, as the
// engines take it: PEM material and URLs read from a trusted root.
type instance struct {
	fulcioURL  string
	fulcioPEM  string // every Fulcio CA certificate, intermediates first
	rekorURL   string
	rekorPEM   string
	ctlogPEM   string
	tsaPEM     string // the first TSA's chain, leaf first; "" without a TSA
	cas, tsas  []pcCertificateAuthority
	tlogs, cts []pcTransparencyLog
}

// newInstance reads tr into an instance. Kyverno's attestors name one
// Rekor and one CT log key each, so tr must describe exactly one of each,
// and at least one Fulcio CA.
func newInstance(tr *root.TrustedRoot) (*instance, error) {
	in := &instance{}
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			return nil, fmt.Errorf("%w: trusted root: a certificate authority of type %T", ErrInvalidPolicy, ca)
		}
		chain := certsPEM(append(append([]*x509.Certificate{}, f.Intermediates...), f.Root))
		if in.fulcioURL == "" {
			in.fulcioURL = f.URI
		}
		in.fulcioPEM += chain
		in.cas = append(in.cas, pcCertificateAuthority{URI: f.URI, CertChain: b64(chain), Subject: subjectOf(f.Root)})
	}
	if len(in.cas) == 0 {
		return nil, fmt.Errorf("%w: the trusted root has no Fulcio certificate authority", ErrInvalidPolicy)
	}
	for _, ta := range tr.TimestampingAuthorities() {
		s, ok := ta.(*root.SigstoreTimestampingAuthority)
		if !ok {
			return nil, fmt.Errorf("%w: trusted root: a timestamping authority of type %T", ErrInvalidPolicy, ta)
		}
		certs := append([]*x509.Certificate{}, s.Intermediates...)
		if s.Leaf != nil {
			certs = append([]*x509.Certificate{s.Leaf}, certs...)
		}
		chain := certsPEM(append(certs, s.Root))
		if in.tsaPEM == "" {
			in.tsaPEM = chain
		}
		in.tsas = append(in.tsas, pcCertificateAuthority{URI: s.URI, CertChain: b64(chain), Subject: subjectOf(s.Root)})
	}
	var err error
	if in.rekorURL, in.rekorPEM, in.tlogs, err = logs(tr.RekorLogs(), "Rekor"); err != nil {
		return nil, err
	}
	if _, in.ctlogPEM, in.cts, err = logs(tr.CTLogs(), "certificate transparency"); err != nil {
		return nil, err
	}
	return in, nil
}

// logs returns the one log of m: its URL, its PEM public key and its
// policy-controller description.
func logs(m map[string]*root.TransparencyLog, what string) (string, string, []pcTransparencyLog, error) {
	if len(m) != 1 {
		return "", "", nil, fmt.Errorf("%w: the trusted root has %d %s logs; an exported policy names exactly one", ErrUnsupported, len(m), what)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	l := m[ids[0]]
	pub, err := cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: the %s log's public key: %w", ErrInvalidPolicy, what, err)
	}
	return l.BaseURL, string(pub), []pcTransparencyLog{{BaseURL: l.BaseURL, HashAlgorithm: "sha-256", PublicKey: b64(string(pub))}}, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func certsPEM(certs []*x509.Certificate) string {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return string(out)
}

func subjectOf(c *x509.Certificate) pcSubject {
	s := pcSubject{CommonName: c.Subject.CommonName}
	if len(c.Subject.Organization) > 0 {
		s.Organization = c.Subject.Organization[0]
	}
	return s
}

// The TrustRoot of policy-controller (policy.sigstore.dev/v1alpha1, v0.13):
// the trusted material of a Sigstore instance as sigstoreKeys, which
// authorities name by trustRootRef. Its byte fields are base64 strings, as
// Kubernetes writes []byte.

type pcTrustRoot struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   objectMeta  `yaml:"metadata"`
	Spec       pcTrustSpec `yaml:"spec"`
}

type pcTrustSpec struct {
	SigstoreKeys pcSigstoreKeys `yaml:"sigstoreKeys"`
}

type pcSigstoreKeys struct {
	CertificateAuthorities []pcCertificateAuthority `yaml:"certificateAuthorities"`
	TLogs                  []pcTransparencyLog      `yaml:"tLogs"`
	CTLogs                 []pcTransparencyLog      `yaml:"ctLogs"`
	TimestampAuthorities   []pcCertificateAuthority `yaml:"timestampAuthorities,omitempty"`
}

type pcCertificateAuthority struct {
	Subject   pcSubject `yaml:"subject"`
	URI       string    `yaml:"uri"`
	CertChain string    `yaml:"certChain"` // base64 of the PEM chain
}

type pcSubject struct {
	Organization string `yaml:"organization"`
	CommonName   string `yaml:"commonName"`
}

type pcTransparencyLog struct {
	BaseURL       string `yaml:"baseURL"`
	HashAlgorithm string `yaml:"hashAlgorithm"`
	PublicKey     string `yaml:"publicKey"` // base64 of the PEM key
}

func trustRootFor(name string, in *instance) *pcTrustRoot {
	return &pcTrustRoot{
		APIVersion: "policy.sigstore.dev/v1alpha1",
		Kind:       "TrustRoot",
		Metadata:   objectMeta{Name: name, Annotations: annotations()},
		Spec: pcTrustSpec{SigstoreKeys: pcSigstoreKeys{
			CertificateAuthorities: in.cas, TLogs: in.tlogs, CTLogs: in.cts, TimestampAuthorities: in.tsas,
		}},
	}
}
