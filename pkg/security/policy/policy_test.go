package policy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
	"github.com/sc-project/sc/pkg/security/scan"
)

// check checks ref against p, with the clock one day after the scan.
func (e *env) check(t *testing.T, p *api.ImagePolicy, ref string, opts ...policy.Option) (*policy.Result, error) {
	t.Helper()
	opts = append([]policy.Option{policy.WithClock(func() time.Time { return scanned.Add(24 * time.Hour) })}, opts...)
	c, err := policy.NewChecker(t.Context(), e.client, nil, p, opts...)
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	return c.Check(context.Background(), ref)
}

// statuses maps "platform name" to status.
func statuses(res *policy.Result) map[string]policy.Status {
	out := map[string]policy.Status{}
	for _, q := range res.Requirements {
		k := q.Name
		if q.Platform != "" {
			k = q.Platform + " " + k
		}
		out[k] = q.Status
	}
	return out
}

func describe(res *policy.Result) string {
	if res == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, q := range res.Requirements {
		b.WriteString("\n  " + q.Platform + " " + q.Name + ": " + string(q.Status) + ": " + q.Reason)
	}
	return b.String()
}

// requirement returns the requirement called name.
func requirement(t *testing.T, res *policy.Result, name string) policy.Requirement {
	t.Helper()
	for _, q := range res.Requirements {
		if q.Name == name {
			return q
		}
	}
	t.Fatalf("no requirement %q:%s", name, describe(res))
	return policy.Requirement{}
}

func TestCheckAccepts(t *testing.T) {
	e := newEnv(t)
	k := newKey(t)
	d := e.push(t, "shop/api:1")
	e.release(t, d, k, finding("CVE-2025-0001", scan.Medium), finding("CVE-2025-0002", scan.Low))

	e.faults.Reset()
	res, err := e.check(t, shopPolicy(k), e.host.Ref("shop/api:1"))
	if err != nil {
		t.Fatalf("Check: %v%s", err, describe(res))
	}
	want := []string{"signature", "attestation cyclonedx", "attestation slsaprovenance1", "provenance builderID",
		"provenance sourceRepository", "attestation vuln", "vuln maxAge", "vuln maxSeverity"}
	if len(res.Requirements) != len(want) {
		t.Fatalf("requirements:%s\nwant %v", describe(res), want)
	}
	for i, q := range res.Requirements {
		if q.Name != want[i] || q.Status != policy.StatusOK || q.Image != d.String() {
			t.Errorf("requirement %d: %+v, want %s ok on %s", i, q, want[i], d)
		}
	}
	if !res.OK() || res.Image != d.String() || res.Index {
		t.Errorf("result %+v", res)
	}
	if got := requirement(t, res, "vuln maxSeverity").Reason; !strings.Contains(got, "2 finding(s), none above medium") {
		t.Errorf("maxSeverity reason %q", got)
	}
	// one resolve, one referrers listing for four verifiers
	if n := e.faults.Count(http.MethodGet, testutil.ClassReferrers); n != 1 {
		t.Errorf("%d referrers listings, want 1", n)
	}
}

