package pulumi_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestUpdate secures a built image in an update and deploys what it
// secured: the runner runs once, the outputs carry its values, and both
// the deployment (which takes the image) and a gated resource (which does
// not) are registered only after the runner ran, depending on the build.
func TestUpdate(t *testing.T) {
	runner := passing()
	m := &mocks{runner: runner}
	sec := &api.Security{Scan: &api.Scan{FailOn: api.SeverityCritical}}
	var c *scpulumi.ImageSecurity
	err := run(m, false, func(ctx *pulumi.Context) error {
		img, err := newBuiltImage(ctx, "api", "registry.example.com/team/api:1.2@"+digestA)
		if err != nil {
			return err
		}
		c, err = scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
			Image:    img.RepoDigest,
			Security: sec,
			Runner:   runner,
		})
		if err != nil {
			return err
		}
		if err := newDeployment(ctx, "api", c.Image); err != nil {
			return err
		}
		return newGated(ctx, "dns", c)
	})
	if err != nil {
		t.Fatalf("RunErr: %v", err)
	}

	const want = "registry.example.com/team/api@" + digestA
	calls := runner.recorded()
	if len(calls) != 1 {
		t.Fatalf("runner called %d times, want once", len(calls))
	}
	if calls[0].image != want {
		t.Errorf("runner got image %q, want %q", calls[0].image, want)
	}
	if diff := cmp.Diff(sec, calls[0].sec); diff != "" {
		t.Errorf("runner got another descriptor (-want +got):\n%s", diff)
	}
	if calls[0].sec == sec {
		t.Error("runner got the caller's descriptor, not a copy")
	}

	got := outputs(t, c)
	wantSummary := golden(t, "summary.json", got["summary"].Value)
	wantOuts := map[string]value{
		"image":                       {true, want},
		"digest":                      {true, digestA},
		"verdict":                     {true, "pass"},
		"signatureDigest":             {true, sigDig},
		"sbomAttestationDigest":       {true, sbomDig},
		"provenanceAttestationDigest": {true, provDig},
		"summary":                     {true, wantSummary},
	}
	if diff := cmp.Diff(wantOuts, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	var sum scpulumi.Summary
	if err := json.Unmarshal([]byte(got["summary"].Value), &sum); err != nil {
		t.Fatalf("summary output is not JSON: %v", err)
	}
	wantSum := *runner.summary
	wantSum.Digest = digestA
	if diff := cmp.Diff(wantSum, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	for _, typ := range []string{deployType, gatedType} {
		rs := m.find(typ)
		if len(rs) != 1 {
			t.Fatalf("%d %s registered, want 1", len(rs), typ)
		}
		r := rs[0]
		if r.runs != 1 {
			t.Errorf("%s registered after %d runs, want after the run", typ, r.runs)
		}
		if !hasDep(r.deps, imageType) {
			t.Errorf("%s does not depend on the build: %v", typ, r.deps)
		}
	}
	if got := m.find(deployType)[0].inputs["image"].StringValue(); got != want {
		t.Errorf("deployment got image %q, want %q", got, want)
	}
	if n := len(m.find(scpulumi.TypeToken)); n != 1 {
		t.Errorf("%d %s registered, want 1", n, scpulumi.TypeToken)
	}
}

// TestOncePerImage secures two images with one runner: it runs once for
// each, and each component's outputs are its own image's.
func TestOncePerImage(t *testing.T) {
	runner := passing()
	m := &mocks{runner: runner}
	var a, b *scpulumi.ImageSecurity
	err := run(m, false, func(ctx *pulumi.Context) error {
		var err error
		a, err = scpulumi.NewImageSecurity(ctx, "a", &scpulumi.ImageSecurityArgs{
			Image: pulumi.String("registry.example.com/a@" + digestA), Security: &api.Security{}, Runner: runner,
		})
		if err != nil {
			return err
		}
		b, err = scpulumi.NewImageSecurity(ctx, "b", &scpulumi.ImageSecurityArgs{
			Image: pulumi.String("registry.example.com/b@" + digestB), Security: &api.Security{}, Runner: runner,
		})
		return err
	})
	if err != nil {
		t.Fatalf("RunErr: %v", err)
	}
	count := map[string]int{}
	for _, c := range runner.recorded() {
		count[c.image]++
	}
	want := map[string]int{"registry.example.com/a@" + digestA: 1, "registry.example.com/b@" + digestB: 1}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("runs per image (-want +got):\n%s", diff)
	}
	if got := await(t, a.Digest); got != (value{true, digestA}) {
		t.Errorf("a.Digest = %+v, want %s", got, digestA)
	}
	if got := await(t, b.Digest); got != (value{true, digestB}) {
		t.Errorf("b.Digest = %+v, want %s", got, digestB)
	}
}

