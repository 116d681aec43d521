package options

import (
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/shard"
)

// Shard is the --shard flag of `sc release create`: work on one shard of
// the release only.
type Shard struct {
	// Shard is --shard I/N. Default: the whole release.
	Shard string
}

// AddFlags binds the group's flags.
func (s *Shard) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Shard, "shard", "",
		"work on shard I of N only (I/N, as sc release plan --shards N lists them; default: the whole release)")
}

// Value returns the shard --shard names, nil without --shard.
//
// Errors: outcome.ErrInvalid for a value that is not I/N.
func (s *Shard) Value() (*shard.Shard, error) {
	if s.Shard == "" {
		return nil, nil
	}
	v, err := shard.Parse(s.Shard)
	if err != nil {
		// shard.Parse's errors start with what they read ("shard 3/2: …"):
		// said as the flag, not after it ("--shard: shard 3/2: …")
		return nil, outcome.Invalidf("--%w", err)
	}
	return &v, nil
}

// Plan is the flag group of `sc release plan`: how many shards and how to
// print them.
type Plan struct {
	// Shards is --shards N. Required.
	Shards int
	// Format is --format: github, gitlab or json. Default: github.
	Format string
}

// AddFlags binds the group's flags.
func (p *Plan) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&p.Shards, "shards", 0, "how many shards to split the release into (required)")
	fs.StringVar(&p.Format, "format", shard.FormatGitHub,
		"output: github (a strategy.matrix for fromJSON), gitlab (a parallel:matrix block) or json (each shard's services and cost)")
}

// Validate checks the flags without changing them.
func (p *Plan) Validate() error {
	switch {
	case p.Shards < 1:
		return outcome.Invalidf("--shards %d: must be at least 1", p.Shards)
	case !slices.Contains(shard.Formats(), p.Format):
		return outcome.Invalidf("--format %q: want %s", p.Format, strings.Join(shard.Formats(), ", "))
	}
	return nil
}

// Merge is the flag group of `sc release merge`: how to print the merged
// result (its reports are the Report group's).
type Merge struct {
	// Output is --output: table or json. Default: table.
	Output string
}

// AddFlags binds the group's flags.
func (m *Merge) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&m.Output, "output", "o", OutputTable, "output format: table or json")
}

// Validate checks the flags without changing them.
func (m *Merge) Validate() error {
	if m.Output != OutputTable && m.Output != OutputJSON {
		return outcome.Invalidf("--output %q: want %s or %s", m.Output, OutputTable, OutputJSON)
	}
	return nil
}
