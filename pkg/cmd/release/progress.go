package release

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
)

// progress shows the executor's progress on stderr.
type progress interface {
	pipeline.Observer
	// logs is where log lines go while progress is shown.
	logs() io.Writer
	// wait ends the display once the executor has returned.
	wait()
}

// newProgress returns live bars, one per service, on a terminal outside CI,
// and plain timestamped lines otherwise.
func newProgress(w io.Writer, root *options.Root, services []api.Service) progress {
	ci := root.Getenv != nil && root.Getenv("CI") != ""
	if isTerminal(w) && !ci {
		return newBars(w, services)
	}
	return &lines{w: w, now: time.Now}
}

// lines prints one line per step that ran and one per finished image.
type lines struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

func (l *lines) logs() io.Writer { return l }

// Write lets log lines interleave with progress lines whole.
func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lines) wait() {}

func (l *lines) Observe(e pipeline.Event) {
	var line string
	switch e.Kind {
	case pipeline.EventStepFinished:
		r := e.Result
		if r.Disabled {
			// turned off by the configuration: the summary shows it
			return
		}
		line = fmt.Sprintf("%s %-8s %s", e.Service, r.Status, r.Name)
		if r.Duration > 0 {
			line += fmt.Sprintf(" (%s)", r.Duration.Round(time.Millisecond))
		}
		if r.Cached {
			line += " [cached]"
		}
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		if r.Error != "" {
			line += ": " + report.OneLine(r.Error)
		}
	case pipeline.EventImageFinished:
		line = fmt.Sprintf("%s %-8s done in %s", e.Service, e.Image.Outcome, e.Image.Duration.Round(time.Millisecond))
	default:
		return
	}
	_, _ = fmt.Fprintf(l, "%s %s\n", e.Time.UTC().Format("15:04:05.000"), line)
}

// bars draws a bar per service with mpb: steps done out of all, and the
// steps running now or the outcome.
type bars struct {
	p *mpb.Progress

	mu      sync.Mutex
	bars    map[string]*mpb.Bar
	running map[string][]pipeline.StepName
	final   map[string]string
}

func newBars(w io.Writer, services []api.Service, opts ...mpb.ContainerOption) *bars {
	opts = append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(24), mpb.WithRefreshRate(120 * time.Millisecond)}, opts...)
	b := &bars{
		p:       mpb.New(opts...),
		bars:    map[string]*mpb.Bar{},
		running: map[string][]pipeline.StepName{},
		final:   map[string]string{},
	}
	width := 0
	for _, s := range services {
		width = max(width, len(s.Name))
	}
	total := int64(len(pipeline.Steps()))
	for _, s := range services {
		name := s.Name
		b.bars[name] = b.p.AddBar(total,
			mpb.PrependDecorators(
				decor.Name(name, decor.WC{W: width + 1, C: decor.DindentRight}),
				decor.CountersNoUnit("%d/%d", decor.WC{W: 6}),
			),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return b.status(name) })),
		)
	}
	return b
}

func (b *bars) logs() io.Writer { return b.p }

func (b *bars) status(service string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.final[service]; ok {
		return f
	}
	if r := b.running[service]; len(r) > 0 {
		names := make([]string, len(r))
		for i, n := range r {
			names[i] = string(n)
		}
		return strings.Join(names, ", ")
	}
	return "waiting"
}

func (b *bars) Observe(e pipeline.Event) {
	b.mu.Lock()
	bar := b.bars[e.Service]
	switch e.Kind {
	case pipeline.EventStepStarted:
		b.running[e.Service] = append(b.running[e.Service], e.Step)
	case pipeline.EventStepFinished:
		b.running[e.Service] = slices.DeleteFunc(b.running[e.Service], func(n pipeline.StepName) bool { return n == e.Step })
	case pipeline.EventImageFinished:
		b.final[e.Service] = fmt.Sprintf("%s in %s", e.Image.Outcome, e.Image.Duration.Round(100*time.Millisecond))
	}
	b.mu.Unlock()
	if bar != nil && e.Kind == pipeline.EventStepFinished {
		bar.Increment()
	}
}

func (b *bars) wait() {
	for _, bar := range b.bars {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
}
