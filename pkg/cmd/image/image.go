// Package image holds the `sc image` commands, which work on one image at a
// time: tree lists what is attached to it; sign and verify sign it and check
// its signatures. Each command is thin: it turns flags into options, makes
// one library call (pkg/security/...) and renders the result; results go to
// stdout, progress and logs to stderr.
package image

import (
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
)

// New returns the `sc image` command group. Each subcommand is one line of
// the AddCommand list and binds its own flags (options.Registry for the
// registry ones).
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Work on one image: scan it, sign it, verify it, list what is attached to it",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newTree(root),
		newSign(root),
		newVerify(root),
		newScan(root),
	)
	return cmd
}
