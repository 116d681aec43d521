// Package key holds the `sc key` commands, which manage signing keys in
// cosign's format. They are thin: a password is read from the environment
// or a terminal prompt, and pkg/security/signing/keyfile makes the key
// (without linking cosign or sigstore).
//
// The package does not sign anything and never prints key material.
package key

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing/keyfile"
)

// New returns the `sc key` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage signing keys (cosign's format)",
	}
	cmd.AddCommand(newGenerate(root))
	return cmd
}

func newGenerate(root *options.Root) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate an encrypted ECDSA P-256 key pair",
		Long: `Generate writes PREFIX.key, an ECDSA P-256 private key encrypted with a password
in cosign's format (readable by "cosign sign --key"), and PREFIX.pub, its public
key. It never overwrites existing files.

The password comes from SC_KEY_PASSWORD, else COSIGN_PASSWORD, else a prompt
on the terminal (asked twice).`,
		Example: `  SC_KEY_PASSWORD=… sc key generate --output-prefix release
  sc image sign --key release.key registry.example.com/shop:1.4.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefix == "" {
				return outcome.Invalid("--output-prefix is empty")
			}
			priv, pub := prefix+".key", prefix+".pub"
			for _, p := range []string{priv, pub} {
				if _, err := os.Stat(p); err == nil {
					return outcome.Invalidf("%s already exists: sc never overwrites a key; remove it or choose another --output-prefix", p)
				}
				// before the password is asked for
				if err := outfile.Writable(outfile.Output{Flag: "--output-prefix", Path: p}); err != nil {
					return err
				}
			}
			password, err := options.KeyPassword(root, cmd.InOrStdin(), cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			kp, err := keyfile.Generate(password)
			if err != nil {
				return outcome.Operationalf("%w", err)
			}
			if err := writeNew(priv, kp.PrivatePEM, 0o600); err != nil {
				return err
			}
			if err := writeNew(pub, kp.PublicPEM, 0o644); err != nil {
				_ = os.Remove(priv)
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Private key written to %s\nPublic key written to %s\n", priv, pub)
			return err
		},
	}
	cmd.Flags().StringVar(&prefix, "output-prefix", "cosign", "path prefix of the key files: PREFIX.key and PREFIX.pub")
	return cmd
}

// writeNew creates path with data, failing if it exists.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return outcome.Invalidf("%s already exists: sc never overwrites a key", path)
		}
		return outcome.Operationalf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = os.Remove(path)
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return outcome.Operationalf("writing %s: %w", path, err)
	}
	return nil
}
