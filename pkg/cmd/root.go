// Package cmd builds sc's command tree. Each command group lives in its own
// package under pkg/cmd and is a thin layer: it parses flags into an options
// struct, makes one library call and renders the result. This package only
// assembles the groups; the root command's shell (exit codes in the help,
// global flags, usage errors classed for exit code 2) is
// pkg/cmd/internal/rootcmd, which group tests use without linking every
// group.
package cmd

import (
	"context"

	"github.com/spf13/cobra"

	attestcmd "github.com/sc-project/sc/pkg/cmd/attest"
	cachecmd "github.com/sc-project/sc/pkg/cmd/cache"
	configcmd "github.com/sc-project/sc/pkg/cmd/config"
	"github.com/sc-project/sc/pkg/cmd/image"
	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/key"
	"github.com/sc-project/sc/pkg/cmd/options"
	policycmd "github.com/sc-project/sc/pkg/cmd/policy"
	"github.com/sc-project/sc/pkg/cmd/provenance"
	"github.com/sc-project/sc/pkg/cmd/quickstart"
	"github.com/sc-project/sc/pkg/cmd/release"
	"github.com/sc-project/sc/pkg/cmd/sbom"
	scancmd "github.com/sc-project/sc/pkg/cmd/scan"
	versioncmd "github.com/sc-project/sc/pkg/cmd/version"
)

// New returns the root command with every group. Errors raised while
// parsing flags, arguments or the command name are classed as
// outcome.ErrInvalid.
func New(root *options.Root) *cobra.Command {
	return rootcmd.New(root,
		attestcmd.NewAttest(root),
		attestcmd.NewVerify(root),
		cachecmd.New(root),
		configcmd.New(root),
		image.New(root),
		key.New(root),
		policycmd.New(root),
		provenance.New(root),
		quickstart.New(root),
		release.New(root),
		sbom.New(root),
		scancmd.New(root),
		versioncmd.New(root),
	)
}

// Execute runs the command tree with ctx and args (without the program name).
// An error returned before any command started running (unknown command,
// wrong number of arguments, bad flag) is a usage error.
func Execute(ctx context.Context, cmd *cobra.Command, args []string) error {
	return rootcmd.Execute(ctx, cmd, args)
}
