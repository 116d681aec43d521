package signing_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// cosignSignatureAnnotation is the layer annotation cosign keeps a legacy
// signature in.
const cosignSignatureAnnotation = "dev.cosignproject.cosign/signature"

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// fetchSigned returns the one signature artifact sc stored for d.
func fetchSigned(t *testing.T, r *testRegistry, d name.Digest, format signing.Format) registry.Artifact {
	t.Helper()
	ctx := context.Background()
	switch format {
	case signing.FormatBundle:
		descs, err := r.client.Referrers(ctx, d, signing.BundleMediaType)
		if err != nil || len(descs) != 1 {
			t.Fatalf("Referrers(%s) = %v, %v; want one", d, descs, err)
		}
		a, err := r.client.FetchReferrer(ctx, d, descs[0])
		if err != nil {
			t.Fatal(err)
		}
		return a
	default:
		arts, err := r.client.FetchLegacy(ctx, d, "sig")
		if err != nil || len(arts) != 1 {
			t.Fatalf("FetchLegacy(%s) = %v, %v; want one", d, arts, err)
		}
		return arts[0]
	}
}

// store attaches a as a signature of d in format, as an attacker with write
// access to the registry could.
func store(t *testing.T, r *testRegistry, d name.Digest, format signing.Format, a registry.Artifact) {
	t.Helper()
	ctx := context.Background()
	var err error
	if format == signing.FormatBundle {
		ann := a.ManifestAnnotations
		if ann == nil {
			ann = map[string]string{signing.AnnotationBundlePredicateType: signing.SignPredicateType}
		}
		_, err = r.client.AttachReferrer(ctx, d, signing.BundleMediaType, registry.Artifact{MediaType: a.MediaType, Data: a.Data, Annotations: a.Annotations}, ann)
	} else {
		_, err = r.client.AttachLegacy(ctx, d, "sig", registry.Artifact{MediaType: a.MediaType, Data: a.Data, Annotations: a.Annotations})
	}
	if err != nil {
		t.Fatalf("storing artifact: %v", err)
	}
}

