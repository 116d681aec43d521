// Package quickstart runs sc's pipeline end to end on one machine with no
// network and no services: an embedded registry on loopback, the realistic
// sample image from internal/fixture, an ephemeral signing key and the
// sample vulnerability database. The security steps run through
// pkg/security's executor, as `sc release create` runs them: resolve, SBOM,
// scan, provenance, sign, and both attestations, each verified; then a
// signature in cosign's legacy format too, verification of both formats, and
// the list of what is attached. It is what the README's first command runs.
//
// It does not talk to anything but the registry it starts itself, does not
// read the environment, and writes only the key pair and the sample
// vulnerability database, into the directory it is given. It is a
// demonstration: its key is ephemeral, its signatures are not recorded in a
// transparency log, and its vulnerability data is made up.
package quickstart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// Repository is where the sample image is pushed in the embedded registry.
const Repository = "sample/orders-api"

// BuilderID is the builder id the quickstart's provenance names: there is
// no CI run to derive one from.
const BuilderID = "https://github.com/sc-project/sc/quickstart"

// Options configures Run.
type Options struct {
	// Out receives one line per step. Required.
	Out io.Writer
	// Dir is where the ephemeral key pair (cosign.key, cosign.pub) is
	// written. Required; it is created if missing.
	Dir string
	// Version is sc's version, recorded in provenance. Default "devel".
	Version string
	// Logger receives library progress. Default: discard.
	Logger *slog.Logger
}

// Session is a running embedded registry holding the sample image.
type Session struct {
	// Registry is the embedded registry's host:port on 127.0.0.1.
	Registry string
	// Image is the sample image by digest.
	Image name.Digest
	// PrivateKey and PublicKey are the key pair's file paths.
	PrivateKey, PublicKey string
	// Result is what the executor did.
	Result *pipeline.SecurityResult

	srv *http.Server
}

