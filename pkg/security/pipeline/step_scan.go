package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/scan"
)

// ImageSource is what ScanImage needs of a registry: resolving a reference
// once and opening the image by digest. pkg/security/registry's Client
// implements it.
type ImageSource interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
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
}

// Scanned is what ScanDigest and ScanImage found.
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
			cs := &cachedScanner{inner: ds, cache: o.Cache, logger: logger, now: now}
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

// ScanImage scans the image ref names as the executor's resolve,
// sbom-generate and scan steps do: it resolves ref to a digest once, makes
// its SBOM (GenerateSBOM, in sbom.DefaultFormat at sbom.DefaultScope, from
// o.Cache when it holds it) only when a scanner has no cached report, and
// scans it (ScanDigest). A second scan of an unchanged image with the same
// cache reads no layer and matches nothing again; the policy is applied
// afresh.
func ScanImage(ctx context.Context, reg ImageSource, ref string, tools []scan.Tool, p scan.Policy, o ScanOptions) (*Scanned, error) {
	d, err := reg.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	generate := func(ctx context.Context) (scan.SBOM, error) {
		sb, err := GenerateSBOM(ctx, reg, d, SBOMOptions{Cache: o.Cache, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		return sb.ScanInput()
	}
	return ScanDigest(ctx, d, generate, tools, p, o)
}

// scanImage matches the SBOM's packages with every configured scanner and
// applies the policy (ScanDigest): a scanner's report for the same image
// digest, scanner version and database comes from the cache; the policy is
// applied afresh. A violation is a check that failed (the error is the
// scan package's *scan.PolicyError), unless softFail, which turns it into a
// warning.
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
	sbomOf := func(context.Context) (scan.SBOM, error) { return r.sbom.ScanInput() }
	scanned, err := ScanDigest(ctx, r.digest, sbomOf, tools, r.policy, ScanOptions{Cache: e.cache, Now: e.now, Logger: e.logger})
	if err != nil {
		return err
	}
	res := scanned.Result
	r.scan = res
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
