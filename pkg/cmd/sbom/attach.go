package sbom

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/sbom"
	"github.com/sc-project/sc/pkg/security/signing"
)

// generationOnly are the SBOM flags that only apply when the SBOM is
// generated, not read from --sbom.
var generationOnly = []string{"spec-version", "scope", "files"}

func newAttach(root *options.Root) *cobra.Command {
	var (
		reg   options.Registry
		o     options.SBOM
		a     options.Attest
		pl    options.Platforms
		file  string
		allow bool
	)
	cmd := &cobra.Command{
		Use:   "attach IMAGE",
		Short: "Sign an SBOM and attach it to an image",
		Long: `Attach resolves IMAGE to its digest once, signs an SBOM of it as an in-toto
attestation and stores it next to the image.

The SBOM is --sbom FILE, in any of the five formats (its format is recognised,
or checked against --format when given), or else generated as "sc sbom generate"
does, in --format. With --sbom the image's layers are never read.

An SBOM given with --sbom must be of the image it is attached to: one that
names another digest (CycloneDX metadata.component, the package an SPDX
document describes, syft-json's source) is refused, exit 1, naming both,
unless --allow-sbom-mismatch. One that names no digest, or only the index
the platform image was chosen from, is attached with a warning.

The predicate type follows the format, as "cosign attest --type" writes it:
cyclonedx-json and cyclonedx-xml https://cyclonedx.org/bom, spdx-json and
spdx-tag-value https://spdx.dev/Document, syft-json https://syft.dev/bom. A
document that is not JSON (cyclonedx-xml, spdx-tag-value) is stored as a JSON
string, as cosign does.

Signing is as for "sc image sign": --key with a private key, or keylessly with
an OIDC identity. --attestation-format bundle (default, cosign v3) stores a
Sigstore bundle as an OCI 1.1 referrer; legacy (cosign v2) a layer of the
sha256-<digest>.att tag. Earlier attestations stay.

An image index (buildx, ko) is not one image: give --platform to choose its
platform image (an index of one platform needs none); buildx's attestation
manifests are never platforms. The SBOM is attached to
that platform image, as buildx attaches its own.`,
		Example: `  sc sbom attach registry.example.com/shop:1.4.0 --sbom sbom.spdx.json        # keyless, in CI
  sc sbom attach registry.local/shop@sha256:… --format spdx-tag-value \
    --key cosign.key --tlog-upload=false --attestation-format legacy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			if allow && file == "" {
				return outcome.Invalid("--allow-sbom-mismatch applies to the SBOM given with --sbom")
			}
			if file != "" {
				for _, f := range generationOnly {
					if cmd.Flags().Changed(f) {
						return outcome.Invalidf("--%s applies when the SBOM is generated, not with --sbom", f)
					}
				}
			}
			return runAttach(cmd, root, &reg, &o, &a, &pl, sbomFile{path: file, allowMismatch: allow}, args[0])
		},
	}
	o.AddFlags(cmd.Flags())
	a.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&file, "sbom", "", "attach this SBOM document instead of generating one; it must not name another image's digest")
	cmd.Flags().BoolVar(&allow, "allow-sbom-mismatch", false, options.AllowSBOMMismatchUsage)
	pl.AddFlags(cmd.Flags())
	return cmd
}

// sbomFile is --sbom and --allow-sbom-mismatch.
type sbomFile struct {
	path          string
	allowMismatch bool
}

func runAttach(cmd *cobra.Command, root *options.Root, reg *options.Registry, o *options.SBOM, a *options.Attest, pl *options.Platforms, sf sbomFile, image string) error {
	file := sf.path
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	storage, err := signing.ParseFormat(a.StorageFormat)
	if err != nil {
		return err
	}
	var (
		doc     []byte
		format  sbom.Format
		gen     []sbom.Option
		subject sbom.Subject
	)
	if file != "" {
		if doc, format, err = readSBOM(file, o.Format, cmd.Flags().Changed("format")); err != nil {
			return err
		}
		if subject, err = sbom.ReadSubject(doc); err != nil {
			return fmt.Errorf("--sbom %s: %w", file, err)
		}
	} else if gen, err = libraryOptions(o); err != nil {
		return err
	}
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}
	// The signer first: a wrong password or a missing identity token
	// should not cost an SBOM generation.
	signer, err := sigflags.NewSigner(cmd, root, &a.Signer, nil, logger)
	if err != nil {
		return err
	}
	d, index, err := resolvePlatform(ctx, client, pl, image)
	if err != nil {
		return err
	}
	if file != "" {
		warning, err := subject.Accept(d, index, sf.allowMismatch)
		if err != nil {
			return fmt.Errorf("--sbom %s: %w; pass --allow-sbom-mismatch to use it anyway", file, err)
		}
		if warning != "" {
			logger.Warn(warning, "sbom", file)
		}
	} else {
		img, err := client.Image(ctx, d)
		if err != nil {
			return err
		}
		res, err := sbom.Generate(ctx, d, img, append(gen, sbom.WithLogger(logger))...)
		if err != nil {
			return err
		}
		doc, format = res.Document, res.Format
		logger.Info("generated SBOM", "image", d.String(), "format", string(format), "packages", res.Packages)
	}
	res, err := attest.Attach(ctx, client, signer, d,
		attest.Predicate{Type: format.PredicateType(), Data: doc, Text: format.TextPredicate()},
		attest.AttachOptions{Format: storage, Logger: logger})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s (%s SBOM)\n", res, format); err != nil {
		return outcome.Operationalf("writing the result: %w", err)
	}
	return nil
}

// readSBOM reads --sbom and recognises its format; when --format was given
// (changed), the document must be in it. Errors are invalid usage.
func readSBOM(path, formatFlag string, changed bool) ([]byte, sbom.Format, error) {
	doc, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", outcome.Invalidf("--sbom %s: no such file", path)
	case err != nil:
		return nil, "", outcome.Operationalf("reading the SBOM: %w", err)
	}
	got, _, err := sbom.Identify(doc)
	if err != nil {
		return nil, "", fmt.Errorf("--sbom %s: %w", path, err)
	}
	if changed {
		want, err := sbom.ParseFormat(formatFlag)
		if err != nil {
			return nil, "", fmt.Errorf("--format: %w", err)
		}
		if got != want {
			return nil, "", outcome.Invalidf("--sbom %s is a %s document, not %s", path, got, want)
		}
	}
	return doc, got, nil
}