func TestCheckRejects(t *testing.T) {
	k, other := newKey(t), newKey(t)
	allFailed := map[string]policy.Status{"signature": policy.StatusFailed, "attestation cyclonedx": policy.StatusFailed,
		"attestation slsaprovenance1": policy.StatusFailed, "provenance builderID": policy.StatusFailed,
		"provenance sourceRepository": policy.StatusFailed, "attestation vuln": policy.StatusFailed,
		"vuln maxAge": policy.StatusFailed, "vuln maxSeverity": policy.StatusFailed}
	tests := []struct {
		name string
		// setUp prepares shop/api:1 and may change the policy
		setUp func(t *testing.T, e *env, p *api.ImagePolicy)
		clock time.Time
		want  map[string]policy.Status // the requirements that are not ok
		says  string                   // part of the first failed requirement's reason
	}{{
		name:  "unsigned",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) { e.push(t, "shop/api:1") },
		want:  allFailed,
		says:  "not signed",
	}, {
		name: "signed and attested with another key",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), other)
		},
		want: allFailed,
		says: "rejected",
	}, {
		name: "the vuln attestation by a key the attestation does not accept",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), k)
			p.Attestations[2].Signers = []api.PolicySigner{{Key: other.pem}}
		},
		want: map[string]policy.Status{"attestation vuln": policy.StatusFailed, "vuln maxAge": policy.StatusFailed, "vuln maxSeverity": policy.StatusFailed},
		says: "rejected",
	}, {
		name: "missing attestation",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			d := e.push(t, "shop/api:1")
			e.sign(t, d, k)
			e.attest(t, d, k, "cyclonedx", readTestdata(t, "sbom.cdx.json"))
			e.attest(t, d, k, "slsaprovenance1", provenancePredicate(t, goodBuilder))
		},
		want: map[string]policy.Status{"attestation vuln": policy.StatusFailed, "vuln maxAge": policy.StatusFailed, "vuln maxSeverity": policy.StatusFailed},
		says: "none of this type",
	}, {
		name: "an attestation of another type does not count",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), k)
			p.Attestations[0].Type = "spdxjson"
		},
		want: map[string]policy.Status{"attestation spdxjson": policy.StatusFailed},
		says: "the image has https://cosign.sigstore.dev/attestation/vuln/v1, https://cyclonedx.org/bom, https://slsa.dev/provenance/v1",
	}, {
		name:  "stale vuln attestation",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) { e.release(t, e.push(t, "shop/api:1"), k) },
		clock: scanned.Add(7*24*time.Hour + time.Second),
		want:  map[string]policy.Status{"vuln maxAge": policy.StatusFailed},
		says:  "older than maxAge 7d",
	}, {
		name: "a finding over the limit",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), k, finding("CVE-2025-0001", scan.Medium), finding("CVE-2025-0003", scan.High))
		},
		want: map[string]policy.Status{"vuln maxSeverity": policy.StatusFailed},
		says: "1 finding(s) above medium: CVE-2025-0003 (high, libexample)",
	}, {
		name: "maxSeverity none allows no finding",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), k, finding("CVE-2025-0004", scan.Unknown))
			p.Attestations[2].Vuln.MaxSeverity = api.MaxSeverityNone
		},
		want: map[string]policy.Status{"vuln maxSeverity": policy.StatusFailed},
		says: "none allowed: CVE-2025-0004 (unknown",
	}, {
		name: "provenance from another builder",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			d := e.push(t, "shop/api:1")
			e.sign(t, d, k)
			e.attest(t, d, k, "cyclonedx", readTestdata(t, "sbom.cdx.json"))
			e.attest(t, d, k, "slsaprovenance1", provenancePredicate(t, "https://github.com/evil/x/.github/workflows/release.yml@refs/heads/main"))
			e.attest(t, d, k, "vuln", vulnPredicate(t, scanned))
		},
		want: map[string]policy.Status{"provenance builderID": policy.StatusFailed},
		says: `runDetails.builder.id is "https://github.com/evil/x/`,
	}, {
		name: "provenance from a look-alike organisation",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			e.release(t, e.push(t, "shop/api:1"), k)
			p.Attestations[1].Provenance.SourceRepository = &api.Match{Prefix: "https://github.com/acm/"}
		},
		want: map[string]policy.Status{"provenance sourceRepository": policy.StatusFailed},
		says: "source.uri",
	}, {
		name: "a vuln attestation whose result is not sc's",
		setUp: func(t *testing.T, e *env, p *api.ImagePolicy) {
			d := e.push(t, "shop/api:1")
			e.sign(t, d, k)
			e.attest(t, d, k, "vuln", []byte(`{"scanner":{"uri":"pkg:github/aquasecurity/trivy","version":"0.50","db":{},"result":{"Results":[]}},`+
				`"metadata":{"scanStartedOn":"2025-06-01T11:00:00Z","scanFinishedOn":"2025-06-01T12:00:00Z"},"invocation":{}}`))
			p.Attestations = p.Attestations[2:]
		},
		want: map[string]policy.Status{"vuln maxSeverity": policy.StatusFailed},
		says: "not an sc scan result",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := shopPolicy(k)
			tt.setUp(t, e, p)
			var opts []policy.Option
			if !tt.clock.IsZero() {
				opts = append(opts, policy.WithClock(func() time.Time { return tt.clock }))
			}
			res, err := e.check(t, p, e.host.Ref("shop/api:1"), opts...)
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			got := statuses(res)
			firstFailed := ""
			for k, s := range got {
				if s == policy.StatusOK {
					delete(got, k)
				}
			}
			for _, q := range res.Requirements {
				if q.Status != policy.StatusOK && firstFailed == "" {
					firstFailed = q.Reason
				}
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v%s", err, describe(res))
				}
				return
			}
			if !errors.Is(err, policy.ErrRequirementFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
				t.Errorf("error %v (code %d), want ErrRequirementFailed%s", err, outcome.Code(err), describe(res))
			}
			if len(got) != len(tt.want) {
				t.Errorf("not ok: %v, want %v%s", got, tt.want, describe(res))
			}
			for name, s := range tt.want {
				if got[name] != s {
					t.Errorf("%s: %q, want %q%s", name, got[name], s, describe(res))
				}
			}
			if !strings.Contains(firstFailed, tt.says) {
				t.Errorf("first failure says %q, want …%s…", firstFailed, tt.says)
			}
		})
	}
}

