// Package release holds the `sc release` commands, which secure every image
// of a stack in one run: `sc release create` loads the stack file, builds
// pkg/security's executor from the flags and the configuration, runs it and
// renders the result (a table or JSON on stdout, progress on stderr, the
// GitHub job summary and the other reports).
//
// It does no security work itself: the step graph, caching and concurrency
// are pkg/security's; this package turns flags, the environment and the
// configuration's key references into executor options, and results into
// output and an exit code.
package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	scancmd "github.com/sc-project/sc/pkg/cmd/scan"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	releasereport "github.com/sc-project/sc/pkg/security/report/release"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/shard"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// New returns the `sc release` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Secure every image of a stack in one run",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCreate(root), newPlan(root), newMerge(root))
	return cmd
}

// flags are the flag groups of `sc release create`.
type flags struct {
	release  options.Release
	registry options.Registry
	trust    options.Trust
	ec       options.ExecutionContext
	db       options.ScanDB
	report   options.Report
	shard    options.Shard
}

func newCreate(root *options.Root) *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:   "create [FILE | --config FILE]",
		Short: "Scan, sign, attest and verify every image of a stack",
		Long: `Create secures every service of a stack as its security block says. Per image,
it resolves the tag to a digest once, then runs these steps, each as soon as
the steps it needs are done, several images at once (--jobs):

  resolve ─┬─ sbom-generate ── scan ─┐ (the scan gate, unless softFail)
           ├─ provenance-generate ───┼─ sign ── verify
           │                         ├─ sbom-attach ── sbom-verify
           │                         ├─ provenance-attach ── provenance-verify
           │                         ├─ vuln-attach ── vuln-verify (needs scan)
           │                         └─ vex-attach ── vex-verify (needs scan; when VEX suppressed findings)

A violating image is never signed. Each step is fail-open (it warns when it
cannot run) unless the configuration says required: true; a check that fails
(policy, verification) always fails. SBOMs and scan reports are cached by
image digest (--cache-dir): an unchanged image downloads no layer on the next
run, and layers shared by several images are downloaded once.
On a fresh runner with an empty cache, an SBOM attestation already attached to
the digest by this run's own key or identity, made with the same SBOM options
and syft version (recorded in the attestation), is verified and reused instead
of reading the layers (--no-reuse turns this off).

Keys come from the signing block: privateKey (a file, or ${env:…}/${file:…}
holding the PEM key) and password (else $SC_KEY_PASSWORD or $COSIGN_PASSWORD).
Keyless signing takes its OIDC token from --identity-token, $SIGSTORE_ID_TOKEN
or the CI. Live progress bars show on a terminal, plain lines in CI; the result
goes to stdout as a table or JSON (--output json), and a markdown summary to
$GITHUB_STEP_SUMMARY when set.

With --shard I/N it works on shard I of N only: the services 'sc release
plan --shards N' gives that shard, planned the same way from the manifests, so
the jobs of a CI matrix need no coordination; with more shards than services a
shard may be empty. The plan reads every image's manifests (the sizes of all
decide the shards); the run then starts from the digests the plan resolved,
and reads nothing more of the other shards' images. --output json then carries the release's identity (the
digest of the resolved configuration, the stack, its services, the shard) for
'sc release merge'.

Exit code: the worst across services — 1 a check failed (policy, verification),
2 the configuration cannot work, 3 something could not run or the run was
interrupted. Every file the release writes (--sarif, --summary, --pr-comment,
the reporting block's files, each sbom.output) is checked before any work
starts (exit 2 when one cannot be written); a report that fails afterwards
never hides a failed check, which keeps exit code 1.`,
		Example: `  sc release create sc.yaml --stack production
  sc release create --config sc.yaml --stack production
  sc release create -f docker-compose.yaml --service api --service web --output json
  sc release create -f sc.yaml --jobs 8 --sarif sc.sarif
  sc release create -f sc.yaml --shard 2/4 --output json > part-2.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := configArg(&f.release, args); err != nil {
				return err
			}
			if err := f.validate(root); err != nil {
				return err
			}
			return create(cmd, root, &f)
		},
	}
	fs := cmd.Flags()
	f.release.AddFlags(fs)
	f.registry.AddFlags(fs)
	f.trust.AddFlags(fs)
	f.ec.AddFlags(fs)
	f.db.AddFlags(fs)
	f.report.AddFlags(fs)
	f.shard.AddFlags(fs)
	return cmd
}

func (f *flags) validate(root *options.Root) error {
	if err := f.release.Validate(); err != nil {
		return err
	}
	if err := f.registry.Validate(root); err != nil {
		return err
	}
	if err := f.db.Validate(); err != nil {
		return err
	}
	if _, err := f.shard.Value(); err != nil {
		return err
	}
	return reportflags.Validate(root, &f.report)
}

func create(cmd *cobra.Command, root *options.Root, f *flags) error {
	ctx := cmd.Context()
	rel, services, err := load(cmd, &f.release)
	if err != nil {
		return err
	}
	// One registry client for the plan and the run: what the plan learnt
	// of the registry (media types, referrers support) is not asked again.
	// Its logs go to stderr until the progress display starts.
	logs := &logSink{w: cmd.ErrOrStderr()}
	images := make([]string, len(services))
	for i, s := range services {
		images[i] = s.Image
	}
	client, err := f.registry.Client(root, libraryLogger(root, logs), images...)
	if err != nil {
		return err
	}
	id, services, resolved, err := f.selectShard(cmd, client, rel, services)
	if err != nil {
		return err
	}
	// Every file the release writes is checked before any work starts:
	// a typo in a path is a usage error now, not a failure after the run.
	plan := newReportPlan(root, f.report, services)
	if err := plan.checkOutputs(services); err != nil {
		return err
	}
	if len(services) == 0 {
		// an empty shard: nothing to do, and a part that says so
		empty := &pipeline.ReleaseResult{Release: id, Services: []*pipeline.SecurityResult{}, Outcome: pipeline.OutcomeOK}
		return render(ctx, cmd, root, f.release.Output, plan, empty, nil)
	}

	setupLogger := libraryLogger(root, cmd.ErrOrStderr())
	for _, w := range rel.Warnings {
		setupLogger.Warn(w.String())
	}
	if w, off := rel.SecurityOff(services); off {
		setupLogger.Warn(w.String())
	}
	// Everything that may ask for a password or fail on the configuration
	// happens before the progress display starts.
	opts, cleanup, err := f.executorOptions(ctx, cmd, root, services, setupLogger)
	defer cleanup()
	if err != nil {
		return err
	}

	prog := newProgress(cmd.ErrOrStderr(), root, services)
	logs.to(prog.logs())
	logger := libraryLogger(root, logs)
	opts = append(opts, pipeline.WithObserver(prog), pipeline.WithLogger(logger), pipeline.WithResolved(resolved))
	res, runErr := pipeline.NewExecutor(client, opts...).Run(ctx, services)
	prog.wait()
	if res == nil {
		return runErr
	}
	res.Release = id
	return render(ctx, cmd, root, f.release.Output, plan, res, runErr)
}

// selectShard returns the identity of the release and, with --shard, the
// services of that shard (planned as `sc release plan` plans them, through
// client) with what the plan resolved their images to; without, the
// services as they are, nothing resolved yet.
func (f *flags) selectShard(cmd *cobra.Command, client *registry.Client, rel *api.Release, services []api.Service) (*shard.Identity, []api.Service, map[string]shard.Resolved, error) {
	sh, err := f.shard.Value()
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := shard.NewIdentity(rel, services, sh)
	if err != nil {
		return nil, nil, nil, err
	}
	if sh == nil {
		return id, services, nil, nil
	}
	p, resolved, err := shard.NewResolved(cmd.Context(), client, services, sh.Total)
	if err != nil {
		return nil, nil, nil, err
	}
	mine, err := p.Select(services, *sh)
	if err != nil {
		return nil, nil, nil, err
	}
	names := make([]string, len(mine))
	for i, s := range mine {
		names[i] = s.Name
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "shard %s: %d of %d services: %s\n", sh, len(mine), len(services), strings.Join(names, ", "))
	return id, mine, resolved, nil
}

// logSink is where the libraries' logs go: w, switched (to) to the
// progress display once it starts, so that the plan's warnings and the
// run's share one logger and one registry client.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// to sends later logs to w.
func (l *logSink) to(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = w
}

// render writes the result (a table or JSON on stdout) and the reports of
// the plan, and returns the verdict (runErr) joined with what could not
// be written: `sc release create` and `sc release merge` end with it.
func render(ctx context.Context, cmd *cobra.Command, root *options.Root, output string, plan *reportPlan, res *pipeline.ReleaseResult, runErr error) error {
	var err error
	out := cmd.OutOrStdout()
	if output == options.OutputJSON {
		err = releasereport.WriteJSON(out, res)
	} else {
		err = releasereport.WriteTable(out, res)
	}
	if err != nil {
		err = outcome.Operationalf("writing the result: %w", err)
	}
	// The reports are written whatever the verdict; one that cannot be
	// written never hides it: a check that failed keeps exit code 1.
	err = errors.Join(err, plan.writeReports(ctx, root, res))
	return reportflags.WithVerdict(runErr, err)
}

// executorOptions builds what the executor needs from the flags and the
// configuration: the cache, the vulnerability scanners (opened once), the
// signers and trusted material, and the execution context. cleanup closes
// what was opened.
func (f *flags) executorOptions(ctx context.Context, cmd *cobra.Command, root *options.Root, services []api.Service, logger *slog.Logger) ([]pipeline.ExecutorOption, func(), error) {
	opts := []pipeline.ExecutorOption{
		pipeline.WithJobs(f.release.Jobs),
		pipeline.WithVersion(root.Version),
		pipeline.WithRegistryReuse(!f.release.NoReuse),
	}
	var closers []func()
	cleanup := func() {
		for _, c := range closers {
			c()
		}
	}

	cacheDir, err := f.db.Cache.ResolveDir(root)
	if err != nil {
		return nil, cleanup, err
	}
	c, err := f.db.Cache.Open(root, cache.WithLogger(logger))
	if err != nil {
		return nil, cleanup, err
	}
	opts = append(opts, pipeline.WithCache(c), pipeline.WithLayerCache(filepath.Join(cacheDir, "layers")))

	ec, err := f.ec.Build(ctx, root, runenv.WithGitDir(filepath.Dir(f.release.Config)), runenv.WithLogger(logger))
	if err != nil {
		return nil, cleanup, err
	}
	opts = append(opts, pipeline.WithExecutionContext(ec))

	// Scanners: each opened once for the whole release.
	grype, trivy, trivyPath := scannersUsed(services)
	if grype {
		store, err := scancmd.Store(root, &f.db, logger)
		if err != nil {
			return nil, cleanup, err
		}
		db, err := store.Open(ctx)
		if err != nil {
			return nil, cleanup, err
		}
		closers = append(closers, func() { _ = db.Close() })
		opts = append(opts, pipeline.WithScanners(db))
	}
	if trivy {
		dir, err := f.db.TrivyCacheDir(root)
		if err != nil {
			return nil, cleanup, err
		}
		topts := []scan.TrivyOption{scan.WithTrivyLogger(logger), scan.WithTrivyPathHint("scan.tools[].path")}
		if trivyPath != "" {
			topts = append(topts, scan.WithTrivyPath(trivyPath))
		}
		opts = append(opts, pipeline.WithScanners(scan.NewTrivy(dir, topts...)))
	}

	// Signing: keys from the configuration, a password from the
	// environment for keys whose block names none, trusted material for
	// logged and keyless signatures.
	needsPassword, needsTrust := false, false
	for _, s := range services {
		sec := &s.Security
		if !sec.SigningEnabled() {
			continue
		}
		needsPassword = needsPassword || setup.UsesDefaultPassword(sec.Signing)
		needsTrust = needsTrust || setup.NeedsTrustedMaterial(sec.Signing)
	}
	var sopts []setup.Option
	if needsPassword {
		pw, err := options.KeyPassword(root, cmd.InOrStdin(), cmd.ErrOrStderr(), false)
		if err != nil {
			return nil, cleanup, fmt.Errorf("a signing key without a password in the configuration: %w", err)
		}
		sopts = append(sopts, setup.WithDefaultPassword(pw))
	}
	opts = append(opts, pipeline.WithSigners(setup.NewSigners(root.LookupEnv, ec.Token, sopts...)))
	tr, err := sigflags.Trust(&f.trust).Material(ctx, needsTrust, logger)
	if err != nil {
		return nil, cleanup, err
	}
	if tr != nil {
		opts = append(opts, pipeline.WithTrustedMaterial(tr))
	}
	return opts, cleanup, nil
}

// scannersUsed tells which scanners the services' scan blocks name, and the
// trivy path the first one that names trivy gives.
func scannersUsed(services []api.Service) (grype, trivy bool, trivyPath string) {
	for _, s := range services {
		if !s.Security.ScanEnabled() {
			continue
		}
		for _, t := range s.Security.Scan.Tools {
			switch t.Name {
			case api.ScannerGrype:
				grype = true
			case api.ScannerTrivy:
				if !trivy {
					trivyPath = t.Path
				}
				trivy = true
			}
		}
	}
	return grype, trivy, trivyPath
}

// libraryLogger is where the libraries' logs go: warnings and errors (a
// retry, an optional scanner missing) always, the rest at --log-level
// debug; through the progress display so that they do not tear its bars.
func libraryLogger(root *options.Root, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	level := slog.LevelWarn
	if strings.EqualFold(root.LogLevel, "debug") {
		level = slog.LevelDebug
	}
	if strings.EqualFold(root.LogLevel, "error") {
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
