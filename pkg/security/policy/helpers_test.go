package policy_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
)

const (
	goodBuilder = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	goodSource  = "https://github.com/acme/shop"
)

// scanned is when the test's vuln attestations say the scan finished.
var scanned = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	host   *testutil.Registry
	faults *testutil.Faults
	client *registry.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	faults := testutil.NewFaults()
	host := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
	return &env{host: host, faults: faults, client: registry.New(registry.WithRetry(1, 0), registry.WithKeychain(anonymous{}))}
}

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// push writes a random image to repo:tag and returns its digest.
func (e *env) push(t *testing.T, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(e.host.Ref(repoTag), name.Insecure)
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
	return ref.Context().Digest(h.String())
}

// key is a signing key without a transparency log, and its public key as
// PEM.
type key struct {
	signer *signing.KeySigner
	pem    string
}

func newKey(t *testing.T) key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.NewKeySigner(sv, signing.Services{})
	if err != nil {
		t.Fatal(err)
	}
	pemText, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return key{signer: s, pem: string(pemText)}
}

func (e *env) sign(t *testing.T, d name.Digest, k key) {
	t.Helper()
	if _, err := signing.SignImage(context.Background(), e.client, d.String(), k.signer, signing.SignOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) attest(t *testing.T, d name.Digest, k key, typ string, data []byte) {
	t.Helper()
	uri, err := attest.PredicateType(typ)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.Attach(context.Background(), e.client, k.signer, d, attest.Predicate{Type: uri, Data: data}, attest.AttachOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readTestdata(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// provenancePredicate is sc's SLSA v1 predicate with the builder id
// replaced.
func provenancePredicate(t *testing.T, builder string) []byte {
	t.Helper()
	return []byte(strings.ReplaceAll(string(readTestdata(t, "provenance.json")), goodBuilder, builder))
}

// vulnPredicate is cosign's vuln predicate as sc writes it: the scan
// result, finished at finished, with the given findings.
func vulnPredicate(t *testing.T, finished time.Time, matches ...scan.Match) []byte {
	t.Helper()
	res := scan.Result{SchemaVersion: scan.SchemaVersion, Image: "x", Digest: "sha256:x", ScannedAt: finished,
		Scanners: []scan.ScannerInfo{{Name: "grype", Version: "v0.121.0"}}, Matches: matches, Ignored: []scan.IgnoredMatch{}}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(attestation.CosignVulnPredicate{
		Scanner:  attestation.Scanner{URI: "pkg:golang/github.com/sc-project/sc@test", Version: "test", Result: generic},
		Metadata: attestation.Metadata{ScanStartedOn: finished.Add(-time.Minute), ScanFinishedOn: finished},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func finding(id string, sev scan.Severity) scan.Match {
	return scan.Match{ID: id, Severity: sev, Package: scan.Package{Name: "libexample", Version: "1.0"}, FoundBy: []string{"grype"}}
}

// release signs d with k and attaches the SBOM, provenance and vuln
// attestations sc attaches.
func (e *env) release(t *testing.T, d name.Digest, k key, matches ...scan.Match) {
	t.Helper()
	e.sign(t, d, k)
	e.attest(t, d, k, "cyclonedx", readTestdata(t, "sbom.cdx.json"))
	e.attest(t, d, k, "slsaprovenance1", provenancePredicate(t, goodBuilder))
	e.attest(t, d, k, "vuln", vulnPredicate(t, scanned, matches...))
}

// shopPolicy requires what release attaches, signed by k.
func shopPolicy(k key) *api.ImagePolicy {
	return &api.ImagePolicy{
		APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: "shop",
		Signers: []api.PolicySigner{{Key: k.pem}},
		Attestations: []api.PolicyAttestation{
			{Type: "cyclonedx"},
			{Type: "slsaprovenance1", Provenance: &api.ProvenanceRequirement{
				BuilderID:        &api.Match{Exact: goodBuilder},
				SourceRepository: &api.Match{Prefix: "https://github.com/acme/"},
			}},
			{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: api.Duration(7 * 24 * time.Hour), MaxSeverity: api.SeverityMedium}},
		},
	}
}
