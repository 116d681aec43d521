// Package reportflags turns the report flag group of pkg/cmd/options into
// the reports written after a scan: it reads the environment the flags fall
// back on (the DefectDojo API key), writes the files with the renderers of
// pkg/security/report, and uploads to DefectDojo with
// pkg/security/report/defectdojo. It is shared by `sc image scan` and `sc
// release create` and internal to pkg/cmd; other programs call the
// renderers and defectdojo.Upload directly.
//
// It does not decide where the job summary goes: the command passes the
// step-summary file in (StepSummary reads it from the environment), so
// that `sc release create`, which writes its own summary there, can keep
// the scan summary out of it.
package reportflags

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/defectdojo"
	"github.com/sc-project/sc/pkg/security/scan"
)

// getenv reads the environment of root; nothing when it has none.
func getenv(root *options.Root, key string) string {
	if root == nil || root.Getenv == nil {
		return ""
	}
	return root.Getenv(key)
}

// StepSummary returns $GITHUB_STEP_SUMMARY, the file GitHub Actions shows
// as the job summary, from the environment of root: "" outside GitHub
// Actions.
func StepSummary(root *options.Root) string {
	return getenv(root, options.EnvGitHubStepSummary)
}

// apiKey returns the API key from the flag, else the environment.
func apiKey(root *options.Root, o *options.Report) string {
	if o.DefectDojoAPIKey != "" {
		return o.DefectDojoAPIKey
	}
	return getenv(root, options.EnvDefectDojoAPIKey)
}

// client returns the DefectDojo client of the flags.
func client(root *options.Root, o *options.Report) (*defectdojo.Client, error) {
	key := apiKey(root, o)
	if key == "" {
		return nil, outcome.Invalidf("--defectdojo-url needs an API key: set %s (or --defectdojo-api-key)", options.EnvDefectDojoAPIKey)
	}
	opts := []defectdojo.Option{}
	if root != nil {
		opts = append(opts, defectdojo.WithUserAgent(root.UserAgent()))
	}
	if o.DefectDojoInsecureHTTP {
		opts = append(opts, defectdojo.WithInsecureHTTP())
	}
	c, err := defectdojo.New(o.DefectDojoURL, key, opts...)
	if err != nil {
		return nil, fmt.Errorf("--defectdojo-url: %w", err)
	}
	return c, nil
}

// Target turns the DefectDojo flags into where the findings go.
func Target(o *options.Report) defectdojo.Target {
	t := defectdojo.Target{
		ProductType:      o.DefectDojoProductType,
		AutoCreate:       o.DefectDojoAutoCreate,
		CloseOldFindings: o.DefectDojoCloseOldFindings,
	}
	t.Product, t.ProductID = o.Product()
	t.Engagement, t.EngagementID = o.Engagement()
	return t
}

// Validate checks the flags with the environment of root, without changing
// them: o.Validate, then, with --defectdojo-url, the API key (the flag,
// else SC_DEFECTDOJO_API_KEY), the URL and the target. Errors are usage
// errors (exit code 2) and never hold the API key.
func Validate(root *options.Root, o *options.Report) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.DefectDojoURL == "" {
		return nil
	}
	if _, err := client(root, o); err != nil {
		return err
	}
	t := Target(o)
	if err := t.Validate(); err != nil {
		return fmt.Errorf("DefectDojo flags: %w", err)
	}
	return nil
}

// Outputs lists the files Write will write for the flags, each with the
// flag that named it: --sarif, --pr-comment, and --summary, else
// stepSummary (named $GITHUB_STEP_SUMMARY) when that is not "".
func Outputs(o *options.Report, stepSummary string) []outfile.Output {
	summary, summaryFlag := o.Summary, "--summary"
	if summary == "" {
		summary, summaryFlag = stepSummary, "$"+options.EnvGitHubStepSummary
	}
	return []outfile.Output{
		{Flag: "--sarif", Path: o.SARIF},
		{Flag: summaryFlag, Path: summary},
		{Flag: "--pr-comment", Path: o.PRComment},
	}
}