// An image index: the signature is the index's, the attestations each
// platform image's; a platform without them fails on its own.
func TestCheckIndex(t *testing.T) {
	e := newEnv(t)
	k := newKey(t)
	amd, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx, plats := testutil.PushIndex(t, e.host.Ref("shop/api:1"), types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: amd}, testutil.PlatformImage{Platform: "linux/arm64", Image: arm})
	e.sign(t, idx, k)
	e.attest(t, plats[0], k, "cyclonedx", readTestdata(t, "sbom.cdx.json"))
	p := shopPolicy(k)
	p.Attestations = p.Attestations[:1]

	res, err := e.check(t, p, e.host.Ref("shop/api:1"))
	if !errors.Is(err, policy.ErrRequirementFailed) {
		t.Fatalf("Check: %v%s", err, describe(res))
	}
	want := map[string]policy.Status{"signature": policy.StatusOK, "linux/amd64 attestation cyclonedx": policy.StatusOK,
		"linux/arm64 attestation cyclonedx": policy.StatusFailed}
	got := statuses(res)
	if len(got) != len(want) {
		t.Errorf("requirements %v, want %v", got, want)
	}
	for n, s := range want {
		if got[n] != s {
			t.Errorf("%s: %s, want %s%s", n, got[n], s, describe(res))
		}
	}
	if !res.Index || res.Requirements[0].Image != idx.String() || res.Requirements[2].Image != plats[1].String() {
		t.Errorf("digests: %+v", res)
	}

	e.attest(t, plats[1], k, "cyclonedx", readTestdata(t, "sbom.cdx.json"))
	if res, err := e.check(t, p, e.host.Ref("shop/api:1")); err != nil {
		t.Errorf("both platforms attested: %v%s", err, describe(res))
	}
}

// A registry that fails while listing is "could not check" (exit 3), not a
// failed requirement; one that fails before anything is checked gives no
// result.
func TestCheckOperational(t *testing.T) {
	e := newEnv(t)
	k := newKey(t)
	d := e.push(t, "shop/api:1")
	e.release(t, d, k)
	p := shopPolicy(k)

	e.faults.Fail(testutil.On(http.MethodGet, testutil.ClassReferrers), testutil.Always, http.StatusServiceUnavailable)
	res, err := e.check(t, p, d.String())
	if !errors.Is(err, policy.ErrNotChecked) || outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("error %v (code %d), want ErrNotChecked%s", err, outcome.Code(err), describe(res))
	}
	for _, q := range res.Requirements {
		if q.Status != policy.StatusError {
			t.Errorf("%s: %s, want error", q.Name, q.Status)
		}
	}
	e.faults.Clear()

	e.faults.Fail(testutil.On("", testutil.ClassManifest), testutil.Always, http.StatusInternalServerError)
	res, err = e.check(t, p, e.host.Ref("shop/api:1"))
	if res != nil || outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("resolve failing: %v (code %d)%s", err, outcome.Code(err), describe(res))
	}
}

func TestNewCheckerRefuses(t *testing.T) {
	e := newEnv(t)
	k := newKey(t)
	for name, tt := range map[string]struct {
		change func(*api.ImagePolicy)
		says   string
	}{
		"keyless without trusted material": {func(p *api.ImagePolicy) {
			p.Signers = []api.PolicySigner{{Subject: "a@example.com", Issuer: "https://accounts.example.com"}}
		}, "trusted material"},
		"a key in the log without trusted material": {func(p *api.ImagePolicy) { p.Signers[0].Transparency = new(true) }, "trusted material"},
		"a bad key": {func(p *api.ImagePolicy) {
			p.Signers[0].Key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
		}, "public key"},
		"a missing key file":         {func(p *api.ImagePolicy) { p.Signers[0].Key = "does-not-exist.pub" }, "reading the public key"},
		"vuln constraints elsewhere": {func(p *api.ImagePolicy) { p.Attestations[0].Vuln = p.Attestations[2].Vuln }, "attestations[0].vuln: vuln constraints apply to type vuln"},
		"provenance on v0.2":         {func(p *api.ImagePolicy) { p.Attestations[1].Type = "slsaprovenance" }, "apply to type slsaprovenance1"},
		"an unknown type":            {func(p *api.ImagePolicy) { p.Attestations[0].Type = "sbom" }, `predicate type "sbom"`},
		"a type twice under two names": {func(p *api.ImagePolicy) {
			p.Attestations[0].Type = "https://cosign.sigstore.dev/attestation/vuln/v1"
			p.Attestations[0].Vuln = nil
		}, "required already by attestations[0]"},
		"no signer": {func(p *api.ImagePolicy) { p.Signers = nil }, "at least one signer"},
	} {
		t.Run(name, func(t *testing.T) {
			p := shopPolicy(k)
			tt.change(p)
			_, err := policy.NewChecker(t.Context(), e.client, nil, p)
			if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("NewChecker: %v (code %d), want invalid saying %q", err, outcome.Code(err), tt.says)
			}
		})
	}
}
