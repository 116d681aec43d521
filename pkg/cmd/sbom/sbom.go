// Package sbom holds the `sc sbom` commands: generate an SBOM of an image
// (pkg/security/sbom), attach it as a signed in-toto attestation and verify
// it (pkg/security/attest). They are thin: flags become library options, the
// image is resolved to its digest once and pulled at most once through sc's
// registry client, and documents go to standard output or a file, with a
// summary on standard error.
package sbom

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// New returns the `sc sbom` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sbom",
		Short: "Generate, attach and verify SBOMs of images",
	}
	cmd.AddCommand(
		newGenerate(root),
		newAttach(root),
		newVerify(root),
	)
	return cmd
}

// libraryOptions checks the flag group and turns it into the options of
// sbom.Generate. Every error is invalid usage.
func libraryOptions(o *options.SBOM) ([]sbom.Option, error) {
	f, err := sbom.ParseFormat(o.Format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	scope, err := sbom.ParseScope(o.Scope)
	if err != nil {
		return nil, fmt.Errorf("--scope: %w", err)
	}
	files, err := sbom.ParseFiles(o.Files)
	if err != nil {
		return nil, fmt.Errorf("--files: %w", err)
	}
	opts := []sbom.Option{
		sbom.WithFormat(f),
		sbom.WithSpecVersion(o.SpecVersion),
		sbom.WithScope(scope),
		sbom.WithFiles(files),
	}
	if err := sbom.CheckOptions(opts...); err != nil {
		return nil, fmt.Errorf("--spec-version: %w", err)
	}
	return opts, nil
}
