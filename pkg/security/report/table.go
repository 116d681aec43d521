package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sc-project/sc/pkg/security/scan"
)

// WriteTable writes the result of one image for a terminal, as `sc image
// scan` prints it: the scanners, a table of the counted findings (most
// severe first), the findings set aside and why, the notices, the counts
// and the verdict.
//
// Errors: ErrNoResults for a nil result; the writer's error.
func WriteTable(w io.Writer, r *scan.Result) error {
	if err := check([]*scan.Result{r}); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Image:    %s\n", r.Image)
	if r.Cached {
		fmt.Fprintf(&b, "Scanned:  %s (a report from the cache; the policy is applied now)\n", r.ScannedAt.UTC().Format(time.RFC3339))
	}
	for i, s := range r.Scanners {
		label := "Scanners:"
		if i > 0 {
			label = "         "
		}
		fmt.Fprintf(&b, "%s %s %s", label, s.Name, s.Version)
		if s.DB != nil {
			fmt.Fprintf(&b, " (database built %s, schema %s", s.DB.Built.Format(time.RFC3339), s.DB.Schema)
			if s.DB.Stale {
				b.WriteString(", STALE")
			}
			b.WriteString(")")
		}
		if s.Cached {
			fmt.Fprintf(&b, ", report from the cache of %s", s.ScannedAt.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")

	if len(r.Matches) == 0 {
		b.WriteString("No vulnerabilities found.\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tPACKAGE\tVERSION\tFIXED IN\tTYPE\tFOUND BY")
		for _, m := range r.Matches {
			fixed := strings.Join(m.Fix.Versions, ", ")
			if fixed == "" {
				fixed = "(" + string(m.Fix.State) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Severity, m.Package.Name, m.Package.Version,
				fixed, m.Package.Type, strings.Join(m.FoundBy, ","))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "\nSet aside (%d):\n", len(r.Ignored))
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tPACKAGE\tVERSION\tBY\tREASON")
		for _, m := range r.Ignored {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Severity, m.Package.Name, m.Package.Version,
				m.SuppressedBy.Kind, m.SuppressedBy.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(r.Notices) > 0 {
		b.WriteString("\nNotices:\n")
		for _, n := range r.Notices {
			fmt.Fprintf(&b, "  - %s\n", n.Message)
		}
	}

	c := r.Counts
	fmt.Fprintf(&b, "\n%s: %d critical, %d high, %d medium, %d low, %d negligible, %d unknown (%d set aside)\n",
		scan.Findings(c.Total), c.Critical, c.High, c.Medium, c.Low, c.Negligible, c.Unknown, c.Ignored)
	b.WriteString(verdictLine(&r.Verdict))
	_, err := io.WriteString(w, b.String())
	return err
}

// verdictLine is the table's last line: the verdict and the thresholds,
// and how many findings (the unit of the counts line) met them, of which
// vulnerabilities. A verdict made by hand without finding counts says at
// least one finding per vulnerability.
func verdictLine(v *scan.Verdict) string {
	thresholds := fmt.Sprintf("fail on %s, warn on %s", orNone(v.FailOn), orNone(v.WarnOn))
	if v.OnlyFixed {
		thresholds += ", only fixed"
	}
	switch v.Status {
	case scan.Fail:
		ids := distinct(v.Failing)
		s := fmt.Sprintf("Verdict: FAIL (%s): %s at or above %s: %s", thresholds, scan.Findings(max(v.FailingFindings, len(ids))), v.FailOn, strings.Join(ids, ", "))
		if v.SoftFail {
			s += " — soft fail: not failing the scan"
		}
		return s + "\n"
	case scan.Warn:
		ids := distinct(v.Warning)
		return fmt.Sprintf("Verdict: WARN (%s): %s at or above %s: %s\n", thresholds, scan.Findings(max(v.WarningFindings, len(ids))), v.WarnOn, strings.Join(ids, ", "))
	}
	return fmt.Sprintf("Verdict: PASS (%s)\n", thresholds)
}
