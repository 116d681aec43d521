package release

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// events plays the events of an image whose steps all end with status.
func events(o pipeline.Observer, service string, status pipeline.StepStatus) {
	o.Observe(pipeline.Event{Kind: pipeline.EventImageStarted, Service: service, Steps: pipeline.Steps()})
	for _, s := range pipeline.Steps() {
		o.Observe(pipeline.Event{Kind: pipeline.EventStepStarted, Service: service, Step: s})
		o.Observe(pipeline.Event{Kind: pipeline.EventStepFinished, Service: service, Step: s, Time: time.Unix(0, 0),
			Result: &pipeline.StepResult{Name: s, Status: status, Duration: time.Second, Detail: "did " + string(s)}})
	}
	o.Observe(pipeline.Event{Kind: pipeline.EventImageFinished, Service: service, Time: time.Unix(0, 0),
		Image: &pipeline.SecurityResult{Service: service, Outcome: pipeline.OutcomeOK, Duration: 3 * time.Second}})
}

func TestBarsDrawEveryService(t *testing.T) {
	var out bytes.Buffer
	services := []api.Service{{Name: "api"}, {Name: "web"}}
	b := newBars(&out, services, mpb.WithAutoRefresh())
	events(b, "api", pipeline.StatusOK)
	events(b, "web", pipeline.StatusOK)
	if _, err := b.logs().Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	b.wait()
	for _, want := range []string{"api", "web", fmt.Sprintf("%d/%d", len(pipeline.Steps()), len(pipeline.Steps())), "ok in 3s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bars lack %q:\n%s", want, out.String())
		}
	}
}

// Bars of images that never ran (the configuration was rejected) are
// aborted: waiting does not hang.
func TestBarsWaitWithoutEvents(t *testing.T) {
	var out bytes.Buffer
	b := newBars(&out, []api.Service{{Name: "api"}})
	done := make(chan struct{})
	go func() { b.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("wait hung on bars that never completed")
	}
}

func TestLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, &options.Root{Getenv: func(string) string { return "" }}, nil)
	events(p, "api", pipeline.StatusOK)
	p.Observe(pipeline.Event{Kind: pipeline.EventStepFinished, Service: "api", Time: time.Unix(0, 0),
		Result: &pipeline.StepResult{Name: pipeline.StepScan, Status: pipeline.StatusSkipped, Disabled: true, Detail: "scan is disabled"}})
	p.wait()
	got := out.String()
	for _, want := range []string{"00:00:00.000 api ok       resolve (1s): did resolve", "api ok       done in 3s"} {
		if !strings.Contains(got, want) {
			t.Errorf("lines lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "scan is disabled") {
		t.Errorf("a step turned off by the configuration was printed:\n%s", got)
	}
}
