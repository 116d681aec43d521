package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrcache "github.com/google/go-containerregistry/pkg/v1/cache"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// ImageReader opens an image by digest without downloading its layers;
// pkg/security/registry's Client implements it.
type ImageReader interface {
	Image(ctx context.Context, d name.Digest) (v1.Image, error)
}

// SBOM is an image's SBOM as GenerateSBOM returns it and the cache keeps
// it: the document as generated (so that a warm run attaches the very same
// bytes), its description, and, when it is cached, the syft-json encoding
// of the same model, which a scan reads when its own report is not cached.
type SBOM struct {
	// Result describes the document. Its SBOM (syft's model) is nil when
	// the SBOM came from the cache.
	Result sbom.Result `json:"result"`
	// Document is the encoded SBOM, in Result.Format.
	Document []byte `json:"document"`
	// SyftJSON is the syft-json encoding of the model, for the cache; empty
	// without one.
	SyftJSON []byte `json:"syftJSON"`
	// Cached reports that the SBOM came from the cache, or from the
	// registry (Reused): no layer was read.
	Cached bool `json:"-"`
	// Reused is, for an SBOM taken from an attestation already in the
	// registry (SBOMOptions.Reuse), that attestation's artifact digest.
	Reused string `json:"-"`
}

// ScanInput returns the SBOM as scanners read it: syft's model when it was
// generated now, else decoded from the cached syft-json.
func (s *SBOM) ScanInput() (scan.SBOM, error) {
	if s.Result.SBOM != nil {
		return vulndb.NewSBOM(s.Result.SBOM), nil
	}
	sb, err := vulndb.DecodeSBOM(s.SyftJSON)
	if err != nil {
		return nil, fmt.Errorf("reading the cached SBOM of %s: %w", s.Result.Image, err)
	}
	return sb, nil
}

// SBOMOptions configure GenerateSBOM. The zero value generates a
// sbom.DefaultFormat document at sbom.DefaultScope, without a cache.
type SBOMOptions struct {
	// Format is the document's format. Default: sbom.DefaultFormat.
	Format sbom.Format
	// Scope is the part of the image catalogued. Default:
	// sbom.DefaultScope.
	Scope sbom.Scope
	// Cache keeps SBOMs by image digest, format, scope and syft version,
	// and what cataloguing found per layer chain (sbom.WithLayerCache).
	// Default: none; every call reads and catalogues the image.
	Cache *cache.Cache
	// Layers is where the image's layers are read from before the
	// registry (go-containerregistry's layer cache). Default: none.
	Layers ggcrcache.Cache
	// Prepare, when set, is called on a cache miss, before generating, for
	// the context Generate runs in: the executor shares syft's license
	// scanner between the images of a release this way (sbom.Prepare).
	// Default: none; each generation builds its own.
	Prepare func(context.Context) (context.Context, error)
	// Reuse, when set, is asked on a cache miss before the image is read:
	// an SBOM already proven for these options (key names them), such as
	// a verified attestation in the registry, or nil when there is none.
	// Its error is a warning: the SBOM is generated instead. Default: none.
	Reuse func(ctx context.Context, key cache.Key) (*SBOM, error)
	// Logger receives the libraries' logs and cache warnings. Default:
	// discard.
	Logger *slog.Logger
}

