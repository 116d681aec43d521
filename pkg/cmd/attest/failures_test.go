package attest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
)

// unreachable is an image on a registry nothing listens on: a command that
// got as far as the registry would fail operationally (exit 3).
const unreachable = "127.0.0.1:1/shop/api:1"

// TestAttestRefusesBeforeWork: what is wrong with the command line or the
// predicate is exit 2, found before any registry or signing work.
func TestAttestRefusesBeforeWork(t *testing.T) {
	priv, _, _, env := keys(t)
	badVuln := file(t, "vuln.json", []byte(`{"metadata":{"scanStartedOn":"yesterday"}}`))
	notes := file(t, "notes.txt", []byte("notes"))
	for _, c := range []struct {
		name string
		args []string
		says string
	}{
		{"no predicate", []string{"--type", "vuln"}, "--predicate FILE is required"},
		{"missing file", []string{"--predicate", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{"vuln cosign refuses", []string{"--type", "vuln", "--predicate", badVuln}, "vuln predicate"},
		{"URI type, not JSON", []string{"--type", reviewURI, "--predicate", notes}, "predicate"},
		{"unknown type", []string{"--type", "sbom", "--predicate", notes}, "--type"},
		{"storage format", []string{"--predicate", notes, "--attestation-format", "oci"}, "--attestation-format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"attest", unreachable, "--key", priv, "--tlog-upload=false"}, c.args...)
			_, _, err := run(t, env, args...)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), c.says) {
				t.Errorf("attest: exit %d, %v; want 2 saying %q", outcome.Code(err), err, c.says)
			}
		})
	}
}

// attachedVuln attaches a key-signed vuln attestation to shop/api:1 of a
// registry of storage s; it returns the registry, the image's digest, the
// public key path and the environment.
func attachedVuln(t *testing.T, s storage) (*testutil.Registry, name.Digest, string, map[string]string) {
	t.Helper()
	priv, pub, _, env := keys(t)
	reg := s.registry(t)
	d := push(t, reg, "shop/api:1")
	if _, stderr, err := run(t, env, "attest", reg.Ref("shop/api:1"), "--type", "vuln", "--predicate", file(t, "vuln.json", testdata(t, "vuln.json")),
		"--key", priv, "--tlog-upload=false", "--attestation-format", s.format); err != nil {
		t.Fatalf("attest: %v\n%s", err, stderr)
	}
	return reg, d, pub, env
}