// CheckOutputs checks, before any work starts, that every file Outputs
// lists can be written (outfile.Check). Errors are usage errors (exit code
// 2) naming the flag and the path.
func CheckOutputs(o *options.Report, stepSummary string) error {
	return outfile.Check(Outputs(o, stepSummary)...)
}

// WithVerdict joins the verdict of a run (a policy violation, a failed
// verification, or nil) with the error of writing its reports, so that a
// report that cannot be written never hides the verdict: when there is a
// verdict, the result has its class, hence its exit code (1 for a policy
// violation, not the 3 of an unwritable file), and its message says both.
// Without a verdict, the reports' error is returned as it is.
func WithVerdict(verdict, reports error) error {
	switch {
	case reports == nil:
		return verdict
	case verdict == nil:
		return reports
	}
	return &verdictError{verdict: verdict, reports: reports}
}

// verdictError is a verdict whose reports could not all be written. Only
// the verdict is reachable through errors.Is and errors.As: it alone sets
// the exit code.
type verdictError struct{ verdict, reports error }

func (e *verdictError) Error() string {
	return fmt.Sprintf("%v; and the reports were not all written: %v", e.verdict, e.reports)
}

func (e *verdictError) Unwrap() error { return e.verdict }

// Write writes every report the flags ask for, for the results of one
// image or of many: the files first, then the DefectDojo reimport (one
// test per image). The markdown summary goes to --summary, else is
// appended to stepSummary when that is not "". A failing output does not
// keep the others from being written; the errors are joined. Write
// validates the flags first.
//
// Errors: usage errors (exit code 2) for flags that do not validate, more
// images than a SARIF file takes (report.ErrTooManyImages), DefectDojo's
// refusals and a missing product or engagement; operational errors (exit
// code 3) for files that cannot be written and a DefectDojo that cannot be
// reached.
func Write(ctx context.Context, root *options.Root, o *options.Report, stepSummary string, results ...*scan.Result) error {
	if err := Validate(root, o); err != nil {
		return err
	}
	outs := Outputs(o, stepSummary)
	summary, summaryFlag, appendTo := outs[1].Path, outs[1].Flag, o.Summary == ""
	if o.SARIF == "" && summary == "" && o.PRComment == "" && o.DefectDojoURL == "" {
		return nil
	}
	version := ""
	if root != nil {
		version = root.Version
	}
	opts := []report.Option{report.WithToolVersion(version)}

	var errs []error
	if o.SARIF != "" {
		errs = append(errs, flagError("--sarif", WriteFile(o.SARIF, false, func(w io.Writer) error {
			return report.WriteSARIF(w, results, opts...)
		})))
	}
	if summary != "" {
		errs = append(errs, flagError(summaryFlag, WriteFile(summary, appendTo, func(w io.Writer) error {
			return report.WriteSummary(w, results, opts...)
		})))
	}
	if o.PRComment != "" {
		errs = append(errs, flagError("--pr-comment", WriteFile(o.PRComment, false, func(w io.Writer) error {
			return report.WritePRComment(w, results, opts...)
		})))
	}
	if o.DefectDojoURL != "" {
		c, err := client(root, o)
		if err == nil {
			_, err = defectdojo.Upload(ctx, c, Target(o), results, opts...)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// flagError names the flag (or variable) an output came from.
func flagError(flag string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", flag, err)
}

// WriteFile renders a report and writes it to path, replacing the file or
// appending to it (a job summary), so that a rendering error leaves no
// partial file. Errors: the renderer's as they are; operational errors
// (exit code 3) for a file that cannot be opened or written.
func WriteFile(path string, appendTo bool, render func(io.Writer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		mode = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if err != nil {
		return outcome.Operationalf("%w", err)
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	return nil
}
