package policy

import (
	"context"
	"fmt"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/attest"
)

// Load reads the policy file at path as api.LoadPolicy does, with
// Problems added: every problem at its file:line, in a
// *api.ValidationError (outcome.ErrInvalid).
func Load(ctx context.Context, path string, opts ...api.LoadOption) (*api.ImagePolicy, error) {
	return api.LoadPolicy(ctx, path, append(opts, api.WithPolicyCheck(Problems))...)
}

// Problems are what is wrong with the attestations of p beyond what
// ImagePolicy.Validate checks: a type that is neither a cosign --type name
// nor a predicate type URI, a type listed twice (under any of its names),
// vuln constraints on another type than vuln, provenance constraints on
// another type than slsaprovenance1. Paths are those of the policy file.
func Problems(p *api.ImagePolicy) []api.Problem {
	var out []api.Problem
	seen := map[string]int{}
	for i, a := range p.Attestations {
		at := fmt.Sprintf("attestations[%d]", i)
		if a.Type == "" {
			continue // Validate says so
		}
		uri, err := attest.PredicateType(a.Type)
		if err != nil {
			out = append(out, api.Problem{Path: at + ".type", Message: err.Error()})
			continue
		}
		if j, dup := seen[uri]; dup {
			out = append(out, api.Problem{Path: at + ".type", Message: fmt.Sprintf("type %s is required already by attestations[%d]; put its constraints in one entry", a.Type, j)})
		}
		seen[uri] = i
		if a.Vuln != nil && uri != attest.PredicateVuln {
			out = append(out, api.Problem{Path: at + ".vuln", Message: fmt.Sprintf("vuln constraints apply to type vuln, not %s", a.Type)})
		}
		if a.Provenance != nil && uri != attest.PredicateSLSAProvenanceV1 {
			out = append(out, api.Problem{Path: at + ".provenance", Message: fmt.Sprintf("provenance constraints apply to type slsaprovenance1 (SLSA v1.0, what sc writes), not %s", a.Type)})
		}
	}
	return out
}

// validate is ImagePolicy.Validate with Problems.
func validate(p *api.ImagePolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if ps := Problems(p); len(ps) > 0 {
		return &api.ValidationError{Problems: ps}
	}
	return nil
}
