package release

import (
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/shard"
)

// planFlags are the flag groups of `sc release plan`.
type planFlags struct {
	release  options.Release
	plan     options.Plan
	registry options.Registry
}

func newPlan(root *options.Root) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [FILE | --config FILE] --shards N",
		Short: "Split a release into shards for a CI matrix",
		Long: `Plan splits the services of a stack into N shards, for N jobs of a CI matrix
that each run 'sc release create --shard I/N'; 'sc release merge' joins their
results into what one run would have written.

The shards are balanced by the size of each image (its config and layers,
summed from the manifests; no layer is downloaded) and stable: the same
services and images give the same shards on every machine, which is how each
'sc release create --shard' finds its services without talking to the others.
With more shards than services, some shards are empty.

--format github prints {"include":[{"shard":"1/4"},…]} for
strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}; --format gitlab
a parallel:matrix block setting SC_SHARD; --format json each shard's services
and cost.

Exit code: 2 for a configuration or an image that does not exist, 3 for a
registry that cannot be read.`,
		Example: `  sc release plan sc.yaml --stack production --shards 4
  echo "matrix=$(sc release plan -f sc.yaml --shards 4)" >> "$GITHUB_OUTPUT"
  sc release plan -f sc.yaml --shards 4 --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := configArg(&f.release, args); err != nil {
				return err
			}
			if err := f.release.ValidateSelection(); err != nil {
				return err
			}
			if err := f.plan.Validate(); err != nil {
				return err
			}
			if err := f.registry.Validate(root); err != nil {
				return err
			}
			_, services, err := load(cmd, &f.release)
			if err != nil {
				return err
			}
			p, err := planShards(cmd, root, &f.registry, services, f.plan.Shards)
			if err != nil {
				return err
			}
			if err := p.Write(cmd.OutOrStdout(), f.plan.Format); err != nil {
				return outcome.Operationalf("writing the plan: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	f.release.AddSelectionFlags(fs)
	f.plan.AddFlags(fs)
	f.registry.AddFlags(fs)
	return cmd
}

// configArg takes the configuration file from the argument, as most tools
// take it, when given.
func configArg(r *options.Release, args []string) error {
	if len(args) == 1 {
		if r.Config != "" && r.Config != args[0] {
			return outcome.Invalidf("two configuration files: %s and --config %s; give one", args[0], r.Config)
		}
		r.Config = args[0]
	}
	return nil
}

// load loads the release the flags select: its configuration and the
// selected services, at least one.
func load(cmd *cobra.Command, rf *options.Release) (*api.Release, []api.Service, error) {
	rel, err := api.Load(cmd.Context(), rf.Config, api.WithStack(rf.Stack))
	if err != nil {
		return nil, nil, err
	}
	services, err := rf.Select(rel)
	if err != nil {
		return nil, nil, err
	}
	if len(services) == 0 {
		return nil, nil, outcome.Invalidf("%s: the stack has no services to release", rel.File)
	}
	return rel, services, nil
}

// planShards plans the services in n shards (shard.New), reading their
// manifests through a client of the registry flags: `sc release plan`
// prints the plan, `sc release create --shard` works on one of its shards.
func planShards(cmd *cobra.Command, root *options.Root, reg *options.Registry, services []api.Service, n int) (*shard.Plan, error) {
	images := make([]string, len(services))
	for i, s := range services {
		images[i] = s.Image
	}
	client, err := reg.Client(root, libraryLogger(root, cmd.ErrOrStderr()), images...)
	if err != nil {
		return nil, err
	}
	return shard.New(cmd.Context(), client, services, n)
}
