// Package quickstart is the `sc quickstart` command: sc's pipeline on one
// machine, offline, against an embedded registry and the sample image. The
// work is in internal/quickstart; this package parses flags and prints.
package quickstart

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/internal/quickstart"
	"github.com/sc-project/sc/pkg/cmd/options"
)

// New returns the quickstart command.
func New(root *options.Root) *cobra.Command {
	var (
		dir  string
		keep bool
	)
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the pipeline offline against an embedded registry and a sample image",
		Long: `Quickstart shows what sc does without any setup: it starts an OCI registry
on 127.0.0.1 inside the process, pushes a realistic sample image (Debian 12
packages, an npm lockfile, a Go binary), makes an ephemeral signing key,
installs the bundled SAMPLE vulnerability database (made-up advisories,
labelled as such), and runs the same executor as 'sc release create': resolve
the digest once, generate the SBOM and provenance, scan (soft fail: the sample
has findings), sign, attach both attestations and verify everything. It then
signs in cosign's legacy format too and lists what is attached.

Nothing leaves the machine. The key pair is written to --dir (a new temporary
directory by default). With --keep the registry keeps running until Ctrl-C, so
that the printed cosign commands can be tried against it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if dir == "" {
				d, err := os.MkdirTemp("", "sc-quickstart-")
				if err != nil {
					return err
				}
				dir = d
			}
			s, err := quickstart.Run(cmd.Context(), quickstart.Options{
				Out:     out,
				Dir:     dir,
				Version: root.Version,
				Logger:  logger(root, cmd),
			})
			if err != nil {
				return err
			}
			defer s.Close()

			fmt.Fprintf(out, "\nThe image %s is signed and verified.\n", s.Image)
			fmt.Fprintln(out, "To check it with the cosign CLI (run with --keep so that the registry stays up):")
			for _, c := range s.CosignCommands() {
				fmt.Fprintf(out, "  %s\n", c)
			}
			if !keep {
				return nil
			}
			fmt.Fprintf(out, "\nThe registry at %s keeps running; press Ctrl-C to stop.\n", s.Registry)
			<-cmd.Context().Done()
			if cmd.Context().Err() == context.Canceled {
				return nil
			}
			return cmd.Context().Err()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the ephemeral key pair (default: a new temporary directory)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the embedded registry running until interrupted")
	return cmd
}

// logger passes library logs through only at debug level: the steps
// already say what happened.
func logger(root *options.Root, cmd *cobra.Command) *slog.Logger {
	if root.LogLevel != "debug" {
		return slog.New(slog.DiscardHandler)
	}
	return root.Logger(cmd.ErrOrStderr())
}
