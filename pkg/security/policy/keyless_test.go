package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/policy"
	"github.com/sc-project/sc/pkg/security/signing"
)

type tokens func(ctx context.Context) (string, error)

func (f tokens) Token(ctx context.Context) (string, error) { return f(ctx) }

// A keyless release against a private Sigstore: the identity and issuer
// of the certificate decide, with the transparency log required.
func TestCheckKeyless(t *testing.T) {
	ss := sigstoretest.New(t)
	e := newEnv(t)
	ctx := context.Background()
	s, err := signing.NewKeylessSigner(tokens(func(context.Context) (string, error) { return ss.Token("ci@example.com"), nil }),
		signing.Services{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL})
	if err != nil {
		t.Fatal(err)
	}
	d := e.push(t, "shop/api:1")
	if _, err := signing.SignImage(ctx, e.client, d.String(), s, signing.SignOptions{Trusted: ss.TrustedRoot()}); err != nil {
		t.Fatal(err)
	}
	if _, err := attest.Attach(ctx, e.client, s, d, attest.Predicate{Type: attest.PredicateVuln, Data: vulnPredicate(t, scanned)}, attest.AttachOptions{}); err != nil {
		t.Fatal(err)
	}
	keyless := func(subject, issuer string) *api.ImagePolicy {
		return &api.ImagePolicy{APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: "shop",
			Signers:      []api.PolicySigner{{SubjectRegExp: subject, Issuer: issuer}},
			Attestations: []api.PolicyAttestation{{Type: "vuln", Vuln: &api.VulnRequirement{MaxAge: api.Duration(7 * 24 * time.Hour)}}}}
	}
	check := func(p *api.ImagePolicy) (*policy.Result, error) {
		c, err := policy.NewChecker(t.Context(), e.client, ss.TrustedRoot(), p, policy.WithClock(func() time.Time { return scanned.Add(time.Hour) }))
		if err != nil {
			t.Fatal(err)
		}
		return c.Check(ctx, d.String())
	}

	res, err := check(keyless(`^ci@example\.com$`, ss.OIDCIssuerURL))
	if err != nil {
		t.Fatalf("Check: %v%s", err, describe(res))
	}
	if got := res.Requirements[0].Reason; !strings.Contains(got, "ci@example.com (issuer "+ss.OIDCIssuerURL+")") {
		t.Errorf("signature reason %q", got)
	}
	if got := requirement(t, res, "attestation vuln").Reason; !strings.Contains(got, " at ") {
		t.Errorf("a logged attestation has a signing time: %q", got)
	}

	for name, p := range map[string]*api.ImagePolicy{
		"another identity":   keyless(`^release@example\.com$`, ss.OIDCIssuerURL),
		"another issuer":     keyless(`^ci@example\.com$`, "https://token.actions.githubusercontent.com"),
		"a key, not keyless": {APIVersion: api.PolicyAPIVersion, Kind: api.ImagePolicyKind, Name: "shop", Signers: []api.PolicySigner{{Key: newKey(t).pem}}},
	} {
		res, err := check(p)
		if err == nil || res.Requirements[0].Status != policy.StatusFailed {
			t.Errorf("%s: %v%s", name, err, describe(res))
		}
		for _, q := range res.Requirements {
			if q.Status != policy.StatusFailed {
				t.Errorf("%s: %s is %s", name, q.Name, q.Status)
			}
		}
	}
}
