package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/shard"
	"github.com/sc-project/sc/pkg/security/signing"
)

// DefaultJobs is how many images the executor works on at once without
// WithJobs.
const DefaultJobs = 4

// Registry is what the executor needs of a registry client: resolving,
// listing the platform images of an index, reading images and their
// signatures, and attaching signatures and attestations.
// pkg/security/registry's Client implements it.
type Registry interface {
	signing.Registry
	ImageSource
}

var _ Registry = (*registry.Client)(nil)

// Executor runs the security steps of a release: for every service, the
// step graph of the package documentation, images in parallel up to a
// limit. Build it with NewExecutor; it may run many releases, one after the
// other or at once.
type Executor struct {
	reg      Registry
	cache    *cache.Cache
	layerDir string
	scanners map[string]scan.Scanner
	signers  SignerSource
	trusted  root.TrustedMaterial
	ec       *runenv.Context
	jobs     int
	observer Observer
	logger   *slog.Logger
	version  string
	reuse    bool
	keepProv bool
	now      func() time.Time
	readFile func(string) ([]byte, error)
	resolved map[string]shard.Resolved
}

// ExecutorOption configures NewExecutor.
type ExecutorOption func(*Executor)

// WithCache keeps SBOMs and scan reports in c, keyed by image digest,
// configuration and tool and database version, so that a second run on an
// unchanged image reads no layer. Default: no cache.
func WithCache(c *cache.Cache) ExecutorOption { return func(e *Executor) { e.cache = c } }

// WithLayerCache shares image layers between the images of a release: each
// Run downloads every layer once into a new directory under dir (named by
// layer digest, go-containerregistry's filesystem layer cache) and removes
// that directory when it ends. Default: no sharing; each image reads its
// layers from the registry.
func WithLayerCache(dir string) ExecutorOption { return func(e *Executor) { e.layerDir = dir } }

// WithScanners gives the vulnerability scanners, each created once for
// every image of every release (grype's vulndb.DB: the database is loaded
// once). A service's scan.tools choose among them by name; a tool that is
// not given cannot run. Default: none.
func WithScanners(scanners ...scan.Scanner) ExecutorOption {
	return func(e *Executor) {
		for _, s := range scanners {
			e.scanners[s.Name()] = s
		}
	}
}

// WithSigners sets where signers come from (pkg/security/signing/setup's
// Signers builds them from the signing blocks). Default: none, and a
// service that signs cannot run.
func WithSigners(s SignerSource) ExecutorOption { return func(e *Executor) { e.signers = s } }

// WithTrustedMaterial sets the Sigstore trusted material for signatures
// recorded in a transparency log or made keylessly: checking existing ones
// and verifying new ones. Default: none, which serves key-based signing
// without a log (tlogUpload: false) only.
func WithTrustedMaterial(tm root.TrustedMaterial) ExecutorOption {
	return func(e *Executor) { e.trusted = tm }
}

// WithExecutionContext sets where sc runs (CI run, git checkout), for
// provenance. Default: nowhere known; provenance then needs builder.id and
// cannot name the source, so it warns.
func WithExecutionContext(ec *runenv.Context) ExecutorOption {
	return func(e *Executor) { e.ec = ec }
}

// WithJobs sets how many images are worked on at once; the steps of one
// image run in parallel as their order allows. Default: DefaultJobs.
func WithJobs(n int) ExecutorOption {
	return func(e *Executor) { e.jobs = max(n, 1) }
}

// WithObserver sets who is told about progress. Default: nobody.
func WithObserver(o Observer) ExecutorOption { return func(e *Executor) { e.observer = o } }

// WithLogger sets the logger handed to the libraries the steps call.
// Default: discard.
func WithLogger(l *slog.Logger) ExecutorOption { return func(e *Executor) { e.logger = l } }

// WithVersion sets sc's version, recorded in provenance. Default: "devel".
func WithVersion(v string) ExecutorOption { return func(e *Executor) { e.version = v } }

// WithRegistryReuse sets whether an SBOM already attested in the registry
// is reused on a cache miss instead of reading the image: the newest SBOM
// attestation of the digest that verifies under the service's
// signing.verify policy and records the same SBOM options and syft version
// (the subject annotations AnnotationSBOMConfig and AnnotationSBOMTool). A
// fresh CI runner then reads no layer of an unchanged image. Default: true.
func WithRegistryReuse(on bool) ExecutorOption { return func(e *Executor) { e.reuse = on } }

// WithProvenanceReuse sets whether a provenance attestation of the image
// by the same signer that already verifies is kept instead of attaching a
// new one: for callers that run again on an image nothing rebuilt (a
// Pulumi program runs whole on every `pulumi up`), where a new statement
// would describe the same build with the times of the run, and every run
// would add one more attestation to the registry. Whatever the kept
// statement says stands: with the option on from the first run there is
// one, written by the run nearest the build. Default: false, provenance is
// attached on every run.
func WithProvenanceReuse(on bool) ExecutorOption { return func(e *Executor) { e.keepProv = on } }

// WithClock sets the clock for durations, provenance times and ignore-rule
// expiry. Default: time.Now.
func WithClock(now func() time.Time) ExecutorOption { return func(e *Executor) { e.now = now } }

// WithReadFile sets how Dockerfiles, public keys and VEX documents are
// read. Default: os.ReadFile.
func WithReadFile(fn func(string) ([]byte, error)) ExecutorOption {
	return func(e *Executor) { e.readFile = fn }
}

