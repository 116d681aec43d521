package image

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

func newSign(root *options.Root) *cobra.Command {
	var (
		o   options.Signing
		reg options.Registry
		pl  options.Platforms
	)
	cmd := &cobra.Command{
		Use:   "sign IMAGE",
		Short: "Sign an image by digest, with a key or keylessly",
		Long: `Sign resolves IMAGE to its digest once and signs the digest, never the tag.

With --key, the private key (a file, env://VAR, or PEM content) signs; its
password comes from SC_KEY_PASSWORD, COSIGN_PASSWORD or a terminal prompt.
Without --key, sc signs keylessly: Fulcio certifies an ephemeral key for the
OIDC identity (--identity-token, SIGSTORE_ID_TOKEN, or the CI's token), and the
signature is recorded in Rekor.

--format bundle (default, as cosign v3) stores a Sigstore bundle holding a
signed in-toto statement as an OCI 1.1 referrer of the image (with the
referrers tag schema on registries without the referrers API). --format legacy
(cosign v2) appends the signature to the sha256-<digest>.sig tag. Both verify
with "cosign verify".

Signing the same digest again with the same key or identity and annotations
writes nothing: the existing signature is reported.

An image index (buildx, ko) is signed by its own digest, what a deployment
pins, and with --recursive (the default) each platform image too, as "cosign
sign --recursive" does; --platform chooses which. buildx's attestation
manifests are never signed.`,
		Example: `  sc image sign --key cosign.key registry.example.com/shop:1.4.0
  sc image sign --key env://SIGNING_KEY --tlog-upload=false --format legacy registry.local/shop@sha256:…
  sc image sign -a git-sha=4f2a9c1 registry.example.com/shop:1.4.0   # keyless, in CI
  sc image sign --key cosign.key --platform linux/amd64 registry.example.com/shop:1.4.0   # an index`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			return runSign(cmd, root, &o, &reg, &pl, args[0])
		},
	}
	o.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	pl.AddRecursiveFlag(cmd.Flags(), true, "for an image index: sign each platform image too, not only the index (--recursive=false: the index alone)")
	return cmd
}

func runSign(cmd *cobra.Command, root *options.Root, o *options.Signing, reg *options.Registry, pl *options.Platforms, image string) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	format, err := signing.ParseFormat(o.Format)
	if err != nil {
		return err
	}
	platforms, err := registry.ParsePlatforms(pl.Platforms)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	annotations, err := options.AnnotationMap(o.Annotations)
	if err != nil {
		return err
	}
	signer, err := sigflags.NewSigner(cmd, root, &o.Signer, nil, logger)
	if err != nil {
		return err
	}
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	trusted, err := sigflags.Trust(&o.Trust).Material(ctx, setup.NeedsTrustedMaterial(cfg), logger)
	if err != nil {
		return err
	}

	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}
	res, err := pipeline.SignImage(ctx, client, image, signer, pipeline.SignOptions{
		SignOptions: signing.SignOptions{
			Format:            format,
			Annotations:       annotations,
			Trusted:           trusted,
			VerifyAfterSign:   o.VerifyAfterSign,
			InsecureIgnoreSCT: o.InsecureIgnoreSCT,
			Logger:            logger,
		},
		Recursive: pl.Recursive,
		Platforms: platforms,
	})
	if err != nil {
		return err
	}
	return printSign(cmd.OutOrStdout(), o.Output, res)
}

// printSign writes what was signed: a line per digest (the index's, then
// each platform image's), or the result as JSON.
func printSign(w io.Writer, output string, res *pipeline.Signed) error {
	if output == options.OutputJSON {
		return writeJSON(w, res)
	}
	line := func(res *signing.SignResult, platform string) string {
		verb := "Signed"
		if res.Skipped {
			verb = "Already signed"
		}
		if platform != "" {
			verb = "  " + platform + ": " + strings.ToLower(verb[:1]) + verb[1:]
		}
		l := fmt.Sprintf("%s %s (%s, %s)", verb, res.Image, res.Format, res.Signer)
		if res.TlogIndex != nil {
			l += fmt.Sprintf(", tlog index %d", *res.TlogIndex)
		}
		return l + "\n"
	}
	var b strings.Builder
	b.WriteString(line(res.SignResult, ""))
	for _, p := range res.Platforms {
		b.WriteString(line(p.SignResult, p.Platform))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
