package release_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/regcount"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/shard"
)

// switchboard is a registry host whose requests go to one registry, then,
// after switchTo, to another: a release run on each gets the same
// references and the same configuration, each on an empty registry.
type switchboard struct {
	testutil.Registry
	to atomic.Pointer[httputil.ReverseProxy]
}

func newSwitchboard(t *testing.T) *switchboard {
	t.Helper()
	sb := &switchboard{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sb.to.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sb.Host, sb.URL = strings.TrimPrefix(srv.URL, "http://"), srv.URL
	return sb
}

// switchTo sends every later request to reg.
func (sb *switchboard) switchTo(t *testing.T, reg *testutil.Registry) {
	t.Helper()
	u, err := url.Parse(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	sb.to.Store(httputil.NewSingleHostReverseProxy(u))
}

// comparable decodes a release result and sets aside what differs between
// two runs of the same release however they are run: durations, when the
// findings were matched, and the digests of what was written —
// signatures and attestations (ECDSA signatures are randomised, provenance
// records times) and SBOMs (CycloneDX has a serial number and a time) —
// with their locations, wherever a detail names them.
func comparable(t *testing.T, name, out string) *pipeline.ReleaseResult {
	t.Helper()
	res, err := pipeline.DecodeResult([]byte(out))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	var written []string
	aside := func(a *pipeline.Artifact) {
		if a.Kind != "sbom-file" {
			written = append(written, a.Digest)
			a.Digest, a.Location = "", ""
		}
	}
	res.Duration, res.DurationMS = 0, 0
	for _, s := range res.Services {
		s.Duration, s.DurationMS = 0, 0
		if s.SBOM != nil {
			written = append(written, s.SBOM.Digest)
			s.SBOM.Digest = ""
		}
		for i := range s.Platforms {
			if p := &s.Platforms[i]; p.SBOM != nil {
				written = append(written, p.SBOM.Digest)
				p.SBOM.Digest = ""
			}
			for j := range s.Platforms[i].Artifacts {
				aside(&s.Platforms[i].Artifacts[j])
			}
		}
		for _, sc := range s.ScanResults() {
			sc.ScannedAt = time.Time{}
			for i := range sc.Scanners {
				sc.Scanners[i].ScannedAt = time.Time{}
			}
		}
		for i := range s.Steps {
			st := &s.Steps[i]
			st.Duration, st.DurationMS = 0, 0
			for j := range st.Artifacts {
				aside(&st.Artifacts[j])
			}
		}
	}
	var pairs []string
	for _, d := range written {
		if d != "" {
			pairs = append(pairs, d, "sha256:WRITTEN", digest.Short(d), "sha256:WRITTEN")
		}
	}
	r := strings.NewReplacer(pairs...)
	for _, s := range res.Services {
		for i := range s.Steps {
			st := &s.Steps[i]
			st.Detail, st.Error = r.Replace(st.Detail), r.Replace(st.Error)
			for j := range st.Warnings {
				st.Warnings[j] = r.Replace(st.Warnings[j])
			}
		}
	}
	return res
}

// freshCache returns env with a new, empty cache directory holding only
// the vulnerability database db: a CI job's cache on a new runner.
func freshCache(t *testing.T, env map[string]string, db string) map[string]string {
	t.Helper()
	out := maps.Clone(env)
	out[options.EnvCacheDir] = t.TempDir()
	if _, _, err := run(context.Background(), t, out, "scan", "db", "import", db); err != nil {
		t.Fatalf("importing the database: %v", err)
	}
	return out
}

// resultOptions compare results by their exported fields (a failed step's
// Err by its message).
var resultOptions = cmp.Options{
	cmp.AllowUnexported(pipeline.StepResult{}),
	cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) }),
}

