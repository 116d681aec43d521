package shard

import (
	"cmp"
	"slices"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Cost is the estimated work of one service: the bytes of its image
// (Estimate).
type Cost struct {
	// Service is the service's name.
	Service string `json:"service"`
	// Bytes is the estimate.
	Bytes int64 `json:"bytes"`
}

// Plan is a release split into shards.
type Plan struct {
	// Shards are the shards, Shards[i] being shard i+1.
	Shards []Group `json:"shards"`
}

// Group is the services of one shard.
type Group struct {
	// Shard is which shard.
	Shard Shard `json:"shard"`
	// Services are its services, in the release's order.
	Services []string `json:"services"`
	// Bytes is the sum of their costs.
	Bytes int64 `json:"bytes"`
}

// Resolved is a service's image as the plan's estimate resolved it.
type Resolved struct {
	// Image is the reference the service gives.
	Image string
	// Platforms is its digest and the platform images its platforms
	// selection keeps (registry.Client.Platforms).
	Platforms *registry.Platforms
}

// Assign splits services into n shards, balanced by their costs and
// stable: services are taken by cost, largest first (then by name), each
// to the shard with the least cost so far (then the fewest services, then
// the lowest number). The same costs always give the same shards; the
// order in which they are given does not matter. Each shard lists its
// services in the order costs gives them, the release's. With more shards
// than services some shards are empty: a static matrix (GitLab's parallel:
// N) still works, its extra jobs having nothing to do.
//
// Errors (outcome.ErrInvalid): n < 1, or two services of the same name.
func Assign(costs []Cost, n int) (*Plan, error) {
	if n < 1 {
		return nil, outcome.Invalidf("%d shards: want at least 1", n)
	}
	order := make([]int, len(costs))
	for i := range order {
		order[i] = i
	}
	seen := make(map[string]bool, len(costs))
	for _, c := range costs {
		if seen[c.Service] {
			return nil, outcome.Invalidf("service %s is listed twice", c.Service)
		}
		seen[c.Service] = true
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(costs[b].Bytes, costs[a].Bytes), cmp.Compare(costs[a].Service, costs[b].Service))
	})
	where := make([]int, len(costs))
	count := make([]int, n)
	p := &Plan{Shards: make([]Group, n)}
	for i := range p.Shards {
		p.Shards[i] = Group{Shard: Shard{Index: i + 1, Total: n}, Services: []string{}}
	}
	for _, i := range order {
		best := 0
		for j := 1; j < n; j++ {
			if cmp.Or(cmp.Compare(p.Shards[j].Bytes, p.Shards[best].Bytes), cmp.Compare(count[j], count[best])) < 0 {
				best = j
			}
		}
		p.Shards[best].Bytes += costs[i].Bytes
		count[best]++
		where[i] = best
	}
	// each shard lists its services in the given order
	for i, c := range costs {
		p.Shards[where[i]].Services = append(p.Shards[where[i]].Services, c.Service)
	}
	return p, nil
}

// Group returns the group of shard s.
//
// Errors (outcome.ErrInvalid): s is not a shard of the plan (another
// number of shards, or out of range).
func (p *Plan) Group(s Shard) (*Group, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Total != len(p.Shards) {
		return nil, outcome.Invalidf("shard %s: the plan has %d shards", s, len(p.Shards))
	}
	return &p.Shards[s.Index-1], nil
}

// Select returns the services of shard s, in the order of services.
//
// Errors: Group's.
func (p *Plan) Select(services []api.Service, s Shard) ([]api.Service, error) {
	g, err := p.Group(s)
	if err != nil {
		return nil, err
	}
	var out []api.Service
	for _, svc := range services {
		if slices.Contains(g.Services, svc.Name) {
			out = append(out, svc)
		}
	}
	return out, nil
}
