// Package provenance holds the `sc provenance` commands: generate SLSA v1.0
// build provenance for an image (pkg/security/provenance), attach it as a
// signed in-toto attestation and verify it against expectations
// (pkg/security/attest). They are thin: flags become a provenance.Build or
// verification options and one library call; statements go to standard
// output or a file, progress to standard error.
package provenance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
)

// New returns the `sc provenance` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provenance",
		Short: "Generate, attach and verify SLSA v1.0 build provenance for images",
	}
	cmd.AddCommand(
		newGenerate(root),
		newAttach(root),
		newVerify(root),
	)
	return cmd
}

func newGenerate(root *options.Root) *cobra.Command {
	var (
		o   options.Provenance
		reg options.Registry
		pl  options.Platforms
	)
	cmd := &cobra.Command{
		Use:   "generate IMAGE",
		Short: "Print the SLSA v1.0 provenance statement of an image",
		Long: `Generate resolves IMAGE to its digest and prints an in-toto statement whose
predicate is SLSA v1.0 provenance (https://slsa.dev/provenance/v1) of build type
https://sc.dev/buildtypes/container-image/v1.

The source repository, ref, commit, CI run and builder id come from the CI
environment (GitHub Actions, GitLab CI, …) or, outside CI, from the git checkout
holding the Dockerfile. With --dockerfile, every base image named by a FROM line
is resolved to its digest and recorded; ARGs in FROM lines are expanded with
their defaults and --build-arg. Build argument values are recorded only for the
platform arguments, SOURCE_DATE_EPOCH and names given with --record-build-arg.

startedOn is --started-on or when sc started; finishedOn is when the statement
was written.

An image index (buildx, ko) is not one image: give --platform to choose its
platform image (an index of one platform needs none). The provenance is about
the index and that platform image, as sc release create writes it.`,
		Example: `  sc provenance generate registry.example.com/shop:1.4.0 --dockerfile Dockerfile \
    --build-arg GO_VERSION=1.23 --record-build-arg GO_VERSION --output provenance.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			if err := o.Validate(); err != nil {
				return err
			}
			if err := outfile.Writable(outfile.Output{Flag: "--output", Path: o.Output}); err != nil {
				return err
			}
			return generate(cmd, root, &o, &reg, &pl, args[0], start)
		},
	}
	o.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	pl.AddFlags(cmd.Flags())
	return cmd
}

// subjectsOf resolves image to the image its provenance is attached to:
// the image, or the platform image of an index --platform chooses. The
// provenance of a platform image is about its index too, first, as sc
// release create writes it; subjects is nil for an image that is not an
// index.
func subjectsOf(ctx context.Context, client *registry.Client, pl *options.Platforms, image string) (target name.Digest, subjects []name.Digest, err error) {
	sel, err := registry.ParsePlatforms(pl.Platforms)
	if err != nil {
		return name.Digest{}, nil, fmt.Errorf("--platform: %w", err)
	}
	one, ps, err := client.ResolveOne(ctx, image, sel...)
	if err != nil {
		return name.Digest{}, nil, err
	}
	if ps.Index {
		subjects = []name.Digest{ps.Digest, one.Digest}
	}
	return one.Digest, subjects, nil
}

// generateFor is g.Generate about target, or about subjects when set.
func generateFor(ctx context.Context, g *provenance.Generator, target name.Digest, subjects []name.Digest, b provenance.Build) (*intoto.Statement, error) {
	if len(subjects) == 0 {
		return g.Generate(ctx, target, b)
	}
	return g.Generate(ctx, subjects[0], b, subjects[1:]...)
}

func generate(cmd *cobra.Command, root *options.Root, o *options.Provenance, reg *options.Registry, pl *options.Platforms, image string, start time.Time) error {
	ctx := cmd.Context()
	logger := root.Logger(cmd.ErrOrStderr())
	client, err := reg.Client(root, logger, image)
	if err != nil {
		return err
	}

	var dockerfile []byte
	gitDir := ""
	if o.Dockerfile != "" {
		if dockerfile, err = readDockerfile(o.Dockerfile); err != nil {
			return err
		}
		gitDir = filepath.Dir(o.Dockerfile)
	} else {
		logger.Info("no --dockerfile given: base images are not recorded")
	}
	// Provenance never signs: no --identity-token, and no token is asked
	// for.
	var ecOpts options.ExecutionContext
	ec, err := ecOpts.Build(ctx, root, runenv.WithGitDir(gitDir), runenv.WithLogger(logger))
	if err != nil {
		return err
	}

	subject, subjects, err := subjectsOf(ctx, client, pl, image)
	if err != nil {
		return err
	}
	cfg, err := buildConfig(o, dockerfile, start)
	if err != nil {
		return err
	}
	// finishedOn: when the statement is written
	b, err := provenance.NewBuild(ec, cfg, time.Now())
	if err != nil {
		return err
	}
	if ec.CI.Commit == "" && ec.Git.Dirty {
		logger.Warn("the git checkout has uncommitted changes: the provenance names its HEAD commit, which is not exactly what was built",
			"commit", b.Source.Commit)
	}
	g := provenance.NewGenerator(client, provenance.WithVersion(root.Version), provenance.WithLogger(logger))
	st, err := generateFor(ctx, g, subject, subjects, b)
	if err != nil {
		return err
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		return err
	}
	if o.Output == "" {
		_, err = cmd.OutOrStdout().Write(raw)
		return err
	}
	if err := os.WriteFile(o.Output, raw, 0o644); err != nil {
		return outcome.Operationalf("writing the provenance: %w", err)
	}
	logger.Info("wrote provenance", "image", subject.String(), "file", o.Output)
	return nil
}

// readDockerfile reads --dockerfile: a file that is not there is a usage
// error, one that cannot be read an operational one.
func readDockerfile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, outcome.Invalidf("--dockerfile %s: no such file", path)
	case err != nil:
		return nil, outcome.Operationalf("reading the Dockerfile: %w", err)
	}
	return b, nil
}

// buildConfig maps the flags onto what describes the build beyond the
// execution context: startedOn is --started-on, else start (when sc
// started).
func buildConfig(o *options.Provenance, dockerfile []byte, start time.Time) (provenance.BuildConfig, error) {
	args, err := o.BuildArgMap()
	if err != nil {
		return provenance.BuildConfig{}, err
	}
	startedOn, err := o.StartedOnTime()
	if err != nil {
		return provenance.BuildConfig{}, err
	}
	if startedOn.IsZero() {
		startedOn = start
	}
	cfg := provenance.BuildConfig{
		BuilderID:    o.BuilderID,
		BuildArgs:    args,
		RecordedArgs: o.RecordArgs,
		StartedOn:    startedOn,
	}
	if o.Dockerfile != "" {
		cfg.Dockerfile = provenance.Dockerfile{Path: o.Dockerfile, Content: dockerfile}
	}
	return cfg, nil
}
