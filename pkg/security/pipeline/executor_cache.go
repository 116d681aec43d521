package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/version"
)

// Cache operations the executor uses. Their TTLs are the cache's
// (cache.DefaultTTLs: an SBOM a week, a scan report a day).
const (
	cacheOpSBOM = "sbom"
	cacheOpScan = "scan"
)

// sbomCacheKey names the SBOM of d made with the options that change it,
// by this build's syft.
func sbomCacheKey(d name.Digest, f sbom.Format, scope sbom.Scope) (cache.Key, error) {
	h, err := cache.HashConfig(struct {
		Format     sbom.Format `json:"format"`
		Scope      sbom.Scope  `json:"scope"`
		Catalogers string      `json:"catalogers"`
		Files      sbom.Files  `json:"files"`
		// Revision changes when sc writes a different document for the
		// same options and syft: 1, no file entries without --files (the
		// documents before listed files with zero SPDX checksums).
		Revision int `json:"revision"`
	}{f, scope, sbom.DefaultCatalogers, sbom.NoFiles, 1})
	if err != nil {
		return cache.Key{}, err
	}
	return cache.Key{Operation: cacheOpSBOM, Digest: d.DigestStr(), ConfigHash: h, ToolVersion: "syft " + version.Linked("github.com/anchore/syft")}, nil
}

// describedScanner is a scanner that can say which version and database it
// matches with before it scans (grype's vulndb.DB). Only such scanners'
// reports are cached: the report's key must name everything that changes
// it.
type describedScanner interface {
	scan.Scanner
	Info() scan.ScannerInfo
}

// scannerVersion is the cache key's tool version for a scanner: its name,
// version and database build time and schema.
func scannerVersion(info scan.ScannerInfo) string {
	parts := []string{info.Name, info.Version}
	if db := info.DB; db != nil {
		parts = append(parts, "db", db.Built.UTC().Format("2006-01-02T15:04:05Z"), db.Schema)
		if db.Stale {
			parts = append(parts, "stale")
		}
	}
	return strings.Join(parts, " ")
}

// cachedScanner decorates a scanner with the report cache: a report of the
// same image digest and SBOM scope by the same scanner version and
// database is replayed; a new one is stored. The policy is applied afresh every time (scan.Run
// does), so that a changed policy, VEX document or expired ignore rule
// takes effect without scanning again.
type cachedScanner struct {
	inner  describedScanner
	cache  *cache.Cache
	logger *slog.Logger
	// scope is the SBOM scope the scanned packages come from: all layers
	// list packages a squashed image no longer has.
	scope sbom.Scope
	// now stamps a new report with when it was made, which its replays
	// keep. Default: time.Now.
	now func() time.Time
}

var _ scan.Scanner = (*cachedScanner)(nil)

func (s *cachedScanner) Name() string { return s.inner.Name() }

func (s *cachedScanner) key(image string) (cache.Key, error) {
	d, err := name.NewDigest(image)
	if err != nil {
		return cache.Key{}, fmt.Errorf("scan cache: %q is not an image digest: %w", image, err)
	}
	return cache.Key{Operation: cacheOpScan, Digest: d.DigestStr(), ConfigHash: "scanner=" + s.inner.Name() + " scope=" + string(s.scope), ToolVersion: scannerVersion(s.inner.Info())}, nil
}

// lookup returns the cached report of image, if any.
func (s *cachedScanner) lookup(ctx context.Context, image string) (*scan.Report, bool) {
	k, err := s.key(image)
	if err != nil {
		return nil, false
	}
	data, ok, err := s.cache.Get(ctx, k)
	if err != nil || !ok {
		if err != nil {
			s.logger.Warn("reading the scan cache", "image", image, "error", err)
		}
		return nil, false
	}
	var r scan.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, false
	}
	return &r, true
}

// Scan scans with the inner scanner and stores the report, stamped with
// when it was made (Scanner.ScannedAt) unless the scanner said.
func (s *cachedScanner) Scan(ctx context.Context, image string, sb scan.SBOM) (*scan.Report, error) {
	r, err := s.inner.Scan(ctx, image, sb)
	if err != nil {
		return nil, err
	}
	if r.Scanner.ScannedAt.IsZero() {
		now := s.now
		if now == nil {
			now = time.Now
		}
		r.Scanner.ScannedAt = now().UTC().Truncate(time.Second)
	}
	if k, err := s.key(image); err == nil {
		if data, err := json.Marshal(r); err == nil {
			if err := s.cache.Put(ctx, k, data); err != nil && ctx.Err() == nil {
				s.logger.Warn("writing the scan cache", "image", image, "error", err)
			}
		}
	}
	return r, nil
}

// replayScanner answers with a report read from the cache, marked as
// cached; it keeps the time the report was made.
type replayScanner struct {
	name   string
	report *scan.Report
}

func (s replayScanner) Name() string { return s.name }

func (s replayScanner) Scan(context.Context, string, scan.SBOM) (*scan.Report, error) {
	r := *s.report
	r.Scanner.Cached = true
	return &r, nil
}
