package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/internal/sigflags"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
)

// generationFlags are the flags that only apply when the provenance is
// generated, not read from --provenance.
var generationFlags = []string{"dockerfile", "build-arg", "record-build-arg", "builder-id", "started-on"}

func newAttach(root *options.Root) *cobra.Command {
	var (
		o    options.Provenance
		a    options.Attest
		reg  options.Registry
		pl   options.Platforms
		file string
	)
	cmd := &cobra.Command{
		Use:   "attach IMAGE",
		Short: "Sign SLSA v1.0 provenance and attach it to an image",
		Long: `Attach resolves IMAGE to its digest once, signs SLSA v1.0 provenance of it as
an in-toto attestation (predicate type https://slsa.dev/provenance/v1) and stores
it next to the image, never reading the image's layers.

The provenance is --provenance FILE (a statement written by "sc provenance
generate" for this image, or a bare SLSA v1.0 predicate), or else generated as
"sc provenance generate" does, from the CI environment and --dockerfile.

Signing is as for "sc image sign": --key with a private key, or keylessly with
an OIDC identity. --attestation-format bundle (default, cosign v3) stores a
Sigstore bundle as an OCI 1.1 referrer; legacy (cosign v2) a layer of the
sha256-<digest>.att tag. Both verify with "sc provenance verify" and with
"cosign verify-attestation --type slsaprovenance1". Earlier attestations stay.

An image index (buildx, ko) is not one image: give --platform to choose its
platform image (an index of one platform needs none). The provenance is about
the index and that platform image, as sc release create writes it, and is
attached to the platform image.`,
		Example: `  sc provenance attach registry.example.com/shop:1.4.0 --dockerfile Dockerfile   # keyless, in CI
  sc provenance attach registry.local/shop@sha256:… --provenance provenance.json \
    --key cosign.key --tlog-upload=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			if err := o.Validate(); err != nil {
				return err
			}
			if err := a.Validate(); err != nil {
				return err
			}
			if err := reg.Validate(root); err != nil {
				return err
			}
			if err := outfile.Writable(outfile.Output{Flag: "--output", Path: o.Output}); err != nil {
				return err
			}
			if file != "" {
				for _, f := range generationFlags {
					if cmd.Flags().Changed(f) {
						return outcome.Invalidf("--%s applies when the provenance is generated, not with --provenance", f)
					}
				}
			}
			return runAttach(cmd, root, &o, &a, &reg, &pl, file, args[0], start)
		},
	}
	o.AddFlags(cmd.Flags())
	a.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&file, "provenance", "", "attach this provenance (statement or SLSA v1.0 predicate) instead of generating it")
	cmd.Flags().Lookup("output").Usage = "also write the attached statement to this file"
	pl.AddFlags(cmd.Flags())
	return cmd
}

func runAttach(cmd *cobra.Command, root *options.Root, o *options.Provenance, a *options.Attest, reg *options.Registry, pl *options.Platforms, file, image string, start time.Time) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	format, err := signing.ParseFormat(a.StorageFormat)
	if err != nil {
		return err
	}
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}

	var dockerfile []byte
	gitDir := ""
	if file == "" && o.Dockerfile != "" {
		if dockerfile, err = readDockerfile(o.Dockerfile); err != nil {
			return err
		}
		gitDir = filepath.Dir(o.Dockerfile)
	}
	ecOpts := []runenv.Option{runenv.WithLogger(logger)}
	if file != "" {
		ecOpts = append(ecOpts, runenv.WithoutGit())
	} else {
		ecOpts = append(ecOpts, runenv.WithGitDir(gitDir))
	}
	ec, err := a.ExecutionContext.Build(ctx, root, ecOpts...)
	if err != nil {
		return err
	}
	signer, err := sigflags.NewSigner(cmd, root, &a.Signer, ec, logger)
	if err != nil {
		return err
	}

	subject, subjects, err := subjectsOf(ctx, client, pl, image)
	if err != nil {
		return err
	}
	var predicate []byte
	if file != "" {
		if predicate, err = readProvenance(file, subject); err != nil {
			return err
		}
	} else {
		if o.Dockerfile == "" {
			logger.Info("no --dockerfile given: base images are not recorded")
		}
		cfg, err := buildConfig(o, dockerfile, start)
		if err != nil {
			return err
		}
		b, err := provenance.NewBuild(ec, cfg, time.Now())
		if err != nil {
			return err
		}
		g := provenance.NewGenerator(client, provenance.WithVersion(root.Version), provenance.WithLogger(logger))
		st, err := generateFor(ctx, g, subject, subjects, b)
		if err != nil {
			return err
		}
		if predicate, err = protojson.Marshal(st.GetPredicate()); err != nil {
			return fmt.Errorf("encoding the provenance: %w", err)
		}
	}

	res, err := attest.Attach(ctx, client, signer, subject,
		attest.Predicate{Type: provenance.PredicateType, Data: predicate},
		attest.AttachOptions{Format: format, Logger: logger, Subjects: subjects})
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := os.WriteFile(o.Output, append(res.Statement, '\n'), 0o644); err != nil {
			return outcome.Operationalf("writing the statement: %w", err)
		}
	}
	return printAttached(cmd, res)
}

// printAttached writes the one-line result of an attach command.
func printAttached(cmd *cobra.Command, res *attest.Attached) error {
	if _, err := fmt.Fprintln(cmd.OutOrStdout(), res); err != nil {
		return outcome.Operationalf("writing the result: %w", err)
	}
	return nil
}

// readProvenance reads --provenance: an in-toto statement of SLSA v1.0
// provenance about subject (what `sc provenance generate` writes), or a
// bare SLSA v1.0 predicate. It returns the predicate. Anything else is
// invalid usage.
func readProvenance(path string, subject name.Digest) ([]byte, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, outcome.Invalidf("--provenance %s: no such file", path)
	case err != nil:
		return nil, outcome.Operationalf("reading the provenance: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, outcome.Invalidf("--provenance %s is not JSON: %v", path, err)
	}
	if _, ok := top["_type"]; ok {
		st, _, err := provenance.Parse(data)
		if err != nil {
			return nil, outcome.Invalidf("--provenance %s: %v", path, err)
		}
		alg, hexDigest, _ := strings.Cut(subject.DigestStr(), ":")
		var about []string
		for _, s := range st.GetSubject() {
			if strings.EqualFold(s.GetDigest()[alg], hexDigest) {
				pred, err := protojson.Marshal(st.GetPredicate())
				if err != nil {
					return nil, outcome.Invalidf("--provenance %s: %v", path, err)
				}
				return pred, nil
			}
			for a, h := range s.GetDigest() {
				about = append(about, a+":"+h)
			}
		}
		return nil, outcome.Invalidf("--provenance %s is about %s, not %s", path, strings.Join(about, ", "), subject)
	}
	var pred slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &pred); err != nil {
		return nil, outcome.Invalidf("--provenance %s is neither an in-toto statement nor an SLSA v1.0 predicate: %v", path, err)
	}
	if err := pred.Validate(); err != nil {
		return nil, outcome.Invalidf("--provenance %s is not SLSA v1.0 provenance: %v", path, err)
	}
	return data, nil
}
