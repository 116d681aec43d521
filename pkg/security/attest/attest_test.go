package attest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/signing"
)

// TestAttachVerify attaches the five SBOM formats and SLSA provenance to one
// image, in each storage format, on both registries, and verifies each
// predicate type: every attestation comes back with its predicate intact,
// the others are left alone, and newest comes first.
func TestAttachVerify(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registries {
		for _, format := range formats {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				d, _ := r.push(t, "shop:1.4.0")
				s, pub := newKey(t, signing.Services{})
				cases := predicates(t)
				attached := map[string]*attest.Attached{}
				for _, c := range cases {
					a, err := attest.Attach(ctx, r.client, s, d, c.predicate, attest.AttachOptions{Format: format})
					if err != nil {
						t.Fatalf("Attach %s: %v", c.name, err)
					}
					if a.Image != d.String() || a.Format != format || a.PredicateType != c.predicate.Type || a.Signer.KeyID == "" || a.TlogIndex != nil {
						t.Errorf("Attach %s = %+v", c.name, a)
					}
					attached[c.name] = a
				}

				v := keyVerifier(t, r.client, pub)
				for _, c := range cases {
					res, err := v.Verify(ctx, r.host.Ref("shop:1.4.0"), c.predicate.Type)
					if err != nil {
						t.Fatalf("Verify %s: %v", c.name, err)
					}
					if res.Image != d.String() || len(res.Rejected) != 0 {
						t.Errorf("Verify %s = %s", c.name, summary(res))
					}
					// Find this case's attestation among those of its type
					// (CycloneDX JSON and XML share one, SPDX too).
					i := slices.IndexFunc(res.Verified, func(a attest.Attestation) bool { return a.Artifact == attached[c.name].Artifact })
					if i < 0 {
						t.Fatalf("Verify %s: artifact %s not among %s", c.name, attached[c.name].Artifact, summary(res))
					}
					got := res.Verified[i]
					if got.Format != format || got.PredicateType != c.predicate.Type || got.Text != c.predicate.Text || got.KeyID != attached[c.name].Signer.KeyID {
						t.Errorf("verified %s = %+v", c.name, got)
					}
					if diff := cmp.Diff(wantPredicate(c.predicate), string(got.Predicate)); diff != "" {
						t.Errorf("%s predicate differs (-want +got):\n%s", c.name, diff)
					}
					if string(got.Statement) != string(attached[c.name].Statement) {
						t.Errorf("%s statement differs from the one attached", c.name)
					}
					for _, a := range res.Verified {
						if a.PredicateType != c.predicate.Type {
							t.Errorf("Verify %s returned a %s attestation", c.name, a.PredicateType)
						}
					}
					if want := []string{attest.PredicateCycloneDX, attest.PredicateSLSAProvenanceV1, attest.PredicateSPDX, attest.PredicateSyft}; !cmp.Equal(res.Others, without(want, c.predicate.Type)) {
						t.Errorf("Verify %s: others = %v", c.name, res.Others)
					}
				}
			})
		}
	}
}

func without(types []string, t string) []string {
	return slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s == t })
}