// pushTo writes img to repo:tag and returns its digest there.
func pushTo(t *testing.T, r *testRegistry, img v1.Image, repoTag string) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(r.host.Ref(repoTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return ref.Context().Digest(h.String())
}

// bundleJSON edits the JSON of a bundle.
func editBundle(t *testing.T, data []byte, edit func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func flipBase64(t *testing.T, s string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(raw)
}

// TestVerifyRejects covers the adversarial cases for key-based signatures:
// each must fail the check (exit 1) with a reason a user can act on.
func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	type tc struct {
		name   string
		format signing.Format
		// forge builds the artifact attached to the victim from the one
		// sc wrote for the same image in another repository.
		forge      func(t *testing.T, a registry.Artifact) registry.Artifact
		wrongKey   bool
		copyOther  bool
		wantReason []string
	}
	var tests []tc
	for _, f := range formats {
		tests = append(tests,
			tc{name: "wrong key", format: f, wrongKey: true, wantReason: []string{"does not verify with the given key"}},
			tc{name: "copied from another image", format: f, copyOther: true, wantReason: []string{"another image"}},
			tc{name: "garbage", format: f, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
				a.Data = []byte("\x00garbage{")
				return a
			}, wantReason: []string{"not a valid Sigstore bundle", "not a simple-signing payload", "invalid"}},
			tc{name: "truncated", format: f, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
				a.Data = a.Data[:len(a.Data)/2]
				return a
			}, wantReason: []string{"not a valid Sigstore bundle", "not a simple-signing payload", "unexpected end"}},
		)
	}
	tests = append(tests,
		tc{name: "tampered payload", format: signing.FormatBundle, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Data = editBundle(t, a.Data, func(b map[string]any) {
				env := b["dsseEnvelope"].(map[string]any)
				payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
				payload = bytes.Replace(payload, []byte(`"prod"`), []byte(`"evil"`), 1)
				env["payload"] = base64.StdEncoding.EncodeToString(payload)
			})
			return a
		}, wantReason: []string{"does not verify with the given key"}},
		tc{name: "tampered signature", format: signing.FormatBundle, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Data = editBundle(t, a.Data, func(b map[string]any) {
				sig := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
				sig["sig"] = flipBase64(t, sig["sig"].(string))
			})
			return a
		}, wantReason: []string{"does not verify with the given key"}},
		tc{name: "tampered payload", format: signing.FormatLegacy, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Data = bytes.Replace(a.Data, []byte(`"prod"`), []byte(`"evil"`), 1)
			return a
		}, wantReason: []string{"does not verify with the given key"}},
		tc{name: "tampered signature", format: signing.FormatLegacy, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Annotations[cosignSignatureAnnotation] = flipBase64(t, a.Annotations[cosignSignatureAnnotation])
			return a
		}, wantReason: []string{"does not verify with the given key"}},
		tc{name: "signature not base64", format: signing.FormatLegacy, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Annotations[cosignSignatureAnnotation] = "%%%"
			return a
		}, wantReason: []string{"not base64"}},
		tc{name: "no signature annotation", format: signing.FormatLegacy, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			delete(a.Annotations, cosignSignatureAnnotation)
			return a
		}, wantReason: []string{"no signature annotation"}},
		tc{name: "not a DSSE bundle", format: signing.FormatBundle, forge: func(t *testing.T, a registry.Artifact) registry.Artifact {
			a.Data = editBundle(t, a.Data, func(b map[string]any) {
				delete(b, "dsseEnvelope")
				b["messageSignature"] = map[string]any{"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": "AAAA"}, "signature": "AAAA"}
			})
			return a
		}, wantReason: []string{"no DSSE envelope"}},
	)

	for _, tt := range tests {
		t.Run(string(tt.format)+"/"+tt.name, func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			src, img := r.push(t, "src:v1")
			victim := pushTo(t, r, img, "victim:v1")
			s, pub := newKey(t, signing.Services{})
			opts := signing.SignOptions{Format: tt.format, Annotations: map[string]string{"env": "prod"}}
			if _, err := signing.SignImage(ctx, r.client, src.String(), s, opts); err != nil {
				t.Fatal(err)
			}
			verifyPub := pub
			switch {
			case tt.wrongKey:
				if _, err := signing.SignImage(ctx, r.client, victim.String(), s, opts); err != nil {
					t.Fatal(err)
				}
				_, verifyPub = newKey(t, signing.Services{})
			case tt.copyOther:
				other, _ := r.push(t, "other:v1")
				store(t, r, other, tt.format, fetchSigned(t, r, src, tt.format))
				victim = other
			default:
				a := fetchSigned(t, r, src, tt.format)
				store(t, r, victim, tt.format, tt.forge(t, a))
			}

			vr, err := keyVerifier(t, r.client, verifyPub).Verify(ctx, victim.String())
			if !errors.Is(err, signing.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("Verify = %+v, %v; want ErrVerificationFailed (exit 1)", vr, err)
			}
			if len(vr.Verified) != 0 || len(vr.Rejected) != 1 {
				t.Fatalf("result = %+v, want exactly one rejection", vr)
			}
			t.Logf("reason: %s", vr.Rejected[0].Reason)
			if reason := vr.Rejected[0].Reason; !containsAny(reason, tt.wantReason...) {
				t.Errorf("reason %q, want one of %q", reason, tt.wantReason)
			}
			if !strings.Contains(err.Error(), vr.Rejected[0].Reason) {
				t.Errorf("error %q does not carry the reason %q", err, vr.Rejected[0].Reason)
			}
		})
	}
}

// TestVerifyUnsigned: an image without any signature is ErrNotSigned.
func TestVerifyUnsigned(t *testing.T) {
	for _, kind := range allRegistries {
		t.Run(string(kind), func(t *testing.T) {
			r := newTestRegistry(t, kind)
			r.push(t, "app:v1")
			_, pub := newKey(t, signing.Services{})
			vr, err := keyVerifier(t, r.client, pub).Verify(context.Background(), r.host.Ref("app:v1"))
			if !errors.Is(err, signing.ErrNotSigned) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("Verify = %v, want ErrNotSigned (exit 1)", err)
			}
			if vr == nil || len(vr.Verified)+len(vr.Rejected) != 0 {
				t.Errorf("result = %+v, want empty", vr)
			}
		})
	}
}

// TestVerifyIgnoresAttestations: a bundle with another predicate type (an
// SBOM attestation) is not a signature: not verified, not rejected.
func TestVerifyIgnoresAttestations(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t, inProcess)
	d, _ := r.push(t, "app:v1")
	s, pub := newKey(t, signing.Services{})
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"` + alg + `":"` + hex + `"}}],` +
		`"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`
	sig, err := s.Sign(ctx, &sign.DSSEData{Data: []byte(stmt), PayloadType: signing.InTotoPayloadType})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		if _, err := signing.AttachEnvelope(ctx, r.client, d, sig, "https://spdx.dev/Document", f); err != nil {
			t.Fatalf("AttachEnvelope %s: %v", f, err)
		}
	}
	_, err = keyVerifier(t, r.client, pub).Verify(ctx, d.String())
	if !errors.Is(err, signing.ErrNotSigned) {
		t.Errorf("Verify = %v, want ErrNotSigned: attestations are not signatures", err)
	}
	// Only a DSSE envelope is stored as an attestation.
	plain, err := s.Sign(ctx, &sign.PlainData{Data: []byte(stmt)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.AttachEnvelope(ctx, r.client, d, plain, "https://spdx.dev/Document", signing.FormatBundle); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("AttachEnvelope of a message signature = %v, want invalid", err)
	}
}

