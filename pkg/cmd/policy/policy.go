// Package policy holds the `sc policy` commands, which work with the
// deploy-time image policy file (api.ImagePolicy): `sc policy export`
// writes it as the admission policies of Kyverno and Sigstore's
// policy-controller. The commands are thin; the work is in
// pkg/security/policy/... .
//
// The package does not verify images: `sc verify --policy` does.
package policy

import (
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
)

// New returns the `sc policy` command group. Each subcommand lives in its
// own file.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with deploy-time image policies",
	}
	cmd.AddCommand(newExport(root))
	return cmd
}
