package image

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/signing"
)

// attestScan attaches each scanned image's result (each platform image's,
// for an index) as a signed attestation in cosign's vuln predicate, as the
// vuln-attach step of `sc release create` does, and, when VEX statements
// set findings aside, those statements as an OpenVEX attestation
// (pipeline.VEXPredicate), as vex-attach does; it says so on w (stderr:
// standard output keeps the one document of -o). A result whose policy
// failed is not attested, as a violating image is never signed: its caller
// returns the violation instead.
func attestScan(cmd *cobra.Command, root *options.Root, reg *options.Registry, a *options.Attest, image string, results []*scan.Result, logger *slog.Logger, w io.Writer) error {
	ctx := cmd.Context()
	storage, err := signing.ParseFormat(a.StorageFormat)
	if err != nil {
		return err
	}
	ec, err := a.ExecutionContext.Build(ctx, root, runenv.WithoutGit(), runenv.WithLogger(logger))
	if err != nil {
		return err
	}
	signer, err := sigflags.NewSigner(cmd, root, &a.Signer, ec, logger)
	if err != nil {
		return err
	}
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}
	for _, r := range results {
		ref, err := client.ParseReference(r.Image)
		if err != nil {
			return outcome.Operationalf("the scanned image %q: %w", r.Image, err)
		}
		d, ok := ref.(name.Digest)
		if !ok {
			return outcome.Operationalf("the scanned image %q is not named by digest: nothing to attest", r.Image)
		}
		data, err := pipeline.VulnPredicate(r, root.Version, ec)
		if err != nil {
			return err
		}
		preds := []attest.Predicate{{Type: pipeline.VulnPredicateType, Data: data}}
		vex, err := pipeline.VEXPredicate(r, root.Version)
		if err != nil {
			return err
		}
		if vex != nil {
			preds = append(preds, attest.Predicate{Type: pipeline.VEXPredicateType, Data: vex})
		}
		for _, p := range preds {
			res, err := attest.Attach(ctx, client, signer, d, p, attest.AttachOptions{Format: storage, Logger: logger})
			if err != nil {
				return fmt.Errorf("attesting the scan result of %s: %w", d, err)
			}
			if _, err := fmt.Fprintln(w, res); err != nil {
				return outcome.Operationalf("writing the result: %w", err)
			}
		}
	}
	return nil
}

// attestFlagsUnused refuses signing flags given without --attest: they
// would do nothing, and a user who gave --key likely meant to attest.
func attestFlagsUnused(fs *pflag.FlagSet) error {
	var set []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return outcome.Invalidf("%s only apply with --attest (they sign the vuln attestation): add --attest, or drop them", strings.Join(set, ", "))
	}
	return nil
}
