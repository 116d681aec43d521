package release

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	releasereport "github.com/sc-project/sc/pkg/security/report/release"
)

// reportPlan is where the reports of a release go: the report flags, with
// the paths not given as flags taken from the configuration's reporting
// block when every service names the same one, and the release summary
// (--summary, else reporting.summary, else appended to
// $GITHUB_STEP_SUMMARY). Each path keeps the name of where it came from,
// for errors.
type reportPlan struct {
	report        options.Report
	sarif         outfile.Output
	prComment     outfile.Output
	summary       outfile.Output
	appendSummary bool
}

func newReportPlan(root *options.Root, flags options.Report, services []api.Service) *reportPlan {
	p := &reportPlan{report: flags}
	pick := func(flag, key, given string, get func(*api.Reporting) string) outfile.Output {
		if given != "" {
			return outfile.Output{Flag: flag, Path: given}
		}
		return outfile.Output{Flag: key, Path: common(services, get)}
	}
	p.sarif = pick("--sarif", "reporting.sarif", flags.SARIF, func(r *api.Reporting) string { return r.SARIF })
	p.prComment = pick("--pr-comment", "reporting.prComment", flags.PRComment, func(r *api.Reporting) string { return r.PRComment })
	p.summary = pick("--summary", "reporting.summary", flags.Summary, func(r *api.Reporting) string { return r.Summary })
	if p.summary.Path == "" {
		p.summary, p.appendSummary = outfile.Output{Flag: "$" + options.EnvGitHubStepSummary, Path: reportflags.StepSummary(root)}, true
	}
	p.report.SARIF, p.report.PRComment = p.sarif.Path, p.prComment.Path
	// The summary is written by writeReports, with the scan report in it:
	// the report group must not write it again, to --summary or to the
	// step summary.
	p.report.Summary = ""
	return p
}

// checkOutputs checks, before any work starts, that every file the release
// writes can be written: the reports and each service's sbom.output
// (whose directories the executor creates). Errors are usage errors (exit
// code 2) naming the flag or configuration key and the path.
func (p *reportPlan) checkOutputs(services []api.Service) error {
	outs := []outfile.Output{p.sarif, p.prComment, p.summary}
	for _, s := range services {
		if path := pipeline.SBOMOutput(s); path != "" {
			outs = append(outs, outfile.Output{Flag: "services." + s.Name + ".sbom.output", Path: path, MkdirAll: true})
		}
	}
	return outfile.Check(outs...)
}

// writeReports writes the reports of the plan: the release summary and,
// through reportflags, SARIF, the pull-request comment and the DefectDojo
// reimport of the scan results.
func (p *reportPlan) writeReports(ctx context.Context, root *options.Root, res *pipeline.ReleaseResult) error {
	var errs []error
	if p.summary.Path != "" {
		err := reportflags.WriteFile(p.summary.Path, p.appendSummary, func(w io.Writer) error {
			return releasereport.WriteSummary(w, res, report.WithToolVersion(root.Version))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the release summary to %s: %w", p.summary.Flag, err))
		}
	}
	if results := releasereport.ScanResults(res); len(results) > 0 {
		errs = append(errs, reportflags.Write(ctx, root, &p.report, "", results...))
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
