package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sc-project/sc/pkg/security/httpretry"
)

// Defaults of the options.
const (
	// DefaultUserAgent is the User-Agent without WithUserAgent.
	DefaultUserAgent = "sc"
	// DefaultAttempts is how many attempts a request gets without WithRetry.
	DefaultAttempts = 5
	// DefaultBackoff is the wait before the second attempt without WithRetry.
	DefaultBackoff = 200 * time.Millisecond
	// DefaultTimeout is the stall timeout of a request without WithTimeout.
	DefaultTimeout = 60 * time.Second
)

// Client talks to OCI registries for sc: it resolves references, opens
// images and stores or lists the artifacts attached to a digest. It is safe
// for concurrent use; it remembers, per repository, whether the registry
// serves the referrers API, and, per digest it resolved, whether it is an
// image or an index (a digest's content never changes).
type Client struct {
	keychain  authn.Keychain
	creds     []Credential
	insecure  bool
	userAgent string
	base      http.RoundTripper
	attempts  int
	backoff   time.Duration
	timeout   time.Duration
	log       *slog.Logger
	now       func() time.Time

	rt http.RoundTripper

	// puller keeps, per repository, the authenticated transport
	// go-containerregistry sets up for reads (a /v2/ ping, a token
	// exchange) for the client's whole life instead of one per call; a
	// failed setup is not kept. tokens keeps the same for the client's
	// direct requests. Writes get no shared remote.Pusher: it also
	// remembers, for its whole life, every blob it uploaded and never
	// uploads it again, which is wrong once the registry no longer has it
	// (garbage-collected after a failed push, or another registry behind
	// the same address).
	puller *remote.Puller
	tokens sync.Map // string (repository) → http.RoundTripper

	// kinds maps the digests Resolve saw to their media type, so that
	// Platforms of a single image needs no second manifest request.
	kinds sync.Map // string (repo@digest) → types.MediaType

	mu        sync.Mutex
	referrers map[string]bool
}

// Option configures a Client.
type Option func(*Client)

// WithKeychain sets where credentials come from for registries that
// WithCredentials does not name. Default: authn.DefaultKeychain (the docker
// config file and its credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(c *Client) { c.keychain = k }
}

// WithInsecureHTTP allows plain HTTP to registries outside the loopback
// interface. Default: off; loopback registries (127.0.0.0/8, ::1, localhost)
// are always reachable over HTTP, every other one only over HTTPS.
func WithInsecureHTTP() Option {
	return func(c *Client) { c.insecure = true }
}

// WithUserAgent sets the User-Agent sent to registries, e.g. "sc/v1.2.3".
// Default: "sc".
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithTransport sets the base HTTP transport under sc's policy, retry and
// timeout layers. Default: a clone of remote.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) {
		if rt != nil {
			c.base = rt
		}
	}
}

// WithRetry sets how many attempts a request gets (1 means no retry) and the
// backoff before the second one; later waits grow exponentially with jitter.
// Retried: 429 (honouring Retry-After up to 30s), 408, 500, 502, 503, 504,
// connection refused or reset, unexpected EOF and timeouts (httpretry's
// policy). Default: 5 attempts, 200ms.
func WithRetry(attempts int, initialBackoff time.Duration) Option {
	return func(c *Client) {
		c.attempts = max(attempts, 1)
		if initialBackoff >= 0 {
			c.backoff = initialBackoff
		}
	}
}

// WithTimeout bounds how long one request may go without progress (see
// timeoutTransport): no answer, or a read of the body that waits, for d.
// A value <= 0 keeps the default. Default: 60s.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithLogger sets where retries and oddities are logged and, at debug
// level, every request and where each registry's credentials come from
// (see logging.go). Credentials, headers and query strings are never
// logged. Default: a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithClock sets the clock used for the org.opencontainers.image.created
// annotation of referrers and for Retry-After dates. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{
		keychain:  authn.DefaultKeychain,
		userAgent: DefaultUserAgent,
		attempts:  DefaultAttempts,
		backoff:   DefaultBackoff,
		timeout:   DefaultTimeout,
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		referrers: map[string]bool{},
	}
	if t, ok := remote.DefaultTransport.(*http.Transport); ok {
		c.base = t.Clone()
	} else {
		c.base = remote.DefaultTransport
	}
	for _, o := range opts {
		o(c)
	}
	// explicit credentials only for their registry; debug lines say
	// where each registry's credentials came from
	c.keychain = loggingKeychain{inner: newScopedKeychain(c.creds, c.keychain), log: c.log}
	c.rt = &policyTransport{
		insecure:  c.insecure,
		userAgent: c.userAgent,
		// debug logging of each attempt: logging.go
		inner: &attemptCounter{log: c.log, inner: &retryTransport{
			attempts: c.attempts,
			initial:  c.backoff,
			log:      c.log,
			now:      c.now,
			inner:    &requestLogger{log: c.log, now: c.now, inner: &timeoutTransport{d: c.timeout, inner: c.base}},
		}},
	}
	// Above the stack of transport.go, outermost first: explicit
	// credentials stay in their registry's domain (credentials.go), bodies
	// and deadlines within the limits (limits.go), redirects out of the
	// local machine (redirect.go).
	c.rt = newCredentialGuard(limitTransport{inner: redirectGuard{inner: c.rt}}, c.creds, c.log)
	// The constructor does not fail on these options (it only collects them).
	c.puller, _ = remote.NewPuller(c.baseOptions()...)
	return c
}

