package options

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/report/defectdojo"
	"github.com/sc-project/sc/pkg/security/scan"
)

// Environment variables read by the report flag group.
const (
	// EnvDefectDojoAPIKey is the DefectDojo API key, when
	// --defectdojo-api-key is not given (preferred: flags show in process
	// lists).
	EnvDefectDojoAPIKey = "SC_DEFECTDOJO_API_KEY"
	// EnvGitHubStepSummary is the file GitHub Actions shows as the job
	// summary; the markdown summary is appended to it when --summary is
	// not given.
	EnvGitHubStepSummary = "GITHUB_STEP_SUMMARY"
)

// Report is the flag group of the reports written after a scan, shared by
// `sc image scan` and `sc release create`: SARIF for GitHub code scanning,
// a markdown job summary and pull-request comment, and a DefectDojo
// reimport. Each output is written only when asked for; the job summary
// also whenever $GITHUB_STEP_SUMMARY is set.
type Report struct {
	// SARIF is --sarif: the SARIF 2.1.0 file to write.
	SARIF string
	// Summary is --summary: the markdown summary to write. Default: appended
	// to $GITHUB_STEP_SUMMARY when that is set, else none.
	Summary string
	// PRComment is --pr-comment: the pull-request comment to write.
	PRComment string

	// DefectDojoURL is --defectdojo-url: the DefectDojo to reimport into.
	// Default: none.
	DefectDojoURL string
	// DefectDojoAPIKey is --defectdojo-api-key, else SC_DEFECTDOJO_API_KEY.
	// Never printed.
	DefectDojoAPIKey string
	// DefectDojoProduct is --defectdojo-product: a product name, or an ID
	// when all digits.
	DefectDojoProduct string
	// DefectDojoProductType is --defectdojo-product-type: the product type
	// a new product is created in (with --defectdojo-auto-create).
	DefectDojoProductType string
	// DefectDojoEngagement is --defectdojo-engagement: an engagement name,
	// or an ID when all digits.
	DefectDojoEngagement string
	// DefectDojoAutoCreate is --defectdojo-auto-create: create a missing
	// product and engagement.
	DefectDojoAutoCreate bool
	// DefectDojoCloseOldFindings is --defectdojo-close-old-findings: close
	// the findings a new scan of the image no longer has.
	DefectDojoCloseOldFindings bool
	// DefectDojoInsecureHTTP is --defectdojo-allow-insecure-http: allow a
	// plain-HTTP URL outside the loopback interface.
	DefectDojoInsecureHTTP bool
}

// AddFlags binds the report flags.
func (o *Report) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.SARIF, "sarif", "", "write the findings as SARIF 2.1.0 for GitHub code scanning to this file")
	fs.StringVar(&o.Summary, "summary", "",
		"write a markdown summary to this file (default: appended to $"+EnvGitHubStepSummary+" when set)")
	fs.StringVar(&o.PRComment, "pr-comment", "", "write a compact markdown pull-request comment to this file")
	fs.StringVar(&o.DefectDojoURL, "defectdojo-url", "", "reimport the findings into the DefectDojo at this URL (SARIF, one test per image)")
	fs.StringVar(&o.DefectDojoAPIKey, "defectdojo-api-key", "",
		"DefectDojo API key (or "+EnvDefectDojoAPIKey+", preferred: flags show in process lists)")
	fs.StringVar(&o.DefectDojoProduct, "defectdojo-product", "", "DefectDojo product: a name, or an ID")
	fs.StringVar(&o.DefectDojoProductType, "defectdojo-product-type", "",
		"DefectDojo product type to create a missing product in (with --defectdojo-auto-create)")
	fs.StringVar(&o.DefectDojoEngagement, "defectdojo-engagement", "", "DefectDojo engagement: a name, or an ID")
	fs.BoolVar(&o.DefectDojoAutoCreate, "defectdojo-auto-create", false,
		"create the DefectDojo product and engagement when missing (each image's test is always created as needed)")
	fs.BoolVar(&o.DefectDojoCloseOldFindings, "defectdojo-close-old-findings", false,
		"close the DefectDojo findings of an image that its new scan no longer has")
	fs.BoolVar(&o.DefectDojoInsecureHTTP, "defectdojo-allow-insecure-http", false,
		"allow a plain-HTTP --defectdojo-url outside the loopback interface (sends the API key in clear text)")
}

// apiKey returns the API key from the flag, else the environment.
func (o *Report) apiKey(root *Root) string {
	if o.DefectDojoAPIKey != "" || root == nil || root.Getenv == nil {
		return o.DefectDojoAPIKey
	}
	return root.Getenv(EnvDefectDojoAPIKey)
}

// target turns the DefectDojo flags into a target.
func (o *Report) target() defectdojo.Target {
	t := defectdojo.Target{
		ProductType:      o.DefectDojoProductType,
		AutoCreate:       o.DefectDojoAutoCreate,
		CloseOldFindings: o.DefectDojoCloseOldFindings,
	}
	if id, ok := numericID(o.DefectDojoProduct); ok {
		t.ProductID = id
	} else {
		t.Product = o.DefectDojoProduct
	}
	if id, ok := numericID(o.DefectDojoEngagement); ok {
		t.EngagementID = id
	} else {
		t.Engagement = o.DefectDojoEngagement
	}
	return t
}