// ctxKey marks the context a program runs with.
type ctxKey struct{}

// TestRunnerContext runs the program with a context of its own: the
// runner gets that context.
func TestRunnerContext(t *testing.T) {
	runner := passing()
	m := &mocks{runner: runner}
	goctx := context.WithValue(context.Background(), ctxKey{}, "program")
	pctx, err := pulumi.NewContext(goctx, pulumi.RunInfo{Project: "proj", Stack: "dev", Mocks: m})
	if err != nil {
		t.Fatal(err)
	}
	defer pctx.Close()
	err = pulumi.RunWithContext(pctx, func(ctx *pulumi.Context) error {
		_, err := scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
			Image: pulumi.String("registry.example.com/api@" + digestA), Security: &api.Security{}, Runner: runner,
		})
		return err
	})
	if err != nil {
		t.Fatalf("RunWithContext: %v", err)
	}
	calls := runner.recorded()
	if len(calls) != 1 {
		t.Fatalf("runner called %d times, want once", len(calls))
	}
	if got := calls[0].ctx.Value(ctxKey{}); got != "program" {
		t.Errorf("runner's context carries %v, want the program's context", got)
	}
}

// TestPreview: during a preview the runner never runs, whether the digest
// is unknown (a build that has not run) or known (a build that did not
// change); every output is unknown and the deployment gets no image. A
// known reference without a digest already fails the preview.
func TestPreview(t *testing.T) {
	tests := []struct {
		name       string
		ref        string
		unknownRef bool
		wantErr    error
	}{
		{name: "digest unknown", ref: "registry.example.com/api@" + digestA, unknownRef: true},
		{name: "digest known", ref: "registry.example.com/api@" + digestA},
		{name: "tag only", ref: "registry.example.com/api:1.2", wantErr: scpulumi.ErrNoDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := passing()
			m := &mocks{runner: runner, unknownRef: tt.unknownRef}
			var c *scpulumi.ImageSecurity
			err := run(m, true, func(ctx *pulumi.Context) error {
				img, err := newBuiltImage(ctx, "api", tt.ref)
				if err != nil {
					return err
				}
				c, err = scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
					Image: img.RepoDigest, Security: &api.Security{}, Runner: runner,
				})
				if err != nil {
					return err
				}
				if err := newDeployment(ctx, "api", c.Digest); err != nil {
					return err
				}
				return newGated(ctx, "dns", c)
			})
			if n := len(runner.recorded()); n != 0 {
				t.Errorf("runner called %d times in a preview", n)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("RunErr = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RunErr: %v", err)
			}
			for k, v := range outputs(t, c) {
				if v.Known {
					t.Errorf("output %s is known in a preview: %q", k, v.Value)
				}
			}
			deps := m.find(deployType)
			if len(deps) != 1 {
				t.Fatalf("%d deployments registered, want 1", len(deps))
			}
			if img, ok := deps[0].inputs["image"]; ok && img.IsString() {
				t.Errorf("deployment got image %q in a preview", img.StringValue())
			}
			if n := len(m.find(gatedType)); n != 1 {
				t.Errorf("%d gated resources registered in a preview, want 1", n)
			}
		})
	}
}

