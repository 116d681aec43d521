package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SBOM is an image's SBOM as scanners read it. Package vulndb's SBOM wraps
// syft's model, which grype matches on directly; scanners that read files
// (Trivy) ask for a CycloneDX document.
type SBOM interface {
	// CycloneDX returns the SBOM as a CycloneDX JSON document.
	CycloneDX() ([]byte, error)
}

// Scanner finds vulnerabilities in the packages of one image's SBOM. A
// Scanner is safe for concurrent use: one value scans every image of a
// release.
type Scanner interface {
	// Name is the scanner's name in results: "grype", "trivy".
	Name() string
	// Scan reports the vulnerabilities of the packages in s, the SBOM of
	// image ("registry/repo@sha256:…").
	Scan(ctx context.Context, image string, s SBOM) (*Report, error)
}

// Tool is a scanner and whether the scan needs it.
type Tool struct {
	// Scanner is the scanner.
	Scanner Scanner
	// Required fails the scan when the scanner cannot run. An optional
	// scanner that cannot run leaves a notice in the result, and the scan
	// goes on with the others.
	Required bool
}

type runConfig struct {
	now    func() time.Time
	logger *slog.Logger
}

// RunOption configures Run.
type RunOption func(*runConfig)

// WithClock sets the clock ignore rules expire by. Default: time.Now.
func WithClock(now func() time.Time) RunOption { return func(c *runConfig) { c.now = now } }

// WithLogger sets the logger for progress and for optional scanners that
// could not run. Default: a logger that discards.
func WithLogger(l *slog.Logger) RunOption { return func(c *runConfig) { c.logger = l } }

// Run scans image, whose SBOM is s, with every tool at once, merges their
// findings and applies p. The SBOM is the one already made for the image:
// nothing is pulled or catalogued again.
//
// Errors: ErrInvalidPolicy for a policy that does not validate;
// ErrNoScanners without tools; the error of a required scanner that could
// not run (ErrScannerNotFound, ErrScannerFailed, a database error…),
// naming the image; ErrScannerFailed when no scanner could run. A policy
// violation is not an error of Run: it is in the result's verdict, and
// Result.Err returns it.
func Run(ctx context.Context, image string, s SBOM, tools []Tool, p Policy, opts ...RunOption) (*Result, error) {
	c := runConfig{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(tools) == 0 {
		return nil, ErrNoScanners
	}

	reports := make([]*Report, len(tools))
	errs := make([]error, len(tools))
	var wg sync.WaitGroup
	for i, t := range tools {
		wg.Go(func() {
			c.logger.Debug("scanning", "image", image, "scanner", t.Scanner.Name())
			reports[i], errs[i] = t.Scanner.Scan(ctx, image, s)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scanning %s: %w", image, err)
	}

	var notices []Notice
	var ran []*Report
	var failed []error
	for i, t := range tools {
		name := t.Scanner.Name()
		if errs[i] == nil && reports[i] == nil {
			errs[i] = fmt.Errorf("%w: no report", ErrScannerFailed)
		}
		if errs[i] != nil {
			if t.Required {
				return nil, fmt.Errorf("scanning %s with %s: %w", image, name, errs[i])
			}
			c.logger.Warn("optional scanner could not run; going on without it", "image", image, "scanner", name, "error", errs[i])
			notices = append(notices, Notice{
				Kind:    NoticeScannerFailed,
				Scanner: name,
				Message: fmt.Sprintf("optional scanner %s could not run, its findings are missing: %v", name, errs[i]),
			})
			failed = append(failed, fmt.Errorf("%s: %w", name, errs[i]))
			continue
		}
		ran = append(ran, reports[i])
	}
	if len(ran) == 0 {
		return nil, fmt.Errorf("scanning %s: %w: no scanner could run: %w", image, ErrScannerFailed, errors.Join(failed...))
	}
	res := Evaluate(image, ran, p, c.now())
	res.Notices = append(notices, res.Notices...)
	return res, nil
}
