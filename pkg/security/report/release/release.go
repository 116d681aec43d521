// Package release renders the result of a release, every image of a stack
// secured by the executor of pkg/security/pipeline: the table `sc release
// create` prints, its JSON, and the markdown job summary, which ends with
// the scan report of package report.
//
// It is a package of its own because it takes the executor's result types:
// it links pkg/security/pipeline, and so syft, grype and cosign, which
// package report and its DefectDojo client must not. Programs that run the
// executor (sc, the Pulumi adapter pkg/pulumi/executor) already link them.
//
// It does not run anything, decide outcomes (the executor does) or write
// files: callers give it a writer.
package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sc-project/sc/pkg/security/digest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

// WriteJSON writes the release result as indented JSON, as `sc release
// create -o json` prints it.
//
// Errors: the writer's.
func WriteJSON(w io.Writer, res *pipeline.ReleaseResult) error {
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
	{pipeline.StepVulnAttach, "VULN-ATT"},
	{pipeline.StepVulnVerify, "VULN-VER"},
	{pipeline.StepVEXAttach, "VEX-ATT"},
	{pipeline.StepVEXVerify, "VEX-VER"},
}

// Legend explains the marks of WriteTable's step columns.
const Legend = "✓ ok  ! warned  ✗ failed  · skipped  - turned off  * from the cache or already there"

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

// WriteTable writes the release for a terminal, as `sc release create`
// prints it: one row per service with a mark per step (Legend says what
// each means), then what failed or warned and why, then the counts.
//
// Errors: the writer's.
func WriteTable(w io.Writer, res *pipeline.ReleaseResult) error {
	if names := SignedUnscanned(res); len(names) > 0 {
		fmt.Fprintf(w, "WARNING: signed without a scan (softFail): %s\n", strings.Join(names, ", "))
	}
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
	fmt.Fprintln(w, Legend)

	var notes bytes.Buffer
	for _, s := range res.Services {
		for _, r := range s.Steps {
			switch {
			case r.Status == pipeline.StatusFailed || (r.Status == pipeline.StatusWarned && r.Error != ""):
				fmt.Fprintf(&notes, "  %s %s %s: %s\n", s.Service, r.Name, r.Status, report.OneLine(r.Error))
			case r.Status == pipeline.StatusWarned:
				for _, wn := range r.Warnings {
					fmt.Fprintf(&notes, "  %s %s: %s\n", s.Service, r.Name, report.OneLine(wn))
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

// SignedUnscanned names the services whose image was signed although its
// scan did not complete, which only softFail allows; the summaries say so
// in their first lines.
func SignedUnscanned(res *pipeline.ReleaseResult) []string {
	var names []string
	for _, s := range res.Services {
		sc, sg := s.Step(pipeline.StepScan), s.Step(pipeline.StepSign)
		if sc == nil || sg == nil || sc.Disabled || ran(sc) || !ran(sg) {
			continue
		}
		names = append(names, s.Service)
	}
	return names
}

// ran reports whether a step ran to the end, from what its result says:
// ok, or warned without an error (a warning about what it found, not one
// about being unable to run).
func ran(r *pipeline.StepResult) bool {
	return r.Status == pipeline.StatusOK || r.Status == pipeline.StatusWarned && r.Error == ""
}

// shortDigest is the digest of an image reference, cut for a table
// column; "-" when there is none.
func shortDigest(d string) string {
	if d == "" {
		return "-"
	}
	return digest.Short(d)
}

// WriteSummary writes the markdown release summary for a GitHub job
// summary: a row per service with whether its signature and its SBOM,
// provenance and scan (vuln) attestations verified, and what needs attention, then the scan
// report of the images that were scanned (report.WriteSummary, with opts).
//
// Errors: the writer's; report.WriteSummary's.
func WriteSummary(w io.Writer, res *pipeline.ReleaseResult, opts ...report.Option) error {
	var b strings.Builder
	c := res.Counts()
	fmt.Fprintf(&b, "## sc release: %s\n\n", strings.ToUpper(string(res.Outcome)))
	if names := SignedUnscanned(res); len(names) > 0 {
		fmt.Fprintf(&b, "> [!WARNING]\n> Signed without a scan (softFail): %s\n\n", mdCell(strings.Join(names, ", ")))
	}
	fmt.Fprintf(&b, "%d service(s): %d ok, %d warned, %d failed.", len(res.Services), c[pipeline.OutcomeOK], c[pipeline.OutcomeWarned], c[pipeline.OutcomeFailed])
	if res.Cancelled {
		b.WriteString(" The run was cancelled before it finished.")
	}
	b.WriteString("\n\n| Service | Image | Outcome | Signed | SBOM | Provenance | Scan | Notes |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range res.Services {
		image := s.Reference
		if image == "" {
			image = s.Image
		}
		var platforms []string
		for _, p := range s.Platforms {
			platforms = append(platforms, p.Platform)
		}
		var notes []string
		for _, r := range s.Steps {
			switch {
			case r.Status == pipeline.StatusFailed || (r.Status == pipeline.StatusWarned && r.Error != ""):
				notes = append(notes, fmt.Sprintf("%s %s: %s", r.Name, r.Status, report.OneLine(r.Error)))
			case r.Status == pipeline.StatusWarned:
				for _, wn := range r.Warnings {
					notes = append(notes, fmt.Sprintf("%s: %s", r.Name, report.OneLine(wn)))
				}
			}
		}
		cell := "`" + mdCell(image) + "`"
		if s.Index {
			cell += " (index: " + mdCell(strings.Join(platforms, ", ")) + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(s.Service), cell, s.Outcome,
			word(s.Step(pipeline.StepVerify)), word(s.Step(pipeline.StepSBOMVerify)), word(s.Step(pipeline.StepProvenanceVerify)),
			word(s.Step(pipeline.StepVulnVerify)),
			mdCell(strings.Join(notes, "; ")))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if results := ScanResults(res); len(results) > 0 {
		return report.WriteSummary(w, results, opts...)
	}
	return nil
}

// word says whether a verification step passed, for a summary cell.
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

// mdCell makes s safe in a markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// ScanResults returns the scan results of the services that were scanned,
// in the release's order, an image index's one per platform image: what the scan reports (SARIF, the PR comment,
// DefectDojo) of a release are made of.
func ScanResults(res *pipeline.ReleaseResult) []*scan.Result {
	var out []*scan.Result
	for _, s := range res.Services {
		out = append(out, s.ScanResults()...)
	}
	return out
}
