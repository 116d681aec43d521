package report

import (
	"fmt"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
)

// Sentinels for the outcomes callers branch on.
var (
	// ErrNoResults: a renderer was given no result, or a nil one. Invalid
	// usage.
	ErrNoResults = outcome.Invalid("no scan result to report")
	// ErrTooManyImages: more images than GitHub accepts runs in one SARIF
	// file (MaxSARIFRuns). Invalid usage: write one SARIF file per image,
	// or per group of at most MaxSARIFRuns images.
	ErrTooManyImages = outcome.Invalid("too many images for one SARIF file")
)

// MaxSARIFRuns is the number of runs GitHub code scanning accepts in one
// SARIF file; WriteSARIF writes one run per image.
const MaxSARIFRuns = 20

// Defaults of the options.
const (
	// DefaultSummaryTop is how many findings of each image the summary
	// lists.
	DefaultSummaryTop = 10
	// DefaultCommentTop is how many findings of each image the PR comment
	// lists.
	DefaultCommentTop = 5
	// DefaultInformationURI is the SARIF tool's informationUri.
	DefaultInformationURI = "https://github.com/sc-project/sc"
)

type config struct {
	toolVersion    string
	informationURI string
	top            int
	noSuppressed   bool
}

// Option configures a renderer. Each option says which outputs it changes.
type Option func(*config)

// WithToolVersion sets the version of sc named in the SARIF tool driver.
// Default: "devel".
func WithToolVersion(v string) Option { return func(c *config) { c.toolVersion = v } }

// WithInformationURI sets the SARIF tool driver's informationUri. Default:
// DefaultInformationURI.
func WithInformationURI(u string) Option { return func(c *config) { c.informationURI = u } }

// WithTop sets how many findings of each image the markdown outputs list,
// most severe first; n <= 0 keeps the default. Default: DefaultSummaryTop
// for the summary, DefaultCommentTop for the PR comment.
func WithTop(n int) Option { return func(c *config) { c.top = n } }

// WithoutSuppressed leaves the findings the policy set aside out of the
// SARIF results (they stay listed in each run's properties), for consumers
// that would open a suppressed result as a finding. Default: each is a
// result with a SARIF suppression, which GitHub code scanning shows as
// dismissed.
func WithoutSuppressed() Option { return func(c *config) { c.noSuppressed = true } }

func newConfig(opts []Option) config {
	c := config{toolVersion: "devel", informationURI: DefaultInformationURI}
	for _, o := range opts {
		o(&c)
	}
	if c.toolVersion == "" {
		c.toolVersion = "devel"
	}
	return c
}

// check rejects an empty list and nil results.
func check(results []*scan.Result) error {
	if len(results) == 0 {
		return ErrNoResults
	}
	for i, r := range results {
		if r == nil {
			return fmt.Errorf("%w: result %d is nil", ErrNoResults, i)
		}
	}
	return nil
}

// Repository returns the repository of an image reference, without its
// digest or tag: "registry.example/shop/api@sha256:…" gives
// "registry.example/shop/api". It names an image across builds: SARIF
// categories, DefectDojo test titles and fingerprints use it.
func Repository(image string) string {
	repo, _, found := strings.Cut(image, "@")
	if found {
		return repo
	}
	// a tag follows the last colon after the last slash (a colon before it
	// is a registry port)
	slash := strings.LastIndex(repo, "/")
	if colon := strings.LastIndex(repo, ":"); colon > slash {
		return repo[:colon]
	}
	return repo
}

// Worst returns the most severe verdict of results: fail over warn over
// pass. A soft fail counts as fail: the findings are there.
func Worst(results []*scan.Result) scan.VerdictStatus {
	worst := scan.Pass
	for _, r := range results {
		if r == nil {
			continue
		}
		switch r.Verdict.Status {
		case scan.Fail:
			return scan.Fail
		case scan.Warn:
			worst = scan.Warn
		}
	}
	return worst
}

// verdictWord is the verdict as the word the markdown shows.
func verdictWord(s scan.VerdictStatus) string {
	switch s {
	case scan.Fail:
		return "FAIL"
	case scan.Warn:
		return "WARN"
	case scan.Pass:
		return "PASS"
	}
	return strings.ToUpper(string(s))
}

// fixText says whether and where a match is fixed, for messages.
func fixText(f scan.Fix) string {
	switch {
	case len(f.Versions) > 0:
		return "fixed in " + strings.Join(f.Versions, ", ")
	case f.State == scan.FixStateWontFix:
		return "the maintainers will not fix it"
	case f.State == scan.FixStateNotFixed:
		return "no fix available yet"
	}
	return "fix status unknown"
}
