// Package sbom holds the `sc sbom` commands, which make SBOMs of container
// images. They are thin: flags become the options of pkg/security/sbom, the
// image is resolved to its digest once and pulled once through sc's registry
// client, and the document goes to standard output or a file, with a summary
// on standard error.
//
// The package does not sign or attach anything yet: `sc sbom attach` and
// `sc sbom verify` join `generate` here once the attestation core exists,
// reusing the same flag group (options.SBOM) and sbom.Result's predicate
// type.
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
		Short: "Generate SBOMs of images",
	}
	cmd.AddCommand(
		newGenerate(root),
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
