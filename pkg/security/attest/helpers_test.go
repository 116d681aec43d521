package attest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// registryKind names the registries tests run against.
type registryKind string

const (
	// inProcess is go-containerregistry's registry with the referrers API.
	inProcess registryKind = "in-process"
	// docker is Debian's docker-registry (distribution 2.8, no referrers
	// API: bundles go under the referrers tag schema).
	docker registryKind = "docker-registry"
)

var (
	registries = []registryKind{inProcess, docker}
	formats    = []signing.Format{signing.FormatBundle, signing.FormatLegacy}
)

// testRegistry is a running registry with a client and a request recorder.
type testRegistry struct {
	client *registry.Client
	host   *testutil.Registry
	faults *testutil.Faults
}

func newTestRegistry(t testing.TB, kind registryKind) *testRegistry {
	t.Helper()
	faults := testutil.NewFaults()
	opts := []testutil.RegistryOption{testutil.WithHandler(faults.Wrap)}
	var host *testutil.Registry
	switch kind {
	case inProcess:
		host = testutil.NewRegistry(t, append(opts, testutil.WithReferrers())...)
	case docker:
		host = &testutil.StartDockerRegistry(t, opts...).Registry
	default:
		t.Fatalf("unknown registry kind %q", kind)
	}
	client := registry.New(registry.WithRetry(2, 0), registry.WithKeychain(anonymous{}))
	return &testRegistry{client: client, host: host, faults: faults}
}

// anonymous is a keychain without credentials, so tests never read the
// docker config of the machine.
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// push writes a small random image to repo:tag and returns its digest and
// the image.
func (r *testRegistry) push(t testing.TB, repoTag string) (name.Digest, v1.Image) {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.host.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(ref.Context().String()+"@"+h.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d, img
}

// newKey returns a key-based signer without a transparency log, and its
// public key.
func newKey(t testing.TB, services signing.Services) (*signing.KeySigner, crypto.PublicKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewKeySigner(sv, services)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv.Public()
}

// newVerifier verifies attestations read through reg whose signatures a
// signing.Verifier built from trusted, policy and sopts checks.
func newVerifier(t testing.TB, reg signing.Reader, trusted root.TrustedMaterial, policy signing.Policy, sopts []signing.VerifyOption, opts ...attest.Option) *attest.Verifier {
	t.Helper()
	sv, err := signing.NewVerifier(reg, trusted, policy, sopts...)
	if err != nil {
		t.Fatal(err)
	}
	return attest.NewVerifier(reg, sv, opts...)
}

// keyVerifier verifies with pub, without a transparency log.
func keyVerifier(t testing.TB, reg signing.Reader, pub crypto.PublicKey, opts ...attest.Option) *attest.Verifier {
	t.Helper()
	return newVerifier(t, reg, nil, signing.Policy{Key: pub}, []signing.VerifyOption{signing.WithInsecureIgnoreTlog()}, opts...)
}

// tokens is a TokenSource backed by a function.
type tokens func(ctx context.Context) (string, error)

func (f tokens) Token(ctx context.Context) (string, error) { return f(ctx) }

// predicateCase is one kind of document sc attests.
type predicateCase struct {
	name       string // sc's name of the format
	cosignType string // cosign's --type, "" when it has none
	file       string // under testdata
	predicate  attest.Predicate
}

// predicates returns the five SBOM formats and SLSA provenance, read from
// testdata.
func predicates(t testing.TB) []predicateCase {
	t.Helper()
	cases := []predicateCase{
		{"cyclonedx-json", "cyclonedx", "sbom.cdx.json", attest.Predicate{Type: attest.PredicateCycloneDX}},
		{"cyclonedx-xml", "", "sbom.cdx.xml", attest.Predicate{Type: attest.PredicateCycloneDX, Text: true}},
		{"spdx-json", "spdxjson", "sbom.spdx.json", attest.Predicate{Type: attest.PredicateSPDX}},
		{"spdx-tag-value", "spdx", "sbom.spdx", attest.Predicate{Type: attest.PredicateSPDX, Text: true}},
		{"syft-json", "https://syft.dev/bom", "sbom.syft.json", attest.Predicate{Type: attest.PredicateSyft}},
		{"slsa-provenance-v1", "slsaprovenance1", "provenance.json", attest.Predicate{Type: attest.PredicateSLSAProvenanceV1}},
	}
	for i := range cases {
		cases[i].predicate.Data = readTestdata(t, cases[i].file)
	}
	return cases
}

func readTestdata(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantPredicate is what verification returns for p: a JSON object without
// insignificant whitespace at its ends, or the text exactly.
func wantPredicate(p attest.Predicate) string {
	if p.Text {
		return string(p.Data)
	}
	return strings.TrimSpace(string(p.Data))
}

// summary describes a result for failure messages, without the documents.
func summary(res *attest.Result) string {
	if res == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s types %v:", res.Image, res.PredicateTypes)
	for _, a := range res.Verified {
		fmt.Fprintf(&b, "\n  ok %s %s %s text=%v key=%s subject=%s", a.Format, a.Artifact, a.PredicateType, a.Text, a.KeyID, a.Subject)
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(&b, "\n  rejected %s %s %s: %s", r.Format, r.Artifact, r.PredicateType, r.Reason)
	}
	if len(res.Others) > 0 {
		fmt.Fprintf(&b, "\n  others %v", res.Others)
	}
	return b.String()
}
