package attest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/report"
)

// NewVerify returns `sc verify-attestation`.
func NewVerify(root *options.Root) *cobra.Command {
	var (
		o       options.AttestVerification
		reg     options.Registry
		pl      options.Platforms
		typ     string
		outFile string
	)
	cmd := &cobra.Command{
		Use:   "verify-attestation IMAGE [--type TYPE]",
		Short: "Verify an image's signed attestation of one type and write its predicate",
		Long: `Verify-attestation resolves IMAGE to its digest and checks its attestations of
the predicate type --type, in both formats cosign writes, as "cosign
verify-attestation --type TYPE" does, including those of "cosign attest" and
"sc attest", "sc sbom attach" and "sc provenance attach". It writes the
predicate of the newest that verifies to standard output or --output, as it
was signed (a JSON object without insignificant whitespace, or the text of a
string predicate). A summary goes to standard error.

--type is one of cosign's names, default custom:
  slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson,
  cyclonedx, vuln, openvex, custom, or a predicate type URI.
Only the statement's predicate type counts: an attestation of type vuln
never satisfies --type cyclonedx.

Each attestation must be signed by the key (--key) or certificate identity
(--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]) given,
with the transparency log rules of "sc image verify", and be about this image's
digest and repository. Exit code 1 when none of that type verifies, 3 when
verification could not run.

--output json prints one JSON document instead, whatever the outcome:
"verified" true with the "attestation" and its "predicate" (a JSON string
for a text predicate), or false with the "error"; and the "rejected"
attestations with the reason of each. To write the predicate to a file named
json, give ./json.

An image index carries attestations on its platform images: give --platform
to choose one (an index of one platform needs none).`,
		Example: `  sc verify-attestation registry.example.com/shop:1.4.0 --type vuln --output vuln.json \
    --certificate-identity-regexp '^https://github.com/acme/shop/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  sc verify-attestation registry.local/shop@sha256:… --type openvex --key cosign.pub --insecure-ignore-tlog`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFile == options.OutputJSON {
				o.Output, outFile = options.OutputJSON, ""
			}
			out := &verified{Image: args[0], Rejected: []attest.Rejected{}}
			err := func() error {
				if err := o.Validate(); err != nil {
					return err
				}
				if err := reg.Validate(root); err != nil {
					return err
				}
				uri, err := attest.PredicateType(typ)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				out.PredicateType = uri
				if outFile != "-" {
					if err := outfile.Writable(outfile.Output{Flag: "--output", Path: outFile}); err != nil {
						return err
					}
				}
				return runVerify(cmd, root, &o, &reg, &pl, outFile, out)
			}()
			if o.Output != options.OutputJSON {
				return err
			}
			if err != nil {
				out.Verified, out.Error = false, err.Error()
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if perr := enc.Encode(out); perr != nil {
				return errors.Join(err, outcome.Operationalf("writing the result: %w", perr))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&typ, "type", "custom", "the predicate type to verify: "+typeNames)
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write the verified predicate to this file instead of standard output; json prints the verification result as JSON")
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

// verified is what `sc verify-attestation -o json` prints, whatever the
// outcome.
type verified struct {
	// Verified tells whether an attestation of the type verified.
	Verified bool `json:"verified"`
	// Image is the image verified, repo@sha256:…; the reference as given
	// when it could not be resolved.
	Image string `json:"image"`
	// PredicateType is the predicate type asked for, as a URI; "" when
	// --type was not one.
	PredicateType string `json:"predicateType,omitempty"`
	// Error is why nothing verified; "" when something did.
	Error       string              `json:"error,omitempty"`
	Attestation *attest.Attestation `json:"attestation,omitempty"`
	// Predicate is the verified predicate: the JSON object (indented with
	// the rest), or a JSON string holding a text predicate.
	Predicate json.RawMessage `json:"predicate,omitempty"`
	// Rejected are the attestations of the type that did not verify.
	Rejected []attest.Rejected `json:"rejected"`
}

// runVerify verifies the attestations of out.PredicateType of out.Image
// and writes the newest predicate, to outFile or standard output, unless
// the result goes out as JSON; out is filled as far as verification went.
func runVerify(cmd *cobra.Command, root *options.Root, o *options.AttestVerification, reg *options.Registry, pl *options.Platforms, outFile string, out *verified) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	client, err := reg.Client(root, logger, out.Image)
	if err != nil {
		return err
	}
	v, err := sigflags.NewVerifier(ctx, root, o, client, logger)
	if err != nil {
		return err
	}
	d, err := resolveOne(ctx, client, pl, out.Image)
	if err != nil {
		return err
	}
	res, err := v.VerifyDigest(ctx, d, out.PredicateType)
	if res != nil {
		out.Image = res.Image
		out.Rejected = append(out.Rejected, res.Rejected...)
	}
	if err != nil {
		return err
	}
	for _, r := range res.Rejected {
		logger.Warn("rejected attestation", "artifact", r.Artifact, "format", string(r.Format), "reason", r.Reason)
	}
	att := &res.Verified[0]
	if att.SignedAt == nil && len(res.Verified) > 1 {
		logger.Warn("several valid attestations and no verified signing time to tell which is newest: showing the one stored last",
			"valid", len(res.Verified), "undated", res.Undated(), "artifact", att.Artifact)
	}
	out.Verified, out.Attestation = true, att
	if o.Output == options.OutputJSON {
		out.Predicate = att.Predicate
		if att.Text {
			if out.Predicate, err = json.Marshal(string(att.Predicate)); err != nil {
				return fmt.Errorf("encoding the predicate: %w", err)
			}
		}
		return nil
	}

	dest := "standard output"
	if outFile == "" || outFile == "-" {
		if _, err := cmd.OutOrStdout().Write(att.Predicate); err != nil {
			return outcome.Operationalf("writing the predicate: %w", err)
		}
	} else {
		if err := outfile.Write(outFile, "the predicate", att.Predicate); err != nil {
			return err
		}
		dest = outFile
	}
	signer := "key " + att.KeyID
	if att.Subject != "" {
		signer = fmt.Sprintf("%s (issuer %s)", att.Subject, att.Issuer)
	}
	line := fmt.Sprintf("%s: verified %s attestation (%s attestation %s, signed by %s", res.Image, report.OneLine(att.PredicateType), att.Format, att.Artifact, report.OneLine(signer))
	if att.TlogIndex != nil {
		line += fmt.Sprintf(", tlog index %d", *att.TlogIndex)
	}
	if _, err := fmt.Fprintf(cmd.ErrOrStderr(), "%s) written to %s\n", line, dest); err != nil {
		return outcome.Operationalf("writing the summary: %w", err)
	}
	return nil
}
