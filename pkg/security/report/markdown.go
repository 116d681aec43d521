package report

import (
	"fmt"
	"html"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/sc-project/sc/pkg/security/scan"
)

// PRCommentMarker is the hidden first line of WritePRComment's output. A
// bot that posts the comment looks for it among a pull request's comments
// and edits that comment instead of adding another.
const PRCommentMarker = "<!-- sc-scan-report -->"

// maxIDs is how many failing or warning IDs a verdict line names.
const maxIDs = 10

// WriteSummary writes results as markdown for a GitHub job summary
// ($GITHUB_STEP_SUMMARY): for several images an overview table first, then
// per image the verdict (PASS, WARN or FAIL), what was scanned and with
// which policy, the counts by severity, the most severe findings (WithTop),
// the findings set aside with their reasons, and the notices.
//
// Errors: ErrNoResults; the writer's error.
func WriteSummary(w io.Writer, results []*scan.Result, opts ...Option) error {
	if err := check(results); err != nil {
		return err
	}
	c := newConfig(opts)
	top := c.top
	if top <= 0 {
		top = DefaultSummaryTop
	}
	var b strings.Builder
	level := "##"
	if len(results) > 1 {
		fmt.Fprintf(&b, "## Vulnerability scan: %s (%d images)\n\n", verdictWord(Worst(results)), len(results))
		overview(&b, results)
		b.WriteString("\n")
		level = "###"
	}
	first := true
	for _, g := range platformGroups(results) {
		shared := sharedMatches(g)
		if len(shared) > 0 {
			if !first {
				b.WriteString("\n")
			}
			first = false
			fmt.Fprintf(&b, "%s %s: %s shared by all %d platforms\n\n", level, mdCode(Repository(g[0].Image)),
				scan.Findings(len(shared)), len(g))
			findingsTable(&b, shared, top, true)
		}
		for _, r := range g {
			if !first {
				b.WriteString("\n")
			}
			first = false
			summarySection(&b, r, level, top, shared)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// platformGroups splits results into runs of consecutive platform images
// of one index (Platform set, one repository); every other result is a run
// of its own.
func platformGroups(results []*scan.Result) [][]*scan.Result {
	var out [][]*scan.Result
	for _, r := range results {
		if n := len(out); n > 0 && r.Platform != "" {
			last := out[n-1]
			if last[0].Platform != "" && Repository(last[0].Image) == Repository(r.Image) {
				out[n-1] = append(last, r)
				continue
			}
		}
		out = append(out, []*scan.Result{r})
	}
	return out
}

// sharedMatches are the findings that every platform image of an index
// has (the same vulnerability in the same package and version), in the
// first one's order; none for a single image. A summary lists them once.
func sharedMatches(g []*scan.Result) []scan.Match {
	if len(g) < 2 {
		return nil
	}
	var out []scan.Match
	for _, m := range g[0].Matches {
		all := true
		for _, r := range g[1:] {
			if !slices.ContainsFunc(r.Matches, func(o scan.Match) bool { return matchKey(o) == matchKey(m) }) {
				all = false
				break
			}
		}
		if all {
			out = append(out, m)
		}
	}
	return out
}

// matchKey is what makes two platforms' findings the same one.
func matchKey(m scan.Match) string {
	return strings.Join([]string{m.ID, m.Package.Type, m.Package.Name, m.Package.Version}, "\x00")
}

// imageName names an image in headings and tables: its repository, and
// the platform of a platform image of an index.
func imageName(r *scan.Result) string {
	if r.Platform == "" {
		return Repository(r.Image)
	}
	return Repository(r.Image) + " " + r.Platform
}

// WritePRComment writes results as a compact pull-request comment: the
// PRCommentMarker, the overall verdict, a table with one row per image,
// and per image a collapsed list of its most severe findings (WithTop) and
// its notices.
//
// Errors: ErrNoResults; the writer's error.
func WritePRComment(w io.Writer, results []*scan.Result, opts ...Option) error {
	if err := check(results); err != nil {
		return err
	}
	c := newConfig(opts)
	top := c.top
	if top <= 0 {
		top = DefaultCommentTop
	}
	var b strings.Builder
	b.WriteString(PRCommentMarker + "\n")
	fmt.Fprintf(&b, "## Vulnerability scan: %s\n\n", verdictWord(Worst(results)))
	overview(&b, results)
	for _, r := range results {
		if len(r.Matches) == 0 && len(r.Notices) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n<details>\n<summary><code>%s</code>: %s, %s</summary>\n\n",
			html.EscapeString(imageName(r)), verdictWord(r.Verdict.Status), scan.Findings(len(r.Matches)))
		if len(r.Matches) > 0 {
			b.WriteString(verdictSentence(&r.Verdict) + "\n\n")
			findingsTable(&b, r.Matches, top, false)
		}
		if len(r.Notices) > 0 {
			if len(r.Matches) > 0 {
				b.WriteString("\n")
			}
			b.WriteString("Notices:\n\n")
			notices(&b, r.Notices)
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// overview writes one row per image: verdict, counts, set aside.
func overview(b *strings.Builder, results []*scan.Result) {
	b.WriteString("| Image | Verdict | Critical | High | Medium | Low | Negligible | Unknown | Set aside |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		c := r.Counts
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d |\n", mdCode(imageName(r)), verdictWord(r.Verdict.Status),
			c.Critical, c.High, c.Medium, c.Low, c.Negligible, c.Unknown, c.Ignored)
	}
}

// summarySection writes one image's part of the summary. Its findings
// table leaves out shared, the findings every platform of its index has,
// which the summary lists once before the platforms.
func summarySection(b *strings.Builder, r *scan.Result, level string, top int, shared []scan.Match) {
	sub := level + "#"
	if level == "##" {
		fmt.Fprintf(b, "## Vulnerability scan of %s\n\n", mdCode(imageName(r)))
	} else {
		fmt.Fprintf(b, "%s %s: %s\n\n", level, mdCode(imageName(r)), verdictWord(r.Verdict.Status))
	}
	b.WriteString(verdictSentence(&r.Verdict) + "\n\n")

	fmt.Fprintf(b, "Image %s", mdCode(r.Image))
	if !r.ScannedAt.IsZero() {
		fmt.Fprintf(b, ", scanned %s", r.ScannedAt.UTC().Format("2006-01-02 15:04 MST"))
		if r.Cached {
			b.WriteString(" (a report from the cache)")
		}
	}
	if len(r.Scanners) > 0 {
		var names []string
		for _, s := range r.Scanners {
			n := mdText(strings.TrimSpace(s.Name + " " + s.Version))
			if s.DB != nil && !s.DB.Built.IsZero() {
				n += fmt.Sprintf(" (database built %s", s.DB.Built.UTC().Format("2006-01-02 15:04 MST"))
				if s.DB.Stale {
					n += ", **stale**"
				}
				n += ")"
			}
			names = append(names, n)
		}
		fmt.Fprintf(b, " with %s", strings.Join(names, ", "))
	}
	fmt.Fprintf(b, ". Policy: %s.\n\n", policyText(&r.Verdict))

	c := r.Counts
	b.WriteString("| Critical | High | Medium | Low | Negligible | Unknown | Total | Set aside |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(b, "| %d | %d | %d | %d | %d | %d | %d | %d |\n", c.Critical, c.High, c.Medium, c.Low, c.Negligible, c.Unknown, c.Total, c.Ignored)

	fmt.Fprintf(b, "\n%s Findings\n\n", sub)
	own := slices.DeleteFunc(slices.Clone(r.Matches), func(m scan.Match) bool {
		return slices.ContainsFunc(shared, func(s scan.Match) bool { return matchKey(s) == matchKey(m) })
	})
	switch {
	case len(r.Matches) == 0:
		b.WriteString("No vulnerabilities found.\n")
	case len(own) == 0:
		b.WriteString("None beyond those all platforms share, listed above.\n")
	default:
		if n := len(r.Matches) - len(own); n > 0 {
			fmt.Fprintf(b, "Besides the %s all platforms share, listed above:\n\n", scan.Findings(n))
		}
		findingsTable(b, own, top, true)
	}

	if len(r.Ignored) > 0 {
		fmt.Fprintf(b, "\n%s Set aside (%d)\n\n", sub, len(r.Ignored))
		b.WriteString(suppressionTally(r.Ignored) + "\n\n")
		b.WriteString("| ID | Package | Installed | Severity | Set aside by | Reason |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		for _, m := range r.Ignored {
			reason := mdText(m.SuppressedBy.Reason)
			if rule := m.SuppressedBy.Rule; rule != nil && rule.Expires != "" {
				reason += " (until " + mdText(rule.Expires) + ")"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", idCell(m.Match), mdCode(m.Package.Name), mdCode(m.Package.Version),
				m.Severity, suppressionName(m.SuppressedBy.Kind), reason)
		}
	}

	if len(r.Notices) > 0 {
		fmt.Fprintf(b, "\n%s Notices\n\n", sub)
		notices(b, r.Notices)
	}
}

// findingsTable lists the first top matches (they come most severe first).
func findingsTable(b *strings.Builder, ms []scan.Match, top int, foundBy bool) {
	if foundBy {
		b.WriteString("| ID | Package | Installed | Fixed in | Severity | Found by |\n| --- | --- | --- | --- | --- | --- |\n")
	} else {
		b.WriteString("| ID | Package | Installed | Fixed in | Severity |\n| --- | --- | --- | --- | --- |\n")
	}
	for i, m := range ms {
		if i == top {
			break
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |", idCell(m), mdCode(m.Package.Name), mdCode(m.Package.Version), fixedIn(m.Fix), m.Severity)
		if foundBy {
			fmt.Fprintf(b, " %s |", mdText(strings.Join(m.FoundBy, ", ")))
		}
		b.WriteString("\n")
	}
	if len(ms) > top {
		fmt.Fprintf(b, "\nShowing the %d most severe of %d findings; the SARIF and JSON reports have all of them.\n", top, len(ms))
	}
}

func notices(b *strings.Builder, ns []scan.Notice) {
	for _, n := range ns {
		fmt.Fprintf(b, "- %s\n", mdText(n.Message))
	}
}

// verdictSentence is the verdict in one line, its word in bold.
func verdictSentence(v *scan.Verdict) string {
	switch v.Status {
	case scan.Fail:
		ids := distinct(v.Failing)
		s := fmt.Sprintf("**FAIL**: %s at or above %s: %s.", scan.Findings(max(v.FailingFindings, len(ids))), v.FailOn, idList(ids))
		if v.SoftFail {
			s += " Soft fail: the scan does not fail the build."
		}
		return s
	case scan.Warn:
		ids := distinct(v.Warning)
		return fmt.Sprintf("**WARN**: %s at or above %s: %s.", scan.Findings(max(v.WarningFindings, len(ids))), v.WarnOn, idList(ids))
	}
	switch {
	case v.WarnOn != "":
		return fmt.Sprintf("**PASS**: no finding at or above %s.", v.WarnOn)
	case v.FailOn != "":
		return fmt.Sprintf("**PASS**: no finding at or above %s.", v.FailOn)
	}
	return "**PASS**: the policy sets no threshold."
}

// policyText describes the thresholds the verdict was made with.
func policyText(v *scan.Verdict) string {
	s := fmt.Sprintf("fail on %s, warn on %s", orNone(v.FailOn), orNone(v.WarnOn))
	if v.OnlyFixed {
		s += ", only fixed"
	}
	if v.SoftFail {
		s += ", soft fail"
	}
	names := make([]string, 0, len(v.Scanners))
	for n := range v.Scanners {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := v.Scanners[n]
		s += fmt.Sprintf("; %s: fail on %s, warn on %s", mdText(n), orNone(t.FailOn), orNone(t.WarnOn))
	}
	return s
}

func orNone(s scan.Severity) string {
	if s == "" {
		return "none"
	}
	return string(s)
}

// suppressionTally counts set-aside findings by what set them aside.
func suppressionTally(ms []scan.IgnoredMatch) string {
	counts := map[scan.SuppressionKind]int{}
	var kinds []scan.SuppressionKind
	for _, m := range ms {
		if counts[m.SuppressedBy.Kind] == 0 {
			kinds = append(kinds, m.SuppressedBy.Kind)
		}
		counts[m.SuppressedBy.Kind]++
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d by %s", counts[k], suppressionName(k)))
	}
	return "Not counted by the policy: " + strings.Join(parts, ", ") + "."
}

func suppressionName(k scan.SuppressionKind) string {
	switch k {
	case scan.SuppressedByVEX:
		return "VEX"
	case scan.SuppressedByRule:
		return "ignore rule"
	case scan.SuppressedByOnlyFixed:
		return "only fixed"
	}
	return mdText(string(k))
}

// distinct returns ids, sorted, without repeats (a vulnerability in two
// packages is listed once).
func distinct(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

func idList(ids []string) string {
	more := ""
	if len(ids) > maxIDs {
		more = fmt.Sprintf(" and %d more", len(ids)-maxIDs)
		ids = ids[:maxIDs]
	}
	return mdText(strings.Join(ids, ", ")) + more
}

// idCell is a finding's ID, linked to its advisory, with a VEX status that
// did not suppress it.
func idCell(m scan.Match) string {
	s := mdText(m.ID)
	if u := helpURI(m); u != "" {
		s = "[" + s + "](" + mdURL(u) + ")"
	}
	if m.VEX != nil && m.VEX.Status != "" {
		s += " (VEX: " + mdText(strings.ReplaceAll(m.VEX.Status, "_", " ")) + ")"
	}
	return s
}

// fixedIn is the "Fixed in" cell.
func fixedIn(f scan.Fix) string {
	switch {
	case len(f.Versions) > 0:
		return mdCode(strings.Join(f.Versions, ", "))
	case f.State == scan.FixStateWontFix:
		return "won't fix"
	case f.State == scan.FixStateNotFixed:
		return "not fixed"
	}
	return "unknown"
}

// mdEscaper escapes text from scanners, advisories and policies so that it
// reads as plain text in GitHub markdown, in a table cell too: no
// emphasis, links, HTML, entities or cell breaks.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`,
	"|", `\|`, "~", `\~`, "&", `\&`, "#", `\#`, "!", `\!`,
	// a zero-width space after "@" keeps a reason or notice from
	// mentioning a GitHub user or team in a pull request
	"@", "@\u200b",
	"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
)

// mdText escapes s for markdown text, on one line.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode puts s in a code span that cannot break a table: on one line, its
// pipes escaped (GitHub unescapes them in a cell), fenced with more
// backticks than s holds in a row.
func mdCode(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	if strings.TrimSpace(s) == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdURL makes a checked http(s) URL safe as a link destination: the
// characters that would end one are percent-encoded.
func mdURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\n", "", "\r", "", "|", "%7C", "`", "%60").Replace(u)
}
