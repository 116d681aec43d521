package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	testvulndb "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// vexSecurity is a security block signing with k in format f, without
// provenance (attached anew on every run), whose scan soft-fails and
// applies the VEX document at vexPath.
func vexSecurity(k testKey, f signing.Format, vexPath string) string {
	return strings.Join([]string{
		"signing:",
		"  privateKey: " + k.PrivatePath,
		"  password: ${env:TEST_KEY_PASSWORD}",
		"  tlogUpload: false",
		"  format: " + string(f),
		"provenance: {enabled: false}",
		"scan: {softFail: true, vex: ['" + vexPath + "']}",
	}, "\n")
}

// storedVEX returns the OpenVEX attestations stored next to d in format
// f, as they are stored.
func storedVEX(ctx context.Context, t *testing.T, d name.Digest, f signing.Format) []registry.Artifact {
	t.Helper()
	c := registry.New()
	var out []registry.Artifact
	if f == signing.FormatBundle {
		descs, err := c.Referrers(ctx, d, signing.BundleMediaType)
		if err != nil {
			t.Fatal(err)
		}
		for _, desc := range descs {
			if desc.Annotations[signing.AnnotationBundlePredicateType] != pipeline.VEXPredicateType {
				continue
			}
			a, err := c.FetchReferrer(ctx, d, desc)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	arts, err := c.FetchLegacy(ctx, d, signing.AttestationSuffix)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if a.Annotations[signing.AnnotationPredicateType] == pipeline.VEXPredicateType {
			out = append(out, a)
		}
	}
	return out
}

// storeAttestation writes a, an attestation as storedVEX returns it,
// next to d in format f, as sc lays it out.
func storeAttestation(ctx context.Context, t *testing.T, d name.Digest, f signing.Format, a registry.Artifact) {
	t.Helper()
	c := registry.New()
	var err error
	if f == signing.FormatBundle {
		_, err = c.AttachReferrer(ctx, d, signing.BundleMediaType, registry.Artifact{MediaType: a.MediaType, Data: a.Data, Annotations: a.Annotations}, a.ManifestAnnotations)
	} else {
		_, err = c.AttachLegacy(ctx, d, signing.AttestationSuffix, registry.Artifact{MediaType: a.MediaType, Data: a.Data, Annotations: a.Annotations})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// tamperPayload rewrites the signed statement of a stored attestation (a
// bundle, or a DSSE envelope in the legacy format) with edit, leaving the
// signature as it was.
func tamperPayload(t *testing.T, data []byte, f signing.Format, edit func([]byte) []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	env := doc
	if f == signing.FormatBundle {
		env = doc["dsseEnvelope"].(map[string]any)
	}
	var payload []byte
	if err := json.Unmarshal([]byte(`"`+env["payload"].(string)+`"`), &payload); err != nil {
		t.Fatal(err)
	}
	edited := edit(payload)
	if bytes.Equal(edited, payload) {
		t.Fatal("tamperPayload: the edit changed nothing")
	}
	env["payload"] = edited
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cosignPayload returns the statement of the DSSE envelope `cosign
// verify-attestation` prints last.
func cosignPayload(t *testing.T, out string) []byte {
	t.Helper()
	var env struct {
		Payload []byte `json:"payload"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &env); err != nil {
		t.Fatalf("cosign printed no envelope: %v\n%s", err, out)
	}
	return env.Payload
}

// When a VEX document sets one of two findings aside (the other statement
// only annotates), vex-attach attaches exactly that statement as a signed
// OpenVEX attestation about the image, vex-verify verifies it, and so do
// sc's verifier, cosign's libraries and the cosign CLI (--type openvex), in
// both formats. A warm run writes nothing. A copy of it next to another
// image, or with its statement edited, is refused.
func TestExecutorVEXAttestation(t *testing.T) {
	for _, f := range []signing.Format{signing.FormatBundle, signing.FormatLegacy} {
		t.Run(string(f), func(t *testing.T) {
			ctx := context.Background()
			faults := testutil.NewFaults()
			reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap))
			dir := t.TempDir()
			key := newTestKey(t, dir)
			refs, imgs := pushFixtures(t, reg.Host, 2)
			h, err := imgs[0].Digest()
			if err != nil {
				t.Fatal(err)
			}
			when := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
			vexPath := filepath.Join(dir, "shop.openvex.json")
			if err := os.WriteFile(vexPath, vexDoc(t, "Shop Security", when,
				vexStatement(testvulndb.ZlibUnfixed, h.String(), govex.StatusNotAffected, govex.VulnerableCodeNotInExecutePath),
				vexStatement(testvulndb.OpenSSLFixed, h.String(), govex.StatusUnderInvestigation, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			services := loadRelease(t, dir, vexSecurity(key, f, vexPath), refs[:1])
			c, err := cache.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			db := openDB(t)
			newExecutor := func() *pipeline.Executor {
				return pipeline.NewExecutor(registry.New(),
					pipeline.WithCache(c),
					pipeline.WithScanners(db),
					pipeline.WithSigners(setup.NewSigners(getenv, nil)),
					pipeline.WithExecutionContext(executionContext()),
					pipeline.WithVersion("v9.9.9"))
			}

			cold, err := newExecutor().Run(ctx, services)
			if err != nil {
				t.Fatalf("cold run: %v\n%s", err, describe(cold))
			}
			s := cold.Services[0]
			d, err := name.NewDigest(s.Reference)
			if err != nil {
				t.Fatal(err)
			}
			var vexIgnored, annotated int
			for _, m := range s.Scan.Ignored {
				if m.SuppressedBy.VEX != nil {
					vexIgnored++
				}
			}
			for _, m := range s.Scan.Matches {
				if m.VEX != nil && m.ID == testvulndb.OpenSSLFixed {
					annotated++
				}
			}
			if vexIgnored == 0 || annotated == 0 {
				t.Fatalf("the scan set %d finding(s) aside by VEX and annotated %d; the test needs both\n%s", vexIgnored, annotated, describe(cold))
			}
			att, ver := s.Step(pipeline.StepVEXAttach), s.Step(pipeline.StepVEXVerify)
			if att.Status != pipeline.StatusOK || ver.Status != pipeline.StatusOK {
				t.Fatalf("vex-attach %s, vex-verify %s; want both ok\n%s", att.Status, ver.Status, describe(cold))
			}
			if len(att.Artifacts) != 1 || att.Artifacts[0].PredicateType != pipeline.VEXPredicateType || att.Artifacts[0].Format != string(f) || att.Artifacts[0].Existing {
				t.Fatalf("vex-attach artifacts %+v, want one new OpenVEX attestation in the %s format", att.Artifacts, f)
			}

			// sc's own verifier: exactly the suppressing statement, about
			// this image, on the source's word
			v := keyAttestVerifier(t, key.Public, f)
			res, err := v.VerifyDigest(ctx, d, "openvex")
			if err != nil || len(res.Verified) != 1 {
				t.Fatalf("verifying the OpenVEX attestation: %v (%+v)", err, res)
			}
			if res.Verified[0].Artifact != att.Artifacts[0].Digest {
				t.Errorf("verified %s, vex-attach reported %s", res.Verified[0].Artifact, att.Artifacts[0].Digest)
			}
			st, err := attest.ParseStatement(res.Verified[0].Statement)
			if err != nil {
				t.Fatal(err)
			}
			raw := st.Predicate
			var doc govex.VEX
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("predicate is not OpenVEX: %v", err)
			}
			if len(doc.Statements) != 1 {
				t.Fatalf("%d statements, want the one that suppressed a finding:\n%s", len(doc.Statements), raw)
			}
			vs := doc.Statements[0]
			if vs.Vulnerability.Name != testvulndb.ZlibUnfixed || vs.Status != govex.StatusNotAffected || vs.Justification != govex.VulnerableCodeNotInExecutePath ||
				vs.Timestamp == nil || !vs.Timestamp.Equal(when) || len(vs.Products) != 1 || vs.Products[0].ID != d.String() || len(vs.Products[0].Subcomponents) == 0 {
				t.Errorf("statement %+v", vs)
			}
			if doc.Author != "Shop Security" || len(st.Subject) != 1 || "sha256:"+st.Subject[0].GetDigest()["sha256"] != d.DigestStr() {
				t.Errorf("author %q, subjects %v; want the source's author and the image", doc.Author, st.Subject)
			}

			// cosign: its libraries and its CLI, by the openvex type name
			if n, err := cosigntest.VerifyAttestation(ctx, d.String(), key.Public, f == signing.FormatBundle, pipeline.VEXPredicateType); err != nil || n != 1 {
				t.Errorf("cosign verified %d OpenVEX attestation(s): %v; want 1", n, err)
			}
			args := []string{"verify-attestation", "--type", "openvex"}
			if f == signing.FormatLegacy {
				args = append(args, "--new-bundle-format=false")
			}
			if out, err := cosigntest.CLI(t, key.Public, append(args, d.String())...); err != nil {
				t.Errorf("cosign verify-attestation --type openvex: %v\n%s", err, out)
			} else if got := cosignPayload(t, out); !bytes.Equal(got, res.Verified[0].Statement) {
				t.Errorf("cosign verified another statement:\n%s\nwant\n%s", got, res.Verified[0].Statement)
			}

			// a warm run replays the findings and finds the same statement
			// there: nothing is written
			faults.Reset()
			warm, err := newExecutor().Run(ctx, services)
			if err != nil {
				t.Fatalf("warm run: %v\n%s", err, describe(warm))
			}
			ws := warm.Services[0]
			if a := ws.Step(pipeline.StepVEXAttach).Artifacts; len(a) != 1 || !a[0].Existing || a[0].Digest != att.Artifacts[0].Digest {
				t.Errorf("warm vex-attach artifacts %+v, want the cold run's, existing\n%s", a, describe(warm))
			}
			if st := ws.Step(pipeline.StepVEXVerify); st.Status != pipeline.StatusOK {
				t.Errorf("warm vex-verify %s\n%s", st.Status, describe(warm))
			}
			if n := faults.Count("PUT", testutil.ClassManifest); n != 0 {
				t.Errorf("the warm run wrote %d manifest(s), want none", n)
			}
			stored := storedVEX(ctx, t, d, f)
			if len(stored) != 1 {
				t.Fatalf("%d OpenVEX attestations next to %s after the warm run, want 1", len(stored), d)
			}

			// the same attestation next to another image is not about it
			tag, err := name.NewTag(refs[1])
			if err != nil {
				t.Fatal(err)
			}
			oh, err := imgs[1].Digest()
			if err != nil {
				t.Fatal(err)
			}
			other := tag.Context().Digest(oh.String())
			storeAttestation(ctx, t, other, f, stored[0])
			if res, err := v.VerifyDigest(ctx, other, "openvex"); err == nil || len(res.Verified) != 0 || len(res.Rejected) != 1 {
				t.Errorf("another image's copy: %v (%d verified, %d rejected); want it refused", err, len(res.Verified), len(res.Rejected))
			}
			// an edited statement no longer matches its signature
			tampered := stored[0]
			tampered.Data = tamperPayload(t, stored[0].Data, f, func(p []byte) []byte {
				return bytes.Replace(p, []byte(`"not_affected"`), []byte(`"fixed"`), 1)
			})
			storeAttestation(ctx, t, d, f, tampered)
			res, err = v.VerifyDigest(ctx, d, "openvex")
			if err != nil || len(res.Verified) != 1 || len(res.Rejected) != 1 || res.Verified[0].Artifact != att.Artifacts[0].Digest {
				t.Errorf("with a tampered copy: %v (%+v); want the original verified, the copy rejected", err, res)
			}
			if out, err := cosigntest.CLI(t, key.Public, append(args, other.String())...); err == nil {
				t.Errorf("cosign accepted another image's OpenVEX attestation:\n%s", out)
			}
		})
	}
}

// A VEX document none of whose statements sets a finding aside makes no
// OpenVEX attestation: vex-attach and vex-verify are skipped, turned off
// with the reason, and nothing of the type is stored; without a VEX
// document they are turned off by the configuration.
func TestExecutorVEXNothingSuppressed(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	refs, imgs := pushFixtures(t, reg.Host, 1)
	h, err := imgs[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	vexPath := filepath.Join(dir, "shop.openvex.json")
	if err := os.WriteFile(vexPath, vexDoc(t, "Shop Security", time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC),
		vexStatement(testvulndb.OpenSSLFixed, h.String(), govex.StatusUnderInvestigation, ""),
		vexStatement("CVE-2099-9999", h.String(), govex.StatusNotAffected, govex.ComponentNotPresent)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, scan, why string
	}{
		{"nothing suppressed", "scan: {softFail: true, vex: ['" + vexPath + "']}", "no VEX statement suppressed a finding"},
		{"no VEX document", "scan: {softFail: true}", "scan.vex lists no VEX document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			services := loadRelease(t, dir, keySecurity(key, c.scan), refs)
			res, err := pipeline.NewExecutor(registry.New(),
				pipeline.WithScanners(openDB(t)),
				pipeline.WithSigners(setup.NewSigners(getenv, nil)),
				pipeline.WithExecutionContext(executionContext())).Run(ctx, services)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, describe(res))
			}
			s := res.Services[0]
			for _, n := range []pipeline.StepName{pipeline.StepVEXAttach, pipeline.StepVEXVerify} {
				st := s.Step(n)
				if st.Status != pipeline.StatusSkipped || !st.Disabled || !strings.Contains(st.Detail, c.why) || len(st.Artifacts) != 0 || st.Error != "" {
					t.Errorf("%s: %s disabled=%v %q %v %q; want skipped, turned off: %s", n, st.Status, st.Disabled, st.Detail, st.Artifacts, st.Error, c.why)
				}
			}
			if st := s.Step(pipeline.StepVulnAttach); st.Status != pipeline.StatusOK {
				t.Errorf("vuln-attach %s: the scan result is attested all the same", st.Status)
			}
			if s.Outcome == pipeline.OutcomeFailed {
				t.Errorf("outcome %s", s.Outcome)
			}
			d, err := name.NewDigest(s.Reference)
			if err != nil {
				t.Fatal(err)
			}
			if got := storedVEX(ctx, t, d, signing.FormatBundle); len(got) != 0 {
				t.Errorf("%d OpenVEX attestation(s) stored, want none", len(got))
			}
			if n, _ := cosigntest.VerifyAttestation(ctx, d.String(), key.Public, true, pipeline.VEXPredicateType); n != 0 {
				t.Errorf("cosign verified %d OpenVEX attestation(s), want none", n)
			}
		})
	}
}

// In an image index the OpenVEX attestation goes to the platform images
// whose findings VEX statements set aside, and only to them: the other
// platform's part of the step says it had nothing to attest.
func TestExecutorVEXIndex(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	dir := t.TempDir()
	key := newTestKey(t, dir)
	fixtureImg := testutil.FixtureImage(t, fixture.Options{})
	h, err := fixtureImg.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := pushIndex(t, reg.Host, "shop:1", types.OCIImageIndex, false,
		platformImage{Platform: "linux/amd64", Image: fixtureImg}, platformImage{Platform: "linux/arm64", Image: randomImage(t)})
	vexPath := filepath.Join(dir, "shop.openvex.json")
	if err := os.WriteFile(vexPath, vexDoc(t, "Shop Security", time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC),
		vexStatement(testvulndb.ZlibUnfixed, h.String(), govex.StatusNotAffected, govex.VulnerableCodeNotInExecutePath)), 0o644); err != nil {
		t.Fatal(err)
	}
	services := loadRelease(t, dir, vexSecurity(key, signing.FormatBundle, vexPath), []string{ref})
	res, err := indexExecutor(t, registry.New()).Run(ctx, services)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describe(res))
	}
	s := res.Services[0]
	att := s.Step(pipeline.StepVEXAttach)
	if att.Status != pipeline.StatusOK || s.Step(pipeline.StepVEXVerify).Status != pipeline.StatusOK {
		t.Fatalf("vex-attach %s, vex-verify %s; want both ok\n%s", att.Status, s.Step(pipeline.StepVEXVerify).Status, describe(res))
	}
	if len(att.Artifacts) != 1 || att.Artifacts[0].Platform != "linux/amd64" || !strings.Contains(att.Detail, "linux/arm64: no VEX statement suppressed a finding") {
		t.Errorf("vex-attach artifacts %+v, detail %q; want linux/amd64's only, and linux/arm64 saying why not", att.Artifacts, att.Detail)
	}
	v := keyAttestVerifier(t, key.Public)
	for i, d := range platformDigests(t, s) {
		r, err := v.VerifyDigest(ctx, d, "openvex")
		switch s.Platforms[i].Platform {
		case "linux/amd64":
			if err != nil || len(r.Verified) != 1 {
				t.Errorf("linux/amd64: %v, want its OpenVEX attestation", err)
			}
		default:
			if err == nil || len(r.Verified) != 0 {
				t.Errorf("%s: %d OpenVEX attestation(s), want none", s.Platforms[i].Platform, len(r.Verified))
			}
		}
	}
}
