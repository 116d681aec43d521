package image

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/signing"
)

func newVerify(root *options.Root) *cobra.Command {
	var (
		o   options.Verification
		reg options.Registry
		pl  options.Platforms
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Verify an image's signatures (bundle and legacy formats)",
		Long: `Verify resolves IMAGE to its digest and checks every signature attached to it,
in both formats cosign writes (v3 bundles as OCI referrers, v2 .sig tags),
including signatures made by the cosign CLI.

Say whose signatures to accept: --key with a public key, or keylessly both
--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]. There
is no "any signer" default.

Trusted material is the public-good Sigstore root, fetched through TUF; pass
--trusted-root for a private Sigstore or offline use. A transparency log entry
is required unless --insecure-ignore-tlog (needed for key-based signatures made
with --tlog-upload=false).

Each valid signature is listed with its signer, issuer, key ID, log index and
format; each rejected one with the reason. Exit code 1 when no signature is
valid, 3 when verification could not run.

For an image index the index's own signatures are checked, and with
--recursive each platform image's too (--platform chooses which): every one
must have a valid signature.`,
		Example: `  sc image verify --key cosign.pub registry.example.com/shop:1.4.0
  sc image verify --key cosign.pub --insecure-ignore-tlog registry.local/shop@sha256:…
  sc image verify registry.example.com/shop:1.4.0 \
    --certificate-identity-regexp '^https://github.com/acme/shop/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			return runVerify(cmd, root, &o, &reg, &pl, args[0])
		},
	}
	o.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	pl.AddRecursiveFlag(cmd.Flags(), false, "for an image index: also verify each platform image's signatures, as signing with --recursive made them")
	return cmd
}

func runVerify(cmd *cobra.Command, root *options.Root, o *options.Verification, reg *options.Registry, pl *options.Platforms, image string) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	check, err := sigflags.Verification(ctx, root, o, logger)
	if err != nil {
		return err
	}
	platforms, err := registry.ParsePlatforms(pl.Platforms)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	if check.InsecureIgnoreTlog {
		logger.Warn("--insecure-ignore-tlog: signatures are accepted without a transparency log entry")
	}
	vopts := append(check.SignatureOptions(), signing.WithLogger(logger))
	trusted, err := sigflags.Trust(&o.Trust).Material(ctx, check.NeedsTrustedMaterial(), logger)
	if err != nil {
		return err
	}

	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}
	v, err := signing.NewVerifier(client, trusted, check.Policy, vopts...)
	if err != nil {
		return err
	}
	res, verr := pipeline.VerifyImage(ctx, client, v, image, pl.Recursive, platforms)
	if res == nil {
		return verr
	}
	if err := printVerify(cmd.OutOrStdout(), o.Output, res); err != nil {
		return outcome.Operationalf("writing the result: %w", err)
	}
	switch {
	case verr == nil:
		return nil
	case len(res.Platforms) > 0:
		// each digest's error says which it is about
		return verr
	case errors.Is(verr, signing.ErrNotSigned):
		return verr
	default:
		// The reasons are printed above; keep the error short.
		return fmt.Errorf("%w for %s (%d rejected)", signing.ErrVerificationFailed, res.Image, len(res.Rejected))
	}
}

// printVerify writes the signatures verified and rejected: of the image,
// then of each platform image of an index under its platform; or the
// result as JSON.
func printVerify(w io.Writer, output string, res *pipeline.Verified) error {
	if output == options.OutputJSON {
		return writeJSON(w, res)
	}
	var b strings.Builder
	writeVerified(&b, res.Result, "")
	for _, p := range res.Platforms {
		writeVerified(&b, p.Result, p.Platform+": ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeVerified(b *strings.Builder, res *signing.Result, prefix string) {
	if len(res.Verified) > 0 {
		fmt.Fprintf(b, "%sVerified %s: %d valid signature(s)\n", prefix, res.Image, len(res.Verified))
	} else {
		fmt.Fprintf(b, "%sNo valid signature for %s\n", prefix, res.Image)
	}
	for _, s := range res.Verified {
		signer := "key " + s.KeyID
		if s.Subject != "" {
			signer = fmt.Sprintf("%s (issuer %s, key %s)", s.Subject, s.Issuer, s.KeyID)
		}
		fmt.Fprintf(b, "  ok        %-6s  %s  %s", s.Format, s.Artifact, report.OneLine(signer))
		if s.TlogIndex != nil {
			fmt.Fprintf(b, "  tlog index %d", *s.TlogIndex)
		}
		b.WriteString("\n")
	}
	for _, r := range res.Rejected {
		// reasons quote what the registry served: one escaped line each
		fmt.Fprintf(b, "  rejected  %-6s  %s  %s\n", r.Format, r.Artifact, report.OneLine(r.Reason))
	}
}
