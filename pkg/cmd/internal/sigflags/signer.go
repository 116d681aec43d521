// Package sigflags hands the signing and verification flag groups of
// pkg/cmd/options to pkg/security/signing/setup, which turns them into
// signers, verification policies and trusted material exactly as it turns
// a configuration's signing block for `sc release create`. It adds only
// what a command has and a library must not do: the key password from
// the environment or a terminal prompt, the identity token source of the
// execution context, and warnings about the insecure flags. It exists
// because pkg/cmd/options must not link the Sigstore libraries; it is
// shared by the image, sbom, provenance and release commands.
package sigflags

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// NewSigner turns the signer flags into a signer: the private key of --key
// (its password from the environment or a prompt), or keylessly the
// identity of the OIDC token the execution context finds. ec is the
// command's execution context when it already has one; nil builds one
// without reading git, when signing keylessly.
func NewSigner(cmd *cobra.Command, root *options.Root, s *options.Signer, ec *runenv.Context, logger *slog.Logger) (signing.Signer, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	var (
		opts   []setup.Option
		tokens signing.TokenSource
	)
	if setup.UsesDefaultPassword(cfg) {
		// asked once the key has been read: a missing key costs no prompt
		opts = append(opts, setup.WithPasswordFunc(func() ([]byte, error) {
			return options.KeyPassword(root, cmd.InOrStdin(), cmd.ErrOrStderr(), false)
		}))
	}
	if cfg.IsKeyless() {
		if ec == nil {
			if ec, err = s.ExecutionContext.Build(cmd.Context(), root, runenv.WithoutGit(), runenv.WithLogger(logger)); err != nil {
				return nil, err
			}
		}
		tokens = ec.Token
	}
	return setup.NewSigners(root.LookupEnv, tokens, opts...).Signer(cmd.Context(), cfg)
}
