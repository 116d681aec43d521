// Package cmd builds sc's command tree. Each command group lives in its own
// package under pkg/cmd and is a thin layer: it parses flags into an options
// struct, makes one library call and renders the result. This package only
// assembles the groups, documents the exit codes and marks usage errors so
// that main can map them to exit code 2.
package cmd

import (
	"context"

	"github.com/spf13/cobra"

	cachecmd "github.com/sc-project/sc/pkg/cmd/cache"
	configcmd "github.com/sc-project/sc/pkg/cmd/config"
	"github.com/sc-project/sc/pkg/cmd/image"
	"github.com/sc-project/sc/pkg/cmd/key"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/cmd/provenance"
	"github.com/sc-project/sc/pkg/cmd/quickstart"
	"github.com/sc-project/sc/pkg/cmd/release"
	"github.com/sc-project/sc/pkg/cmd/sbom"
	scancmd "github.com/sc-project/sc/pkg/cmd/scan"
	versioncmd "github.com/sc-project/sc/pkg/cmd/version"
	"github.com/sc-project/sc/pkg/outcome"
)

const exitCodesHelp = `Exit codes:
  0  success
  1  a check failed: policy violation, verification failed, unsigned image
  2  usage or configuration error; an image tag or digest that does not exist
  3  operational failure: registry unreachable, tool missing, I/O, interrupted`

// New returns the root command. Errors raised while parsing flags, arguments
// or the command name are classed as outcome.ErrInvalid.
func New(root *options.Root) *cobra.Command {
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
			if err := root.Validate(); err != nil {
				return err
			}
			markStarted(cmd.Context())
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return outcome.Invalidf("%w", err)
	})
	root.AddFlags(cmd.PersistentFlags())

	cmd.AddCommand(
		cachecmd.New(root),
		configcmd.New(root),
		image.New(root),
		key.New(root),
		provenance.New(root),
		quickstart.New(root),
		release.New(root),
		sbom.New(root),
		scancmd.New(root),
		versioncmd.New(root),
	)
	return cmd
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
	err := cmd.ExecuteContext(ctx)
	if err != nil && !s.yes {
		return outcome.Invalidf("%w (see 'sc --help')", err)
	}
	return err
}
