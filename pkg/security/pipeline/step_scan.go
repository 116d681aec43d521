package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/scan"
)

// ImageSource is what ScanImage needs of a registry: resolving a reference
// once, listing the platform images of an index and opening an image by
// digest. pkg/security/registry's Client implements it.
type ImageSource interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
	Platforms(ctx context.Context, d name.Digest, selection ...v1.Platform) (*registry.Platforms, error)
	ImageReader
}

// ScanOptions configure ScanDigest and ScanImage. The zero value scans
// without a cache, logs nothing and expires ignore rules by time.Now.
type ScanOptions struct {
	// Cache keeps each scanner's report by image digest, scanner version
	// and database build, and, for ScanImage, the SBOM (as GenerateSBOM
	// does). Only scanners that say which version and database they match
	// with before they scan (grype's vulndb.DB) are cached. Default: none.
	Cache *cache.Cache
	// Now is the clock ignore rules expire by. Default: time.Now.
	Now func() time.Time
	// Logger receives the libraries' logs and cache warnings. Default:
	// discard.
	Logger *slog.Logger
	// Scope is the SBOM scope the scanned packages come from, part of the
	// cache key: a squashed and an all-layers SBOM of one image differ.
	// Default: sbom.DefaultScope.
	Scope sbom.Scope
	// Platforms selects, for ScanImage of an image index, the platform
	// images scanned (see registry.Client.Platforms). Default: every one.
	Platforms []v1.Platform
}

// Scanned is what ScanDigest found in one image.
type Scanned struct {
	// Result is the merged findings and the policy's verdict.
	Result *scan.Result
	// Cached reports that every scanner's report came from the cache:
	// nothing was matched again.
	Cached bool
}

