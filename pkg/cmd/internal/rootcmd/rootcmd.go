// Package rootcmd is the shell of sc's root command: the help with the exit
// codes, the global flags and their validation, and the classing of errors
// raised before a command starts (unknown command, bad flag) as usage
// errors. It holds no command group: pkg/cmd assembles them, and a group's
// tests wrap just that group, so that their test binary links only what the
// group needs.
package rootcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

const exitCodesHelp = `Exit codes:
  0  success
  1  a check failed: policy violation, verification failed, unsigned image
  2  usage or configuration error; an image tag or digest that does not exist
  3  operational failure: registry unreachable, tool missing, I/O, interrupted`

// New returns the root command holding groups. Errors raised while parsing
// flags, arguments or the command name are classed as outcome.ErrInvalid.
func New(root *options.Root, groups ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sc",
		Short: "Secure container images on their way to production",
		Long: `sc scans container images for vulnerabilities and enforces a policy, signs them,
generates SBOMs and SLSA provenance, attaches both as signed attestations, and
verifies everything it wrote. It works on image digests: a tag is resolved once.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return root.Validate()
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return outcome.Invalidf("%w", err)
	})
	root.AddFlags(cmd.PersistentFlags())

	cmd.AddCommand(groups...)
	markOnRun(cmd)
	return cmd
}

// markOnRun makes every runnable command of the tree mark the run started
// when its RunE begins: after cobra parsed the flags and checked the
// arguments, the required flags and the flag groups, so that each of
// those errors is a usage error, and nothing the command itself returns
// is.
func markOnRun(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			markStarted(cmd.Context())
			return run(cmd, args)
		}
	} else if run := c.Run; run != nil {
		c.Run = func(cmd *cobra.Command, args []string) {
			markStarted(cmd.Context())
			run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		markOnRun(sub)
	}
}

type startedKey struct{}

type started struct{ yes bool }

func markStarted(ctx context.Context) {
	if s, ok := ctx.Value(startedKey{}).(*started); ok {
		s.yes = true
	}
}

// Execute runs the command tree with ctx and args (without the program name).
// An error returned before any command started running (unknown command,
// wrong number of arguments, bad flag) is a usage error.
func Execute(ctx context.Context, cmd *cobra.Command, args []string) error {
	s := &started{}
	ctx = context.WithValue(ctx, startedKey{}, s)
	cmd.SetArgs(args)
	failed, err := cmd.ExecuteContextC(ctx)
	if err != nil && !s.yes {
		path := cmd.CommandPath()
		if failed != nil {
			path = failed.CommandPath()
		}
		return outcome.Invalidf("%w (see '%s --help')", err, path)
	}
	return err
}
