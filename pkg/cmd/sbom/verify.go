package sbom

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/sbom"
)

func newVerify(root *options.Root) *cobra.Command {
	var (
		o       options.AttestVerification
		reg     options.Registry
		pl      options.Platforms
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
could not run.

--output json (as in the other verify commands) prints one JSON document
instead, whatever the outcome: "verified" true with the "attestation", its
"format" and the "sbom" (the document, or a JSON string for XML and
tag-value), or false with the "error"; and the "rejected" attestations with
the reason of each. To write the SBOM to a file named json, give ./json.

An image index (buildx, ko) carries its SBOMs on its platform images: give
--platform to choose one (an index of one platform needs none).`,
		Example: `  sc sbom verify registry.example.com/shop:1.4.0 --format spdx-json --output sbom.spdx.json \
    --certificate-identity-regexp '^https://github.com/acme/shop/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  sc sbom verify registry.local/shop@sha256:… --key cosign.pub --insecure-ignore-tlog > sbom.cdx.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFile == options.OutputJSON {
				o.Output, outFile = options.OutputJSON, ""
			}
			out, err := func() (*sbomVerified, error) {
				out := &sbomVerified{Image: args[0], Rejected: []attest.Rejected{}}
				if err := o.Validate(); err != nil {
					return out, err
				}
				if err := reg.Validate(root); err != nil {
					return out, err
				}
				if format != "" && typ != "" {
					return out, outcome.Invalid("give --format or --type, not both")
				}
				if outFile != "-" {
					if err := outfile.Writable(outfile.Output{Flag: "--output", Path: outFile}); err != nil {
						return out, err
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
						return out, fmt.Errorf("--format: %w", err)
					}
					want, types = f, []string{f.PredicateType()}
				case typ != "":
					uri, err := attest.PredicateType(typ)
					if err != nil {
						return out, fmt.Errorf("--type: %w", err)
					}
					types = []string{uri}
				default:
					types = []string{sbom.PredicateCycloneDX, sbom.PredicateSPDX, sbom.PredicateSyft}
				}
				return runVerify(cmd, root, &o, &reg, &pl, want, types, outFile, out)
			}()
			if o.Output != options.OutputJSON {
				return err
			}
			if err != nil {
				out.Verified, out.Error = false, err.Error()
			}
			if perr := writeJSON(cmd.OutOrStdout(), out); perr != nil {
				return errors.Join(err, outcome.Operationalf("writing the result: %w", perr))
			}
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "", "the SBOM format to verify: cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value or syft-json (default: any)")
	cmd.Flags().StringVar(&typ, "type", "", "the predicate type to verify: a URI, or cyclonedx, spdx, spdxjson (default: any SBOM type)")
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write the verified SBOM to this file instead of standard output; json prints the verification result as JSON")
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

// sbomVerified is what `sc sbom verify -o json` prints, whatever the
// outcome.
type sbomVerified struct {
	// Verified tells whether an SBOM of the kind asked for verified.
	Verified bool `json:"verified"`
	// Image is the image verified, repo@sha256:…; the reference as given
	// when it could not be resolved.
	Image string `json:"image"`
	// Error is why nothing verified; "" when something did.
	Error       string              `json:"error,omitempty"`
	Attestation *attest.Attestation `json:"attestation,omitempty"`
	// Format is the verified SBOM's format (formatName).
	Format string `json:"format,omitempty"`
	// SBOM is the verified SBOM: the JSON document (indented with the
	// rest; write it out without -o json to get the bytes as signed), or a
	// JSON string holding an XML or tag-value one.
	SBOM json.RawMessage `json:"sbom,omitempty"`
	// Rejected are the attestations that did not verify.
	Rejected []attest.Rejected `json:"rejected"`
}

// runVerify verifies the SBOMs of image and writes the one picked, to
// outFile or standard output, unless the result goes out as JSON; out is
// filled as far as verification went.
func runVerify(cmd *cobra.Command, root *options.Root, o *options.AttestVerification, reg *options.Registry, pl *options.Platforms, want sbom.Format, types []string, outFile string, out *sbomVerified) (*sbomVerified, error) {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	client, err := reg.Client(root, logger, out.Image)
	if err != nil {
		return out, err
	}
	v, err := sigflags.NewVerifier(ctx, root, o, client, logger)
	if err != nil {
		return out, err
	}
	d, err := resolveOne(ctx, client, pl, out.Image)
	if err != nil {
		return out, err
	}
	res, err := v.VerifyDigest(ctx, d, types...)
	if res != nil {
		out.Image = res.Image
		out.Rejected = append(out.Rejected, res.Rejected...)
	}
	if err != nil {
		return out, err
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
		return out, outcome.CheckFailedf("no verified %s SBOM for %s: the verified ones are %s", want, res.Image, strings.Join(have, ", "))
	}
	if att.SignedAt == nil && len(res.Verified) > 1 {
		logger.Warn("several valid SBOM attestations and no verified signing time to tell which is newest: showing the one stored last",
			"valid", len(res.Verified), "undated", res.Undated(), "artifact", att.Artifact)
	}
	out.Verified, out.Attestation, out.Format = true, att, formatName(*att)
	if o.Output == options.OutputJSON {
		out.SBOM = att.Predicate
		if att.Text {
			if out.SBOM, err = json.Marshal(string(att.Predicate)); err != nil {
				return out, fmt.Errorf("encoding the SBOM: %w", err)
			}
		}
		return out, nil
	}

	dest := "standard output"
	if outFile == "" || outFile == "-" {
		if _, err := cmd.OutOrStdout().Write(att.Predicate); err != nil {
			return out, outcome.Operationalf("writing the SBOM: %w", err)
		}
	} else {
		if err := writeFile(outFile, att.Predicate); err != nil {
			return out, err
		}
		dest = outFile
	}
	signer := "key " + att.KeyID
	if att.Subject != "" {
		signer = fmt.Sprintf("%s (issuer %s)", att.Subject, att.Issuer)
	}
	line := fmt.Sprintf("%s: verified %s SBOM (%s attestation %s, signed by %s", res.Image, out.Format, att.Format, att.Artifact, report.OneLine(signer))
	if att.TlogIndex != nil {
		line += fmt.Sprintf(", tlog index %d", *att.TlogIndex)
	}
	_, err = fmt.Fprintf(cmd.ErrOrStderr(), "%s) written to %s\n", line, dest)
	return out, err
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatName names the format of a verified SBOM: its document's, or its
// predicate type when the document is in none of sc's formats.
func formatName(a attest.Attestation) string {
	if f, _, err := sbom.Identify(a.Predicate); err == nil {
		return string(f)
	}
	return a.PredicateType
}
