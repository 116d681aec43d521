package options

import (
	"path/filepath"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

// Environment variables the report flags fall back on. The commands read
// them, through pkg/cmd/internal/reportflags: this group holds the flags
// alone.
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
//
// It keeps the flags as given and checks them; pkg/cmd/internal/reportflags
// writes the reports and uploads to DefectDojo, so that this package links
// neither pkg/security/report nor its DefectDojo client.
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

// Product returns --defectdojo-product: a name, or an ID when all digits.
func (o *Report) Product() (name string, id int) { return nameOrID(o.DefectDojoProduct) }

// Engagement returns --defectdojo-engagement: a name, or an ID when all
// digits.
func (o *Report) Engagement() (name string, id int) { return nameOrID(o.DefectDojoEngagement) }

// nameOrID reads a flag that names a DefectDojo object or gives its ID.
func nameOrID(s string) (string, int) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return s, 0
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return "", n
	}
	return s, 0
}

// Validate checks the flags without changing them: DefectDojo flags come
// with --defectdojo-url, which needs a product and an engagement; no two
// outputs share a file. The API key, which may come from the environment,
// and the URL are checked by the command with the DefectDojo client it
// builds (pkg/cmd/internal/reportflags).
func (o *Report) Validate() error {
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
		_, engagementID := o.Engagement()
		if o.DefectDojoProduct == "" && engagementID == 0 {
			return outcome.Invalidf("--defectdojo-url needs --defectdojo-product (a name or an ID)")
		}
		if o.DefectDojoEngagement == "" {
			return outcome.Invalidf("--defectdojo-url needs --defectdojo-engagement (a name or an ID)")
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
