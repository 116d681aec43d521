// Package cache holds the `sc cache` commands: `ls` lists the entries of
// sc's on-disk cache of SBOMs and scan results, `clean` removes them. The
// cache itself is pkg/security/cache; these commands only turn flags into a
// call and render the answer.
package cache

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/digest"
)

// Output formats.
const (
	outputTable = "table"
	outputText  = "text"
	outputJSON  = "json"
)

// New returns the `sc cache` command group.
func New(root *options.Root) *cobra.Command {
	o := &options.Cache{}
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "List and clean sc's on-disk cache of SBOMs and scan results",
		Long: `sc keeps SBOMs and scan results on disk, keyed by operation, image digest,
the configuration that changes the answer and the tool (and database) version,
so that a second run on the same digest does not redo the work. Entries expire
after a TTL per operation: sbom 7 days, scan 24 hours, others 24 hours.

The cache lives in --cache-dir, else $SC_CACHE_DIR, else $XDG_CACHE_HOME/sc,
else the user cache directory (~/.cache/sc on Linux).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newList(root, o), newClean(root, o))
	return cmd
}

// listing is the JSON form of `sc cache ls`.
type listing struct {
	Dir        string        `json:"dir"`
	Entries    []cache.Entry `json:"entries"`
	TotalBytes int64         `json:"totalBytes"`
}

func newList(root *options.Root, o *options.Cache) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the cache's entries",
		Long: `List the cache's entries: operation, image digest, tool version, configuration
hash, payload size, when each was stored and when it expires. Entries that
cannot be read are listed as corrupt; any clean removes them unless it is
limited to an operation.`,
		Example: `  sc cache ls
  sc cache ls --output json | jq '.entries[] | select(.expired)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != outputTable && output != outputJSON {
				return outcome.Invalidf("--output %q: want %s or %s", output, outputTable, outputJSON)
			}
			c, err := o.Open(root)
			if err != nil {
				return err
			}
			entries, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			l := listing{Dir: c.Dir(), Entries: entries}
			if l.Entries == nil {
				l.Entries = []cache.Entry{}
			}
			for _, e := range entries {
				l.TotalBytes += e.FileSize
			}
			if output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			return writeTable(cmd.OutOrStdout(), l)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table or json")
	return cmd
}

func newClean(root *options.Root, o *options.Cache) *cobra.Command {
	var (
		f      cache.Filter
		output string
	)
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove cache entries (by default, only expired ones)",
		Long: `Remove cache entries. Without flags, only expired (and corrupt) entries are
removed. --all removes everything; --operation, --older-than and --expired
narrow the removal down, and an entry is removed when it matches all of those
given. Temporary files left by interrupted writes are removed once they are an
hour old.`,
		Example: `  sc cache clean                      # expired entries only
  sc cache clean --all
  sc cache clean --operation scan     # every scan result
  sc cache clean --operation sbom --older-than 72h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != outputText && output != outputJSON {
				return outcome.Invalidf("--output %q: want %s or %s", output, outputText, outputJSON)
			}
			filter := f
			narrowed := filter.Operation != "" || filter.OlderThan != 0 || filter.Expired
			if filter.All && narrowed {
				return outcome.Invalid("--all cannot be combined with --operation, --older-than or --expired")
			}
			if !filter.All && !narrowed {
				filter.Expired = true
			}
			if err := filter.Validate(); err != nil {
				return err
			}
			c, err := o.Open(root)
			if err != nil {
				return err
			}
			res, err := c.Clean(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					Dir string `json:"dir"`
					cache.CleanResult
				}{c.Dir(), res})
			}
			msg := fmt.Sprintf("removed %s (%s) from %s; %s kept",
				plural(len(res.Removed), "entry", "entries"), humanBytes(res.Bytes), c.Dir(), plural(res.Kept, "entry", "entries"))
			if res.TempFiles > 0 {
				msg += "; also removed " + plural(res.TempFiles, "stale temporary file", "stale temporary files")
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.All, "all", false, "remove every entry")
	fs.StringVar(&f.Operation, "operation", "", "remove entries of this operation only (sbom, scan, …)")
	fs.DurationVar(&f.OlderThan, "older-than", 0, "remove entries stored longer ago than this (e.g. 72h)")
	fs.BoolVar(&f.Expired, "expired", false, "remove expired entries (the default when no other flag is given)")
	fs.StringVarP(&output, "output", "o", outputText, "output format: text or json")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeTable(w io.Writer, l listing) error {
	if len(l.Entries) == 0 {
		_, err := fmt.Fprintf(w, "no entries in %s\n", l.Dir)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tDIGEST\tTOOL\tCONFIG\tSIZE\tCREATED\tEXPIRES")
	for _, e := range l.Entries {
		if e.Corrupt {
			fmt.Fprintf(tw, "(corrupt)\t%s\t-\t-\t%s\t%s\t(removed by clean)\n",
				digest.Short(e.ID), humanBytes(e.FileSize), stamp(e.Created))
			continue
		}
		expires := stamp(e.Expires)
		if e.Expired {
			expires += " (expired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Key.Operation, digest.Short(e.Key.Digest), dash(e.Key.ToolVersion), dash(digest.Short(e.Key.ConfigHash)),
			humanBytes(e.Size), stamp(e.Created), expires)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s, %s in %s\n", plural(len(l.Entries), "entry", "entries"), humanBytes(l.TotalBytes), l.Dir)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// humanBytes renders a size in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
