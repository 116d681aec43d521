package sbom

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
)

func newGenerate(root *options.Root) *cobra.Command {
	var (
		reg     options.Registry
		o       options.SBOM
		pl      options.Platforms
		cacheOp options.Cache
		noCache bool
		output  string
	)
	cmd := &cobra.Command{
		Use:   "generate IMAGE",
		Short: "Print the SBOM of an image",
		Long: `Generate resolves IMAGE to its digest once, pulls the image once through sc's
registry client and catalogues it with syft: OS packages, installed language
packages, Go and other binaries, and JavaScript lock files. The SBOM goes to
standard output, or to --output; a summary line (image digest, package count,
format, document digest) goes to standard error.

Formats: cyclonedx-json (CycloneDX 1.6 by default; --spec-version 1.5 or 1.7),
cyclonedx-xml, spdx-json and spdx-tag-value (SPDX 2.3), and syft-json (syft's own
document, the most complete). Files are not listed unless --files asks for them.

What cataloguing found is kept per chain of layers in sc's cache
(--cache-dir): the same image again, or another image on the same base layers
whose upper layers change nothing syft looks at, is composed from it without
downloading the cached layers. It applies to the default scope without file
listings; --no-cache catalogues the image whole and leaves the cache alone.

An image index (buildx, ko) is not one image: give --platform to choose its
platform image (an index of one platform needs none); buildx's attestation
manifests are never platforms.`,
		Example: `  sc sbom generate registry.example.com/shop:1.4.0 > sbom.cdx.json
  sc sbom generate registry.example.com/shop@sha256:… --format spdx-json --output sbom.spdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := libraryOptions(&o)
			if err != nil {
				return err
			}
			if output != "-" {
				if err := outfile.Writable(outfile.Output{Flag: "--output", Path: output}); err != nil {
					return err
				}
			}
			logger := root.Logger(cmd.ErrOrStderr())
			client, err := reg.Client(root, logger, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			d, err := resolveOne(ctx, client, &pl, args[0])
			if err != nil {
				return err
			}
			img, err := client.Image(ctx, d)
			if err != nil {
				return err
			}
			opts = append(opts, sbom.WithLogger(logger))
			if !noCache {
				// a cache that cannot be opened costs speed, not the SBOM
				if c, err := cacheOp.Open(root, cache.WithLogger(logger)); err != nil {
					logger.Warn("not using the layer cache", "error", err)
				} else {
					opts = append(opts, sbom.WithLayerCache(c))
				}
			}
			res, err := sbom.Generate(ctx, d, img, opts...)
			if err != nil {
				return err
			}
			dest := "standard output"
			if output == "" || output == "-" {
				if _, err := cmd.OutOrStdout().Write(res.Document); err != nil {
					return outcome.Operationalf("writing the SBOM: %w", err)
				}
			} else {
				if err := writeFile(output, res.Document); err != nil {
					return err
				}
				dest = output
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d packages, %s %s SBOM (%s, %d bytes) written to %s\n",
				res.Image, res.Packages, res.Format, res.SpecVersion, res.Digest, len(res.Document), dest)
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the SBOM to this file instead of standard output")
	cacheOp.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "catalogue the image whole, neither reading nor writing the layer cache")
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

// resolveOne resolves image to the one image the command works on: the
// image, or the platform image of an index --platform chooses.
func resolveOne(ctx context.Context, client *registry.Client, pl *options.Platforms, image string) (name.Digest, error) {
	d, _, err := resolvePlatform(ctx, client, pl, image)
	return d, err
}

// resolvePlatform is resolveOne, with the digest of the index the image
// was chosen from ("" when image is not an index).
func resolvePlatform(ctx context.Context, client *registry.Client, pl *options.Platforms, image string) (name.Digest, string, error) {
	sel, err := registry.ParsePlatforms(pl.Platforms)
	if err != nil {
		return name.Digest{}, "", fmt.Errorf("--platform: %w", err)
	}
	one, ps, err := client.ResolveOne(ctx, image, sel...)
	if err != nil {
		return name.Digest{}, "", err
	}
	if ps.Index {
		return one.Digest, ps.Digest.DigestStr(), nil
	}
	return one.Digest, "", nil
}

// writeFile writes an SBOM to path (outfile.Write).
func writeFile(path string, doc []byte) error {
	return outfile.Write(path, "the SBOM", doc)
}
