package api_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/api"
)

// The evil-branch case: an identity pattern written without anchors is
// satisfied by a workflow of another repository on a branch named after
// the expected one, because a regular expression matches anywhere in the
// value. The anchored form is not, and still accepts the real workflow.
func TestCheckAnchoredEvilBranch(t *testing.T) {
	const (
		unanchored = `github.com/acme/shop/.*`
		anchored   = `^https://github\.com/acme/shop/\.github/workflows/.+@refs/heads/main$`
		evil       = "https://github.com/evil/x/.github/workflows/a.yml@refs/heads/github.com/acme/shop/y"
		real       = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
	)
	if !regexp.MustCompile(unanchored).MatchString(evil) {
		t.Fatal("the unanchored pattern does not match the evil identity: the test shows nothing")
	}
	if err := api.CheckAnchored(unanchored); !errors.Is(err, api.ErrUnanchored) {
		t.Errorf("CheckAnchored(%s) = %v, want ErrUnanchored", unanchored, err)
	}
	if regexp.MustCompile(anchored).MatchString(evil) {
		t.Errorf("the anchored pattern matches %s", evil)
	}
	if !regexp.MustCompile(anchored).MatchString(real) {
		t.Errorf("the anchored pattern does not match %s", real)
	}
	if err := api.CheckAnchored(anchored); err != nil {
		t.Errorf("CheckAnchored(%s) = %v, want nil", anchored, err)
	}
	// even anchored at one end only, the other end is open
	for _, p := range []string{`^https://github\.com/acme/shop/`, `github\.com/acme/shop/\.github/workflows/release\.yml@refs/heads/main$`} {
		if err := api.CheckAnchored(p); !errors.Is(err, api.ErrUnanchored) {
			t.Errorf("CheckAnchored(%s) = %v, want ErrUnanchored", p, err)
		}
	}
}

func TestCheckAnchored(t *testing.T) {
	for _, p := range []string{
		`^https://github\.com/acme/shop/.*$`,
		`\Ahttps://accounts\.google\.com\z`,
		`^(https://a\.example|https://b\.example)$`,
		`^a$|^b$`,
		`(^a$)`,
		`(?i)^https://GitHub\.com/acme/.*$`,
		`^$`,
	} {
		if err := api.CheckAnchored(p); err != nil {
			t.Errorf("CheckAnchored(%s) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{
		``,
		`.*`,
		`^a$|b`,     // the second alternative is open at both ends
		`^a|b$`,     // each alternative is open at one end
		`(?m)^a$`,   // ^ and $ at line breaks
		`^a$\n^b$x`, // a literal after the end
		`^(a)*$x`,
	} {
		err := api.CheckAnchored(p)
		if !errors.Is(err, api.ErrUnanchored) {
			t.Errorf("CheckAnchored(%q) = %v, want ErrUnanchored", p, err)
			continue
		}
		if !strings.Contains(err.Error(), "^…$") {
			t.Errorf("CheckAnchored(%q) = %v: does not say how to write it", p, err)
		}
	}
	if err := api.CheckAnchored(`^[a-$`); err == nil || errors.Is(err, api.ErrUnanchored) || !strings.Contains(err.Error(), "not a valid regular expression") {
		t.Errorf("CheckAnchored of an invalid pattern = %v, want a syntax error", err)
	}
}

// In a configuration file an unanchored identityRegexp is a problem at
// its line and column, saying how to write it.
func TestLoadRejectsUnanchoredIdentity(t *testing.T) {
	_, err := load(t, memFS{"sc.yaml": `
security:
  signing:
    keyless: true
    verify:
      oidcIssuer: https://token.actions.githubusercontent.com
      identityRegexp: github.com/acme/shop/.*
stacks:
  prod:
    services:
      api: {image: registry.example.com/api:1}
`}, "sc.yaml")
	ps := problemsOf(t, err)
	if len(ps) != 1 {
		t.Fatalf("problems %v, want one", ps)
	}
	p := ps[0]
	if p.File != "sc.yaml" || p.Line != 6 || p.Column != 23 || p.Path != "security.signing.verify.identityRegexp" ||
		!strings.Contains(p.Message, "`github.com/acme/shop/.*`") || !strings.Contains(p.Message, "^…$") || !strings.Contains(p.Message, "another repository") {
		t.Errorf("problem %s, want it at sc.yaml:6:23 naming the pattern, the risk and ^…$", p)
	}
	// Validate, for a configuration built in Go, says the same
	sec := &api.Security{Signing: &api.Signing{Verify: &api.Verify{IdentityRegexp: "acme"}}}
	if err := sec.Validate(); err == nil || !strings.Contains(err.Error(), "signing.verify.identityRegexp: pattern is not anchored") {
		t.Errorf("Validate = %v, want the identityRegexp rejected", err)
	}
}
