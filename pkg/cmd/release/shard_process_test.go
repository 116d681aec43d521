package release_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/options"
)

// processServices is how many services the release of
// TestShardedProcesses holds: the 60. The whole test (building sc,
// pushing to two registries, one run, four shards, the merge) takes about
// 110 s on the 2-core development machine, a third of it building sc.
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
	ctx := context.Background()
	sb := newSwitchboard(t)
	whole, sharded := testutil.StartDockerRegistry(t), testutil.StartDockerRegistry(t)
	bin := buildSC(t)

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
			parts[i] = filepath.Join(filepath.Dir(config), fmt.Sprintf("part-%d.json", i+1))
			return os.WriteFile(parts[i], stdout.Bytes(), 0o644)
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