// NameOptions are the options for parsing references the way the client
// does: Docker Hub defaults, and name.Insecure under WithInsecureHTTP.
func (c *Client) NameOptions() []name.Option {
	if c.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// RemoteOptions are go-containerregistry options carrying the client's
// credentials, HTTP stack (policy, retry, timeout, user agent) and ctx, for
// packages that call go-containerregistry or cosign directly. Every request
// made with them, including lazy layer reads later on, uses ctx.
//
// Reads made with them share the client's authenticated transport: one
// /v2/ ping and token exchange per repository and client, not per call;
// each write sets up its own.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return append(c.baseOptions(), remote.WithContext(ctx), remote.Reuse(c.puller))
}

// baseOptions are RemoteOptions without a context and without the shared
// puller, which is built from them.
func (c *Client) baseOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.rt),
		remote.WithUserAgent(c.userAgent),
		// Operation-level retry: whole blob uploads only, see transport.go.
		// No Cap: go-containerregistry stops retrying once the cap is hit.
		remote.WithRetryBackoff(remote.Backoff{Duration: c.backoff, Factor: 2, Jitter: 0.5, Steps: c.attempts}),
		remote.WithRetryPredicate(retryOperation),
		// go-containerregistry's transport-level retry: nothing, ours did it.
		remote.WithRetryStatusCodes(),
	}
}

// retryOperation decides whether go-containerregistry repeats a whole
// operation (a blob upload, a manifest commit, see transport.go): only when
// the request that failed belongs to a blob upload session, which the
// transport never retries, and the failure is transient.
func retryOperation(err error) bool {
	if err == nil {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Request != nil && uploadSession(terr.Request.Method, terr.Request.URL.Path) &&
			(httpretry.TransientStatus(terr.StatusCode) || terr.Temporary())
	}
	var rerr *requestError
	if errors.As(err, &rerr) {
		return uploadSession(rerr.method, rerr.path) && httpretry.Transient(rerr.err)
	}
	return false
}

// ParseReference parses ref with Docker Hub defaults ("alpine" is
// index.docker.io/library/alpine:latest). A malformed reference is
// ErrInvalidReference.
func (c *Client) ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w: %w", ref, ErrInvalidReference, err)
	}
	if !c.insecure && IsLoopback(registryHost(r.Context().RegistryStr())) {
		// Let go-containerregistry try plain HTTP on every loopback address,
		// not only the few its name heuristics know.
		if r2, err := name.ParseReference(r.String(), name.Insecure); err == nil {
			return r2, nil
		}
	}
	return r, nil
}

// normalize re-parses a digest built elsewhere so that it carries the
// client's name options.
func (c *Client) normalize(d name.Digest) name.Digest {
	r, err := c.ParseReference(d.String())
	if err != nil {
		return d
	}
	if nd, ok := r.(name.Digest); ok {
		return nd
	}
	return d
}

func registryHost(reg string) string {
	if h, _, err := net.SplitHostPort(reg); err == nil {
		return h
	}
	return reg
}

// Resolve parses ref and resolves it to a digest once: a tag with a HEAD
// request (a GET when the registry does not answer HEAD usefully), a digest
// by checking that the registry has it. From then on sc works on the digest
// only. A tag of a multi-platform index resolves to the index digest.
func (c *Client) Resolve(ctx context.Context, ref string) (name.Digest, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return name.Digest{}, err
	}
	opts := c.RemoteOptions(ctx)
	desc, err := remote.Head(r, opts...)
	if err != nil && classify(err) == nil && ctx.Err() == nil && !errors.Is(err, ErrInsecureHTTP) {
		// Some registries answer HEAD without Docker-Content-Digest.
		var full *remote.Descriptor
		if full, err = remote.Get(r, opts...); err == nil {
			desc = &full.Descriptor
		}
	}
	if err != nil {
		if classify(err) == ErrNotFound {
			return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, noSuchImage(r))
		}
		return name.Digest{}, annotate(err, "resolving %s", ref)
	}
	d := r.Context().Digest(desc.Digest.String())
	if desc.MediaType != "" {
		c.kinds.Store(d.String(), desc.MediaType)
	}
	return d, nil
}

// Image returns the image at d without downloading its layers: the manifest
// and config are fetched now, each layer only when read. An index resolves
// to its linux/amd64 image. Later reads use ctx.
func (c *Client) Image(ctx context.Context, d name.Digest) (v1.Image, error) {
	d = c.normalize(d)
	img, err := remote.Image(d, c.RemoteOptions(ctx)...)
	if err != nil {
		return nil, annotate(err, "fetching image %s", d)
	}
	return img, nil
}

// Descriptor fetches the manifest at d (image or index) with its media type,
// without interpreting it.
func (c *Client) Descriptor(ctx context.Context, d name.Digest) (*remote.Descriptor, error) {
	d = c.normalize(d)
	desc, err := remote.Get(d, c.RemoteOptions(ctx)...)
	if err != nil {
		return nil, annotate(err, "fetching manifest %s", d)
	}
	return desc, nil
}

// httpClient returns an authenticated client for direct requests to repo.
// The authenticated transport is set up (ping, token) once per repository
// and kept; a failed setup is not kept, the next call tries again.
func (c *Client) httpClient(ctx context.Context, repo name.Repository) (*http.Client, error) {
	key := repo.Scheme() + "://" + repo.Name()
	if tr, ok := c.tokens.Load(key); ok {
		return &http.Client{Transport: tr.(http.RoundTripper)}, nil
	}
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, err
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, c.rt, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	// Two first calls racing both set up a transport; either may be kept.
	v, _ := c.tokens.LoadOrStore(key, tr)
	return &http.Client{Transport: v.(http.RoundTripper)}, nil
}

func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}