// Close stops the embedded registry.
func (s *Session) Close() error {
	if s == nil || s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// Run starts the embedded registry, pushes the sample image and runs every
// step the pipeline has, printing each. The returned Session keeps the
// registry running until Close, so that the printed cosign commands can be
// tried against it.
func Run(ctx context.Context, opts Options) (*Session, error) {
	if opts.Out == nil || opts.Dir == "" {
		return nil, outcome.Invalid("quickstart: an output and a key directory are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "devel"
	}
	p := &printer{w: opts.Out}

	s, err := start(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()
	p.step("registry", "embedded OCI registry with the referrers API on %s", s.Registry)

	client := registry.New(registry.WithUserAgent("sc/"+opts.Version), registry.WithLogger(opts.Logger))
	tag := s.Registry + "/" + Repository + ":" + fixture.Version
	if err := p.timed("push", func() (string, error) { return push(ctx, client, tag) }); err != nil {
		return nil, err
	}

	var password string
	if err := p.timed("key", func() (string, error) {
		var err error
		if password, err = newKey(opts.Dir, s); err != nil {
			return "", err
		}
		return fmt.Sprintf("ephemeral ECDSA P-256 key pair in cosign's format: %s, %s", s.PrivateKey, s.PublicKey), nil
	}); err != nil {
		return nil, err
	}

	var db *vulndb.DB
	if err := p.timed("db", func() (string, error) {
		var err error
		db, err = sampleDB(ctx, opts.Dir)
		if err != nil {
			return "", err
		}
		return "the sample vulnerability database (made-up advisories: " + vulndb.SampleNotice + ")", nil
	}); err != nil {
		return nil, err
	}
	defer db.Close()

	// The release: one service, run through the executor as `sc release
	// create` runs it. softFail: the sample findings are shown, and the
	// image is still signed so that every step can be seen.
	svc, err := service(tag, s.PrivateKey)
	if err != nil {
		return nil, err
	}
	lookupEnv := func(name string) (string, bool) {
		if name == passwordVar {
			return password, true
		}
		return "", false
	}
	// One source of signers for the executor and the steps after it: the
	// key is loaded once, as `sc release create` and `sc image sign` load
	// it.
	signers := setup.NewSigners(lookupEnv, nil)
	ex := pipeline.NewExecutor(client,
		pipeline.WithScanners(db),
		pipeline.WithSigners(signers),
		pipeline.WithExecutionContext(&runenv.Context{
			CI: runenv.CI{RepositoryURL: fixture.Source, Commit: fixture.Revision, Ref: "refs/heads/main"},
		}),
		pipeline.WithVersion(opts.Version),
		pipeline.WithLogger(opts.Logger),
		pipeline.WithObserver(p))
	res, err := ex.Run(ctx, []api.Service{svc})
	if err != nil {
		return nil, fmt.Errorf("quickstart release: %w", err)
	}
	result := res.Services[0]
	d, err := name.NewDigest(result.Reference)
	if err != nil {
		return nil, outcome.Operationalf("quickstart release: no digest: %w", err)
	}
	s.Image, s.Result = d, result

	cfg := svc.Security.Signing
	signer, err := signers.Signer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := p.timed("sign", func() (string, error) {
		res, err := signing.SignImage(ctx, client, s.Image.String(), signer, signing.SignOptions{
			Format: signing.FormatLegacy, VerifyAfterSign: true, Logger: opts.Logger,
			Annotations: map[string]string{"org.opencontainers.image.source": fixture.Source},
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("also in cosign's legacy format (the .sig tag), key %s, verified after signing (artifact %s)", digest.Short(res.Signer.KeyID), digest.Short(res.Artifact)), nil
	}); err != nil {
		return nil, err
	}

	if err := p.timed("verify", func() (string, error) {
		id, err := signer.Identity(ctx)
		if err != nil {
			return "", err
		}
		// the check after signing: the signer's key, no transparency log;
		// no trusted material, so nothing is fetched
		check, err := setup.AfterSigning(ctx, cfg, os.ReadFile, id.PublicKey)
		if err != nil {
			return "", err
		}
		v, err := signing.NewVerifier(client, nil, check.Policy, check.SignatureOptions()...)
		if err != nil {
			return "", err
		}
		res, err := v.VerifyDigest(ctx, s.Image)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d valid signature(s) in both formats, %d rejected, by public key (no transparency log: offline)", len(res.Verified), len(res.Rejected)), nil
	}); err != nil {
		return nil, err
	}

	if err := p.timed("tree", func() (string, error) {
		t, err := client.Tree(ctx, s.Image)
		if err != nil {
			return "", err
		}
		legacy, referrers := 0, 0
		for _, l := range t.Legacy {
			legacy += len(l.Layers)
		}
		for _, g := range t.Referrers {
			referrers += len(g.Referrers)
		}
		return fmt.Sprintf("attached: %d referrer(s), %d legacy tag layer(s)", referrers, legacy), nil
	}); err != nil {
		return nil, err
	}

	p.summary(result)
	ok = true
	return s, nil
}

// CosignCommands returns the commands the cosign CLI would use to check what
// Run wrote, while the session's registry is running.
func (s *Session) CosignCommands() []string {
	img := s.Image.String()
	return []string{
		fmt.Sprintf("cosign verify --key %s --insecure-ignore-tlog=true --allow-http-registry %s", s.PublicKey, img),
		fmt.Sprintf("cosign verify --key %s --insecure-ignore-tlog=true --allow-http-registry --new-bundle-format=false %s", s.PublicKey, img),
		fmt.Sprintf("cosign verify-attestation --key %s --insecure-ignore-tlog=true --allow-http-registry --type cyclonedx %s", s.PublicKey, img),
		fmt.Sprintf("cosign verify-attestation --key %s --insecure-ignore-tlog=true --allow-http-registry --type slsaprovenance1 %s", s.PublicKey, img),
		fmt.Sprintf("cosign tree --allow-http-registry %s", img),
	}
}

func start(ctx context.Context) (*Session, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, outcome.Operationalf("starting the embedded registry: %w", err)
	}
	h := ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Session{Registry: ln.Addr().String(), srv: srv}, nil
}

func push(ctx context.Context, client *registry.Client, tag string) (string, error) {
	ref, err := client.ParseReference(tag)
	if err != nil {
		return "", err
	}
	img, err := fixture.Image(fixture.Options{})
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, client.RemoteOptions(ctx)...); err != nil {
		return "", outcome.Operationalf("pushing %s: %w", tag, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("sample image %s (Debian 12 packages, npm lockfile, Go binary; %d layers)", tag, len(layers)), nil
}

// newKey makes an ephemeral key pair with a random password and writes it
// in cosign's format to dir, where the executor loads it as a cosign
// user's key would be. It returns the password.
func newKey(dir string, s *Session) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", outcome.Operationalf("creating %s: %w", dir, err)
	}
	password, err := randomPassword()
	if err != nil {
		return "", err
	}
	kp, err := signing.GenerateKeyPair([]byte(password))
	if err != nil {
		return "", err
	}
	s.PrivateKey, s.PublicKey = keyPaths(dir)
	if err := os.WriteFile(s.PrivateKey, kp.PrivatePEM, 0o600); err != nil {
		return "", outcome.Operationalf("writing the key: %w", err)
	}
	if err := os.WriteFile(s.PublicKey, kp.PublicPEM, 0o644); err != nil {
		return "", outcome.Operationalf("writing the key: %w", err)
	}
	return password, nil
}

// passwordVar is the variable the quickstart's configuration names for the
// key's password; the executor reads it through the quickstart's own
// lookup, never from the process environment.
const passwordVar = "SC_QUICKSTART_KEY_PASSWORD"

// service is the quickstart's one service: sign with the ephemeral key
// (no transparency log: offline), SBOM and provenance attached, the scan
// reported with softFail, everything verified.
func service(image, privateKey string) (api.Service, error) {
	key, err := api.ParseKeyRef(privateKey)
	if err != nil {
		return api.Service{}, err
	}
	password, err := api.ParseSecret("${env:" + passwordVar + "}")
	if err != nil {
		return api.Service{}, err
	}
	sec := &api.Security{
		Signing: &api.Signing{
			PrivateKey:  key,
			Password:    password,
			TlogUpload:  new(false),
			Annotations: map[string]string{"org.opencontainers.image.source": fixture.Source},
		},
		Provenance: &api.Provenance{Builder: &api.Builder{ID: BuilderID}},
		Scan:       &api.Scan{SoftFail: new(true)},
	}
	sec = sec.WithDefaults()
	if err := sec.Validate(); err != nil {
		return api.Service{}, err
	}
	return api.Service{Name: fixture.DefaultName, Image: image, Security: *sec}, nil
}

// sampleDB writes the sample vulnerability database into dir, installs it
// in a store there and opens it: the one database every scan shares.
func sampleDB(ctx context.Context, dir string) (*vulndb.DB, error) {
	file, err := vulndb.WriteSample(ctx, filepath.Join(dir, "sample-db"))
	if err != nil {
		return nil, err
	}
	store := vulndb.NewStore(filepath.Join(dir, "vulndb"), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(ctx, file); err != nil {
		return nil, err
	}
	return store.Open(ctx)
}

// printer prints one line per step: the quickstart's own and, as an
// Observer, the executor's, as they finish.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

var _ pipeline.Observer = (*printer)(nil)

func (p *printer) line(mark, name, detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %-19s %s\n", mark, name, detail)
}

func (p *printer) step(name, format string, args ...any) {
	p.line("✓", name, fmt.Sprintf(format, args...))
}

func (p *printer) timed(name string, f func() (string, error)) error {
	start := time.Now()
	detail, err := f()
	if err != nil {
		p.line("✗", name, err.Error())
		return fmt.Errorf("quickstart step %s: %w", name, err)
	}
	p.line("✓", name, fmt.Sprintf("%s (%s)", detail, time.Since(start).Round(time.Millisecond)))
	return nil
}

// Observe prints an executor step when it ends.
func (p *printer) Observe(e pipeline.Event) {
	if e.Kind != pipeline.EventStepFinished {
		return
	}
	r := e.Result
	detail := r.Detail
	if r.Error != "" {
		detail = r.Error
	}
	for _, w := range r.Warnings {
		detail += "; " + w
	}
	if r.Duration > 0 {
		detail += fmt.Sprintf(" (%s)", r.Duration.Round(time.Millisecond))
	}
	p.line(statusMark(r.Status), string(r.Name), detail)
}

func statusMark(s pipeline.StepStatus) string {
	switch s {
	case pipeline.StatusOK:
		return "✓"
	case pipeline.StatusWarned:
		return "!"
	case pipeline.StatusFailed:
		return "✗"
	}
	return "-"
}

// summary prints how the executor's steps ended, in one paragraph.
func (p *printer) summary(r *pipeline.SecurityResult) {
	counts := map[pipeline.StepStatus]int{}
	for _, s := range r.Steps {
		counts[s.Status]++
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\nSummary: %s %s, %d steps: %d ok, %d warned, %d failed, %d skipped, in %s.\n",
		r.Service, r.Outcome, len(r.Steps), counts[pipeline.StatusOK], counts[pipeline.StatusWarned],
		counts[pipeline.StatusFailed], counts[pipeline.StatusSkipped], r.Duration.Round(time.Millisecond))
	if r.SBOM != nil {
		fmt.Fprintf(p.w, "  SBOM: %s, %d packages, attached and verified.\n", r.SBOM.Format, r.SBOM.Packages)
	}
	if r.Scan != nil {
		c := r.Scan.Counts
		fmt.Fprintf(p.w, "  Scan: %d findings in the sample data (critical %d, high %d, medium %d, low %d), verdict %s; softFail lets the quickstart go on.\n",
			c.Total, c.Critical, c.High, c.Medium, c.Low, r.Scan.Verdict.Status)
	}
}

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func keyPaths(dir string) (string, string) {
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}