// GenerateSBOM returns the SBOM of the image d: from the cache when it
// holds one made with the same options by this build's syft, else
// generated (the manifest, then each layer once) and stored. A cache that
// cannot be read or written is a warning, never an error.
func GenerateSBOM(ctx context.Context, reg ImageReader, d name.Digest, o SBOMOptions) (*SBOM, error) {
	if o.Format == "" {
		o.Format = sbom.DefaultFormat
	}
	if o.Scope == "" {
		o.Scope = sbom.DefaultScope
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key, err := sbomCacheKey(d, o.Format, o.Scope)
	if err != nil {
		return nil, err
	}
	if o.Cache != nil {
		data, ok, err := o.Cache.Get(ctx, key)
		if err != nil && ctx.Err() == nil {
			logger.Warn("reading the SBOM cache", "image", d.String(), "error", err)
		}
		var ent SBOM
		if ok && json.Unmarshal(data, &ent) == nil && len(ent.Document) > 0 && len(ent.SyftJSON) > 0 {
			ent.Cached = true
			return &ent, nil
		}
	}
	if o.Reuse != nil {
		sb, err := o.Reuse(ctx, key)
		if err != nil && ctx.Err() == nil {
			logger.Warn("reusing the SBOM in the registry", "image", d.String(), "error", err)
		}
		if err == nil && sb != nil {
			sb.Cached = true
			if o.Cache != nil && sb.Result.SBOM != nil {
				putSBOM(ctx, o.Cache, key, sb, logger)
			}
			return sb, nil
		}
	}
	img, err := reg.Image(ctx, d)
	if err != nil {
		return nil, err
	}
	switch lc := o.Layers.(type) {
	case nil:
	case *layerCache:
		img = lc.image(img)
	default:
		img = ggcrcache.Image(img, o.Layers)
	}
	gctx := ctx
	if o.Prepare != nil {
		if gctx, err = o.Prepare(ctx); err != nil {
			return nil, err
		}
	}
	gopts := []sbom.Option{sbom.WithFormat(o.Format), sbom.WithScope(o.Scope), sbom.WithLogger(logger)}
	if o.Cache != nil {
		// images sharing lower layers share their cataloguing
		gopts = append(gopts, sbom.WithLayerCache(o.Cache))
	}
	res, err := sbom.Generate(gctx, d, img, gopts...)
	if err != nil {
		return nil, err
	}
	out := &SBOM{Result: *res, Document: res.Document}
	if o.Cache == nil {
		return out, nil
	}
	putSBOM(ctx, o.Cache, key, out, logger)
	return out, nil
}

// putSBOM stores sb, with the syft-json encoding of its model, in c under
// key. A failure is a warning.
func putSBOM(ctx context.Context, c *cache.Cache, key cache.Key, sb *SBOM, logger *slog.Logger) {
	ent := *sb
	syftJSON, err := sbom.Encode(sb.Result.SBOM, sbom.SyftJSON, "")
	if err == nil {
		ent.SyftJSON = syftJSON
		var data []byte
		if data, err = json.Marshal(ent); err == nil {
			err = c.Put(ctx, key, data)
		}
	}
	if err != nil && ctx.Err() == nil {
		logger.Warn("writing the SBOM cache", "image", sb.Result.Image.String(), "error", err)
	}
}

// generateSBOM makes the SBOM of the image, or of each platform image of
// an index, or reads it from the cache (GenerateSBOM), and writes it to
// sbom.output when that is set. Only a cache miss reads an image: the
// manifest, then each layer once (through the release's layer cache when
// there is one); an image that several services of the release name (a
// platform image two indexes share) is catalogued once.
func (r *imageRun) generateSBOM(ctx context.Context, sr *StepResult) error {
	return errors.Join(r.perPlatform(ctx, sr, r.generatePlatformSBOM)...)
}

func (r *imageRun) generatePlatformSBOM(ctx context.Context, p *platformRun, sr *StepResult) error {
	e := r.rl.e
	o := SBOMOptions{Format: r.sbomFormat, Scope: r.sbomScope, Cache: e.cache, Prepare: r.rl.sbomContext, Logger: e.logger}
	if r.rl.layers != nil {
		o.Layers = r.rl.layers
	}
	if e.reuse && r.sec.SigningEnabled() && r.sec.VerifyEnabled() {
		o.Reuse = r.reuseSBOM(p.image.Digest)
	}
	sb, err := r.rl.sbomOnce(ctx, e.reg, p.image.Digest, o)
	if err != nil {
		return err
	}
	p.sbom, sr.Cached = sb, sb.Cached
	res := &sb.Result
	sr.Detail = fmt.Sprintf("%s, %d packages, %s", res.Format, res.Packages, digest.Short(res.Digest))
	if sb.Reused != "" {
		sr.Detail += fmt.Sprintf(", reused from the verified attestation %s in the registry: no layer read", digest.Short(sb.Reused))
	}
	if out := r.sbomOutput(p); out != "" {
		if err := writeFileAtomic(out, sb.Document); err != nil {
			return err
		}
		sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "sbom-file", Storage: "file", Path: out, Digest: res.Digest})
	}
	return nil
}

// sbomOutput is sbom.output with {service} replaced, or "". For a platform
// image of an index, the platform (os-arch[-variant]) is put before the
// file name's first dot: sbom-api.cdx.json becomes
// sbom-api-linux-arm64.cdx.json.
func (r *imageRun) sbomOutput(p *platformRun) string {
	out := SBOMOutput(r.svc)
	if out == "" || p.image.Platform == nil {
		return out
	}
	dir, file := filepath.Split(out)
	stem, ext, _ := strings.Cut(file, ".")
	if ext != "" {
		ext = "." + ext
	}
	return dir + stem + "-" + strings.ReplaceAll(p.name(), "/", "-") + ext
}

// sbomFlight is an SBOM being made for the release; done is closed when
// it is.
type sbomFlight struct {
	done chan struct{}
	sb   *SBOM
	err  error
}

// sbomOnce is GenerateSBOM, once per release for each image digest, format
// and scope: a second caller waits for the first one's SBOM.
func (rl *release) sbomOnce(ctx context.Context, reg ImageReader, d name.Digest, o SBOMOptions) (*SBOM, error) {
	k := fmt.Sprintf("%s %s %s", d.DigestStr(), o.Format, o.Scope)
	rl.sbomMu.Lock()
	f, ok := rl.sboms[k]
	if !ok {
		f = &sbomFlight{done: make(chan struct{})}
		rl.sboms[k] = f
	}
	rl.sbomMu.Unlock()
	if ok {
		select {
		case <-f.done:
			return f.sb, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.sb, f.err = GenerateSBOM(ctx, reg, d, o)
	close(f.done)
	return f.sb, f.err
}

// SBOMOutput is the file the release writes the SBOM of svc to: its
// security block's sbom.output with {service} replaced by the service's
// name, or "" when it writes none (for an index, each platform's file is
// named after it, see sbomOutput). Commands check it before a run.
func SBOMOutput(svc api.Service) string {
	sec := &svc.Security
	if !sec.SBOMEnabled() || sec.SBOM == nil || sec.SBOM.Output == "" {
		return ""
	}
	return strings.ReplaceAll(sec.SBOM.Output, "{service}", svc.Name)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory renamed over it: a reader, or an interrupted run, never sees a
// partial file.
func writeFileAtomic(path string, data []byte) (err error) {
	// A device or pipe (/dev/stdout, a FIFO) is written to, never renamed
	// over: that would replace it with a regular file.
	if fi, statErr := os.Stat(path); statErr == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return outcome.Operationalf("writing %s: %w", path, err)
		}
		if _, err := f.Write(data); err != nil {
			_ = f.Close()
			return outcome.Operationalf("writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return outcome.Operationalf("writing %s: %w", path, err)
		}
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	return nil
}