func numericID(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// client returns the DefectDojo client of the flags.
func (o *Report) client(root *Root) (*defectdojo.Client, error) {
	key := o.apiKey(root)
	if key == "" {
		return nil, outcome.Invalidf("--defectdojo-url needs an API key: set %s (or --defectdojo-api-key)", EnvDefectDojoAPIKey)
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

// Validate checks the flags, with the environment of root, without changing
// them: DefectDojo flags come with --defectdojo-url, which needs an API
// key, a product and an engagement; no two outputs share a file.
func (o *Report) Validate(root *Root) error {
	if o.DefectDojoURL == "" {
		for _, f := range []struct {
			flag string
			set  bool
		}{
			{"--defectdojo-product", o.DefectDojoProduct != ""},
			{"--defectdojo-product-type", o.DefectDojoProductType != ""},
			{"--defectdojo-engagement", o.DefectDojoEngagement != ""},
			{"--defectdojo-api-key", o.DefectDojoAPIKey != ""},
			{"--defectdojo-auto-create", o.DefectDojoAutoCreate},
			{"--defectdojo-close-old-findings", o.DefectDojoCloseOldFindings},
			{"--defectdojo-allow-insecure-http", o.DefectDojoInsecureHTTP},
		} {
			if f.set {
				return outcome.Invalidf("%s needs --defectdojo-url", f.flag)
			}
		}
	} else {
		if _, err := o.client(root); err != nil {
			return err
		}
		if o.DefectDojoProduct == "" && (o.DefectDojoEngagement == "" || !isID(o.DefectDojoEngagement)) {
			return outcome.Invalidf("--defectdojo-url needs --defectdojo-product (a name or an ID)")
		}
		if o.DefectDojoEngagement == "" {
			return outcome.Invalidf("--defectdojo-url needs --defectdojo-engagement (a name or an ID)")
		}
		t := o.target()
		if err := t.Validate(); err != nil {
			return fmt.Errorf("DefectDojo flags: %w", err)
		}
	}
	seen := map[string]string{}
	for _, out := range [][2]string{{"--sarif", o.SARIF}, {"--summary", o.Summary}, {"--pr-comment", o.PRComment}} {
		flag, file := out[0], out[1]
		if file == "" {
			continue
		}
		abs, err := filepath.Abs(file)
		if err != nil {
			abs = file
		}
		if other, ok := seen[abs]; ok {
			return outcome.Invalidf("%s and %s name the same file %s", flag, other, file)
		}
		seen[abs] = flag
	}
	return nil
}

func isID(s string) bool {
	_, ok := numericID(s)
	return ok
}

// Enabled reports whether any report is to be written, with the
// environment of root.
func (o *Report) Enabled(root *Root) bool {
	return o.SARIF != "" || o.summaryPath(root) != "" || o.PRComment != "" || o.DefectDojoURL != ""
}

// summaryPath returns the summary file: --summary, else
// $GITHUB_STEP_SUMMARY (appended to).
func (o *Report) summaryPath(root *Root) string {
	if o.Summary != "" {
		return o.Summary
	}
	if root != nil && root.Getenv != nil {
		return root.Getenv(EnvGitHubStepSummary)
	}
	return ""
}

// Write writes every report asked for, for the results of one image or of
// many: the files first, then the DefectDojo reimport (one test per
// image). A failing output does not keep the others from being written;
// the errors are joined. Write validates the flags first.
//
// Errors: usage errors (exit code 2) for flags that do not validate, more
// images than a SARIF file takes (report.ErrTooManyImages), DefectDojo's
// refusals and a missing product or engagement; operational errors (exit
// code 3) for files that cannot be written and a DefectDojo that cannot be
// reached.
func (o *Report) Write(ctx context.Context, root *Root, results ...*scan.Result) error {
	if err := o.Validate(root); err != nil {
		return err
	}
	if !o.Enabled(root) {
		return nil
	}
	version := ""
	if root != nil {
		version = root.Version
	}
	opts := []report.Option{report.WithToolVersion(version)}

	var errs []error
	if o.SARIF != "" {
		errs = append(errs, writeReport("--sarif", o.SARIF, false, func(w io.Writer) error {
			return report.WriteSARIF(w, results, opts...)
		}))
	}
	if path := o.summaryPath(root); path != "" {
		flag := "--summary"
		if o.Summary == "" {
			flag = "$" + EnvGitHubStepSummary
		}
		errs = append(errs, writeReport(flag, path, o.Summary == "", func(w io.Writer) error {
			return report.WriteSummary(w, results, opts...)
		}))
	}
	if o.PRComment != "" {
		errs = append(errs, writeReport("--pr-comment", o.PRComment, false, func(w io.Writer) error {
			return report.WritePRComment(w, results, opts...)
		}))
	}
	if o.DefectDojoURL != "" {
		c, err := o.client(root)
		if err == nil {
			_, err = defectdojo.Upload(ctx, c, o.target(), results, opts...)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeReport renders a report and writes it to path (appended to it when
// appendTo), so that a rendering error leaves no partial file.
func writeReport(flag, path string, appendTo bool, render func(io.Writer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		mode = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if err != nil {
		return outcome.Operationalf("%s: %w", flag, err)
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outcome.Operationalf("%s: writing %s: %w", flag, path, err)
	}
	return nil
}
