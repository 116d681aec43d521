package pulumiint

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/regcount"
	"github.com/sc-project/sc/internal/testutil"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/api"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
	"github.com/sc-project/sc/pkg/pulumi/executor"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/security/signing"
	sigsetup "github.com/sc-project/sc/pkg/security/signing/setup"
)

const (
	keyPassword = "pulumi-int"
	project     = "shop"
	// pushDelay is how long the stand-in build takes to "push": its digest
	// output resolves only after it, as a real build-and-push's does.
	pushDelay = 300 * time.Millisecond
)

// clock gives monotonic ticks (nanoseconds since the test started) and
// records what happened when, so that orderings can be compared without
// trusting the wall clock.
type clock struct{ start time.Time }

func (c clock) now() int { return int(time.Since(c.start).Nanoseconds()) }

// run is one Run of the counting runner.
type run struct {
	image      string
	start, end int
	err        error
}

// countingRunner is sc's real executor, through pkg/pulumi/executor, with
// a record of every run and when it started and ended.
type countingRunner struct {
	inner scpulumi.Runner
	clock clock

	mu   sync.Mutex
	runs []run
}

func (r *countingRunner) Run(ctx context.Context, image string, sec *api.Security) (*scpulumi.Summary, error) {
	start := r.clock.now()
	s, err := r.inner.Run(ctx, image, sec)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run{image: image, start: start, end: r.clock.now(), err: err})
	return s, err
}

func (r *countingRunner) recorded() []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs...)
}

// world is one test's registry, image, key, executor and Pulumi
// workspace settings.
type world struct {
	t      *testing.T
	clock  clock
	log    *regcount.Log
	image  string // the pushed image, repo@sha256:…
	digest name.Digest
	keyDir string
	pub    []byte
	runner *countingRunner
	cli    auto.PulumiCommand
	home   string
	state  string
}

// newWorld pushes the fixture image to an in-process registry (with the
// referrers API) whose requests are counted, and builds sc's executor as
// pkg/pulumi/executor advises (a result cache, provenance reuse) with a
// key signer and a grype database of the fixture advisories below high (the fixture's high and critical records are left out, so that a
// failOn of critical passes and one of medium fails).
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	cliPath := testutil.ToolInstalledBy(t, "pulumi", "bash .ci/pulumi.sh")
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(cliPath))})
	if err != nil {
		t.Fatalf("pulumi CLI at %s: %v", cliPath, err)
	}

	w := &world{t: t, clock: clock{start: time.Now()}, log: &regcount.Log{}, cli: cli}
	reg := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(w.log.Wrap))
	client := registry.New()
	ref, err := client.ParseReference(reg.Ref("shop/api:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, testutil.FixtureImage(t, fixture.Options{}), client.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	if w.digest, err = client.Resolve(ctx, ref.String()); err != nil {
		t.Fatal(err)
	}
	w.image = w.digest.String()

	w.keyDir = t.TempDir()
	kp, err := signing.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.keyDir, "cosign.key"), kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	w.pub = kp.PublicPEM

	var below []vulndb.Advisory
	for _, a := range tv.FixtureAdvisories() {
		if a.Severity != "high" && a.Severity != "critical" {
			below = append(below, a)
		}
	}
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(ctx, tv.DB(t, below...)); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	lookupEnv := func(k string) (string, bool) {
		if k == "KEY_PASSWORD" {
			return keyPassword, true
		}
		return "", false
	}
	c, err := cache.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ex := pipeline.NewExecutor(client,
		pipeline.WithCache(c),
		pipeline.WithProvenanceReuse(true),
		pipeline.WithScanners(db),
		pipeline.WithSigners(sigsetup.NewSigners(lookupEnv, nil)),
		pipeline.WithExecutionContext(&runenv.Context{CI: runenv.CI{
			RepositoryURL: fixture.Source, Commit: fixture.Revision, Ref: "refs/heads/main"}}))
	w.runner = &countingRunner{inner: executor.New(ex), clock: w.clock}

	w.home = t.TempDir()
	w.state = t.TempDir()
	w.log.Reset()
	return w
}

// security loads a descriptor that scans with failOn, signs with the
// world's key (no transparency log), and attaches an SBOM and provenance,
// the way a stack's sc.yaml would say it.
func (w *world) security(failOn api.Severity) *api.Security {
	w.t.Helper()
	cfg := fmt.Sprintf(`stacks:
  s:
    security:
      signing: {privateKey: %s, password: '${env:KEY_PASSWORD}', tlogUpload: false}
      provenance: {builder: {id: https://example.com/builder}}
      scan: {failOn: %s}
    services:
      api: {image: %s}
`, filepath.Join(w.keyDir, "cosign.key"), failOn, w.image)
	path := filepath.Join(w.t.TempDir(), "sc.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		w.t.Fatal(err)
	}
	rel, err := api.Load(context.Background(), path)
	if err != nil {
		w.t.Fatalf("loading\n%s\n%v", cfg, err)
	}
	return &rel.Services[0].Security
}

// stack creates (or selects) stack name of the project on the world's
// file backend, running program. Every operation is logged to the test.
func (w *world) stack(name string, program pulumi.RunFunc) auto.Stack {
	w.t.Helper()
	st, err := auto.UpsertStackInlineSource(context.Background(), name, project, program,
		auto.Pulumi(w.cli),
		auto.PulumiHome(w.home),
		auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":       "file://" + w.state,
			"PULUMI_CONFIG_PASSPHRASE": "pulumi-int",
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}))
	if err != nil {
		w.t.Fatalf("creating stack %s: %v", name, err)
	}
	return st
}

// writes returns the registry's write requests (anything but GET and
// HEAD) since the last reset, and resets the log.
func (w *world) writes() []regcount.Request {
	reqs := w.log.Requests()
	w.log.Reset()
	var out []regcount.Request
	for _, r := range reqs {
		if r.Method != "GET" && r.Method != "HEAD" {
			out = append(out, r)
		}
	}
	return out
}

// verifySignature checks that the image's signature verifies with the
// world's public key.
func (w *world) verifySignature() error {
	pub, err := signing.LoadPublicKey(w.pub)
	if err != nil {
		return err
	}
	v, err := signing.NewVerifier(registry.New(), nil, signing.Policy{Key: pub}, signing.WithInsecureIgnoreTlog())
	if err != nil {
		return err
	}
	_, err = v.Verify(context.Background(), w.image)
	return err
}

// referrers returns the digests of the artifacts that refer to the image,
// sorted.
func (w *world) referrers() []string {
	w.t.Helper()
	idx, err := remote.Referrers(w.digest, registry.New().RemoteOptions(context.Background())...)
	if err != nil {
		w.t.Fatalf("listing referrers: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, d := range m.Manifests {
		out = append(out, d.Digest.String())
	}
	slices.Sort(out)
	return out
}

// progress is a writer that sends the engine's output to the test log,
// line by line.
type progress struct {
	t   *testing.T
	mu  sync.Mutex
	buf strings.Builder
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		s := p.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		p.t.Log(s[:i])
		p.buf.Reset()
		p.buf.WriteString(s[i+1:])
	}
	return len(b), nil
}

var _ io.Writer = (*progress)(nil)
