package release

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/reportflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
)

// maxPartSize bounds a part file: a result of hundreds of services with
// their findings is megabytes, not gigabytes.
const maxPartSize = 256 << 20

// mergeFlags are the flag groups of `sc release merge`.
type mergeFlags struct {
	merge  options.Merge
	report options.Report
}

func newMerge(root *options.Root) *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge PART.json...",
		Short: "Join the results of a sharded release",
		Long: `Merge joins the results of the shards of one release, each written by
'sc release create --shard I/N --output json', and writes what one run of the
whole release would have written: the table or --output json on stdout,
--sarif, --pr-comment, --summary (else the markdown summary appended to
$GITHUB_STEP_SUMMARY) and the DefectDojo reimport.

The parts must be of one release — the same configuration (its digest), stack
and services — and cover it: every shard once and every service once. Parts
of another release, a missing shard, a shard given twice or a service in two
parts are refused (exit 2), naming the part, shard or service.

Exit code: the worst of the release, as one run gives it — 1 a check failed,
2 the configuration could not work, 3 something could not run or a shard was
cancelled.`,
		Example: `  sc release merge part-*.json
  sc release merge parts/*.json --output json --sarif sc.sarif`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.merge.Validate(); err != nil {
				return err
			}
			if err := reportflags.Validate(root, &f.report); err != nil {
				return err
			}
			return merge(cmd, root, &f, args)
		},
	}
	fs := cmd.Flags()
	f.merge.AddFlags(fs)
	f.report.AddFlags(fs)
	return cmd
}

func merge(cmd *cobra.Command, root *options.Root, f *mergeFlags, files []string) error {
	plan := newReportPlan(root, f.report, nil)
	if err := plan.checkOutputs(nil); err != nil {
		return err
	}
	parts := make([]pipeline.Part, len(files))
	for i, file := range files {
		res, err := readPart(file)
		if err != nil {
			return err
		}
		parts[i] = pipeline.Part{Name: file, Result: res}
	}
	res, err := pipeline.Merge(parts...)
	if err != nil {
		return err
	}
	verdict := res.Err()
	if res.Cancelled {
		verdict = errors.Join(verdict, outcome.Operational("a shard was cancelled before it finished: re-run it and merge again"))
	}
	return render(cmd.Context(), cmd, root, f.merge.Output, plan, res, verdict)
}

// readPart reads one part file. Errors are usage errors naming the file.
func readPart(file string) (*pipeline.ReleaseResult, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, outcome.Invalidf("%w", err)
	}
	if st.Size() > maxPartSize {
		return nil, outcome.Invalidf("%s: %d bytes, more than a release result has (%d)", file, st.Size(), maxPartSize)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, outcome.Invalidf("%w", err)
	}
	res, err := pipeline.DecodeResult(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return res, nil
}
