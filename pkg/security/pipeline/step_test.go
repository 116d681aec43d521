package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
)

var (
	errCheck   = outcome.CheckFailed("check said no")
	errCannot  = outcome.Operational("could not run")
	errInvalid = outcome.Invalid("bad configuration")
)

func ok(context.Context, *StepResult) error { return nil }

func fail(err error) func(context.Context, *StepResult) error {
	return func(context.Context, *StepResult) error { return err }
}

func warn(_ context.Context, r *StepResult) error {
	r.Warnings = append(r.Warnings, "something to know")
	return nil
}

func TestRunGraphStatuses(t *testing.T) {
	tests := []struct {
		name  string
		steps []*step
		want  map[StepName]StepStatus
		// wantClass is the outcome class of a step's error, by step.
		wantClass map[StepName]int
	}{
		{
			name: "all ok",
			steps: []*step{
				{name: "a", run: ok},
				{name: "b", needs: []StepName{"a"}, run: ok},
			},
			want: map[StepName]StepStatus{"a": StatusOK, "b": StatusOK},
		},
		{
			name: "warnings make a warned step that completed",
			steps: []*step{
				{name: "a", run: warn},
				{name: "b", needs: []StepName{"a"}, run: ok},
			},
			want: map[StepName]StepStatus{"a": StatusWarned, "b": StatusOK},
		},
		{
			name: "an optional step that cannot run warns (fail-open)",
			steps: []*step{
				{name: "a", run: fail(errCannot)},
			},
			want:      map[StepName]StepStatus{"a": StatusWarned},
			wantClass: map[StepName]int{"a": outcome.ExitOperational},
		},
		{
			name: "a required step that cannot run fails (fail-closed)",
			steps: []*step{
				{name: "a", required: true, run: fail(errCannot)},
			},
			want:      map[StepName]StepStatus{"a": StatusFailed},
			wantClass: map[StepName]int{"a": outcome.ExitOperational},
		},
		{
			name: "a failed check always fails, required or not",
			steps: []*step{
				{name: "a", run: fail(errCheck)},
			},
			want:      map[StepName]StepStatus{"a": StatusFailed},
			wantClass: map[StepName]int{"a": outcome.ExitCheckFailed},
		},
		{
			name: "a failure skips the steps that need it, transitively, even required ones",
			steps: []*step{
				{name: "a", run: fail(errCheck)},
				{name: "b", required: true, needs: []StepName{"a"}, run: ok},
				{name: "c", required: true, needs: []StepName{"b"}, run: ok},
				{name: "d", run: ok},
			},
			want:      map[StepName]StepStatus{"a": StatusFailed, "b": StatusSkipped, "c": StatusSkipped, "d": StatusOK},
			wantClass: map[StepName]int{"a": outcome.ExitCheckFailed},
		},
		{
			name: "an optional step that could not run skips optional dependents and fails required ones with its class",
			steps: []*step{
				{name: "a", run: fail(errInvalid)},
				{name: "b", needs: []StepName{"a"}, run: ok},
				{name: "c", required: true, needs: []StepName{"a"}, run: ok},
				{name: "d", required: true, needs: []StepName{"b"}, run: ok},
			},
			want:      map[StepName]StepStatus{"a": StatusWarned, "b": StatusSkipped, "c": StatusFailed, "d": StatusFailed},
			wantClass: map[StepName]int{"a": outcome.ExitInvalid, "c": outcome.ExitInvalid, "d": outcome.ExitOperational},
		},
		{
			name: "a gate blocks only on failure",
			steps: []*step{
				{name: "scan", run: fail(errCannot)},
				{name: "sign", gates: []StepName{"scan"}, run: ok},
				{name: "scan2", run: fail(errCheck)},
				{name: "sign2", gates: []StepName{"scan2"}, run: ok},
			},
			want:      map[StepName]StepStatus{"scan": StatusWarned, "sign": StatusOK, "scan2": StatusFailed, "sign2": StatusSkipped},
			wantClass: map[StepName]int{"scan": outcome.ExitOperational, "scan2": outcome.ExitCheckFailed},
		},
		{
			name: "a required answer that could not be had refuses the step, unless soft; one stopped by a failure only skips it",
			steps: []*step{
				{name: "resolve", run: ok},
				{name: "scan", needs: []StepName{"resolve"}, run: fail(errCannot)},
				{name: "sign", needs: []StepName{"resolve"}, requires: []StepName{"scan"}, run: ok},
				{name: "sign-soft", needs: []StepName{"resolve"}, requires: []StepName{"scan"}, requiresSoft: true, run: ok},
				{name: "resolve2", required: true, run: fail(errInvalid)},
				{name: "scan2", needs: []StepName{"resolve2"}, run: ok},
				{name: "sign2", needs: []StepName{"resolve2"}, requires: []StepName{"scan2"}, run: ok},
			},
			want: map[StepName]StepStatus{
				"resolve": StatusOK, "scan": StatusWarned, "sign": StatusFailed, "sign-soft": StatusWarned,
				"resolve2": StatusFailed, "scan2": StatusSkipped, "sign2": StatusSkipped,
			},
			wantClass: map[StepName]int{"scan": outcome.ExitOperational, "sign": outcome.ExitOperational, "resolve2": outcome.ExitInvalid},
		},
		{
			name: "a disabled step is skipped and never fails its dependents",
			steps: []*step{
				{name: "a", required: true, skip: "disabled", run: fail(errCheck)},
				{name: "b", needs: []StepName{"a"}, run: ok},
			},
			want: map[StepName]StepStatus{"a": StatusSkipped, "b": StatusSkipped},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runGraph(context.Background(), tt.steps, time.Now, func(StepName, *StepResult) {})
			got := map[StepName]StepStatus{}
			gotClass := map[StepName]int{}
			for i, r := range res {
				if r.Name != tt.steps[i].name {
					t.Errorf("result %d is %s, want %s: results must keep the steps' order", i, r.Name, tt.steps[i].name)
				}
				got[r.Name] = r.Status
				if r.Err != nil {
					gotClass[r.Name] = outcome.Code(r.Err)
				}
				if r.Status == StatusFailed && (r.Err == nil || r.Error == "") {
					t.Errorf("%s: failed without an error", r.Name)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			wantClass := tt.wantClass
			if wantClass == nil {
				wantClass = map[StepName]int{}
			}
			if diff := cmp.Diff(wantClass, gotClass); diff != "" {
				t.Errorf("error classes (-want +got):\n%s", diff)
			}
		})
	}
}

// Independent steps run at once: each of a and b waits until the other has
// started, which only ends if they run concurrently. A dependent starts
// only after both ended.
func TestRunGraphConcurrency(t *testing.T) {
	ctx := t.Context()
	var started sync.WaitGroup
	started.Add(2)
	var mu sync.Mutex
	var order []StepName
	record := func(n StepName) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, n)
	}
	meet := func(n StepName) func(context.Context, *StepResult) error {
		return func(ctx context.Context, _ *StepResult) error {
			started.Done()
			done := make(chan struct{})
			go func() { started.Wait(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				return ctx.Err()
			}
			record(n)
			return nil
		}
	}
	steps := []*step{
		{name: "a", run: meet("a")},
		{name: "b", run: meet("b")},
		{name: "c", needs: []StepName{"a", "b"}, run: func(context.Context, *StepResult) error { record("c"); return nil }},
	}
	res := runGraph(ctx, steps, time.Now, func(StepName, *StepResult) {})
	for _, r := range res {
		if r.Status != StatusOK {
			t.Errorf("%s: %s %v", r.Name, r.Status, r.Err)
		}
	}
	if len(order) != 3 || order[2] != "c" {
		t.Errorf("order %v, want c last", order)
	}
}

// Cancelling the context fails the running step and skips those that have
// not started.
func TestRunGraphCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := []*step{
		{name: "a", run: func(ctx context.Context, _ *StepResult) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}},
		{name: "b", required: true, needs: []StepName{"a"}, run: ok},
		{name: "c", gates: []StepName{"a"}, run: ok},
	}
	res := runGraph(ctx, steps, time.Now, func(StepName, *StepResult) {})
	got := map[StepName]StepStatus{}
	for _, r := range res {
		got[r.Name] = r.Status
	}
	want := map[StepName]StepStatus{"a": StatusFailed, "b": StatusSkipped, "c": StatusSkipped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if !errors.Is(res[0].Err, context.Canceled) {
		t.Errorf("a: %v, want context.Canceled", res[0].Err)
	}
}
