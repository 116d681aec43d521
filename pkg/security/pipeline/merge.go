package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/shard"
)

// Part is the result of one shard of a release, as `sc release create
// --shard I/N -o json` writes it, with the name it goes by in errors (its
// file).
type Part struct {
	// Name names the part in errors: its file.
	Name string
	// Result is the shard's result; Result.Release says which release and
	// shard it is of.
	Result *ReleaseResult
}

// DecodeResult reads a release result from its JSON (WriteJSON of package
// report/release, `sc release create -o json`) and restores what JSON does
// not carry: durations from their milliseconds, and the error of each
// failed step, of the class its service's exit code says, so that Err, and
// the exit code it gives, are those of the run that wrote it.
//
// Errors (outcome.ErrInvalid): data that is not a release result.
func DecodeResult(data []byte) (*ReleaseResult, error) {
	var r ReleaseResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, outcome.Invalidf("not a release result: %w", err)
	}
	if r.Services == nil {
		return nil, outcome.Invalid("not a release result: no services")
	}
	r.Duration = time.Duration(r.DurationMS) * time.Millisecond
	for i, s := range r.Services {
		if s == nil || s.Service == "" {
			return nil, outcome.Invalidf("not a release result: service %d has no name", i+1)
		}
		s.Duration = time.Duration(s.DurationMS) * time.Millisecond
		for j := range s.Steps {
			st := &s.Steps[j]
			st.Duration = time.Duration(st.DurationMS) * time.Millisecond
			st.done = st.Status == StatusOK || st.Status == StatusWarned && st.Error == ""
			if st.Status == StatusFailed {
				st.Err = classed(s.ExitCode, st.Error)
			}
		}
	}
	return &r, nil
}

// classed is an error with msg in the class of an exit code; operational
// for a code that names none.
func classed(code int, msg string) error {
	switch code {
	case outcome.ExitCheckFailed:
		return outcome.CheckFailed(msg)
	case outcome.ExitInvalid:
		return outcome.Invalid(msg)
	}
	return outcome.Operational(msg)
}

// Merge joins the parts of a sharded release into the result one run of
// the whole release would have given: every service once, in the
// release's order, the worst outcome and its exit code, cancelled when a
// part was. Its Release is the release's identity without a shard, as a
// run of the whole release has it; its duration is the longest part's.
//
// The parts must be of one release (the same configuration digest, stack
// and services) and cover it: every shard of 1..N once, every service
// once. A result of the whole release (no shard) is a part of one shard.
//
// Errors (outcome.ErrInvalid), every problem at once, each naming the part,
// the shard or the service: no parts; a part without a release identity;
// parts of different releases; a shard missing or given twice; a service
// in two parts, in none, or not in the release.
func Merge(parts ...Part) (*ReleaseResult, error) {
	if len(parts) == 0 {
		return nil, outcome.Invalid("no parts to merge")
	}
	var errs []error
	var first *Part
	for i := range parts {
		p := &parts[i]
		if p.Result == nil || p.Result.Release == nil {
			errs = append(errs, fmt.Errorf("%s: no release identity: not written by sc release create -o json", p.Name))
			continue
		}
		if first == nil {
			first = p
			continue
		}
		if d := differs(first.Result.Release, p.Result.Release); d != "" {
			errs = append(errs, fmt.Errorf("%s is of another release than %s: %s", p.Name, first.Name, d))
		}
	}
	if first == nil || len(errs) > 0 {
		return nil, outcome.Invalidf("merging: %w", errors.Join(errs...))
	}
	id := first.Result.Release
	total := shardOf(id).Total

	byShard := map[int]string{}
	where := map[string]string{}
	var cancelled bool
	var longest time.Duration
	services := map[string]*SecurityResult{}
	for _, p := range parts {
		sh := shardOf(p.Result.Release)
		if prev, ok := byShard[sh.Index]; ok {
			errs = append(errs, fmt.Errorf("shard %s is given twice: %s and %s", sh, prev, p.Name))
			continue
		}
		byShard[sh.Index] = p.Name
		cancelled = cancelled || p.Result.Cancelled
		longest = max(longest, p.Result.Duration)
		for _, s := range p.Result.Services {
			switch prev, ok := where[s.Service]; {
			case !slices.Contains(id.Services, s.Service):
				errs = append(errs, fmt.Errorf("%s: service %s is not in the release", p.Name, s.Service))
			case ok:
				errs = append(errs, fmt.Errorf("service %s is in two parts: %s and %s", s.Service, prev, p.Name))
			default:
				where[s.Service] = p.Name
				services[s.Service] = s
			}
		}
	}
	var missingShards []string
	for i := 1; i <= total; i++ {
		if _, ok := byShard[i]; !ok {
			missingShards = append(missingShards, shard.Shard{Index: i, Total: total}.String())
		}
	}
	if len(missingShards) > 0 {
		errs = append(errs, fmt.Errorf("missing shard(s) %s: every shard of %d must be given", strings.Join(missingShards, ", "), total))
	}
	var missing []string
	for _, name := range id.Services {
		if _, ok := services[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 && len(missingShards) == 0 {
		errs = append(errs, fmt.Errorf("service(s) %s in no part: the shards were not planned from the same images; plan and run them again", strings.Join(missing, ", ")))
	}
	if len(errs) > 0 {
		return nil, outcome.Invalidf("merging: %w", errors.Join(errs...))
	}

	whole := *id
	whole.Shard = nil
	res := &ReleaseResult{Release: &whole, Services: make([]*SecurityResult, len(id.Services)), Cancelled: cancelled, Duration: longest}
	for i, name := range id.Services {
		res.Services[i] = services[name]
	}
	res.finish()
	return res, nil
}

// shardOf is the shard of an identity: 1/1 for the whole release.
func shardOf(id *shard.Identity) shard.Shard {
	if id.Shard == nil {
		return shard.Shard{Index: 1, Total: 1}
	}
	return *id.Shard
}

// differs says how b is of another release than a; "" when it is not.
func differs(a, b *shard.Identity) string {
	switch {
	case a.ConfigDigest != b.ConfigDigest:
		return fmt.Sprintf("configuration %s, not %s", b.ConfigDigest, a.ConfigDigest)
	case a.Stack != b.Stack:
		return fmt.Sprintf("stack %q, not %q", b.Stack, a.Stack)
	case !slices.Equal(a.Services, b.Services):
		return fmt.Sprintf("services %s, not %s", strings.Join(b.Services, ", "), strings.Join(a.Services, ", "))
	case shardOf(a).Total != shardOf(b).Total:
		return fmt.Sprintf("split into %d shards, not %d", shardOf(b).Total, shardOf(a).Total)
	}
	return ""
}
