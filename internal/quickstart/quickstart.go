// Package quickstart runs sc's pipeline end to end on one machine with no
// network and no services: an embedded registry on loopback, the realistic
// sample image from internal/fixture, an ephemeral signing key. It is what
// the README's first command runs, and it grows with the pipeline.
//
// It does not talk to anything but the registry it starts itself, does not
// read the environment, and writes only the key pair, into the directory it
// is given. It is a demonstration: its key is ephemeral and its signatures
// are not recorded in a transparency log.
package quickstart

import (
	"context"
	"crypto"
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
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/signing"
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

	if err := p.timed("resolve", func() (string, error) {
		d, err := client.Resolve(ctx, tag)
		if err != nil {
			return "", err
		}
		s.Image = d
		return fmt.Sprintf("%s → %s (every later step uses the digest)", tag, d.DigestStr()), nil
	}); err != nil {
		return nil, err
	}

	var doc *sbom.Result
	if err := p.timed("sbom", func() (string, error) {
		img, err := client.Image(ctx, s.Image)
		if err != nil {
			return "", err
		}
		res, err := sbom.Generate(ctx, s.Image, img, sbom.WithLogger(opts.Logger))
		if err != nil {
			return "", err
		}
		doc = res
		return fmt.Sprintf("%s by %s %s: %d packages, %d bytes (%s)", res.Format, res.Tool.Name, res.Tool.Version, res.Packages, len(res.Document), short(res.Digest)), nil
	}); err != nil {
		return nil, err
	}

	var signer *signing.KeySigner
	var sv signingKey
	if err := p.timed("key", func() (string, error) {
		var err error
		sv, err = newKey(opts.Dir, s)
		if err != nil {
			return "", err
		}
		signer, err = signing.NewKeySigner(sv.sv, signing.Services{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("ephemeral ECDSA P-256 key pair in cosign's format: %s, %s", s.PrivateKey, s.PublicKey), nil
	}); err != nil {
		return nil, err
	}

	for _, format := range []signing.Format{signing.FormatBundle, signing.FormatLegacy} {
		if err := p.timed("sign", func() (string, error) {
			res, err := signing.SignImage(ctx, client, s.Image.String(), signer, signing.SignOptions{
				Format: format, VerifyAfterSign: true, Logger: opts.Logger,
				Annotations: map[string]string{"org.opencontainers.image.source": fixture.Source},
			})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s format, key %s, verified after signing (artifact %s)", res.Format, short(res.Signer.KeyID), short(res.Artifact)), nil
		}); err != nil {
			return nil, err
		}
	}

	if err := p.timed("verify", func() (string, error) {
		v, err := signing.NewVerifier(client, nil, signing.Policy{Key: sv.pub}, signing.WithInsecureIgnoreTlog())
		if err != nil {
			return "", err
		}
		res, err := v.VerifyDigest(ctx, s.Image)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d valid signature(s), %d rejected, by public key (no transparency log: offline)", len(res.Verified), len(res.Rejected)), nil
	}); err != nil {
		return nil, err
	}

	var prov []byte
	if err := p.timed("provenance", func() (string, error) {
		g := provenance.NewGenerator(client, provenance.WithVersion(opts.Version), provenance.WithLogger(opts.Logger))
		st, err := g.Generate(ctx, s.Image, provenance.Build{
			Source:    provenance.Source{URI: fixture.Source, Ref: "refs/heads/main", Commit: fixture.Revision},
			BuilderID: BuilderID,
		})
		if err != nil {
			return "", err
		}
		data, err := provenance.Marshal(st)
		if err != nil {
			return "", err
		}
		prov = data
		_, pred, err := provenance.Parse(data)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("SLSA v1.0 statement, builder %s, %d resolved dependencies, %d bytes",
			pred.GetRunDetails().GetBuilder().GetId(), len(pred.GetBuildDefinition().GetResolvedDependencies()), len(data)), nil
	}); err != nil {
		return nil, err
	}

	attachments := []struct {
		name string
		pred attest.Predicate
	}{
		{"sbom", attest.Predicate{Type: doc.PredicateType, Data: doc.Document, Text: doc.Format.TextPredicate()}},
	}
	_, predicate, err := provenance.Parse(prov)
	if err != nil {
		return nil, err
	}
	predJSON, err := protojson.Marshal(predicate)
	if err != nil {
		return nil, err
	}
	attachments = append(attachments, struct {
		name string
		pred attest.Predicate
	}{"provenance", attest.Predicate{Type: provenance.PredicateType, Data: predJSON}})
	for _, a := range attachments {
		if err := p.timed("attest", func() (string, error) {
			res, err := attest.Attach(ctx, client, signer, s.Image, a.pred, attest.AttachOptions{Logger: opts.Logger})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s attestation (%s) signed and attached as a %s (artifact %s)", a.name, res.PredicateType, res.Format, short(res.Artifact)), nil
		}); err != nil {
			return nil, err
		}
	}

	if err := p.timed("verify", func() (string, error) {
		v, err := attest.NewVerifier(client, nil, signing.Policy{Key: sv.pub}, attest.WithInsecureIgnoreTlog())
		if err != nil {
			return "", err
		}
		res, err := v.VerifyDigest(ctx, s.Image, doc.PredicateType, provenance.PredicateType)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d valid attestation(s) (SBOM and provenance), %d rejected", len(res.Verified), len(res.Rejected)), nil
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

type signingKey struct {
	sv  signature.SignerVerifier
	pub crypto.PublicKey
}

// newKey makes an ephemeral key pair with a random password, writes it in
// cosign's format to dir and loads it back as a cosign user's key would be.
func newKey(dir string, s *Session) (signingKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return signingKey{}, outcome.Operationalf("creating %s: %w", dir, err)
	}
	password, err := randomPassword()
	if err != nil {
		return signingKey{}, err
	}
	kp, err := signing.GenerateKeyPair([]byte(password))
	if err != nil {
		return signingKey{}, err
	}
	s.PrivateKey, s.PublicKey = keyPaths(dir)
	if err := os.WriteFile(s.PrivateKey, kp.PrivatePEM, 0o600); err != nil {
		return signingKey{}, outcome.Operationalf("writing the key: %w", err)
	}
	if err := os.WriteFile(s.PublicKey, kp.PublicPEM, 0o644); err != nil {
		return signingKey{}, outcome.Operationalf("writing the key: %w", err)
	}
	sv, err := signing.LoadPrivateKey(kp.PrivatePEM, []byte(password))
	if err != nil {
		return signingKey{}, err
	}
	pub, err := signing.LoadPublicKey(kp.PublicPEM)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{sv: sv, pub: pub}, nil
}

func short(s string) string {
	if i := len("sha256:"); len(s) > i+12 && s[:i] == "sha256:" {
		return s[:i+12]
	}
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

type printer struct{ w io.Writer }

func (p *printer) step(name, format string, args ...any) {
	fmt.Fprintf(p.w, "✓ %-10s %s\n", name, fmt.Sprintf(format, args...))
}

func (p *printer) timed(name string, f func() (string, error)) error {
	start := time.Now()
	detail, err := f()
	if err != nil {
		fmt.Fprintf(p.w, "✗ %-10s %v\n", name, err)
		return fmt.Errorf("quickstart step %s: %w", name, err)
	}
	fmt.Fprintf(p.w, "✓ %-10s %s (%s)\n", name, detail, time.Since(start).Round(time.Millisecond))
	return nil
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
