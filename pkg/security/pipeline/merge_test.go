package pipeline_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/shard"
)

// service is the result of a service whose scan ended with status and,
// when it failed, the exit code.
func service(name string, status pipeline.StepStatus, code int) *pipeline.SecurityResult {
	s := &pipeline.SecurityResult{Service: name, Image: "r/" + name + ":1", Outcome: pipeline.OutcomeOK, ExitCode: code, DurationMS: 1500,
		Steps: []pipeline.StepResult{{Name: pipeline.StepResolve, Status: pipeline.StatusOK}, {Name: pipeline.StepScan, Status: status, DurationMS: 700}}}
	switch status {
	case pipeline.StatusFailed:
		s.Outcome, s.Steps[1].Error = pipeline.OutcomeFailed, "the scan of "+name+" failed"
	case pipeline.StatusWarned:
		s.Outcome = pipeline.OutcomeWarned
	}
	return s
}

var release = []string{"a", "b", "c", "d"}

// part is the JSON of shard i/n holding services, read back as merge reads
// it.
func part(t *testing.T, name, config string, i, n int, services ...*pipeline.SecurityResult) pipeline.Part {
	t.Helper()
	r := &pipeline.ReleaseResult{
		Release:  &shard.Identity{ConfigDigest: config, Stack: "prod", Services: release, Shard: &shard.Shard{Index: i, Total: n}},
		Services: services,
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.DecodeResult(b)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Part{Name: name, Result: res}
}

func TestMerge(t *testing.T) {
	res, err := pipeline.Merge(
		part(t, "p2.json", "sha256:c", 2, 2, service("b", pipeline.StatusWarned, 0), service("d", pipeline.StatusOK, 0)),
		part(t, "p1.json", "sha256:c", 1, 2, service("a", pipeline.StatusFailed, outcome.ExitCheckFailed), service("c", pipeline.StatusOK, 0)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Services {
		names = append(names, s.Service)
	}
	if strings.Join(names, ",") != "a,b,c,d" {
		t.Errorf("services %v, want the release's order", names)
	}
	if res.Outcome != pipeline.OutcomeFailed || res.ExitCode != outcome.ExitCheckFailed || !errors.Is(res.Err(), outcome.ErrCheckFailed) {
		t.Errorf("outcome %s, exit %d, err %v; want failed, 1, a failed check", res.Outcome, res.ExitCode, res.Err())
	}
	if !strings.Contains(res.Err().Error(), "service a (r/a:1): scan: the scan of a failed") {
		t.Errorf("err %q does not say what failed where", res.Err())
	}
	if res.Release.Shard != nil || res.Release.ConfigDigest != "sha256:c" {
		t.Errorf("identity %+v, want the release's without a shard", res.Release)
	}
	if d := res.Services[0].Steps[1].Duration; d.Milliseconds() != 700 {
		t.Errorf("step duration %s, want 700ms from the JSON", d)
	}
}

func TestMergeWorstExitCode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		codes      [2]int
		cancelled  bool
		want       int
		wantStatus pipeline.Outcome
	}{
		{"all ok", [2]int{0, 0}, false, 0, pipeline.OutcomeOK},
		{"a check failed", [2]int{0, outcome.ExitCheckFailed}, false, outcome.ExitCheckFailed, pipeline.OutcomeFailed},
		{"invalid over check", [2]int{outcome.ExitInvalid, outcome.ExitCheckFailed}, false, outcome.ExitInvalid, pipeline.OutcomeFailed},
		{"operational over all", [2]int{outcome.ExitCheckFailed, outcome.ExitOperational}, false, outcome.ExitOperational, pipeline.OutcomeFailed},
		{"a shard cancelled", [2]int{0, 0}, true, outcome.ExitOperational, pipeline.OutcomeOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := func(name string, code int) *pipeline.SecurityResult {
				if code == 0 {
					return service(name, pipeline.StatusOK, 0)
				}
				return service(name, pipeline.StatusFailed, code)
			}
			p1 := part(t, "p1", "sha256:c", 1, 2, svc("a", tc.codes[0]), service("c", pipeline.StatusOK, 0))
			p2 := part(t, "p2", "sha256:c", 2, 2, svc("b", tc.codes[1]), service("d", pipeline.StatusOK, 0))
			p2.Result.Cancelled = tc.cancelled
			res, err := pipeline.Merge(p1, p2)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.want || res.Outcome != tc.wantStatus || res.Cancelled != tc.cancelled {
				t.Errorf("exit %d outcome %s cancelled %v, want %d %s %v", res.ExitCode, res.Outcome, res.Cancelled, tc.want, tc.wantStatus, tc.cancelled)
			}
			if !tc.cancelled && outcome.Code(res.Err()) != tc.want {
				t.Errorf("Err() gives exit %d, want %d", outcome.Code(res.Err()), tc.want)
			}
		})
	}
}

