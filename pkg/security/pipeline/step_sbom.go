package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ggcrcache "github.com/google/go-containerregistry/pkg/v1/cache"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// generateSBOM makes the image's SBOM, or reads it from the cache, and
// writes it to sbom.output when that is set. Only a cache miss reads the
// image: the manifest, then each layer once (through the release's layer
// cache when there is one).
func (r *imageRun) generateSBOM(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	var key cache.Key
	if e.cache != nil {
		k, err := sbomCacheKey(r.digest, r.sbomFormat, r.sbomScope)
		if err != nil {
			return err
		}
		key = k
		data, ok, err := e.cache.Get(ctx, key)
		if err != nil && ctx.Err() == nil {
			e.logger.Warn("reading the SBOM cache", "image", r.digest.String(), "error", err)
		}
		var ent sbomEntry
		if ok && json.Unmarshal(data, &ent) == nil && len(ent.Document) > 0 && len(ent.SyftJSON) > 0 {
			r.sbom, sr.Cached = &ent, true
		}
	}
	if r.sbom == nil {
		img, err := e.reg.Image(ctx, r.digest)
		if err != nil {
			return err
		}
		if r.rl.layers != nil {
			img = ggcrcache.Image(img, r.rl.layers)
		}
		sctx, err := r.rl.sbomContext(ctx)
		if err != nil {
			return err
		}
		res, err := sbom.Generate(sctx, r.digest, img,
			sbom.WithFormat(r.sbomFormat), sbom.WithScope(r.sbomScope), sbom.WithLogger(e.logger))
		if err != nil {
			return err
		}
		syftJSON, err := sbom.Encode(res.SBOM, sbom.SyftJSON, "")
		if err != nil {
			return fmt.Errorf("encoding the SBOM of %s as syft-json: %w", r.digest, err)
		}
		r.sbom = &sbomEntry{Result: *res, Document: res.Document, SyftJSON: syftJSON}
		r.model = res.SBOM
		if e.cache != nil {
			data, err := json.Marshal(r.sbom)
			if err == nil {
				err = e.cache.Put(ctx, key, data)
			}
			if err != nil && ctx.Err() == nil {
				e.logger.Warn("writing the SBOM cache", "image", r.digest.String(), "error", err)
			}
		}
	}
	res := &r.sbom.Result
	sr.Detail = fmt.Sprintf("%s, %d packages, %s", res.Format, res.Packages, digest.Short(res.Digest))
	if out := r.sbomOutput(); out != "" {
		if err := writeFileAtomic(out, r.sbom.Document); err != nil {
			return err
		}
		sr.Artifacts = append(sr.Artifacts, Artifact{Kind: "sbom-file", Path: out, Digest: res.Digest})
	}
	return nil
}

// sbomOutput is sbom.output with {service} replaced, or "".
func (r *imageRun) sbomOutput() string {
	if !r.sec.SBOMEnabled() || r.sec.SBOM == nil || r.sec.SBOM.Output == "" {
		return ""
	}
	return strings.ReplaceAll(r.sec.SBOM.Output, "{service}", r.svc.Name)
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
