package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/report"
)

func newVerify(root *options.Root) *cobra.Command {
	var (
		o   options.AttestVerification
		reg options.Registry
		pl  options.Platforms
		exp provenance.Expectations
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Verify the signed SLSA v1.0 provenance of an image",
		Long: `Verify resolves IMAGE to its digest and checks its SLSA v1.0 provenance
attestations (predicate type https://slsa.dev/provenance/v1), in both formats
cosign writes, including those made by "cosign attest --type slsaprovenance1".

Each attestation must be signed by the key (--key) or certificate identity
(--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]) given,
with the transparency log rules of "sc image verify", and be about this image's
digest and repository. Then the provenance must match every --expected-* flag
given: the builder id exactly, the source repository (in the parameters and the
git dependency), the commit. Several verified attestations (re-runs) pass when
one of them matches; otherwise the mismatch of the newest names the field.

Exit code 1 when there is no verified provenance or it does not match, 3 when
verification could not run. With --output json, one JSON document is printed
whatever the outcome: "verified" true or false, the "error" when false, and
the "rejected" attestations (those that did not verify, and those that did
but do not match) with the reason of each.

An image index (buildx, ko) carries its provenance on its platform images:
give --platform to choose one (an index of one platform needs none).`,
		Example: `  sc provenance verify registry.example.com/shop:1.4.0 \
    --certificate-identity-regexp '^https://github.com/acme/shop/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \
    --expected-source-uri https://github.com/acme/shop --expected-commit 4f2c1e0b9a8d…
  sc provenance verify registry.local/shop@sha256:… --key cosign.pub --insecure-ignore-tlog \
    --expected-builder-id https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, root, &o, &reg, &pl, exp, args[0])
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.Output, "output", "o", options.OutputText, "output format: text or json")
	cmd.Flags().StringVar(&exp.BuilderID, "expected-builder-id", "", "require runDetails.builder.id to be exactly this")
	cmd.Flags().StringVar(&exp.SourceURI, "expected-source-uri", "", "require the source repository to be this (https://github.com/org/repo)")
	cmd.Flags().StringVar(&exp.Commit, "expected-commit", "", "require the source commit to be this (the full id, or a prefix of at least 7 hex digits)")
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

// verified is what `sc provenance verify -o json` prints, whatever the
// outcome: Verified true with the attestation that matched, or false with
// the error; Rejected lists, in both cases, the attestations that did not
// verify and those that verified but did not match the expectations.
type verified struct {
	// Verified tells whether a provenance attestation verified and matched.
	Verified bool `json:"verified"`
	// Image is the image verified, repo@sha256:…; the reference as given
	// when it could not be resolved.
	Image string `json:"image"`
	// Error is why nothing verified; "" when something did.
	Error       string              `json:"error,omitempty"`
	Attestation *attest.Attestation `json:"attestation,omitempty"`
	BuilderID   string              `json:"builderId,omitempty"`
	SourceURI   string              `json:"sourceUri,omitempty"`
	Commit      string              `json:"commit,omitempty"`
	// Statement is the verified in-toto statement.
	Statement json.RawMessage `json:"statement,omitempty"`
	// Rejected are the attestations that did not verify, or did not match.
	Rejected []attest.Rejected `json:"rejected"`
}

// runVerify verifies and prints the result: the text of a verified
// provenance, or, with -o json, one document whatever the outcome (see
// verified). The error sets the exit code.
func runVerify(cmd *cobra.Command, root *options.Root, o *options.AttestVerification, reg *options.Registry, pl *options.Platforms, exp provenance.Expectations, image string) error {
	out, err := verifyProvenance(cmd, root, o, reg, pl, exp, image)
	if err == nil || o.Output == options.OutputJSON {
		if err != nil {
			out.Verified, out.Error = false, err.Error()
		}
		if perr := printVerified(cmd.OutOrStdout(), o.Output, out); perr != nil {
			return errors.Join(err, outcome.Operationalf("writing the result: %w", perr))
		}
	}
	return err
}

// verifyProvenance verifies the provenance of image. It always returns a
// result, filled as far as verification went.
func verifyProvenance(cmd *cobra.Command, root *options.Root, o *options.AttestVerification, reg *options.Registry, pl *options.Platforms, exp provenance.Expectations, image string) (*verified, error) {
	out := &verified{Image: image, Rejected: []attest.Rejected{}}
	if err := o.Validate(); err != nil {
		return out, err
	}
	if err := reg.Validate(root); err != nil {
		return out, err
	}
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return out, err
	}
	v, err := sigflags.NewVerifier(ctx, root, o, client, logger)
	if err != nil {
		return out, err
	}
	d, _, err := subjectsOf(ctx, client, pl, image)
	if err != nil {
		return out, err
	}
	res, err := v.VerifyDigest(ctx, d, provenance.PredicateType)
	if res != nil {
		out.Image = res.Image
		out.Rejected = append(out.Rejected, res.Rejected...)
	}
	if err != nil {
		return out, err
	}
	for _, r := range res.Rejected {
		logger.Warn("rejected provenance attestation", "artifact", r.Artifact, "format", string(r.Format), "reason", r.Reason)
	}
	if exp == (provenance.Expectations{}) {
		logger.Warn("no --expected-builder-id, --expected-source-uri or --expected-commit: only the signature and subject were checked")
	}

	var first error
	for i := range res.Verified {
		att := &res.Verified[i]
		_, pred, err := provenance.Parse(att.Statement)
		if err == nil && exp != (provenance.Expectations{}) {
			err = provenance.Verify(pred, exp)
		}
		if err != nil {
			logger.Debug("verified provenance does not match", "artifact", att.Artifact, "reason", err.Error())
			out.Rejected = append(out.Rejected, attest.Rejected{Format: att.Format, Artifact: att.Artifact, PredicateType: att.PredicateType, Reason: err.Error()})
			if first == nil {
				first = err
			}
			continue
		}
		if att.SignedAt == nil && len(res.Verified) > 1 {
			logger.Warn("several valid provenance attestations and no verified signing time to tell which is newest: showing the one stored last",
				"valid", len(res.Verified), "undated", res.Undated(), "artifact", att.Artifact)
		}
		out.Verified, out.Attestation, out.Statement = true, att, att.Statement
		out.BuilderID, out.SourceURI, out.Commit = describe(pred)
		return out, nil
	}
	n := len(res.Verified)
	var mismatch *provenance.MismatchError
	if errors.As(first, &mismatch) {
		return out, fmt.Errorf("%s: %d verified provenance attestation(s), none as expected: %w", res.Image, n, first)
	}
	return out, fmt.Errorf("%s: %d verified provenance attestation(s), none readable: %w", res.Image, n, first)
}

// describe picks what a reader checks first out of a predicate of sc's
// build type: builder, source repository, commit.
func describe(p *slsa.Provenance) (builderID, sourceURI, commit string) {
	source := p.GetBuildDefinition().GetExternalParameters().GetFields()["source"].GetStructValue()
	return p.GetRunDetails().GetBuilder().GetId(),
		source.GetFields()["uri"].GetStringValue(),
		source.GetFields()["commit"].GetStringValue()
}

func printVerified(w io.Writer, output string, v *verified) error {
	if output == options.OutputJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	a := v.Attestation
	signer := "key " + a.KeyID
	if a.Subject != "" {
		signer = fmt.Sprintf("%s (issuer %s)", a.Subject, a.Issuer)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Verified SLSA provenance of %s\n", v.Image)
	fmt.Fprintf(&b, "  signed by   %s (%s, %s", report.OneLine(signer), a.Format, a.Artifact)
	if a.TlogIndex != nil {
		fmt.Fprintf(&b, ", tlog index %d", *a.TlogIndex)
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "  builder     %s\n", v.BuilderID)
	if v.SourceURI != "" {
		fmt.Fprintf(&b, "  source      %s\n", v.SourceURI)
	}
	if v.Commit != "" {
		fmt.Fprintf(&b, "  commit      %s\n", v.Commit)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
