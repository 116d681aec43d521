package release

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	releasereport "github.com/sc-project/sc/pkg/security/report/release"
)

// writeReports writes the reports: the release summary (to --summary, else
// appended to $GITHUB_STEP_SUMMARY) and, through reportflags, SARIF, the pull-request comment and the DefectDojo reimport of the scan
// results. Report paths not given as flags come from the configuration's
// reporting block when every service names the same one.
func (f *flags) writeReports(ctx context.Context, root *options.Root, services []api.Service, res *pipeline.ReleaseResult) error {
	rep := f.report
	if rep.SARIF == "" {
		rep.SARIF = common(services, func(r *api.Reporting) string { return r.SARIF })
	}
	if rep.PRComment == "" {
		rep.PRComment = common(services, func(r *api.Reporting) string { return r.PRComment })
	}
	summary, appendTo := rep.Summary, false
	if summary == "" {
		summary = common(services, func(r *api.Reporting) string { return r.Summary })
	}
	if summary == "" {
		summary, appendTo = reportflags.StepSummary(root), true
	}
	var errs []error
	if summary != "" {
		err := reportflags.WriteFile(summary, appendTo, func(w io.Writer) error {
			return releasereport.WriteSummary(w, res, report.WithToolVersion(root.Version))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the release summary: %w", err))
		}
	}
	// The summary is written above, with the scan report in it: the report
	// group must not write it again, to --summary or to the step summary.
	rep.Summary = ""
	if results := releasereport.ScanResults(res); len(results) > 0 {
		errs = append(errs, reportflags.Write(ctx, root, &rep, "", results...))
	}
	return errors.Join(errs...)
}

// common returns the value every active service's reporting block gives,
// or "".
func common(services []api.Service, get func(*api.Reporting) string) string {
	v := ""
	for i, s := range services {
		var cur string
		if s.Security.Reporting != nil {
			cur = get(s.Security.Reporting)
		}
		if i > 0 && cur != v {
			return ""
		}
		v = cur
	}
	return v
}
