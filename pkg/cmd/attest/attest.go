// Package attest holds `sc attest` and `sc verify-attestation`: attestations
// of any predicate type, as `cosign attest` and `cosign verify-attestation`
// make and check them, with cosign's --type names. They are thin: the
// predicate is built by attest.CosignPredicate (cosign's own statement
// generator), signed and stored by attest.Attach, and verified by an
// attest.Verifier set up by the same flags as `sc sbom attach|verify`.
//
// They do not generate anything (`sc sbom` and `sc provenance` do, on the
// same attestation code) nor interpret a predicate beyond what cosign's
// generator checks of its type; they never read the image's layers.
package attest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// typeNames is the flags' list of cosign's --type names (the help texts have it too).
const typeNames = "slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex, custom, or a predicate type URI"

// NewAttest returns `sc attest`.
func NewAttest(root *options.Root) *cobra.Command {
	var (
		reg           options.Registry
		a             options.Attest
		pl            options.Platforms
		typ, predFile string
	)
	cmd := &cobra.Command{
		Use:   "attest IMAGE --predicate FILE [--type TYPE]",
		Short: "Sign a predicate of any type as an in-toto attestation and attach it to an image",
		Long: `Attest resolves IMAGE to its digest once, signs an in-toto statement about it
with the predicate --predicate FILE, and stores it next to the image, as
"cosign attest --type TYPE --predicate FILE" does.

--type is one of cosign's names, default custom:
  slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson,
  cyclonedx, vuln, openvex, custom, or a predicate type URI.
The predicate is what cosign's own statement generator makes of FILE for
that type: custom wraps any file as {"Data": its text, "Timestamp": now} (type
https://cosign.sigstore.dev/attestation/v1); spdx stores the document as a
JSON string; every other type takes a JSON object, re-encoded as cosign
re-encodes it (keys sorted), and the provenance, link and vuln types must
have the shape cosign gives them. A predicate cosign would refuse is exit 2.

Signing is as for "sc image sign": --key with a private key, or keylessly
with an OIDC identity. --attestation-format bundle (default, cosign v3)
stores a Sigstore bundle as an OCI 1.1 referrer; legacy (cosign v2) a layer
of the sha256-<digest>.att tag. Earlier attestations stay.

An image index needs --platform to choose its platform image (an index of
one platform needs none).`,
		Example: `  sc attest registry.example.com/shop:1.4.0 --type vuln --predicate scan.vuln.json   # keyless, in CI
  sc attest registry.local/shop@sha256:… --type https://example.com/review/v1 --predicate review.json \
    --key cosign.key --tlog-upload=false --attestation-format legacy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if predFile == "" {
				return outcome.Invalid("--predicate FILE is required")
			}
			if err := a.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			if _, err := attest.PredicateType(typ); err != nil {
				return fmt.Errorf("--type: %w", err)
			}
			return runAttest(cmd, root, &reg, &a, &pl, typ, predFile, args[0])
		},
	}
	cmd.Flags().StringVar(&typ, "type", "custom", "the predicate type: "+typeNames)
	cmd.Flags().StringVar(&predFile, "predicate", "", "the predicate document to sign (required)")
	a.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

func runAttest(cmd *cobra.Command, root *options.Root, reg *options.Registry, a *options.Attest, pl *options.Platforms, typ, predFile, image string) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	storage, err := signing.ParseFormat(a.StorageFormat)
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(predFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return outcome.Invalidf("--predicate %s: no such file", predFile)
	case err != nil:
		return outcome.Operationalf("reading the predicate: %w", err)
	}
	// Built before any signing or registry work: a predicate cosign would
	// refuse costs neither a password prompt nor an identity token.
	pred, err := attest.CosignPredicate(typ, doc, time.Now())
	if err != nil {
		return fmt.Errorf("--predicate %s: %w", predFile, err)
	}
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}
	signer, err := sigflags.NewSigner(cmd, root, &a.Signer, nil, logger)
	if err != nil {
		return err
	}
	d, err := resolveOne(ctx, client, pl, image)
	if err != nil {
		return err
	}
	res, err := attest.Attach(ctx, client, signer, d, pred, attest.AttachOptions{Format: storage, Logger: logger})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(cmd.OutOrStdout(), res); err != nil {
		return outcome.Operationalf("writing the result: %w", err)
	}
	return nil
}

// resolveOne resolves image to the one image the command works on: the
// image, or the platform image of an index --platform chooses.
func resolveOne(ctx context.Context, client *registry.Client, pl *options.Platforms, image string) (name.Digest, error) {
	sel, err := registry.ParsePlatforms(pl.Platforms)
	if err != nil {
		return name.Digest{}, fmt.Errorf("--platform: %w", err)
	}
	one, _, err := client.ResolveOne(ctx, image, sel...)
	return one.Digest, err
}
