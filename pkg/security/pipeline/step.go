package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
)

// step is a node of an image's graph.
type step struct {
	name StepName
	// required: could the step not run, it fails (fail-closed) instead of
	// warning (fail-open).
	required bool
	// needs are steps whose output this one uses: it runs only when each
	// completed.
	needs []StepName
	// gates are steps that must not have failed: it waits for them and runs
	// unless one failed (the scan gate before signing).
	gates []StepName
	// requires are steps whose answer this one must not go without (the
	// scan before signing when the policy can fail): it waits for them,
	// and when one did not complete for any reason it fails, or with
	// requiresSoft runs and carries a warning saying so.
	requires     []StepName
	requiresSoft bool
	// skip, when not empty, is why the step does not run at all (disabled,
	// or nothing to do in this configuration).
	skip string
	// run does the work. It may add warnings, artifacts and a detail to r;
	// the status is decided from its error.
	run func(ctx context.Context, r *StepResult) error
}

// runGraph runs steps, which are in an order where every step comes after
// the steps it waits for, each as soon as what it waits for has ended, and
// returns their results in the same order. A step's failure never cancels
// another step; only ctx does. notify is called when a step starts (with a
// nil result) and when it ends.
func runGraph(ctx context.Context, steps []*step, now func() time.Time, notify func(StepName, *StepResult)) []StepResult {
	results := make([]StepResult, len(steps))
	index := make(map[StepName]int, len(steps))
	done := make([]chan struct{}, len(steps))
	for i, s := range steps {
		index[s.name] = i
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() {
			defer close(done[i])
			for _, d := range append(append(append([]StepName(nil), s.needs...), s.gates...), s.requires...) {
				j, ok := index[d]
				if !ok || j >= i {
					panic(fmt.Sprintf("security: step %s waits for %s, which does not come before it", s.name, d))
				}
				<-done[j]
			}
			r := &results[i]
			*r = StepResult{Name: s.name, Required: s.required}
			if decideSkip(ctx, s, results, index, r) {
				notify(s.name, r)
				return
			}
			notify(s.name, nil)
			start := now()
			err := s.run(ctx, r)
			r.Duration = now().Sub(start)
			r.DurationMS = r.Duration.Milliseconds()
			settle(ctx, s, r, err)
			notify(s.name, r)
		})
	}
	wg.Wait()
	return results
}

// decideSkip fills r and reports true when s must not run: it is disabled,
// the run is cancelled, something it needs did not complete or a gate
// failed. A required step whose input could not be made (an optional step
// before it could not run) fails instead: fail-closed holds along the
// chain.
func decideSkip(ctx context.Context, s *step, results []StepResult, index map[StepName]int, r *StepResult) bool {
	if s.skip != "" {
		r.Status, r.Detail, r.Disabled = StatusSkipped, s.skip, true
		return true
	}
	if ctx.Err() != nil {
		r.Status, r.Detail, r.blocked = StatusSkipped, "cancelled before it started", true
		return true
	}
	for _, g := range s.gates {
		if dep := &results[index[g]]; dep.Status == StatusFailed {
			r.Status, r.Detail, r.blocked = StatusSkipped, fmt.Sprintf("%s failed", g), true
			return true
		}
	}
	for _, n := range s.requires {
		dep := &results[index[n]]
		if dep.done {
			continue
		}
		why := dep.Detail
		if dep.Error != "" {
			why = dep.Error
		}
		if s.requiresSoft {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s did not complete (%s); going on without it because the policy is soft-fail", n, why))
			continue
		}
		if dep.Status == StatusFailed || dep.blocked {
			// its own failure, or the failure that stopped it, is the
			// verdict: nothing to add
			r.Status, r.Detail, r.blocked = StatusSkipped, fmt.Sprintf("%s failed", n), true
			return true
		}
		cause := dep.Err
		if cause == nil {
			cause = dep.cause
		}
		if cause == nil {
			cause = outcome.Operational(why)
		}
		r.Status, r.Detail, r.blocked = StatusFailed, fmt.Sprintf("refused: %s did not complete (%s)", n, why), true
		r.Err = fmt.Errorf("%s refused because %s did not complete: %w", s.name, n, cause)
		r.Error = r.Err.Error()
		return true
	}
	for _, n := range s.needs {
		dep := &results[index[n]]
		if dep.done {
			continue
		}
		if r.cause = dep.Err; r.cause == nil {
			r.cause = dep.cause
		}
		switch {
		case dep.Status == StatusFailed || dep.blocked:
			r.Status, r.Detail, r.blocked = StatusSkipped, fmt.Sprintf("needs %s, which did not complete", n), true
		case s.required:
			cause := dep.Err
			if cause == nil {
				cause = outcome.Operational(dep.Detail)
			}
			r.Status, r.Detail = StatusFailed, fmt.Sprintf("required, but %s did not complete", n)
			r.Err = fmt.Errorf("cannot run: %s did not complete: %w", n, cause)
			r.Error = r.Err.Error()
		default:
			r.Status, r.Detail = StatusSkipped, fmt.Sprintf("needs %s, which did not complete", n)
		}
		return true
	}
	return false
}

// nothingToDo is the error of a step that ran and found it has nothing to
// do (no VEX statement suppressed a finding): the step is skipped, as if
// turned off, with the reason, and the steps that need it run and see
// there is nothing for them either.
type nothingToDo string

func (n nothingToDo) Error() string { return string(n) }

// settle decides the status of a step that ran from its error: a check
// that failed always fails; a step that could not run fails when required
// and warns otherwise; cancellation fails; nothingToDo skips.
func settle(ctx context.Context, s *step, r *StepResult, err error) {
	var nothing nothingToDo
	if errors.As(err, &nothing) {
		r.done = true
		r.Status, r.Detail, r.Disabled = StatusSkipped, string(nothing), true
		return
	}
	if err == nil {
		r.done = true
		r.Status = StatusOK
		if len(r.Warnings) > 0 {
			r.Status = StatusWarned
		}
		return
	}
	r.Err, r.Error = err, err.Error()
	switch {
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ctx.Err())):
		r.Status, r.blocked = StatusFailed, true
		if r.Detail == "" {
			r.Detail = "cancelled"
		}
	case errors.Is(err, outcome.ErrCheckFailed) && !errors.Is(err, outcome.ErrOperational):
		r.Status = StatusFailed
	case s.required:
		r.Status = StatusFailed
	default:
		r.Status = StatusWarned
		if r.Detail == "" {
			r.Detail = "could not run; optional, so the release goes on"
		}
	}
}