// TestVerifyFailures: what verify-attestation says, and with which exit
// code, when it cannot vouch for an attestation of the type asked for.
func TestVerifyFailures(t *testing.T) {
	reg, _, pub, env := attachedVuln(t, storages[0])
	_, otherPub, _, _ := keys(t)
	image := reg.Ref("shop/api:1")
	trustedRoot := file(t, "trusted_root.json", sigstoretest.New(t).TrustedRootJSON())
	for _, c := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{"another type", []string{image, "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed,
			"no attestation of type https://cyclonedx.org/bom for " + reg.Host + "/shop/api@sha256:"},
		{"another type names the types found", []string{image, "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed,
			"it has attestations of type " + vulnURI},
		{"default type custom", []string{image, "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed, "no attestation of type " + customURI},
		{"vuln URI is not openvex", []string{image, "--type", "openvex", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed, "no attestation of type https://openvex.dev/ns"},
		{"wrong key", []string{image, "--type", "vuln", "--key", otherPub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed, "does not verify with the given key"},
		{"log required", []string{image, "--type", "vuln", "--key", pub, "--trusted-root", trustedRoot}, outcome.ExitCheckFailed, "no transparency log entry"},
		{"no policy", []string{image, "--type", "vuln", "--insecure-ignore-tlog"}, outcome.ExitInvalid, "--key"},
		{"unknown type", []string{image, "--type", "sbom", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitInvalid, "--type"},
		{"missing image", []string{reg.Ref("shop/none:1"), "--type", "vuln", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitInvalid, "shop/none"},
		{"output checked first", []string{unreachable, "--type", "vuln", "--key", pub, "--insecure-ignore-tlog", "--output", filepath.Join(t.TempDir(), "no", "dir", "vuln.json")},
			outcome.ExitInvalid, "--output"},
		{"unreachable registry", []string{unreachable, "--type", "vuln", "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitOperational, "127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, _, err := run(t, env, append([]string{"verify-attestation"}, c.args...)...)
			if got := outcome.Code(err); got != c.want || !strings.Contains(err.Error(), c.says) {
				t.Errorf("verify-attestation: exit %d, %v; want %d saying %q", got, err, c.want, c.says)
			}
			if stdout != "" {
				t.Errorf("a failed verification wrote %q to standard output", stdout)
			}
		})
	}
}

// TestVerifyJSONFailure: -o json prints one document also when nothing
// verifies, with the exit code of the outcome.
func TestVerifyJSONFailure(t *testing.T) {
	reg, _, pub, env := attachedVuln(t, storages[0])
	stdout, _, err := run(t, env, "verify-attestation", reg.Ref("shop/api:1"), "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog", "-o", "json")
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("exit %d, %v; want 1", outcome.Code(err), err)
	}
	var res struct {
		Verified      bool
		PredicateType string
		Error         string
		Rejected      []any
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("more than one JSON document: %s", stdout)
	}
	if res.Verified || res.PredicateType != "https://cyclonedx.org/bom" || !strings.Contains(res.Error, "no attestation of type") || res.Rejected == nil {
		t.Errorf("-o json = %s", stdout)
	}
}

// TestAnotherDigest: an attestation about one image, made to be found
// among another image's attestations, is rejected: a legacy .att tag
// copied to the other image's, and a bundle referrer re-pushed with the
// other image as its (unsigned) subject, listed by the referrers API or in
// the referrers tag.
func TestAnotherDigest(t *testing.T) {
	for _, s := range storages {
		t.Run(s.name, func(t *testing.T) {
			reg, a, pub, env := attachedVuln(t, s)
			b := push(t, reg, "shop/api:2")
			if s.format == "legacy" {
				copyTag(t, a.Context().Tag(tagOf(a)+".att"), b.Context().Tag(tagOf(b)+".att"))
			} else {
				moveReferrer(t, a, b, s.name == "bundle-tag-schema")
			}
			_, _, err := run(t, env, "verify-attestation", reg.Ref("shop/api:2"), "--type", "vuln", "--key", pub, "--insecure-ignore-tlog")
			if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "the statement is about another image") {
				t.Errorf("verify-attestation of the moved attestation: exit %d, %v; want 1, about another image", outcome.Code(err), err)
			}
		})
	}
}

// moveReferrer pushes the bundle referrer of a again with b as its
// subject, and, with tagSchema, lists it in b's referrers tag
// (sha256-<hex>) as the fallback of registries without the referrers API.
func moveReferrer(t *testing.T, a, b name.Digest, tagSchema bool) {
	t.Helper()
	idx, err := remote.Referrers(a)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("%s has %d referrers, %v", a, len(im.Manifests), err)
	}
	desc, err := remote.Get(a.Context().Digest(im.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	bd, err := remote.Head(b)
	if err != nil {
		t.Fatal(err)
	}
	m["subject"] = map[string]any{"mediaType": bd.MediaType, "digest": bd.Digest.String(), "size": bd.Size}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	moved := rawManifest{raw, desc.MediaType}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(b.Context().Digest(h.String()), moved); err != nil {
		t.Fatal(err)
	}
	if !tagSchema {
		return
	}
	listed := im.Manifests[0]
	listed.Digest, listed.Size = h, size
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{listed}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(b.Context().Tag(tagOf(b)), rawManifest{index, types.OCIImageIndex}); err != nil {
		t.Fatal(err)
	}
}

// rawManifest is a manifest to push as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// TestTamperedPredicate: a legacy attestation whose statement was changed
// after signing (a finding removed from the vuln predicate) is rejected.
func TestTamperedPredicate(t *testing.T) {
	reg, d, pub, env := attachedVuln(t, storages[2])
	att := d.Context().Tag(tagOf(d) + ".att")
	img, err := remote.Image(att)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	var env1 map[string]any
	if err := json.Unmarshal(raw, &env1); err != nil {
		t.Fatal(err)
	}
	st, err := base64.StdEncoding.DecodeString(env1["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(st), "CVE-2024-0001", "CVE-0000-0000", 1)
	if tampered == string(st) {
		t.Fatal("the finding is not in the statement")
	}
	env1["payload"] = base64.StdEncoding.EncodeToString([]byte(tampered))
	raw, err = json.Marshal(env1)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(raw, m.Layers[0].MediaType),
		Annotations: m.Layers[0].Annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(att, mutate.MediaType(forged, types.OCIManifestSchema1)); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, env, "verify-attestation", reg.Ref("shop/api:1"), "--type", "vuln", "--key", pub, "--insecure-ignore-tlog")
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "tampered content") {
		t.Errorf("verify-attestation of the tampered attestation: exit %d, %v; want 1", outcome.Code(err), err)
	}
}

// tagOf is the tag cosign derives from a digest: sha256-<hex>.
func tagOf(d name.Digest) string {
	return strings.Replace(d.DigestStr(), ":", "-", 1)
}

// copyTag copies the manifest (or index) at from to the tag to, as `crane
// copy` would: anyone who can push can do it.
func copyTag(t *testing.T, from, to name.Tag) {
	t.Helper()
	desc, err := remote.Get(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(to, desc); err != nil {
		t.Fatal(err)
	}
}
