package attest_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	attestcmd "github.com/sc-project/sc/pkg/cmd/attest"
	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

const (
	customURI = "https://cosign.sigstore.dev/attestation/v1"
	vulnURI   = "https://cosign.sigstore.dev/attestation/vuln/v1"
	reviewURI = "https://example.com/review/v1"
)

// run executes sc, with only the attestation commands, with env as its
// whole environment.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &options.Root{
		Version: "test",
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string {
			var l []string
			for k, v := range env {
				l = append(l, k+"="+v)
			}
			return l
		},
	}
	c := rootcmd.New(root, attestcmd.NewAttest(root), attestcmd.NewVerify(root))
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetIn(strings.NewReader(""))
	err = rootcmd.Execute(context.Background(), c, args)
	return out.String(), errb.String(), err
}

// keys writes a cosign key pair into a temporary directory: the private
// and public key paths, the public key, and the environment with the
// password.
func keys(t *testing.T) (priv, pub string, key crypto.PublicKey, env map[string]string) {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	key, err = cryptoutils.UnmarshalPEMToPublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub, key, map[string]string{"SC_KEY_PASSWORD": "s3cret"}
}

// pubFile writes a public key as PEM and returns its path.
func pubFile(t *testing.T, key crypto.PublicKey) string {
	t.Helper()
	pem, err := cryptoutils.MarshalPublicKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// push pushes a small random image to repo:tag and returns its digest.
func push(t *testing.T, reg *testutil.Registry, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(reg.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(h.String())
}

// file writes content into a temporary file and returns its path.
func file(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// storage is one way of storing attestations, with a registry for it.
type storage struct {
	name, format string
	registry     func(t *testing.T) *testutil.Registry
}

var storages = []storage{
	{"bundle-referrers", "bundle", func(t *testing.T) *testutil.Registry { return testutil.NewRegistry(t, testutil.WithReferrers()) }},
	{"bundle-tag-schema", "bundle", func(t *testing.T) *testutil.Registry { return testutil.NewRegistry(t) }},
	{"legacy", "legacy", func(t *testing.T) *testutil.Registry { return testutil.NewRegistry(t) }},
}

// predicateCase is a --type and a document for it, with what verification
// must write back.
type predicateCase struct {
	typ, uri string
	doc      []byte
	// check compares the predicate sc verify-attestation wrote with doc.
	check func(t *testing.T, got []byte)
}

func cases(t *testing.T) []predicateCase {
	vuln := testdata(t, "vuln.json")
	review := []byte(`{"reviewer": "alice@example.com", "approved": true, "notes": ["looks good"]}`)
	notes := []byte("Release notes for 1.4.0\n<b>not HTML</b> & more\n")
	sameJSON := func(doc []byte) func(t *testing.T, got []byte) {
		return func(t *testing.T, got []byte) {
			if diff := cmp.Diff(jsonValue(t, doc), jsonValue(t, got)); diff != "" {
				t.Errorf("verified predicate differs (-attested +verified):\n%s", diff)
			}
		}
	}
	return []predicateCase{
		{"custom", customURI, notes, func(t *testing.T, got []byte) {
			var p struct{ Data, Timestamp string }
			if err := json.Unmarshal(got, &p); err != nil || p.Data != string(notes) || p.Timestamp == "" {
				t.Errorf("custom predicate %s (%v): want the file as Data and a Timestamp", got, err)
			}
		}},
		{"vuln", vulnURI, vuln, sameJSON(vuln)},
		{reviewURI, reviewURI, review, sameJSON(review)},
	}
}

// TestAttestVerify: sc attest, then sc verify-attestation --type writes the
// predicate back, and cosign's verification (`cosign verify-attestation
// --key --type`) accepts the attestation, for custom, vuln and a URI type,
// in every storage.
func TestAttestVerify(t *testing.T) {
	ctx := context.Background()
	priv, pub, key, env := keys(t)
	for _, s := range storages {
		t.Run(s.name, func(t *testing.T) {
			reg := s.registry(t)
			for _, c := range cases(t) {
				repo := "shop/" + strings.NewReplacer(":", "-", "/", "-", ".", "-").Replace(c.typ)
				d := push(t, reg, repo+":1")
				image := reg.Ref(repo + ":1")
				stdout, stderr, err := run(t, env, "attest", image, "--type", c.typ, "--predicate", file(t, "predicate", c.doc),
					"--key", priv, "--tlog-upload=false", "--attestation-format", s.format)
				if err != nil {
					t.Fatalf("attest --type %s: %v\n%s", c.typ, err, stderr)
				}
				if want := "Attached " + c.uri + " attestation to " + d.String() + " (" + s.format + ", key "; !strings.HasPrefix(stdout, want) {
					t.Errorf("attest printed %q, want %q…", stdout, want)
				}

				out := filepath.Join(t.TempDir(), "verified.json")
				_, stderr, err = run(t, env, "verify-attestation", image, "--type", c.typ, "--key", pub, "--insecure-ignore-tlog", "--output", out)
				if err != nil {
					t.Fatalf("verify-attestation --type %s: %v\n%s", c.typ, err, stderr)
				}
				if !strings.Contains(stderr, d.String()+": verified "+c.uri+" attestation ("+s.format+" attestation sha256:") {
					t.Errorf("verify-attestation summary: %s", stderr)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, got)

				// The same on standard output.
				stdout, _, err = run(t, env, "verify-attestation", image, "--type", c.uri, "--key", pub, "--insecure-ignore-tlog")
				if err != nil || stdout != string(got) {
					t.Errorf("verify-attestation to standard output: %v, %q, want %q", err, stdout, got)
				}

				n, err := cosigntest.VerifyAttestation(ctx, d.String(), key, s.format == "bundle", c.uri)
				if err != nil || n != 1 {
					t.Errorf("cosign verify-attestation --type %s: %d verified, %v", c.typ, n, err)
				}
			}
		})
	}
}

// TestKeyless attests keylessly against the private Sigstore (Fulcio,
// Rekor) and verifies by certificate identity, with sc and with cosign.
func TestKeyless(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	trustedRoot := file(t, "trusted_root.json", ss.TrustedRootJSON())
	const identity = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	env := map[string]string{"SIGSTORE_ID_TOKEN": ss.Token(identity)}
	vuln := file(t, "vuln.json", testdata(t, "vuln.json"))
	for _, s := range storages {
		t.Run(s.name, func(t *testing.T) {
			reg := s.registry(t)
			d := push(t, reg, "shop/api:1")
			image := reg.Ref("shop/api:1")
			stdout, stderr, err := run(t, env, "attest", image, "--type", "vuln", "--predicate", vuln,
				"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--attestation-format", s.format)
			if err != nil {
				t.Fatalf("attest: %v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, identity) || !strings.Contains(stdout, "tlog index") {
				t.Errorf("attest printed %q", stdout)
			}
			verify := []string{"verify-attestation", image, "--type", "vuln", "--trusted-root", trustedRoot, "--certificate-oidc-issuer", ss.OIDCIssuerURL}
			stdout, stderr, err = run(t, env, append(verify, "--certificate-identity", identity)...)
			if err != nil {
				t.Fatalf("verify-attestation: %v\n%s", err, stderr)
			}
			if diff := cmp.Diff(jsonValue(t, testdata(t, "vuln.json")), jsonValue(t, []byte(stdout))); diff != "" {
				t.Errorf("verified predicate differs:\n%s", diff)
			}
			if !strings.Contains(stderr, "signed by "+identity+" (issuer "+ss.OIDCIssuerURL+"), tlog index") {
				t.Errorf("verify-attestation summary: %s", stderr)
			}
			_, _, err = run(t, env, append(verify, "--certificate-identity-regexp", `^https://github\.com/evil/`)...)
			if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "certificate identity does not match") {
				t.Errorf("verify-attestation with another identity: %v", err)
			}

			n, err := cosigntest.VerifyAttestationKeyless(ctx, d.String(), ss.TrustedRoot(), identity, ss.OIDCIssuerURL, s.format == "bundle", vulnURI)
			if err != nil || n != 1 {
				t.Errorf("cosign verify-attestation --certificate-identity … --type vuln: %d verified, %v", n, err)
			}
		})
	}
}

// TestCosignToSC: sc verify-attestation verifies what `cosign attest`
// wrote (cosign's statement generator, signer and writers), key-based and
// keyless, in every storage.
func TestCosignToSC(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	trustedRoot := file(t, "trusted_root.json", ss.TrustedRootJSON())
	const identity = "release@example.com"
	for _, s := range storages {
		t.Run(s.name, func(t *testing.T) {
			reg := s.registry(t)
			cs, key, err := cosigntest.NewKeySigner()
			if err != nil {
				t.Fatal(err)
			}
			pub := pubFile(t, key)
			for _, c := range cases(t) {
				repo := "cosign/" + strings.NewReplacer(":", "-", "/", "-", ".", "-").Replace(c.typ)
				d := push(t, reg, repo+":1")
				if err := cs.Attest(ctx, d, c.typ, c.uri, c.doc, s.format == "bundle"); err != nil {
					t.Fatal(err)
				}
				stdout, stderr, err := run(t, nil, "verify-attestation", reg.Ref(repo+":1"), "--type", c.typ, "--key", pub, "--insecure-ignore-tlog")
				if err != nil {
					t.Fatalf("verify-attestation of cosign's %s attestation: %v\n%s", c.typ, err, stderr)
				}
				c.check(t, []byte(stdout))
			}

			keyless, err := cosigntest.NewKeylessSigner(ss.SigningConfigJSON(), ss.Token(identity), ss.TrustedRoot())
			if err != nil {
				t.Fatal(err)
			}
			d := push(t, reg, "cosign/keyless:1")
			if err := keyless.Attest(ctx, d, "openvex", "https://openvex.dev/ns", testdata(t, "openvex.json"), s.format == "bundle"); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := run(t, nil, "verify-attestation", reg.Ref("cosign/keyless:1"), "--type", "openvex", "--trusted-root", trustedRoot,
				"--certificate-identity", identity, "--certificate-oidc-issuer", ss.OIDCIssuerURL, "--output", "json")
			if err != nil {
				t.Fatalf("verify-attestation of cosign's keyless openvex attestation: %v\n%s", err, stderr)
			}
			var res struct {
				Verified    bool
				Image       string
				Attestation struct {
					PredicateType string
					Subject       string
					TlogIndex     *int64
				}
				Predicate json.RawMessage
			}
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("-o json: %v\n%s", err, stdout)
			}
			if !res.Verified || res.Image != d.String() || res.Attestation.PredicateType != "https://openvex.dev/ns" ||
				res.Attestation.Subject != identity || res.Attestation.TlogIndex == nil {
				t.Errorf("-o json = %s", stdout)
			}
			if diff := cmp.Diff(jsonValue(t, testdata(t, "openvex.json")), jsonValue(t, res.Predicate)); diff != "" {
				t.Errorf("openvex predicate differs:\n%s", diff)
			}
		})
	}
}