// TestFailure: an image that fails its checks, or that cannot be checked,
// fails the deployment with the error in its class, and nothing that
// depends on it is deployed.
func TestFailure(t *testing.T) {
	policy := outcome.CheckFailedf("scan: 2 findings at or above high: %w", errors.New("CVE-2024-0001, CVE-2024-0002"))
	unreachable := outcome.Operational("registry unreachable")
	tests := []struct {
		name     string
		ref      string
		runner   *fakeRunner
		wantErr  error // nil: only the code is checked
		wantCode int
		wantRuns int
	}{
		{name: "policy fails", runner: &fakeRunner{
			summary: &scpulumi.Summary{Verdict: scpulumi.VerdictFail},
			err:     policy,
		}, wantErr: policy, wantCode: outcome.ExitCheckFailed, wantRuns: 1},
		{name: "policy fails without summary", runner: &fakeRunner{err: policy},
			wantErr: policy, wantCode: outcome.ExitCheckFailed, wantRuns: 1},
		{name: "verdict fail without error", runner: &fakeRunner{summary: &scpulumi.Summary{Verdict: scpulumi.VerdictFail}},
			wantErr: scpulumi.ErrVerdictFail, wantCode: outcome.ExitCheckFailed, wantRuns: 1},
		{name: "runner cannot run", runner: &fakeRunner{err: unreachable},
			wantErr: unreachable, wantCode: outcome.ExitOperational, wantRuns: 1},
		{name: "no summary", runner: &fakeRunner{}, wantCode: outcome.ExitOperational, wantRuns: 1},
		{name: "unknown verdict", runner: &fakeRunner{summary: &scpulumi.Summary{Verdict: "ok"}},
			wantCode: outcome.ExitOperational, wantRuns: 1},
		{name: "runner secured another digest", runner: &fakeRunner{summary: &scpulumi.Summary{Digest: digestB, Verdict: scpulumi.VerdictPass}},
			wantCode: outcome.ExitOperational, wantRuns: 1},
		{name: "tag only", ref: "registry.example.com/api:1.2", runner: passing(),
			wantErr: scpulumi.ErrNoDigest, wantCode: outcome.ExitInvalid},
		{name: "sha512 digest", ref: "registry.example.com/api@sha512:" + strings.Repeat("c", 128), runner: passing(),
			wantErr: scpulumi.ErrNoDigest, wantCode: outcome.ExitInvalid},
		{name: "malformed digest", ref: "registry.example.com/api@sha256:abc", runner: passing(),
			wantCode: outcome.ExitInvalid},
		{name: "malformed repository", ref: "Registry.example.com/API@" + digestA, runner: passing(),
			wantCode: outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.ref
			if ref == "" {
				ref = "registry.example.com/api@" + digestA
			}
			m := &mocks{runner: tt.runner}
			err := run(m, false, func(ctx *pulumi.Context) error {
				img, err := newBuiltImage(ctx, "api", ref)
				if err != nil {
					return err
				}
				c, err := scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
					Image: img.RepoDigest, Security: &api.Security{}, Runner: tt.runner,
				})
				if err != nil {
					return err
				}
				if err := newDeployment(ctx, "api", c.Image); err != nil {
					return err
				}
				return newGated(ctx, "dns", c)
			})
			if err == nil {
				t.Fatal("RunErr succeeded, want the deployment to fail")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("RunErr = %v, want %v", err, tt.wantErr)
			}
			if got := outcome.Code(err); got != tt.wantCode {
				t.Errorf("outcome.Code(%v) = %d, want %d", err, got, tt.wantCode)
			}
			if n := len(tt.runner.recorded()); n != tt.wantRuns {
				t.Errorf("runner called %d times, want %d", n, tt.wantRuns)
			}
			for _, typ := range []string{deployType, gatedType} {
				if n := len(m.find(typ)); n != 0 {
					t.Errorf("%s registered despite the failure", typ)
				}
			}
		})
	}
}

// TestInvalidArgs: missing or invalid arguments are reported by
// NewImageSecurity, in the invalid class, before anything is registered
// or run.
func TestInvalidArgs(t *testing.T) {
	image := pulumi.String("registry.example.com/api@" + digestA)
	tests := []struct {
		name string
		args func(r scpulumi.Runner) *scpulumi.ImageSecurityArgs
	}{
		{"nil args", func(scpulumi.Runner) *scpulumi.ImageSecurityArgs { return nil }},
		{"nil runner", func(scpulumi.Runner) *scpulumi.ImageSecurityArgs {
			return &scpulumi.ImageSecurityArgs{Image: image, Security: &api.Security{}}
		}},
		{"nil image", func(r scpulumi.Runner) *scpulumi.ImageSecurityArgs {
			return &scpulumi.ImageSecurityArgs{Security: &api.Security{}, Runner: r}
		}},
		{"nil descriptor", func(r scpulumi.Runner) *scpulumi.ImageSecurityArgs {
			return &scpulumi.ImageSecurityArgs{Image: image, Runner: r}
		}},
		{"invalid descriptor", func(r scpulumi.Runner) *scpulumi.ImageSecurityArgs {
			return &scpulumi.ImageSecurityArgs{Image: image, Runner: r, Security: &api.Security{Scan: &api.Scan{FailOn: "severe"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := passing()
			m := &mocks{runner: runner}
			var newErr error
			err := run(m, false, func(ctx *pulumi.Context) error {
				c, err := scpulumi.NewImageSecurity(ctx, "api", tt.args(runner))
				if c != nil {
					t.Error("NewImageSecurity returned a component with its error")
				}
				newErr = err
				return err
			})
			if newErr == nil {
				t.Fatal("NewImageSecurity succeeded")
			}
			if got := outcome.Code(newErr); got != outcome.ExitInvalid {
				t.Errorf("outcome.Code(%v) = %d, want %d", newErr, got, outcome.ExitInvalid)
			}
			if !errors.Is(err, outcome.ErrInvalid) {
				t.Errorf("RunErr = %v, want the construction error", err)
			}
			if n := len(m.find(scpulumi.TypeToken)); n != 0 {
				t.Errorf("%d components registered", n)
			}
			if n := len(runner.recorded()); n != 0 {
				t.Errorf("runner called %d times", n)
			}
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update, and
// returns the file's content.
func golden(t *testing.T, name, got string) string {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	return string(b[:len(b)-1])
}
