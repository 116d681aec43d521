package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
	"github.com/sc-project/sc/pkg/security/policy/export"
	"github.com/sc-project/sc/pkg/security/signing"
)

func newExport(_ *options.Root) *cobra.Command {
	var format, sigFormat, out, trustedRoot string
	cmd := &cobra.Command{
		Use:   "export --format kyverno|policy-controller POLICY",
		Short: "Write an image policy as a Kyverno or policy-controller cluster policy",
		Long: `Export writes the image policy file POLICY as the admission policy of a
cluster engine that requires the same signer, attestations and attestation
contents:

  kyverno            a Kyverno ClusterPolicy (kyverno.io/v1): verifyImages with
                     attestors and JMESPath conditions on the attestations
  policy-controller  a Sigstore policy-controller ClusterImagePolicy
                     (policy.sigstore.dev/v1beta1): authorities with Rego
                     attestation policies, and a Rego policy requiring all

--signature-format says how the images were signed and attested
(signing.format): bundle, sc's default, or legacy (cosign's .sig/.att
tags). policy-controller v0.13 verifies bundles of keyless signers only: a
key-based policy exports for it with --signature-format legacy.

Key files named in the policy are read relative to the policy file. A KMS key
(awskms://, hashivault://) is written as its URI (keys.kms, key.kms): the
cluster engine reads it from the KMS with its own credentials;
policy-controller takes an awskms:// key by its ARN only.

Keyless signers are verified against the public-good Sigstore, unless
--trusted-root names the trusted_root.json of another instance (a private
Fulcio, Rekor and CT log): Kyverno's attestors then carry its roots and log
keys (legacy signature format only: Kyverno reads bundles' trust from its TUF
repository), and the policy-controller export starts with a TrustRoot
resource, named after the policy, that its authorities refer to.`,
		Example: `  sc policy export --format kyverno policy.yaml > clusterpolicy.yaml
  sc policy export --format policy-controller --signature-format legacy -o cip.yaml policy.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := export.Format(format)
			if format == "" {
				return outcome.Invalid("--format is required: kyverno or policy-controller")
			}
			if !slices.Contains(export.Formats(), f) {
				return outcome.Invalidf("--format %q: want kyverno or policy-controller", format)
			}
			sf := api.SignatureFormat(sigFormat)
			if !sf.Valid() {
				return outcome.Invalidf("--signature-format %q: want bundle or legacy", sigFormat)
			}
			if out != "" && out != "-" {
				if err := outfile.Writable(outfile.Output{Flag: "--output", Path: out}); err != nil {
					return err
				}
			}
			p, err := policy.Load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// policy.Load has made key paths relative to the policy file
			// into paths from here
			opts := []export.Option{export.WithSignatureFormat(sf), export.WithReadFile(readKey)}
			if trustedRoot != "" {
				tr, err := signing.LoadTrustedRoot(trustedRoot)
				if err != nil {
					return fmt.Errorf("--trusted-root: %w", err)
				}
				opts = append(opts, export.WithTrustedRoot(tr))
			}
			doc, err := export.Export(p, f, opts...)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if out == "" || out == "-" {
				if _, err := cmd.OutOrStdout().Write(doc); err != nil {
					return outcome.Operationalf("writing the policy: %w", err)
				}
				return nil
			}
			return outfile.Write(out, "the "+format+" policy", doc)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "the cluster policy to write: kyverno or policy-controller (required)")
	cmd.Flags().StringVar(&sigFormat, "signature-format", string(api.SignatureBundle), "how the images' signatures and attestations are stored: bundle or legacy")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the policy to this file instead of standard output")
	cmd.Flags().StringVar(&trustedRoot, "trusted-root", "", "the Sigstore trusted_root.json of a private instance to verify keyless signers against (default: the public-good Sigstore)")
	return cmd
}

// readKey reads a file the export needs; a missing one is invalid usage.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil, outcome.Invalidf("%w", err)
	}
	return b, err
}