// TestNewestFirst: re-runs accumulate, and the newest comes first: by
// storage order in the legacy format, by creation time for bundles.
func TestNewestFirst(t *testing.T) {
	ctx := context.Background()
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			d, _ := r.push(t, "shop:1")
			s, pub := newKey(t, signing.Services{})
			var artifacts []string
			for i := range 3 {
				p := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: fmt.Appendf(nil, `{"run":%d}`, i)}
				if format == signing.FormatBundle {
					// Bundles are ordered by their creation annotation (whole
					// seconds); write them with distinct ones.
					artifacts = append(artifacts, attachBundleAt(t, r, s, d, p, fmt.Sprintf("2025-01-0%dT00:00:00Z", 3-i)))
					continue
				}
				a, err := attest.Attach(ctx, r.client, s, d, p, attest.AttachOptions{Format: format})
				if err != nil {
					t.Fatal(err)
				}
				artifacts = append(artifacts, a.Artifact)
			}
			res, err := keyVerifier(t, r.client, pub).VerifyDigest(ctx, d, "slsaprovenance1")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range res.Verified {
				got = append(got, a.Artifact)
			}
			want := slices.Clone(artifacts)
			if format == signing.FormatLegacy {
				slices.Reverse(want) // the last layer is the newest
			} // bundles: the first written has the latest creation time
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerifyOutcomes: what verification reports when it does not find a
// valid attestation, with the exit class of each.
func TestVerifyOutcomes(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t, inProcess)
	bare, _ := r.push(t, "bare:1")
	d, _ := r.push(t, "shop:1")
	s, pub := newKey(t, signing.Services{})
	prov := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: readTestdata(t, "provenance.json")}
	for _, f := range formats {
		if _, err := attest.Attach(ctx, r.client, s, d, prov, attest.AttachOptions{Format: f}); err != nil {
			t.Fatal(err)
		}
	}
	// An image signature next to them is neither an attestation nor in the
	// way.
	if _, err := signing.SignImage(ctx, r.client, d.String(), s, signing.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	_, otherPub := newKey(t, signing.Services{})

	tests := []struct {
		name     string
		verifier *attest.Verifier
		image    string
		types    []string
		wantErr  error
		wantCode int
		reasons  []string // substrings of the rejection reasons
	}{
		{"no attestation at all", keyVerifier(t, r.client, pub), bare.String(), []string{"cyclonedx"}, attest.ErrNoAttestation, outcome.ExitCheckFailed, nil},
		{"none of that type", keyVerifier(t, r.client, pub), d.String(), []string{"cyclonedx"}, attest.ErrNoAttestation, outcome.ExitCheckFailed, nil},
		{"wrong key", keyVerifier(t, r.client, otherPub), d.String(), []string{"slsaprovenance1"}, attest.ErrVerificationFailed, outcome.ExitCheckFailed,
			[]string{"does not verify with the given key", "does not verify with the given key"}},
		{"no predicate type", keyVerifier(t, r.client, pub), d.String(), nil, outcome.ErrInvalid, outcome.ExitInvalid, nil},
		{"bad predicate type", keyVerifier(t, r.client, pub), d.String(), []string{"not a type"}, outcome.ErrInvalid, outcome.ExitInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.verifier.Verify(ctx, tt.image, tt.types...)
			if !errors.Is(err, tt.wantErr) || outcome.Code(err) != tt.wantCode {
				t.Fatalf("Verify = %s, %v; want %v (exit %d)", summary(res), err, tt.wantErr, tt.wantCode)
			}
			t.Logf("error: %v", err)
			if res == nil {
				return
			}
			if len(res.Verified) != 0 || len(res.Rejected) != len(tt.reasons) {
				t.Fatalf("result = %s, want %d rejected", summary(res), len(tt.reasons))
			}
			for i, rj := range res.Rejected {
				if !strings.Contains(rj.Reason, tt.reasons[i]) {
					t.Errorf("reason %q does not say %q", rj.Reason, tt.reasons[i])
				}
			}
		})
	}

	// The message of "none of that type" says what there is.
	_, err := keyVerifier(t, r.client, pub).Verify(ctx, d.String(), "cyclonedx")
	if err == nil || !strings.Contains(err.Error(), attest.PredicateSLSAProvenanceV1) {
		t.Errorf("error %v does not name the types found", err)
	}
	// The image signature still verifies as one, and only it.
	sv, err := signing.NewVerifier(r.client, nil, signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		t.Fatal(err)
	}
	if sr, err := sv.Verify(ctx, d.String()); err != nil || len(sr.Verified) != 1 || len(sr.Rejected) != 0 {
		t.Errorf("signing.Verify with attestations present = %+v, %v", sr, err)
	}
}

// TestRegistryFailure: a registry that keeps failing is an operational
// error, not a failed check.
func TestRegistryFailure(t *testing.T) {
	ctx := context.Background()
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			r := newTestRegistry(t, inProcess)
			d, _ := r.push(t, "shop:1")
			s, pub := newKey(t, signing.Services{})
			p := attest.Predicate{Type: attest.PredicateCycloneDX, Data: readTestdata(t, "sbom.cdx.json")}
			if _, err := attest.Attach(ctx, r.client, s, d, p, attest.AttachOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			r.faults.Add(testutil.Fault{Match: testutil.On(http.MethodGet, ""), Times: testutil.Always, Status: http.StatusServiceUnavailable})
			res, err := newVerifier(t, r.client, nil, signing.Policy{Key: pub},
				[]signing.VerifyOption{signing.WithInsecureIgnoreTlog(), signing.WithFormats(f)}).VerifyDigest(ctx, d, "cyclonedx")
			if res != nil || outcome.Code(err) != outcome.ExitOperational {
				t.Errorf("Verify with a failing registry = %s, %v; want an operational error", summary(res), err)
			}
			_, err = attest.Attach(ctx, r.client, s, d, p, attest.AttachOptions{Format: f})
			if outcome.Code(err) != outcome.ExitOperational {
				t.Errorf("Attach with a failing registry: %v; want an operational error", err)
			}
		})
	}
}

