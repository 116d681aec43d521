package sbom

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/sbom"
)

func newVerify(root *options.Root) *cobra.Command {
	var (
		o       options.AttestVerification
		reg     options.Registry
		format  string
		typ     string
		outFile string
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Verify an image's signed SBOM and write it out",
		Long: `Verify resolves IMAGE to its digest, checks its SBOM attestations in both
formats cosign writes (including those of "cosign attest"), and writes the
newest verified SBOM to standard output or --output, exactly as it was signed
(a JSON document without insignificant whitespace). A summary goes to standard
error.

--format picks the SBOM format (cyclonedx-json, cyclonedx-xml, spdx-json,
spdx-tag-value, syft-json); --type a predicate type, as a URI or cosign's name
(cyclonedx, spdx, spdxjson); without either, the newest SBOM of any type.

Each attestation must be signed by the key (--key) or certificate identity
(--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]) given,
with the transparency log rules of "sc image verify", and be about this image's
digest and repository. Exit code 1 when no SBOM verifies, 3 when verification
could not run.`,
		Example: `  sc sbom verify registry.example.com/shop:1.4.0 --format spdx-json --output sbom.spdx.json \
    --certificate-identity-regexp '^https://github.com/acme/shop/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  sc sbom verify registry.local/shop@sha256:… --key cosign.pub --insecure-ignore-tlog > sbom.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			if format != "" && typ != "" {
				return outcome.Invalid("give --format or --type, not both")
			}
			if outFile != "-" {
				if err := outfile.Writable(outfile.Output{Flag: "--output", Path: outFile}); err != nil {
					return err
				}
			}
			var (
				want  sbom.Format
				types []string
			)
			switch {
			case format != "":
				f, err := sbom.ParseFormat(format)
				if err != nil {
					return fmt.Errorf("--format: %w", err)
				}
				want, types = f, []string{f.PredicateType()}
			case typ != "":
				uri, err := attest.PredicateType(typ)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				types = []string{uri}
			default:
				types = []string{sbom.PredicateCycloneDX, sbom.PredicateSPDX, sbom.PredicateSyft}
			}
			return runVerify(cmd, root, &o, &reg, want, types, outFile, args[0])
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "", "the SBOM format to verify: cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value or syft-json (default: any)")
	cmd.Flags().StringVar(&typ, "type", "", "the predicate type to verify: a URI, or cyclonedx, spdx, spdxjson (default: any SBOM type)")
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write the verified SBOM to this file instead of standard output")
	reg.AddFlags(cmd.Flags())
	return cmd
}

func runVerify(cmd *cobra.Command, root *options.Root, o *options.AttestVerification, reg *options.Registry, want sbom.Format, types []string, outFile, image string) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	client, err := reg.Client(root, logger)
	if err != nil {
		return err
	}
	v, err := sigflags.NewVerifier(ctx, root, o, client, logger)
	if err != nil {
		return err
	}
	res, err := v.Verify(ctx, image, types...)
	if err != nil {
		return err
	}
	for _, r := range res.Rejected {
		logger.Warn("rejected SBOM attestation", "artifact", r.Artifact, "format", string(r.Format), "reason", r.Reason)
	}

	// Several formats share a predicate type (CycloneDX JSON and XML, SPDX
	// JSON and tag-value); a text predicate is the XML or tag-value one.
	var att *attest.Attestation
	for i := range res.Verified {
		if want == "" || res.Verified[i].Text == want.TextPredicate() {
			att = &res.Verified[i]
			break
		}
	}
	if att == nil {
		var have []string
		for _, a := range res.Verified {
			have = append(have, formatName(a))
		}
		return outcome.CheckFailedf("no verified %s SBOM for %s: the verified ones are %s", want, res.Image, strings.Join(have, ", "))
	}

	dest := "standard output"
	if outFile == "" || outFile == "-" {
		if _, err := cmd.OutOrStdout().Write(att.Predicate); err != nil {
			return outcome.Operationalf("writing the SBOM: %w", err)
		}
	} else {
		if err := writeFile(outFile, att.Predicate); err != nil {
			return err
		}
		dest = outFile
	}
	signer := "key " + att.KeyID
	if att.Subject != "" {
		signer = fmt.Sprintf("%s (issuer %s)", att.Subject, att.Issuer)
	}
	line := fmt.Sprintf("%s: verified %s SBOM (%s attestation %s, signed by %s", res.Image, formatName(*att), att.Format, att.Artifact, signer)
	if att.TlogIndex != nil {
		line += fmt.Sprintf(", tlog index %d", *att.TlogIndex)
	}
	_, err = fmt.Fprintf(cmd.ErrOrStderr(), "%s) written to %s\n", line, dest)
	return err
}

// formatName names the format of a verified SBOM: its document's, or its
// predicate type when the document is in none of sc's formats.
func formatName(a attest.Attestation) string {
	if f, _, err := sbom.Identify(a.Predicate); err == nil {
		return string(f)
	}
	return a.PredicateType
}