// TestVerifyKeylessRejects covers identity, issuer and kind mismatches.
func TestVerifyKeylessRejects(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	r := newTestRegistry(t, inProcess)
	r.push(t, "keyless:v1")
	r.push(t, "keyed:v1")
	for _, f := range formats {
		if _, err := signing.SignImage(ctx, r.client, r.host.Ref("keyless:v1"), keylessSigner(t, ss, identity, false),
			signing.SignOptions{Format: f, Trusted: ss.TrustedRoot()}); err != nil {
			t.Fatal(err)
		}
	}
	ks, pub := newKey(t, signing.Services{RekorURL: ss.RekorURL})
	for _, f := range formats {
		if _, err := signing.SignImage(ctx, r.client, r.host.Ref("keyed:v1"), ks, signing.SignOptions{Format: f, Trusted: ss.TrustedRoot()}); err != nil {
			t.Fatal(err)
		}
	}
	other := sigstoretest.New(t)
	tests := []struct {
		name   string
		image  string
		policy signing.Policy
		trust  *sigstoretest.Sigstore
		want   []string
	}{
		{"wrong identity", "keyless:v1", signing.Policy{Identity: &signing.IdentityPolicy{Subject: "mallory@example.com", Issuer: ss.OIDCIssuerURL}}, ss,
			[]string{"certificate identity does not match"}},
		{"wrong issuer", "keyless:v1", signing.Policy{Identity: &signing.IdentityPolicy{Subject: identity, Issuer: "https://token.actions.githubusercontent.com"}}, ss,
			[]string{"certificate identity does not match"}},
		{"identity regexp that does not match", "keyless:v1", signing.Policy{Identity: &signing.IdentityPolicy{SubjectRegexp: `^.*@corp\.example$`, Issuer: ss.OIDCIssuerURL}}, ss,
			[]string{"certificate identity does not match"}},
		{"untrusted Sigstore", "keyless:v1", signing.Policy{Identity: &signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL}}, other,
			[]string{"log entry does not verify against the trusted root"}},
		{"key policy on a keyless signature", "keyless:v1", signing.Policy{Key: pub}, ss,
			[]string{"signed keylessly"}},
		{"identity policy on a key signature", "keyed:v1", signing.Policy{Identity: &signing.IdentityPolicy{Subject: identity, Issuer: ss.OIDCIssuerURL}}, ss,
			[]string{"signed with a key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := signing.NewVerifier(r.client, tt.trust.TrustedRoot(), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			vr, err := v.Verify(ctx, r.host.Ref(tt.image))
			if !errors.Is(err, signing.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Fatalf("Verify = %+v, %v; want ErrVerificationFailed", vr, err)
			}
			if len(vr.Rejected) != 2 {
				t.Fatalf("rejected %+v, want one per format", vr.Rejected)
			}
			for _, rj := range vr.Rejected {
				t.Logf("reason: %s", rj.Reason)
				if !containsAny(rj.Reason, tt.want...) {
					t.Errorf("%s reason %q, want one of %q", rj.Format, rj.Reason, tt.want)
				}
			}
		})
	}
}

