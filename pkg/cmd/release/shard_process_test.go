package release_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// processServices is how many services the release of
// TestShardedProcesses holds: the 60. The whole test (building sc,
// pushing to two registries, one run, four shards, the merge, then the
// killed shard of an 8-service release) took 110 to 130 s on the shared
// 2-core development machine; lower this first if CI needs it faster.
const processServices = 60

// processShards is how many sc processes run the sharded release at once.
const processShards = 4

// buildSC builds the sc binary once for the test and returns its path.
func buildSC(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build sc")
	}
	bin := filepath.Join(t.TempDir(), "sc")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/sc-project/sc/cmd/sc")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// scProcess is sc run as a process, as a CI job runs it: only the
// environment given, a cache directory of its own.
type scProcess struct {
	bin string
	env map[string]string
}

// command returns the sc command for args, stdout and stderr captured.
func (p scProcess) command(ctx context.Context, stdout, stderr *bytes.Buffer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + p.env[options.EnvCacheDir]}
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd
}

// run runs sc with args and returns stdout, stderr and the exit code.
func (p scProcess) run(ctx context.Context, t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := p.command(ctx, &stdout, &stderr, args...).Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("sc %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// fresh is the process with a new, empty cache directory holding only
// the vulnerability database db.
func (p scProcess) fresh(ctx context.Context, t *testing.T, db string) scProcess {
	t.Helper()
	env := map[string]string{}
	for k, v := range p.env {
		env[k] = v
	}
	env[options.EnvCacheDir] = t.TempDir()
	q := scProcess{bin: p.bin, env: env}
	if _, stderr, code := q.run(ctx, t, "scan", "db", "import", db); code != 0 {
		t.Fatalf("importing the database: exit %d\n%s", code, stderr)
	}
	return q
}

// A 60-service release on Debian's docker-registry, run as 4 shards in 4
// concurrent sc processes, each with its own empty cache, and merged: the
// result is one run's, service by service and step by step.
func TestShardedProcesses(t *testing.T) {
	bin := buildSC(t)
	t.Run("merged equals one run", func(t *testing.T) { testShardsEqualOneRun(t, bin) })
	t.Run("a shard killed and re-run", func(t *testing.T) { testShardKilled(t, bin) })
}

func testShardsEqualOneRun(t *testing.T, bin string) {
	ctx := context.Background()
	sb := newSwitchboard(t)
	whole, sharded := testutil.StartDockerRegistry(t), testutil.StartDockerRegistry(t)

	start := time.Now()
	refs := pushFixtures(t, sb, processServices, &sharded.Registry, &whole.Registry)
	env, config, _ := setupRefs(t, "      scan: {softFail: true}", refs...)
	db := tv.DB(t, tv.FixtureAdvisories()...)
	sc := scProcess{bin: bin, env: map[string]string{"TEST_KEY_PASSWORD": env["TEST_KEY_PASSWORD"]}}
	t.Logf("set up in %s", time.Since(start))

	start = time.Now()
	one, stderr, code := sc.fresh(ctx, t, db).run(ctx, t, "release", "create", config, "--db-no-update", "-o", "json")
	if code != 0 {
		t.Fatalf("the whole release: exit %d\n%s", code, stderr)
	}
	t.Logf("one process: %s", time.Since(start))

	sb.switchTo(t, &sharded.Registry)
	start = time.Now()
	parts := make([]string, processShards)
	var g errgroup.Group
	for i := range processShards {
		p := sc.fresh(ctx, t, db)
		g.Go(func() error {
			sh := fmt.Sprintf("%d/%d", i+1, processShards)
			var stdout, stderr bytes.Buffer
			cmd := p.command(ctx, &stdout, &stderr, "release", "create", config, "--db-no-update", "-o", "json", "--shard", sh)
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("shard %s: %v\n%s", sh, err, stderr.String())
			}
			parts[i] = writePart(t, config, i+1, stdout.String())
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d processes: %s", processShards, time.Since(start))

	merged, stderr, code := sc.run(ctx, t, append([]string{"release", "merge", "-o", "json"}, parts...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	want, got := comparable(t, "one run", one), comparable(t, "merged", merged)
	if len(got.Services) != processServices {
		t.Fatalf("merged %d services, want %d", len(got.Services), processServices)
	}
	if diff := cmp.Diff(want, got, resultOptions); diff != "" {
		t.Errorf("merged result differs from one run (-one +merged):\n%s", diff)
	}
}

// A shard's process killed in the middle of its run (a runner lost): its
// part is missing, which merge refuses naming the shard; the job re-run on
// a new runner (an empty cache) completes the release, and every image
// verifies: nothing the killed process left behind is taken for done.
func testShardKilled(t *testing.T, bin string) {
	const services, shards = 8, 4
	ctx := context.Background()
	sb := newSwitchboard(t)
	reg := testutil.StartDockerRegistry(t)
	refs := pushFixtures(t, sb, services, &reg.Registry)
	env, config, _ := setupRefs(t, "      scan: {softFail: true}", refs...)
	db := tv.DB(t, tv.FixtureAdvisories()...)
	sc := scProcess{bin: bin, env: map[string]string{"TEST_KEY_PASSWORD": env["TEST_KEY_PASSWORD"]}}

	var parts []string
	for i := 1; i <= shards; i++ {
		if i == 2 {
			continue // killed below
		}
		out, stderr, code := sc.fresh(ctx, t, db).run(ctx, t, "release", "create", config, "--db-no-update", "-o", "json", "--shard", fmt.Sprintf("%d/%d", i, shards))
		if code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, stderr)
		}
		parts = append(parts, writePart(t, config, i, out))
	}

	// shard 2, killed once its first image is signed
	killed := sc.fresh(ctx, t, db)
	var stdout bytes.Buffer
	stderr := &signalBuffer{want: regexp.MustCompile(` ok +sign \(`), seen: make(chan struct{})}
	cmd := killed.command(ctx, &stdout, nil, "release", "create", config, "--db-no-update", "-o", "json", "--shard", "2/4", "--jobs", "1")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stderr.seen:
	case <-time.After(2 * time.Minute):
		t.Log("shard 2 did not sign within 2 minutes; killing it anyway")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !stderr.signed() {
		t.Fatalf("shard 2 was killed before it signed anything:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("the killed shard wrote a result: %q", stdout.String())
	}
	_, msg, code := sc.run(ctx, t, append([]string{"release", "merge"}, parts...)...)
	if code != 2 || !strings.Contains(msg, "missing shard(s) 2/4") {
		t.Errorf("merge without the killed shard: exit %d, %s; want exit 2 naming shard 2/4", code, msg)
	}

	// the job re-run on a new runner
	out, rerr, code := sc.fresh(ctx, t, db).run(ctx, t, "release", "create", config, "--db-no-update", "-o", "json", "--shard", "2/4")
	if code != 0 {
		t.Fatalf("shard 2 re-run: exit %d\n%s", code, rerr)
	}
	parts = append(parts, writePart(t, config, 2, out))
	merged, merr, code := sc.run(ctx, t, append([]string{"release", "merge", "-o", "json"}, parts...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, merr)
	}
	res := comparable(t, "merged", merged)
	if len(res.Services) != services {
		t.Fatalf("merged %d services, want %d", len(res.Services), services)
	}
	var reused int
	for _, s := range res.Services {
		for _, step := range []pipeline.StepName{pipeline.StepSign, pipeline.StepVerify, pipeline.StepSBOMAttach, pipeline.StepSBOMVerify} {
			if r := s.Step(step); r == nil || r.Status != pipeline.StatusOK {
				t.Errorf("%s %s: %+v, want ok", s.Service, step, r)
			}
		}
		for _, a := range s.Step(pipeline.StepSign).Artifacts {
			if a.Existing {
				reused++
			}
		}
	}
	// what the killed process signed was found, verified and kept
	if reused == 0 {
		t.Error("the re-run signed everything again: it did not find what the killed shard had signed")
	}
}

// writePart writes shard i's result next to the configuration.
func writePart(t *testing.T, config string, i int, out string) string {
	t.Helper()
	file := filepath.Join(filepath.Dir(config), fmt.Sprintf("part-%d.json", i))
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// signalBuffer collects a process's stderr and closes seen at the first
// line want matches.
type signalBuffer struct {
	want *regexp.Regexp
	seen chan struct{}
	mu   sync.Mutex
	b    bytes.Buffer
	done bool
}

func (s *signalBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if !s.done {
		for _, line := range strings.Split(s.b.String(), "\n") {
			if s.want.MatchString(line) {
				s.done = true
				close(s.seen)
				break
			}
		}
	}
	return len(p), nil
}

func (s *signalBuffer) signed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *signalBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
