package report_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/scan"
)

func TestMarkdown(t *testing.T) {
	for _, tt := range []struct {
		name    string
		write   func(*bytes.Buffer, []*scan.Result, ...report.Option) error
		results []*scan.Result
		opts    []report.Option
	}{
		{"orders.summary.md", summary, []*scan.Result{ordersResult()}, nil},
		{"orders.top3.summary.md", summary, []*scan.Result{ordersResult()}, []report.Option{report.WithTop(3)}},
		{"release.summary.md", summary, []*scan.Result{ordersResult(), cartResult()}, nil},
		{"orders.comment.md", comment, []*scan.Result{ordersResult()}, nil},
		{"release.comment.md", comment, []*scan.Result{ordersResult(), cartResult()}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, tt.results, tt.opts...); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
			checkTables(t, b.String())
		})
	}
}

func summary(b *bytes.Buffer, rs []*scan.Result, opts ...report.Option) error {
	return report.WriteSummary(b, rs, opts...)
}

func comment(b *bytes.Buffer, rs []*scan.Result, opts ...report.Option) error {
	return report.WritePRComment(b, rs, opts...)
}

// unescapedPipe finds a cell separator: a pipe not preceded by a backslash.
var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

// checkTables checks that every row of every table has as many cells as
// its header: text from scanners and policies never breaks a table.
func checkTables(t *testing.T, md string) {
	t.Helper()
	cells := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		n := len(unescapedPipe.FindAllString(line, -1))
		if cells < 0 {
			cells = n
			continue
		}
		if n != cells {
			t.Errorf("row with %d separators, header has %d: %s", n, cells, line)
		}
	}
}

func TestMarkdownContent(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteSummary(&b, []*scan.Result{ordersResult()}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		"**FAIL**: 4 findings at or above high: CVE-2099-0001, CVE-2099-0002, CVE-2099-3001.",
		"| 1 | 3 | 1 | 1 | 1 | 1 | 8 | 3 |",
		"[CVE-2099-0002]", // no advisory: no link
		"CVE-2099-0002 (VEX: under investigation)",
		"[CVE-2099-3001](https://avd.aquasec.com/nvd/cve-2099-3001)",
		"| `openssl` | `3.0.11-1~deb12u2` | `3.0.11-1~deb12u3` | high | grype |",
		"Not counted by the policy: 1 by VEX, 1 by ignore rule, 1 by only fixed.",
		"(until 2027-01-31)",
		"`left\\|pad`",
		"ignore rule for CVE-2099-3001 expired on 2026-11-01",
		"database built 2026-11-19 06:00 UTC, **stale**",
		"trivy: fail on high, warn on low",
		"Showing the 10 most severe",
	} {
		if want == "[CVE-2099-0002]" {
			if strings.Contains(s, want) {
				t.Errorf("summary links CVE-2099-0002, which has no advisory URL")
			}
			continue
		}
		if want == "Showing the 10 most severe" {
			if strings.Contains(s, want) {
				t.Errorf("summary says it shortened a list of 8")
			}
			continue
		}
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	// no mention of a GitHub team survives, and the reason stays on its row
	if regexp.MustCompile(`@shop`).MatchString(s) {
		t.Error("the summary would mention @shop/security")
	}
	if strings.Contains(s, "*SEC-12*") || strings.Contains(s, "\nsee") {
		t.Error("the reason's markdown or newline is not escaped")
	}
	if !strings.Contains(s, `\<b\>on purpose\</b\>`) {
		t.Error("HTML in a notice is not escaped")
	}
	for _, word := range []string{":x:", ":white_check_mark:", "✅", "❌", "⚠"} {
		if strings.Contains(s, word) {
			t.Errorf("the summary has the emoji %q", word)
		}
	}
}

func TestMarkdownVerdicts(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    scan.Verdict
		want string
	}{
		{"fail", scan.Verdict{Status: scan.Fail, FailOn: scan.High, Failing: []string{"CVE-1"}}, "**FAIL**: 1 finding at or above high: CVE-1."},
		{"soft fail", scan.Verdict{Status: scan.Fail, FailOn: scan.High, SoftFail: true, Failing: []string{"CVE-1"}}, "Soft fail: the scan does not fail the build."},
		{"warn", scan.Verdict{Status: scan.Warn, FailOn: scan.High, WarnOn: scan.Medium, Warning: []string{"CVE-2", "CVE-3"}}, "**WARN**: 2 findings at or above medium: CVE-2, CVE-3."},
		{"pass", scan.Verdict{Status: scan.Pass, FailOn: scan.High, WarnOn: scan.Medium}, "**PASS**: no finding at or above medium."},
		{"pass, fail threshold only", scan.Verdict{Status: scan.Pass, FailOn: scan.Critical}, "**PASS**: no finding at or above critical."},
		{"pass, no threshold", scan.Verdict{Status: scan.Pass}, "**PASS**: the policy sets no threshold."},
		{"many IDs", scan.Verdict{Status: scan.Fail, FailOn: scan.Low, Failing: strings.Split("A B C D E F G H I J K L", " ")}, "A, B, C, D, E, F, G, H, I, J and 2 more."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cartResult()
			r.Verdict = tt.v
			var b bytes.Buffer
			if err := report.WriteSummary(&b, []*scan.Result{r}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("summary lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}

func TestPRComment(t *testing.T) {
	var b bytes.Buffer
	if err := report.WritePRComment(&b, []*scan.Result{ordersResult(), cartResult()}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, report.PRCommentMarker+"\n") {
		t.Errorf("the comment does not start with the marker:\n%s", s)
	}
	if !strings.Contains(s, "## Vulnerability scan: FAIL\n") {
		t.Error("the comment does not give the worst verdict")
	}
	if strings.Count(s, "<details>") != 2 || strings.Count(s, "</details>") != 2 {
		t.Error("want one collapsed section per image with findings or notices")
	}
	if !strings.Contains(s, "Showing the 5 most severe of 8 findings") {
		t.Error("the comment does not say it lists 5 of 8")
	}
}

func TestMarkdownErrors(t *testing.T) {
	for name, write := range map[string]func(*bytes.Buffer, []*scan.Result, ...report.Option) error{"summary": summary, "comment": comment} {
		if err := write(&bytes.Buffer{}, nil); !errors.Is(err, report.ErrNoResults) {
			t.Errorf("%s of nothing = %v, want ErrNoResults", name, err)
		}
		if err := write(&bytes.Buffer{}, []*scan.Result{nil}); !errors.Is(err, report.ErrNoResults) {
			t.Errorf("%s of nil = %v, want ErrNoResults", name, err)
		}
	}
}

// FuzzMarkdownCells feeds arbitrary scanner text into every cell of the
// summary: tables keep their shape and no text starts a new line.
func FuzzMarkdownCells(f *testing.F) {
	for _, s := range []string{"a|b", "``|`", "line\nbreak", "\\|", "<script>", "[x](javascript:alert(1))", "@team", "` `", "\r\n|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ordersResult()
		r.Matches[0].Package.Name = s
		r.Matches[0].Package.Version = s
		r.Matches[0].Fix.Versions = []string{s}
		r.Matches[0].FoundBy = []string{s}
		r.Matches[0].ID = s
		r.Matches[0].DataSource = "https://example.invalid/" + s
		r.Ignored[0].SuppressedBy.Reason = s
		r.Notices[0].Message = s
		var b bytes.Buffer
		if err := report.WriteSummary(&b, []*scan.Result{r}); err != nil {
			t.Fatal(err)
		}
		checkTables(t, b.String())
	})
}