// A release run as 3 shards and merged is the release run at once:
// service by service, step by step, with its exit code and reports.
func TestShardedReleaseEqualsOneRun(t *testing.T) {
	ctx := context.Background()
	sb := newSwitchboard(t)
	whole, sharded := testutil.NewRegistry(t, testutil.WithReferrers()), testutil.NewRegistry(t, testutil.WithReferrers())
	env, config, _ := setupRefs(t, "", pushFixtures(t, sb, 7, sharded, whole)...)
	db := tv.DB(t, tv.FixtureAdvisories()...)
	dir := t.TempDir()

	// the whole release at once, on its registry
	oneSARIF := filepath.Join(dir, "one.sarif")
	one, _, oneErr := run(ctx, t, freshCache(t, env, db), "release", "create", config, "--db-no-update", "-o", "json", "--sarif", oneSARIF)
	if outcome.Code(oneErr) != outcome.ExitCheckFailed {
		t.Fatalf("release create = %v (exit %d), want the policy violation of the fixtures, exit 1", oneErr, outcome.Code(oneErr))
	}

	// the same release in 3 shards, on the other
	sb.switchTo(t, sharded)
	matrix, _, err := run(ctx, t, env, "release", "plan", config, "--shards", "3")
	if err != nil {
		t.Fatalf("release plan: %v", err)
	}
	var m struct {
		Include []struct {
			Shard string `json:"shard"`
		} `json:"include"`
	}
	if err := json.Unmarshal([]byte(matrix), &m); err != nil || len(m.Include) != 3 {
		t.Fatalf("matrix %q: %v; want 3 shards", matrix, err)
	}
	var parts []string
	seen := map[string]string{}
	for _, inc := range m.Include {
		out, stderr, err := run(ctx, t, freshCache(t, env, db), "release", "create", config, "--db-no-update", "-o", "json", "--shard", inc.Shard)
		if outcome.Code(err) != outcome.ExitCheckFailed {
			t.Fatalf("shard %s = %v (exit %d), want exit 1\n%s", inc.Shard, err, outcome.Code(err), stderr)
		}
		res := comparable(t, inc.Shard, out)
		if res.Release == nil || res.Release.Shard == nil || res.Release.Shard.String() != inc.Shard || len(res.Release.Services) != 7 {
			t.Fatalf("shard %s: identity %+v", inc.Shard, res.Release)
		}
		if len(res.Services) == 0 {
			t.Errorf("shard %s has no services: 7 services in 3 shards leave none empty", inc.Shard)
		}
		for _, s := range res.Services {
			if prev, ok := seen[s.Service]; ok {
				t.Errorf("service %s in shards %s and %s", s.Service, prev, inc.Shard)
			}
			seen[s.Service] = inc.Shard
		}
		file := filepath.Join(dir, "part-"+strings.ReplaceAll(inc.Shard, "/", "-")+".json")
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, file)
	}

	// merged in another order than the shards': the release's order comes back
	slices.Reverse(parts)
	mergedSARIF := filepath.Join(dir, "merged.sarif")
	summary := filepath.Join(dir, "summary.md")
	env["GITHUB_STEP_SUMMARY"] = summary
	merged, _, mergeErr := run(ctx, t, env, append([]string{"release", "merge", "-o", "json", "--sarif", mergedSARIF}, parts...)...)
	if outcome.Code(mergeErr) != outcome.Code(oneErr) {
		t.Errorf("merge = %v (exit %d), want the exit code of one run, %d", mergeErr, outcome.Code(mergeErr), outcome.Code(oneErr))
	}
	want, got := comparable(t, "one run", one), comparable(t, "merged", merged)
	if got.Release == nil || got.Release.Shard != nil {
		t.Errorf("merged identity %+v, want the release's, without a shard", got.Release)
	}
	if diff := cmp.Diff(want, got, resultOptions); diff != "" {
		t.Errorf("merged result differs from one run (-one +merged):\n%s", diff)
	}
	// the reports: the same SARIF runs, in the same order
	if a, b := sarifRuns(t, oneSARIF), sarifRuns(t, mergedSARIF); !slices.Equal(a, b) || len(a) != 7 {
		t.Errorf("SARIF runs of one run %v, merged %v", a, b)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "## sc release: FAILED") || !strings.Contains(string(md), "7 service(s): 0 ok, 0 warned, 7 failed") {
		t.Errorf("merged job summary (%v):\n%s", err, md)
	}

	// a part of another configuration (another policy) is refused, named
	other := filepath.Join(filepath.Dir(config), "other.yaml") // next to its key
	cfg := strings.Replace(string(must(os.ReadFile(config))), "provenance: {", "scan: {failOn: critical}\n      provenance: {", 1)
	if err := os.WriteFile(other, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	otherPart, stderr, err := run(ctx, t, env, "release", "create", other, "--db-no-update", "-o", "json", "--shard", "1/3")
	if otherPart == "" {
		t.Fatalf("a shard of another configuration: %v\n%s", err, stderr)
	}
	mixed := filepath.Join(dir, "mixed-1-3.json")
	if err := os.WriteFile(mixed, []byte(otherPart), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(ctx, t, env, "release", "merge", mixed, parts[0], parts[1])
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), parts[0]+" is of another release than "+mixed) {
		t.Errorf("merge of mixed configurations = %v (exit %d), want exit 2 naming the part", err, outcome.Code(err))
	}
	// a shard missing, a shard twice
	_, _, err = run(ctx, t, env, "release", "merge", parts[0], parts[2])
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "missing shard(s) 2/3") {
		t.Errorf("merge without shard 2/3 = %v (exit %d), want exit 2 naming it", err, outcome.Code(err))
	}
	_, _, err = run(ctx, t, env, "release", "merge", parts[0], parts[1], parts[2], parts[1])
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "shard 2/3 is given twice") {
		t.Errorf("merge with shard 2/3 twice = %v (exit %d), want exit 2 naming it", err, outcome.Code(err))
	}

	// the table of the merge says what one run's says
	table, _, _ := run(ctx, t, env, append([]string{"release", "merge"}, parts...)...)
	if !strings.Contains(table, "7 service(s): 0 ok, 0 warned, 7 failed") {
		t.Errorf("merged table:\n%s", table)
	}
}

