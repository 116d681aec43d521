// Package verify is `sc verify IMAGE --policy FILE`: the deploy gate that
// checks an image against an image policy (pkg/security/policy) and prints
// each requirement with ok, failed or error and why. It does no checking
// itself; it does not write cluster policies (`sc policy export`) or derive
// policies (`sc policy from-config`).
package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
	"github.com/sc-project/sc/pkg/security/report"
)

// New returns `sc verify`.
func New(root *options.Root) *cobra.Command {
	var (
		policyFile string
		output     string
		ignoreSCT  bool
		trust      options.Trust
		reg        options.Registry
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE --policy FILE",
		Short: "Check an image against a deploy policy: signature, attestations, provenance, vulnerabilities",
		Long: `Verify resolves IMAGE once and checks everything the policy file requires of it:
a signature by one of its signers (a key, or a certificate identity and
issuer); each attestation, verified by its signers; for provenance, the
builder id and source repository of the newest; for the vuln attestation sc
attaches (scan.attest), the newest one's scan time within maxAge and no
counted finding above maxSeverity. For an image index the signature is the
index's and the attestations each platform image's.

Each requirement is printed with ok, failed or error (could not be checked)
and why. Exit code 0 when all hold, 1 when one fails, 3 when one could not be
checked and none failed, 2 for a policy file with problems (each with its
file:line). --output json prints one JSON document whatever the outcome.

Keyless signers and signers with transparency: true need Sigstore's trusted
material: the public-good root through TUF, or --trusted-root.

Write a policy by hand (schema/sc-policy.schema.json), or derive it from a
stack file with "sc policy from-config".`,
		Example: `  sc verify registry.example.com/shop/api:1.4.0 --policy shop-policy.yaml
  sc verify registry.example.com/shop/api@sha256:… --policy shop-policy.yaml --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := &document{Reference: args[0], PolicyFile: policyFile, Requirements: []policy.Requirement{}}
			err := func() error {
				if output != options.OutputText && output != options.OutputJSON {
					return outcome.Invalidf("--output %q: want %s or %s", output, options.OutputText, options.OutputJSON)
				}
				if policyFile == "" {
					return outcome.Invalid("--policy: name the policy file to check the image against")
				}
				return run(cmd, root, &trust, &reg, ignoreSCT, out)
			}()
			if output == options.OutputJSON {
				out.OK = err == nil
				if err != nil {
					out.Error = err.Error()
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if perr := enc.Encode(out); perr != nil {
					return errors.Join(err, outcome.Operationalf("writing the result: %w", perr))
				}
			} else if len(out.Requirements) > 0 {
				if perr := printText(cmd.OutOrStdout(), out); perr != nil {
					return errors.Join(err, outcome.Operationalf("writing the result: %w", perr))
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&policyFile, "policy", "", "the image policy file (YAML) to check the image against")
	cmd.Flags().StringVarP(&output, "output", "o", options.OutputText, "output format: text or json")
	cmd.Flags().BoolVar(&ignoreSCT, "insecure-ignore-sct", false, "accept keyless certificates without a certificate transparency timestamp (private Fulcio without CT)")
	trust.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	return cmd
}

// document is what `sc verify --output json` prints, whatever the outcome.
type document struct {
	// OK tells whether every requirement holds.
	OK bool `json:"ok"`
	// PolicyFile is the policy file as given.
	PolicyFile string `json:"policyFile"`
	// Policy is the policy's name; empty when the file could not be read.
	Policy string `json:"policy,omitempty"`
	// Reference is the image as given; Image is it resolved, repo@sha256:…
	// (empty when it could not be).
	Reference string `json:"reference"`
	Image     string `json:"image,omitempty"`
	// Index tells that Image is an image index.
	Index bool `json:"index,omitempty"`
	// Requirements are the policy's checks, each ok, failed or error.
	Requirements []policy.Requirement `json:"requirements"`
	// Error says why not OK; empty when OK.
	Error string `json:"error,omitempty"`
}

func run(cmd *cobra.Command, root *options.Root, trust *options.Trust, reg *options.Registry, ignoreSCT bool, out *document) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	p, err := policy.Load(ctx, out.PolicyFile)
	if err != nil {
		return err
	}
	out.Policy = p.Name
	trusted, err := sigflags.Trust(trust).Material(ctx, policy.NeedsTrustedMaterial(p), logger)
	if err != nil {
		return err
	}
	client, err := reg.Client(root, logger, out.Reference)
	if err != nil {
		return err
	}
	opts := []policy.Option{policy.WithLogger(logger)}
	if ignoreSCT {
		opts = append(opts, policy.WithInsecureIgnoreSCT())
	}
	c, err := policy.NewChecker(ctx, client, trusted, p, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", out.PolicyFile, err)
	}
	res, err := c.Check(ctx, out.Reference)
	if res != nil {
		out.Image, out.Index, out.Requirements = res.Image, res.Index, res.Requirements
	}
	return err
}

// printText writes one line per requirement: status, platform, name,
// reason.
func printText(w io.Writer, out *document) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Policy %s on %s\n", out.Policy, out.Image)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	failed := 0
	for _, q := range out.Requirements {
		if q.Status != policy.StatusOK {
			failed++
		}
		name := q.Name
		if q.Platform != "" {
			name = q.Platform + " " + name
		}
		// reasons quote what the registry served: one escaped line each
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", q.Status, name, report.OneLine(q.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed == 0 {
		fmt.Fprintf(&b, "all %d requirement(s) hold\n", len(out.Requirements))
	} else {
		fmt.Fprintf(&b, "%d of %d requirement(s) not met\n", failed, len(out.Requirements))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
