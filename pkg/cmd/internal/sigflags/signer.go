package sigflags

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
)

// NewSigner turns the attest flags into a signer: the private key of --key
// (its password from the environment or a prompt), or keylessly the
// identity of the OIDC token the execution context finds. ec is the
// command's execution context when it already has one; nil builds one
// without reading git.
func NewSigner(cmd *cobra.Command, root *options.Root, a *options.Attest, ec *runenv.Context, logger *slog.Logger) (signing.Signer, error) {
	services := signing.Services{TSAURL: a.TSAURL}
	if a.TlogUpload {
		services.RekorURL = a.RekorURL
	}
	if a.Key == "" {
		services.FulcioURL = a.FulcioURL
		if ec == nil {
			var err error
			ec, err = a.ExecutionContext.Build(cmd.Context(), root, runenv.WithoutGit(), runenv.WithLogger(logger))
			if err != nil {
				return nil, err
			}
		}
		return signing.NewKeylessSigner(ec.Token, services)
	}
	pemBytes, err := signing.ReadKeyRef(a.Key, root.Getenv)
	if err != nil {
		return nil, err
	}
	password, err := options.KeyPassword(root, cmd.InOrStdin(), cmd.ErrOrStderr(), false)
	if err != nil {
		return nil, err
	}
	sv, err := signing.LoadPrivateKey(pemBytes, password)
	if err != nil {
		return nil, err
	}
	return signing.NewKeySigner(sv, services)
}
