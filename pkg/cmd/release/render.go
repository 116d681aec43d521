package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// writeJSON writes the release result as indented JSON.
func writeJSON(w io.Writer, res *pipeline.ReleaseResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// columns are the table's step columns.
var columns = []struct {
	step   pipeline.StepName
	header string
}{
	{pipeline.StepResolve, "RESOLVE"},
	{pipeline.StepSBOM, "SBOM"},
	{pipeline.StepScan, "SCAN"},
	{pipeline.StepProvenance, "PROV"},
	{pipeline.StepSign, "SIGN"},
	{pipeline.StepVerify, "VERIFY"},
	{pipeline.StepSBOMAttach, "SBOM-ATT"},
	{pipeline.StepSBOMVerify, "SBOM-VER"},
	{pipeline.StepProvenanceAttach, "PROV-ATT"},
	{pipeline.StepProvenanceVerify, "PROV-VER"},
}

// mark is a step's status in one character, with "*" when it came from
// the cache or reused what was already there.
func mark(r *pipeline.StepResult) string {
	var m string
	switch {
	case r.Status == pipeline.StatusOK:
		m = "✓"
	case r.Status == pipeline.StatusWarned:
		m = "!"
	case r.Status == pipeline.StatusFailed:
		m = "✗"
	case r.Disabled:
		m = "-"
	default:
		m = "·"
	}
	reused := r.Cached
	for _, a := range r.Artifacts {
		reused = reused || a.Existing
	}
	if reused {
		m += "*"
	}
	return m
}

// writeTable writes the summary table: one row per service with a mark per
// step, then what failed or warned and why.
func writeTable(w io.Writer, res *pipeline.ReleaseResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "SERVICE\tDIGEST")
	for _, c := range columns {
		fmt.Fprint(tw, "\t"+c.header)
	}
	fmt.Fprintln(tw, "\tOUTCOME\tTIME")
	for _, s := range res.Services {
		fmt.Fprintf(tw, "%s\t%s", s.Service, shortDigest(s.Digest))
		for _, c := range columns {
			m := "?"
			if r := s.Step(c.step); r != nil {
				m = mark(r)
			}
			fmt.Fprint(tw, "\t"+m)
		}
		fmt.Fprintf(tw, "\t%s\t%s\n", s.Outcome, s.Duration.Round(100*time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "✓ ok  ! warned  ✗ failed  · skipped  - turned off  * from the cache or already there")

	var notes bytes.Buffer
	for _, s := range res.Services {
		for _, r := range s.Steps {
			switch {
			case r.Status == pipeline.StatusFailed || (r.Status == pipeline.StatusWarned && r.Error != ""):
				fmt.Fprintf(&notes, "  %s %s %s: %s\n", s.Service, r.Name, r.Status, oneLine(r.Error))
			case r.Status == pipeline.StatusWarned:
				for _, wn := range r.Warnings {
					fmt.Fprintf(&notes, "  %s %s: %s\n", s.Service, r.Name, oneLine(wn))
				}
			}
		}
	}
	if notes.Len() > 0 {
		fmt.Fprintln(w, "\nFailures and warnings:")
		if _, err := notes.WriteTo(w); err != nil {
			return err
		}
	}
	c := res.Counts()
	status := fmt.Sprintf("%d service(s): %d ok, %d warned, %d failed, in %s",
		len(res.Services), c[pipeline.OutcomeOK], c[pipeline.OutcomeWarned], c[pipeline.OutcomeFailed], res.Duration.Round(100*time.Millisecond))
	if res.Cancelled {
		status += " (cancelled)"
	}
	_, err := fmt.Fprintln(w, "\n"+status)
	return err
}

// shortDigest is digest.Short, with "-" for a service without a digest.
func shortDigest(d string) string {
	if d == "" {
		return "-"
	}
	return digest.Short(d)
}

// writeMarkdown writes the release summary for a job summary: a row per
// service with what needs attention, then the scan report of the images
// that were scanned.
func writeMarkdown(w io.Writer, res *pipeline.ReleaseResult, version string) error {
	var b strings.Builder
	c := res.Counts()
	fmt.Fprintf(&b, "## sc release: %s\n\n", strings.ToUpper(string(res.Outcome)))
	fmt.Fprintf(&b, "%d service(s): %d ok, %d warned, %d failed.", len(res.Services), c[pipeline.OutcomeOK], c[pipeline.OutcomeWarned], c[pipeline.OutcomeFailed])
	if res.Cancelled {
		b.WriteString(" The run was cancelled before it finished.")
	}
	b.WriteString("\n\n| Service | Image | Outcome | Signed | SBOM | Provenance | Notes |\n|---|---|---|---|---|---|---|\n")
	for _, s := range res.Services {
		image := s.Digest
		if image == "" {
			image = s.Image
		}
		var notes []string
		for _, r := range s.Steps {
			switch {
			case r.Status == pipeline.StatusFailed || (r.Status == pipeline.StatusWarned && r.Error != ""):
				notes = append(notes, fmt.Sprintf("%s %s: %s", r.Name, r.Status, oneLine(r.Error)))
			case r.Status == pipeline.StatusWarned:
				for _, wn := range r.Warnings {
					notes = append(notes, fmt.Sprintf("%s: %s", r.Name, oneLine(wn)))
				}
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n", mdCell(s.Service), mdCell(image), s.Outcome,
			word(s.Step(pipeline.StepVerify)), word(s.Step(pipeline.StepSBOMVerify)), word(s.Step(pipeline.StepProvenanceVerify)),
			mdCell(strings.Join(notes, "; ")))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if results := scanResults(res); len(results) > 0 {
		return report.WriteSummary(w, results, report.WithToolVersion(version))
	}
	return nil
}

// word says whether a verification step passed.
func word(r *pipeline.StepResult) string {
	switch {
	case r == nil:
		return "-"
	case r.Status == pipeline.StatusOK:
		return "verified"
	case r.Disabled:
		return "-"
	default:
		return string(r.Status)
	}
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// scanResults are the scan results of the services that were scanned.
func scanResults(res *pipeline.ReleaseResult) []*scan.Result {
	var out []*scan.Result
	for _, s := range res.Services {
		if s.Scan != nil {
			out = append(out, s.Scan)
		}
	}
	return out
}

// writeReports writes the reports: the release summary (to --summary, else
// appended to $GITHUB_STEP_SUMMARY) and, through the report flag group,
// SARIF, the pull-request comment and the DefectDojo reimport of the scan
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
	if summary == "" && root.Getenv != nil {
		summary, appendTo = root.Getenv(options.EnvGitHubStepSummary), true
	}
	var errs []error
	if summary != "" {
		var b bytes.Buffer
		err := writeMarkdown(&b, res, root.Version)
		if err == nil {
			err = writeFile(summary, b.Bytes(), appendTo)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the release summary: %w", err))
		}
	}
	// The summary is written above, with the scan report in it: the report
	// group must not write it again to $GITHUB_STEP_SUMMARY.
	rep.Summary = ""
	quiet := *root
	quiet.Getenv = func(k string) string {
		if k == options.EnvGitHubStepSummary || root.Getenv == nil {
			return ""
		}
		return root.Getenv(k)
	}
	if results := scanResults(res); len(results) > 0 {
		errs = append(errs, rep.Write(ctx, &quiet, results...))
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

// writeFile writes data to path, or appends it.
func writeFile(path string, data []byte, appendTo bool) error {
	mode := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		mode = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if err != nil {
		return outcome.Operationalf("%w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	return nil
}