// WithResolved hands the executor services' images already resolved, by
// service name (shard.NewResolved: `sc release create --shard` resolved
// every image for its plan): the resolve step of such a service takes its
// digest and platform images from there and asks the registry nothing, so
// a tag is resolved once per run. An entry whose Image is not the
// service's reference, or without Platforms, is ignored. Default: none.
func WithResolved(byService map[string]shard.Resolved) ExecutorOption {
	return func(e *Executor) { e.resolved = byService }
}

// NewExecutor returns an executor working through reg.
func NewExecutor(reg Registry, opts ...ExecutorOption) *Executor {
	e := &Executor{
		reg:      reg,
		scanners: map[string]scan.Scanner{},
		jobs:     DefaultJobs,
		version:  "devel",
		reuse:    true,
		now:      time.Now,
		readFile: os.ReadFile,
	}
	for _, o := range opts {
		o(e)
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.ec == nil {
		e.ec = &runenv.Context{}
	}
	return e
}

// Run secures every service's image: it plans each service's steps from its
// effective security configuration, then runs the images, up to the jobs
// limit at once, each through its step graph.
//
// A configuration that cannot work (a key that does not load, a VEX
// document that does not parse, trusted material missing) is reported
// before anything runs, as an outcome.ErrInvalid error, with a nil result.
// Otherwise Run returns the result of every service, in the order given,
// and ReleaseResult.Err: nil, or the failed steps of every service in the
// class of the worst (operational over invalid over check-failed). When ctx
// is cancelled, steps that have not started are skipped, running ones stop,
// nothing half-written is left in the cache, and the error wraps
// context.Canceled in the operational class.
func (e *Executor) Run(ctx context.Context, services []api.Service) (*ReleaseResult, error) {
	start := e.now()
	rl := &release{e: e, started: start, locks: map[string]*sync.Mutex{}, sboms: map[string]*sbomFlight{},
		bases: &onceResolver{inner: e.reg}}
	runs := make([]*imageRun, len(services))
	for i, svc := range services {
		r, err := rl.plan(ctx, i, svc)
		if err != nil {
			return nil, fmt.Errorf("service %s (%s): %w", svc.Name, svc.Image, err)
		}
		runs[i] = r
	}
	if e.layerDir != "" {
		if err := os.MkdirAll(e.layerDir, 0o700); err != nil {
			return nil, outcome.Operationalf("creating the layer cache: %w", err)
		}
		dir, err := os.MkdirTemp(e.layerDir, "release-")
		if err != nil {
			return nil, outcome.Operationalf("creating the layer cache: %w", err)
		}
		defer os.RemoveAll(dir)
		rl.layers = newLayerCache(dir)
	}

	res := &ReleaseResult{Services: make([]*SecurityResult, len(services))}
	var g errgroup.Group
	g.SetLimit(e.jobs)
	for i, r := range runs {
		g.Go(func() error {
			res.Services[i] = r.run(ctx)
			return nil
		})
	}
	_ = g.Wait()
	res.Duration = e.now().Sub(start)
	if err := ctx.Err(); err != nil {
		res.Cancelled = true
		res.finish()
		return res, outcome.Operationalf("release cancelled before it finished; nothing is left half-written: %w", err)
	}
	res.finish()
	return res, res.Err()
}

func (e *Executor) observe(ev Event) {
	if e.observer != nil {
		ev.Time = e.now()
		e.observer.Observe(ev)
	}
}

// release is the state of one Run shared by its images.
type release struct {
	e       *Executor
	started time.Time
	layers  *layerCache

	prepMu   sync.Mutex
	prepared context.Context
	prepErr  error

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

	sbomMu sync.Mutex
	sboms  map[string]*sbomFlight

	// bases resolves the Dockerfiles' base images, once each per release
	bases *onceResolver
}

// sbomContext returns ctx carrying what every SBOM generation shares (syft's
// license scanner, see sbom.Prepare), made once per release on first use:
// a warm run whose SBOMs are all cached never pays for it.
func (rl *release) sbomContext(ctx context.Context) (context.Context, error) {
	rl.prepMu.Lock()
	defer rl.prepMu.Unlock()
	if rl.prepared == nil && rl.prepErr == nil {
		rl.prepared, rl.prepErr = sbom.Prepare(context.WithoutCancel(ctx))
	}
	if rl.prepErr != nil {
		return nil, rl.prepErr
	}
	return valuesFrom{Context: ctx, values: rl.prepared}, nil
}

// writeLock is the lock of one image digest: its signatures and
// attestations are written one at a time, since the referrers fallback tag
// and the legacy tags are read, extended and written back without
// compare-and-swap (see registry.Client.AttachReferrer).
func (rl *release) writeLock(d name.Digest) *sync.Mutex {
	rl.locksMu.Lock()
	defer rl.locksMu.Unlock()
	k := d.Context().Name() + "@" + d.DigestStr()
	m, ok := rl.locks[k]
	if !ok {
		m = &sync.Mutex{}
		rl.locks[k] = m
	}
	return m
}

// valuesFrom is ctx (its deadline, cancellation and values) that also
// carries the values of another context.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (v valuesFrom) Value(key any) any {
	if x := v.Context.Value(key); x != nil {
		return x
	}
	return v.values.Value(key)
}