// TestVerifyTlogRequired: a key signature made without a log is rejected
// unless the log is explicitly ignored.
func TestVerifyTlogRequired(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	r := newTestRegistry(t, inProcess)
	r.push(t, "app:v1")
	ref := r.host.Ref("app:v1")
	s, pub := newKey(t, signing.Services{})
	for _, f := range formats {
		if _, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: f}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := signing.NewVerifier(r.client, ss.TrustedRoot(), signing.Policy{Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	vr, err := v.Verify(ctx, ref)
	if !errors.Is(err, signing.ErrVerificationFailed) || len(vr.Rejected) != 2 {
		t.Fatalf("Verify = %+v, %v; want both rejected", vr, err)
	}
	for _, rj := range vr.Rejected {
		if !strings.Contains(rj.Reason, "--insecure-ignore-tlog") {
			t.Errorf("reason %q does not point to --insecure-ignore-tlog", rj.Reason)
		}
	}
	v, err = signing.NewVerifier(r.client, ss.TrustedRoot(), signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	if vr, err := v.Verify(ctx, ref); err != nil || len(vr.Verified) != 2 {
		t.Errorf("Verify ignoring the log = %+v, %v; want both", vr, err)
	}
}

// TestSignFailingRegistry: a registry that fails in the middle of storing a
// signature leaves nothing that verifies, and the error is operational.
func TestSignFailingRegistry(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []registryKind{inProcess, inProcessNoReferrers} {
		for _, format := range formats {
			for _, step := range []struct {
				name  string
				match testutil.Match
			}{
				{"blob upload", testutil.On(http.MethodPut, testutil.ClassUpload)},
				{"manifest push", testutil.On(http.MethodPut, testutil.ClassManifest)},
				// The last manifest written: the fallback index tag, or
				// the .sig image manifest.
				{"tag update", testutil.On(http.MethodPut, testutil.ClassManifest).PathContains("sha256-")},
			} {
				if step.name == "tag update" && kind == inProcess && format == signing.FormatBundle {
					continue // the referrers API needs no tag
				}
				t.Run(string(kind)+"/"+string(format)+"/"+step.name, func(t *testing.T) {
					r := newTestRegistry(t, kind)
					r.push(t, "app:v1")
					ref := r.host.Ref("app:v1")
					s, pub := newKey(t, signing.Services{})
					r.faults.Fail(step.match, testutil.Always, http.StatusInternalServerError)
					_, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format})
					if outcome.Code(err) != outcome.ExitOperational {
						t.Fatalf("SignImage = %v, want an operational error", err)
					}
					r.faults.Clear()
					_, err = keyVerifier(t, r.client, pub).Verify(ctx, ref)
					if !errors.Is(err, signing.ErrNotSigned) {
						t.Errorf("Verify after the failed upload = %v, want ErrNotSigned", err)
					}
					// And signing again now works.
					if _, err := signing.SignImage(ctx, r.client, ref, s, signing.SignOptions{Format: format, VerifyAfterSign: true}); err != nil {
						t.Errorf("SignImage after the registry recovered: %v", err)
					}
				})
			}
		}
	}
}

// TestVerifyRegistryDown: verification that cannot read the registry is
// operational (exit 3), not a failed check.
func TestVerifyRegistryDown(t *testing.T) {
	r := newTestRegistry(t, inProcess)
	d, _ := r.push(t, "app:v1")
	_, pub := newKey(t, signing.Services{})
	r.faults.Fail(testutil.On("", ""), testutil.Always, http.StatusServiceUnavailable)
	_, err := keyVerifier(t, r.client, pub).VerifyDigest(context.Background(), d)
	if outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("VerifyDigest = %v, want an operational error", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	_, pub := newKey(t, signing.Services{})
	tests := []struct {
		name   string
		policy signing.Policy
		ok     bool
	}{
		{"key", signing.Policy{Key: pub}, true},
		{"identity", signing.Policy{Identity: &signing.IdentityPolicy{Subject: "a@b", Issuer: "https://i"}}, true},
		{"regexps", signing.Policy{Identity: &signing.IdentityPolicy{SubjectRegexp: "^a", IssuerRegexp: "^https://"}}, true},
		{"nothing", signing.Policy{}, false},
		{"both", signing.Policy{Key: pub, Identity: &signing.IdentityPolicy{Subject: "a@b", Issuer: "https://i"}}, false},
		{"identity without issuer", signing.Policy{Identity: &signing.IdentityPolicy{Subject: "a@b"}}, false},
		{"issuer without identity", signing.Policy{Identity: &signing.IdentityPolicy{Issuer: "https://i"}}, false},
		{"subject and regexp", signing.Policy{Identity: &signing.IdentityPolicy{Subject: "a@b", SubjectRegexp: ".*", Issuer: "https://i"}}, false},
		{"bad regexp", signing.Policy{Identity: &signing.IdentityPolicy{SubjectRegexp: "(", Issuer: "https://i"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if (err == nil) != tt.ok || (err != nil && outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("Validate() = %v, want ok=%v (invalid otherwise)", err, tt.ok)
			}
		})
	}
}

func TestNewVerifierNeedsTrust(t *testing.T) {
	r := newTestRegistry(t, inProcess)
	_, pub := newKey(t, signing.Services{})
	for _, p := range []signing.Policy{
		{Key: pub},
		{Identity: &signing.IdentityPolicy{Subject: "a@b", Issuer: "https://i"}},
	} {
		if _, err := signing.NewVerifier(r.client, nil, p); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("NewVerifier(nil trust, %+v) = %v, want invalid", p, err)
		}
	}
}