// sarifRuns lists the automation category of each run of a SARIF file.
func sarifRuns(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			AutomationDetails struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []string
	for _, r := range doc.Runs {
		out = append(out, fmt.Sprintf("%s:%d", r.AutomationDetails.ID, len(r.Results)))
	}
	return out
}

// pushFixtures pushes the n fixture images of setup to each registry, in
// parallel, and returns their references (the same on each: the
// registries are one switchboard's, switched between pushes).
func pushFixtures(t *testing.T, sb *switchboard, n int, to ...*testutil.Registry) []string {
	t.Helper()
	client := registry.New()
	imgs := testutil.FixtureImages(t, n)
	refs := make([]string, n)
	for i := range imgs {
		refs[i] = sb.Ref(fmt.Sprintf("shop/%s:%s", fixture.ServiceName(i), fixture.Version))
	}
	for _, reg := range to {
		sb.switchTo(t, reg)
		var g errgroup.Group
		g.SetLimit(8)
		for i, img := range imgs {
			g.Go(func() error {
				r, err := client.ParseReference(refs[i])
				if err != nil {
					return err
				}
				return remote.Write(r, img, client.RemoteOptions(context.Background())...)
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("pushing the fixtures: %v", err)
		}
	}
	return refs
}

func TestPlanFormats(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	env, config, _ := setup(t, reg, 5, "")
	out, _, err := run(ctx, t, env, "release", "plan", "-f", config, "--shards", "2", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p shard.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var all []string
	for _, g := range p.Shards {
		if g.Bytes <= 0 {
			t.Errorf("shard %s costs %d bytes: the estimate reads the image sizes", g.Shard, g.Bytes)
		}
		all = append(all, g.Services...)
	}
	slices.Sort(all)
	if want := []string{"service-01", "service-02", "service-03", "service-04", "service-05"}; !slices.Equal(all, want) {
		t.Errorf("the shards hold %v, want every service once", all)
	}
	// the same plan again: stable
	again, _, _ := run(ctx, t, env, "release", "plan", "-f", config, "--shards", "2", "--format", "json")
	if again != out {
		t.Errorf("a second plan differs:\n%s\nfirst:\n%s", again, out)
	}
	gl, _, err := run(ctx, t, env, "release", "plan", "-f", config, "--shards", "2", "--format", "gitlab")
	if err != nil || gl != "parallel:\n  matrix:\n  - SC_SHARD:\n    - 1/2\n    - 2/2\n" {
		t.Errorf("gitlab format = %q, %v", gl, err)
	}
}

func TestPlanAndShardUsage(t *testing.T) {
	reg := testutil.NewRegistry(t)
	env, config, _ := setup(t, reg, 1, "")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no shards", []string{"release", "plan", config}, outcome.ExitInvalid, "--shards 0"},
		{"bad format", []string{"release", "plan", config, "--shards", "2", "--format", "yaml"}, outcome.ExitInvalid, "--format"},
		{"no config", []string{"release", "plan", "--shards", "2"}, outcome.ExitInvalid, "--config is required"},
		{"bad shard", []string{"release", "create", config, "--shard", "3/2"}, outcome.ExitInvalid, "--shard 3/2: the shard must be between 1 and 2"},
		{"shard not I/N", []string{"release", "create", config, "--shard", "2"}, outcome.ExitInvalid, `--shard "2": want I/N`},
		{"merge nothing", []string{"release", "merge"}, outcome.ExitInvalid, "requires at least 1 arg"},
		{"merge missing file", []string{"release", "merge", filepath.Join(t.TempDir(), "nope.json")}, outcome.ExitInvalid, "nope.json"},
		{"merge not json", []string{"release", "merge", config}, outcome.ExitInvalid, "not a release result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(context.Background(), t, env, tc.args...)
			if outcome.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), ": shard ") {
				t.Errorf("%v (exit %d), want exit %d mentioning %q", err, outcome.Code(err), tc.code, tc.want)
			}
		})
	}
	// more shards than services: the extra shard has nothing to do, and says so
	out, _, err := run(context.Background(), t, env, "release", "create", config, "--db-no-update", "-o", "json", "--shard", "2/2")
	if err != nil {
		t.Fatalf("an empty shard: %v", err)
	}
	empty := comparable(t, "empty shard", out)
	if len(empty.Services) != 0 || empty.Release == nil || empty.Release.Shard.String() != "2/2" || empty.ExitCode != 0 {
		t.Errorf("empty shard result %+v, want no services and the identity of shard 2/2", empty)
	}

	// a missing image is exit 2 naming the service, before anything runs
	ghost := strings.Replace(string(must(os.ReadFile(config))), "shop/service-01", "shop/ghost", 1)
	if err := os.WriteFile(config, []byte(ghost), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(context.Background(), t, env, "release", "plan", config, "--shards", "2")
	if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "service service-01") {
		t.Errorf("plan of a missing image = %v (exit %d), want exit 2 naming the service", err, outcome.Code(err))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A shard reads of the other shards' images only what the plan needs
// (each tag resolved, each manifest's sizes; no blob, no referrers, no
// write), and resolves each of its own tags once: the plan's answer is the
// run's.
func TestShardReadsOnlyWhatThePlanNeeds(t *testing.T) {
	const services, shards = 8, 4
	var log regcount.Log
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(log.Wrap))
	env, config, _ := setup(t, reg, services, "      scan: {softFail: true}")
	log.Reset()

	out, stderr, err := run(context.Background(), t, env, "release", "create", config, "--db-no-update", "-o", "json", "--shard", "1/4")
	if err != nil {
		t.Fatalf("shard 1/4: %v\n%s", err, stderr)
	}
	res := comparable(t, "shard 1/4", out)
	mine := map[string]bool{}
	for _, s := range res.Services {
		mine["shop/"+s.Service] = true
	}
	if len(mine) == 0 || len(mine) == services {
		t.Fatalf("shard 1/4 ran %d of %d services; the test needs some of them", len(mine), services)
	}
	tagReads := map[string]int{}
	others := map[string][]regcount.Request{}
	for _, r := range log.Requests() {
		if r.Kind == regcount.Manifest && !strings.HasPrefix(r.Ref, "sha256:") {
			tagReads[r.Repo]++
		}
		if !mine[r.Repo] && r.Kind != regcount.Other {
			others[r.Repo] = append(others[r.Repo], r)
		}
	}
	for i := range services {
		repo := "shop/" + fmt.Sprintf("service-%02d", i+1)
		if tagReads[repo] != 1 {
			t.Errorf("%s: its tag was read %d times, want once", repo, tagReads[repo])
		}
		if mine[repo] {
			continue
		}
		// the plan's estimate: the tag resolved, the image manifest read
		// for its sizes (HEAD, GET)
		var got []string
		for _, r := range others[repo] {
			got = append(got, r.Method+" "+r.Kind)
		}
		if want := []string{"HEAD manifest", "GET manifest"}; !slices.Equal(got, want) {
			t.Errorf("%s, of another shard: requests %v, want only the plan's %v", repo, got, want)
		}
	}
	t.Logf("shard 1/4 of %d services: %s", services, regcount.Summary(log.Requests()))
}
