package shard_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/shard"
)

func TestAssignBalancesGreedily(t *testing.T) {
	costs := []shard.Cost{{"a", 10}, {"b", 7}, {"c", 6}, {"d", 5}, {"e", 4}, {"f", 3}}
	p, err := shard.Assign(costs, 2)
	if err != nil {
		t.Fatal(err)
	}
	// a(10)→1, b(7)→2, c(6)→2 (13), d(5)→1 (15), e(4)→2 (17), f(3)→1 (18)
	want := &shard.Plan{Shards: []shard.Group{
		{Shard: shard.Shard{Index: 1, Total: 2}, Services: []string{"a", "d", "f"}, Bytes: 18},
		{Shard: shard.Shard{Index: 2, Total: 2}, Services: []string{"b", "c", "e"}, Bytes: 17},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

func TestAssignIsStable(t *testing.T) {
	var costs []shard.Cost
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		// many equal costs: the ties must be broken the same way every time
		costs = append(costs, shard.Cost{Service: fmt.Sprintf("svc-%02d", i), Bytes: int64(r.IntN(5)) * 1000})
	}
	first, err := shard.Assign(costs, 4)
	if err != nil {
		t.Fatal(err)
	}
	for try := range 20 {
		shuffled := slices.Clone(costs)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		p, err := shard.Assign(shuffled, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Shards {
			got, want := slices.Sorted(slices.Values(p.Shards[i].Services)), slices.Sorted(slices.Values(first.Shards[i].Services))
			if !slices.Equal(got, want) {
				t.Fatalf("try %d: shard %d holds %v, first time %v", try, i+1, got, want)
			}
		}
	}
	// every service exactly once
	var all []string
	for _, g := range first.Shards {
		all = append(all, g.Services...)
	}
	slices.Sort(all)
	if len(all) != 60 || len(slices.Compact(all)) != 60 {
		t.Errorf("the shards hold %d services (%d distinct), want 60", len(all), len(slices.Compact(all)))
	}
}

func TestAssignBalance(t *testing.T) {
	// 60 services of sizes 1..60 MB in 4 shards: largest first to the
	// least loaded shard ends within a few MB of even (456–459 MB against
	// 457.5), where a round-robin split would be 435–480 MB
	var costs []shard.Cost
	var total int64
	for i := range 60 {
		c := int64(i+1) << 20
		costs = append(costs, shard.Cost{Service: fmt.Sprintf("s%d", i), Bytes: c})
		total += c
	}
	p, err := shard.Assign(costs, 4)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, g := range p.Shards {
		sum += g.Bytes
		if d := g.Bytes - total/4; d > 3<<20 || d < -(3<<20) {
			t.Errorf("shard %s has %d bytes, even is %d", g.Shard, g.Bytes, total/4)
		}
	}
	if sum != total {
		t.Errorf("the shards sum to %d, want %d", sum, total)
	}
}

func TestAssignEqualCostsSpreadByCount(t *testing.T) {
	// costs unknown (0): services are spread by count, not piled on shard 1
	costs := make([]shard.Cost, 7)
	for i := range costs {
		costs[i] = shard.Cost{Service: fmt.Sprintf("s%d", i)}
	}
	p, err := shard.Assign(costs, 3)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, g := range p.Shards {
		sizes = append(sizes, len(g.Services))
	}
	if !slices.Equal(sizes, []int{3, 2, 2}) {
		t.Errorf("shard sizes %v, want [3 2 2]", sizes)
	}
}

func TestAssignMoreShardsThanServices(t *testing.T) {
	p, err := shard.Assign([]shard.Cost{{"a", 1}, {"b", 2}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Shards) != 4 || len(p.Shards[2].Services) != 0 || len(p.Shards[3].Services) != 0 {
		t.Errorf("plan %+v: want 4 shards, the last two empty", p)
	}
	svcs, err := p.Select([]api.Service{{Name: "a"}, {Name: "b"}}, shard.Shard{Index: 4, Total: 4})
	if err != nil || len(svcs) != 0 {
		t.Errorf("Select(4/4) = %v, %v; want nothing, no error", svcs, err)
	}
}

func TestAssignRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		costs []shard.Cost
		n     int
	}{
		{"no shards", []shard.Cost{{"a", 1}}, 0},
		{"negative", []shard.Cost{{"a", 1}}, -2},
		{"duplicate service", []shard.Cost{{"a", 1}, {"a", 2}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := shard.Assign(tc.costs, tc.n); !errors.Is(err, outcome.ErrInvalid) {
				t.Errorf("Assign = %v, want an invalid-usage error", err)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	services := []api.Service{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	p, err := shard.Assign([]shard.Cost{{"a", 1}, {"b", 5}, {"c", 1}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Select(services, shard.Shard{Index: 2, Total: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "c" {
		t.Errorf("shard 2/2 = %v, want a, c in the release's order", got)
	}
	for _, s := range []shard.Shard{{Index: 1, Total: 3}, {Index: 3, Total: 2}, {Index: 0, Total: 2}} {
		if _, err := p.Select(services, s); !errors.Is(err, outcome.ErrInvalid) {
			t.Errorf("Select(%s) = %v, want an invalid-usage error", s, err)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]shard.Shard{"1/4": {1, 4}, " 4/4 ": {4, 4}, "1/1": {1, 1}} {
		got, err := shard.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "0/4", "5/4", "1/0", "-1/4", "a/b", "1/4/2", "1.5/4", "/4"} {
		if _, err := shard.Parse(in); !errors.Is(err, outcome.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want an invalid-usage error", in, err)
		}
	}
}

func TestWrite(t *testing.T) {
	p, err := shard.Assign([]shard.Cost{{"a", 3}, {"b", 2}, {"c", 1}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{
		shard.FormatGitHub: `{"include":[{"shard":"1/2"},{"shard":"2/2"}]}` + "\n",
		shard.FormatGitLab: "parallel:\n  matrix:\n  - SC_SHARD:\n    - 1/2\n    - 2/2\n",
		shard.FormatJSON: `{
  "shards": [
    {
      "shard": "1/2",
      "services": [
        "a"
      ],
      "bytes": 3
    },
    {
      "shard": "2/2",
      "services": [
        "b",
        "c"
      ],
      "bytes": 3
    }
  ]
}
`,
	} {
		var b bytes.Buffer
		if err := p.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", format, diff)
		}
	}
	if err := p.Write(&bytes.Buffer{}, "yaml"); err == nil {
		t.Error("an unknown format was written")
	}
}

func TestConfigDigest(t *testing.T) {
	rel := func(failOn string) *api.Release {
		r := &api.Release{File: "sc.yaml", Stack: "production", Services: []api.Service{{Name: "api", Image: "r/api:1"}}}
		r.Services[0].Security.Scan = &api.Scan{FailOn: api.Severity(failOn)}
		return r
	}
	a, err := shard.ConfigDigest(rel("high"))
	if err != nil {
		t.Fatal(err)
	}
	moved := rel("high")
	moved.File = "/elsewhere/sc.yaml"
	moved.Warnings = []api.Problem{{Message: "x"}}
	if b, _ := shard.ConfigDigest(moved); b != a {
		t.Errorf("the digest depends on the file's path or the warnings: %s, %s", a, b)
	}
	if b, _ := shard.ConfigDigest(rel("critical")); b == a {
		t.Error("two configurations with different policies have the same digest")
	}
	other := rel("high")
	other.Stack = "staging"
	if b, _ := shard.ConfigDigest(other); b == a {
		t.Error("two stacks have the same digest")
	}
}