// TestAttachAboutSeveral: a statement about an index and its platform
// images, attached next to one platform image, verifies there, naming
// every subject, and is not found next to the others.
func TestAttachAboutSeveral(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registries {
		for _, format := range formats {
			t.Run(string(kind)+"/"+string(format), func(t *testing.T) {
				r := newTestRegistry(t, kind)
				idx, _ := r.push(t, "shop:index")
				amd, _ := r.push(t, "shop:amd64")
				arm, _ := r.push(t, "shop:arm64")
				s, pub := newKey(t, signing.Services{})
				p := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: []byte(`{"buildDefinition":{"buildType":"x"}}`)}
				subjects := []name.Digest{idx, amd, arm}
				a, err := attest.Attach(ctx, r.client, s, arm, p, attest.AttachOptions{Format: format, Subjects: subjects})
				if err != nil {
					t.Fatal(err)
				}
				if a.Image != arm.String() {
					t.Errorf("attached next to %s, want %s", a.Image, arm)
				}
				v := keyVerifier(t, r.client, pub)
				res, err := v.VerifyDigest(ctx, arm, p.Type)
				if err != nil {
					t.Fatalf("verifying next to the platform image: %v", err)
				}
				st, err := attest.ParseStatement(res.Verified[0].Statement)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range subjects {
					if st.About(d) == nil {
						t.Errorf("the statement does not name %s", d)
					}
				}
				for _, d := range []name.Digest{idx, amd} {
					if _, err := v.VerifyDigest(ctx, d, p.Type); err == nil {
						t.Errorf("%s: an attestation verifies where none was attached", d)
					}
				}
			})
		}
	}
}

// TestAttachErrors: bad input is invalid usage and writes nothing.
func TestAttachErrors(t *testing.T) {
	ctx := context.Background()
	r := newTestRegistry(t, inProcess)
	d, _ := r.push(t, "shop:1")
	s, _ := newKey(t, signing.Services{})
	other, _ := r.push(t, "shop:2")
	elsewhere, _ := r.push(t, "cart:1")
	prov := attest.Predicate{Type: attest.PredicateSLSAProvenanceV1, Data: []byte(`{}`)}
	tests := []struct {
		name string
		p    attest.Predicate
		opts attest.AttachOptions
	}{
		{"subjects without the image", prov, attest.AttachOptions{Subjects: []name.Digest{other}}},
		{"subjects with the digest in another repository", prov, attest.AttachOptions{Subjects: []name.Digest{other, elsewhere.Context().Digest(d.DigestStr())}}},
		{"subjects naming the image twice", prov, attest.AttachOptions{Subjects: []name.Digest{d, other, d}}},
		{"no type", attest.Predicate{Data: []byte(`{}`)}, attest.AttachOptions{}},
		{"cosign name as type", attest.Predicate{Type: "cyclonedx", Data: []byte(`{}`)}, attest.AttachOptions{}},
		{"empty predicate", attest.Predicate{Type: attest.PredicateCycloneDX}, attest.AttachOptions{}},
		{"JSON array", attest.Predicate{Type: attest.PredicateCycloneDX, Data: []byte(`[1]`)}, attest.AttachOptions{}},
		{"not JSON", attest.Predicate{Type: attest.PredicateCycloneDX, Data: []byte(`<bom/>`)}, attest.AttachOptions{}},
		{"text not UTF-8", attest.Predicate{Type: attest.PredicateSPDX, Data: []byte{0xff, 0xfe}, Text: true}, attest.AttachOptions{}},
		{"unknown format", attest.Predicate{Type: attest.PredicateCycloneDX, Data: []byte(`{}`)}, attest.AttachOptions{Format: "zip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.faults.Reset()
			_, err := attest.Attach(ctx, r.client, s, d, tt.p, tt.opts)
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Attach: %v; want invalid usage", err)
			}
			if n := len(r.faults.Requests()); n != 0 {
				t.Errorf("%d registry requests for invalid input", n)
			}
		})
	}
}