// ScanDigest matches the SBOM of the image d with every tool and applies p
// (scan.Run). sb gives the SBOM; it is called only when a scanner has no
// cached report.
//
// With o.Cache, a scanner's report of the same digest by the same scanner
// version and database is replayed and a new one is stored; the policy is
// applied afresh every time, so that a changed policy, VEX document or
// expired ignore rule takes effect without scanning again. The cache holds
// reports of the SBOM sc generates for d (GenerateSBOM): give no Cache when
// sb is an SBOM from elsewhere, whose findings may differ.
//
// A policy violation is no error: it is in the result's verdict
// (scan.Result.Err). Errors are scan.Run's, and sb's.
func ScanDigest(ctx context.Context, d name.Digest, sb func(context.Context) (scan.SBOM, error), tools []scan.Tool, p scan.Policy, o ScanOptions) (*Scanned, error) {
	now, logger := o.Now, o.Logger
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	image := d.String()
	run := make([]scan.Tool, len(tools))
	needSBOM, allCached := false, true
	for i, t := range tools {
		s := t.Scanner
		ds, described := s.(describedScanner)
		_, missing := s.(missingScanner)
		switch {
		case missing:
			allCached = false
		case o.Cache != nil && described:
			scope := o.Scope
			if scope == "" {
				scope = sbom.DefaultScope
			}
			cs := &cachedScanner{inner: ds, cache: o.Cache, logger: logger, scope: scope, now: now}
			if rep, hit := cs.lookup(ctx, image); hit {
				s = replayScanner{name: s.Name(), report: rep}
				break
			}
			s = cs
			needSBOM, allCached = true, false
		default:
			needSBOM, allCached = true, false
		}
		run[i] = scan.Tool{Scanner: s, Required: t.Required}
	}

	var input scan.SBOM
	if needSBOM {
		var err error
		if input, err = sb(ctx); err != nil {
			return nil, err
		}
	}
	res, err := scan.Run(ctx, image, input, run, p, scan.WithClock(now), scan.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	return &Scanned{Result: res, Cached: allCached}, nil
}

// ImageScan is what ScanImage found: the scan of an image, or of each
// selected platform image of an image index.
type ImageScan struct {
	// Digest is the image or the index, as ScanImage resolved it.
	Digest name.Digest
	// Index is true when Digest is an image index.
	Index bool
	// Scans holds one scan per image: the image's own, or each platform
	// image's in index order, its Result naming the platform.
	Scans []Scanned
	// Skipped are the manifests of an index that were not scanned, with
	// the reason (buildx attestation manifests, platforms not selected).
	Skipped []registry.SkippedManifest
}

// Results are the scan results, one per image, in order.
func (s *ImageScan) Results() []*scan.Result {
	out := make([]*scan.Result, len(s.Scans))
	for i := range s.Scans {
		out[i] = s.Scans[i].Result
	}
	return out
}

// Cached reports that every report of every image came from the cache.
func (s *ImageScan) Cached() bool {
	for _, sc := range s.Scans {
		if !sc.Cached {
			return false
		}
	}
	return len(s.Scans) > 0
}

// Err is the verdict: nil when every image passed (or only warned), else
// the policy errors (*scan.PolicyError) of the images that failed, each
// naming its platform for an index. The verdict of an index is the worst
// over its platforms.
func (s *ImageScan) Err() error {
	var errs []error
	for _, sc := range s.Scans {
		err := sc.Result.Err()
		if err != nil && sc.Result.Platform != "" {
			err = fmt.Errorf("%s: %w", sc.Result.Platform, err)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ScanImage scans the image ref names as the executor's resolve,
// sbom-generate and scan steps do: it resolves ref to a digest once and,
// for an image index, lists its platform images (o.Platforms selects
// among them; buildx attestation manifests are skipped); for each image,
// one after the other, it makes its SBOM (GenerateSBOM, in
// sbom.DefaultFormat at sbom.DefaultScope, from o.Cache when it holds it)
// only when a scanner has no cached report, and scans it (ScanDigest). A
// second scan of an unchanged image with the same cache reads no layer and
// matches nothing again; the policy is applied afresh.
//
// Errors are those of resolving and listing (registry.ErrNoPlatform for a
// selection the index does not have), and of each image's scan, naming
// its platform; any of them means no result.
func ScanImage(ctx context.Context, reg ImageSource, ref string, tools []scan.Tool, p scan.Policy, o ScanOptions) (*ImageScan, error) {
	d, err := reg.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	ps, err := reg.Platforms(ctx, d, o.Platforms...)
	if err != nil {
		return nil, err
	}
	out := &ImageScan{Digest: d, Index: ps.Index, Skipped: ps.Skipped}
	var errs []error
	for _, img := range ps.Images {
		generate := func(ctx context.Context) (scan.SBOM, error) {
			sb, err := GenerateSBOM(ctx, reg, img.Digest, SBOMOptions{Cache: o.Cache, Logger: o.Logger})
			if err != nil {
				return nil, err
			}
			return sb.ScanInput()
		}
		scanned, err := ScanDigest(ctx, img.Digest, generate, tools, p, o)
		if err != nil {
			if ps.Index {
				err = fmt.Errorf("%s: %w", img.Name(), err)
			}
			errs = append(errs, err)
			continue
		}
		scanned.Result.Platform = img.Name()
		out.Scans = append(out.Scans, *scanned)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// scanImage matches the SBOM's packages with every configured scanner and
// applies the policy (ScanDigest), for the image or each platform image of
// an index: a scanner's report for the same image digest, scanner version
// and database comes from the cache; the policy is applied afresh. A
// violation is a check that failed (the error is the scan package's
// *scan.PolicyError), unless softFail, which turns it into a warning. The
// verdict of an index is the worst of its platforms': a platform that
// violates the policy fails the step even when another could not be
// scanned (that one is then a warning of the step).
func (r *imageRun) scanImage(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	tools := make([]scan.Tool, 0, len(r.sec.Scan.Tools))
	for _, t := range r.sec.Scan.Tools {
		s, ok := e.scanners[string(t.Name)]
		if !ok {
			s = missingScanner{name: string(t.Name)}
		}
		tools = append(tools, scan.Tool{Scanner: s, Required: t.Required != nil && *t.Required})
	}
	errs := r.perPlatform(ctx, sr, func(ctx context.Context, p *platformRun, sr *StepResult) error {
		return r.scanPlatform(ctx, p, tools, sr)
	})
	var violations, others []error
	for _, err := range errs {
		var pe *scan.PolicyError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			violations = append(violations, err)
		default:
			others = append(others, err)
		}
	}
	if len(violations) == 0 {
		return errors.Join(others...)
	}
	for _, err := range others {
		sr.Warnings = append(sr.Warnings, "could not scan "+err.Error())
	}
	return errors.Join(violations...)
}

// scanPlatform scans one image (ScanDigest) and reports its verdict into
// sr.
func (r *imageRun) scanPlatform(ctx context.Context, p *platformRun, tools []scan.Tool, sr *StepResult) error {
	e := r.rl.e
	sbomOf := func(context.Context) (scan.SBOM, error) { return p.sbom.ScanInput() }
	scanned, err := ScanDigest(ctx, p.image.Digest, sbomOf, tools, r.policy, ScanOptions{Cache: e.cache, Now: e.now, Logger: e.logger, Scope: r.sbomScope})
	if err != nil {
		return err
	}
	res := scanned.Result
	res.Platform = p.name()
	p.scan = res
	sr.Cached = scanned.Cached
	for _, n := range res.Notices {
		sr.Warnings = append(sr.Warnings, n.Message)
	}
	c := res.Counts
	sr.Detail = fmt.Sprintf("%d findings (critical %d, high %d, medium %d, low %d), verdict %s",
		c.Total, c.Critical, c.High, c.Medium, c.Low, res.Verdict.Status)
	switch res.Verdict.Status {
	case scan.Fail:
		if err := res.Err(); err != nil {
			return err
		}
		sr.Warnings = append(sr.Warnings, fmt.Sprintf("policy violated, reported only (softFail): %d at or above %s: %s",
			len(res.Verdict.Failing), res.Verdict.FailOn, list(res.Verdict.Failing)))
	case scan.Warn:
		sr.Warnings = append(sr.Warnings, fmt.Sprintf("%d at or above %s: %s",
			len(res.Verdict.Warning), res.Verdict.WarnOn, list(res.Verdict.Warning)))
	}
	return nil
}

// list shows up to ten IDs.
func list(ids []string) string {
	const show = 10
	if len(ids) > show {
		return strings.Join(ids[:show], ", ") + fmt.Sprintf(" and %d more", len(ids)-show)
	}
	return strings.Join(ids, ", ")
}

// missingScanner stands for a configured scanner the executor was not
// given: it cannot run.
type missingScanner struct{ name string }

func (m missingScanner) Name() string { return m.name }

func (m missingScanner) Scan(context.Context, string, scan.SBOM) (*scan.Report, error) {
	return nil, fmt.Errorf("%w: %s was not set up for this run", scan.ErrScannerNotFound, m.name)
}