func TestMergeRefuses(t *testing.T) {
	ok := func(name string) *pipeline.SecurityResult { return service(name, pipeline.StatusOK, 0) }
	p1 := func() pipeline.Part { return part(t, "p1.json", "sha256:c", 1, 2, ok("a"), ok("c")) }
	p2 := func() pipeline.Part { return part(t, "p2.json", "sha256:c", 2, 2, ok("b"), ok("d")) }
	for _, tc := range []struct {
		name  string
		parts func() []pipeline.Part
		want  []string
	}{
		{"nothing", func() []pipeline.Part { return nil }, []string{"no parts"}},
		{"no identity", func() []pipeline.Part {
			p := p2()
			p.Result.Release = nil
			return []pipeline.Part{p1(), p}
		}, []string{"p2.json: no release identity"}},
		{"another configuration", func() []pipeline.Part {
			return []pipeline.Part{p1(), part(t, "other.json", "sha256:other", 2, 2, ok("b"), ok("d"))}
		}, []string{"other.json is of another release than p1.json: configuration sha256:other, not sha256:c"}},
		{"another stack", func() []pipeline.Part {
			p := p2()
			p.Result.Release.Stack = "staging"
			return []pipeline.Part{p1(), p}
		}, []string{`p2.json is of another release than p1.json: stack "staging"`}},
		{"other services", func() []pipeline.Part {
			p := p2()
			p.Result.Release.Services = []string{"a", "b", "c"}
			return []pipeline.Part{p1(), p}
		}, []string{"p2.json is of another release than p1.json: services a, b, c"}},
		{"another number of shards", func() []pipeline.Part {
			return []pipeline.Part{p1(), part(t, "p3.json", "sha256:c", 2, 3, ok("b"), ok("d"))}
		}, []string{"p3.json is of another release than p1.json: split into 3 shards, not 2"}},
		{"missing shard", func() []pipeline.Part { return []pipeline.Part{p2()} }, []string{"missing shard(s) 1/2"}},
		{"shard twice", func() []pipeline.Part {
			q := p2()
			q.Name = "again.json"
			return []pipeline.Part{p1(), p2(), q}
		}, []string{"shard 2/2 is given twice: p2.json and again.json"}},
		{"service twice", func() []pipeline.Part {
			return []pipeline.Part{p1(), part(t, "p2.json", "sha256:c", 2, 2, ok("b"), ok("c"), ok("d"))}
		}, []string{"service c is in two parts: p1.json and p2.json"}},
		{"service in none", func() []pipeline.Part {
			return []pipeline.Part{p1(), part(t, "p2.json", "sha256:c", 2, 2, ok("b"))}
		}, []string{"service(s) d in no part"}},
		{"service not in the release", func() []pipeline.Part {
			return []pipeline.Part{p1(), part(t, "p2.json", "sha256:c", 2, 2, ok("b"), ok("d"), ok("zz"))}
		}, []string{"p2.json: service zz is not in the release"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := pipeline.Merge(tc.parts()...)
			if !errors.Is(err, outcome.ErrInvalid) || res != nil {
				t.Fatalf("Merge = %v, %v; want an invalid-usage error and no result", res, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDecodeResultRefuses(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"services": null}`, `{"services": [null]}`, `{"services": [{"image": "x"}]}`, `{"outcome": "ok"}`, `{"services": [], "exitCode": "one"}`} {
		if _, err := pipeline.DecodeResult([]byte(in)); !errors.Is(err, outcome.ErrInvalid) {
			t.Errorf("DecodeResult(%q) = %v, want an invalid-usage error", in, err)
		}
	}
}
