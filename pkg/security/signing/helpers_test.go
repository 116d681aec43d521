package signing_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// registryKind names the registries tests run against.
type registryKind string

const (
	// inProcess is go-containerregistry's registry with the referrers API.
	inProcess registryKind = "in-process"
	// inProcessNoReferrers is the same without the API (tag-schema fallback).
	inProcessNoReferrers registryKind = "in-process-no-referrers"
	// docker is Debian's docker-registry (distribution 2.8, no referrers API).
	docker registryKind = "docker-registry"
)

var allRegistries = []registryKind{inProcess, inProcessNoReferrers, docker}

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
	case inProcessNoReferrers:
		host = testutil.NewRegistry(t, opts...)
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
	img, err := random.Image(512, 2)
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

// newKey returns a key-based signer (no transparency log) and its public
// key. It makes the key directly: keys_test.go covers cosign's encrypted
// format, whose scrypt would slow every test.
func newKey(t testing.TB, services signing.Services) (*signing.KeySigner, crypto.PublicKey) {
	t.Helper()
	return signing.NewKeyForTest(t, services)
}

// keyVerifier verifies with pub, without a transparency log.
func keyVerifier(t testing.TB, reg signing.Reader, pub crypto.PublicKey, opts ...signing.VerifyOption) *signing.Verifier {
	t.Helper()
	v, err := signing.NewVerifier(reg, nil, signing.Policy{Key: pub}, append([]signing.VerifyOption{signing.WithInsecureIgnoreTlog()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tokens is a TokenSource backed by a function.
type tokens func(ctx context.Context) (string, error)

func (f tokens) Token(ctx context.Context) (string, error) { return f(ctx) }

func staticToken(tok string) tokens {
	return func(context.Context) (string, error) { return tok, nil }
}
