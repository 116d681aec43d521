package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// scanImage matches the SBOM's packages with every configured scanner and
// applies the policy. A scanner's report for the same image digest, scanner
// version and database comes from the cache; the policy is applied afresh.
// A violation is a check that failed (the error is the scan package's
// *scan.PolicyError), unless softFail, which turns it into a warning.
func (r *imageRun) scanImage(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	image := r.digest.String()
	tools := make([]scan.Tool, 0, len(r.sec.Scan.Tools))
	needSBOM, allCached := false, true
	for _, t := range r.sec.Scan.Tools {
		s, ok := e.scanners[string(t.Name)]
		switch {
		case !ok:
			s, allCached = missingScanner{name: string(t.Name)}, false
		case e.cache != nil:
			if ds, ok := s.(describedScanner); ok {
				cs := &cachedScanner{inner: ds, cache: e.cache, logger: e.logger, scope: r.sbomScope}
				if rep, hit := cs.lookup(ctx, image); hit {
					s = replayScanner{name: s.Name(), report: rep}
					break
				}
				s = cs
			}
			needSBOM, allCached = true, false
		default:
			needSBOM, allCached = true, false
		}
		tools = append(tools, scan.Tool{Scanner: s, Required: t.Required != nil && *t.Required})
	}

	var input scan.SBOM
	if needSBOM {
		if r.model != nil {
			input = vulndb.NewSBOM(r.model)
		} else {
			sb, err := vulndb.DecodeSBOM(r.sbom.SyftJSON)
			if err != nil {
				return fmt.Errorf("reading the cached SBOM of %s: %w", image, err)
			}
			input = sb
		}
	}
	res, err := scan.Run(ctx, image, input, tools, r.policy, scan.WithClock(e.now), scan.WithLogger(e.logger))
	if err != nil {
		return err
	}
	r.scan = res
	sr.Cached = allCached
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
