package options

import (
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// Release output formats.
const (
	OutputTable = "table"
)

// DefaultJobs is the default of --jobs, the executor's own default
// (pipeline.DefaultJobs, which this package does not import: the executor
// links syft, grype and cosign). A test of pkg/cmd/release keeps the two
// equal.
const DefaultJobs = 4

// Release is the flag group of `sc release create`: which configuration,
// stack and services, how many images at once, and how to print the result.
type Release struct {
	// Config is --config: the stack file or docker-compose file. Required.
	Config string
	// Stack is --stack: the stack to release. Default: the file's only
	// stack, or its only stack with services.
	Stack string
	// Services is --service, repeatable: release only these services.
	// Default: every service of the stack.
	Services []string
	// Jobs is --jobs: how many images are worked on at once. Default:
	// DefaultJobs.
	Jobs int
	// NoReuse is --no-reuse: catalogue every image again instead of
	// reusing the SBOM attestations this run's signer already attached.
	NoReuse bool
	// Output is --output: table or json. Default: table.
	Output string
}

// AddFlags binds the group's flags.
func (r *Release) AddFlags(fs *pflag.FlagSet) {
	r.AddSelectionFlags(fs)
	fs.IntVarP(&r.Jobs, "jobs", "j", DefaultJobs, "how many images to work on at once")
	fs.BoolVar(&r.NoReuse, "no-reuse", false, "catalogue every image anew, even where the registry holds an SBOM attestation this run's signer made with the same options (by default reused: no layer is read)")
	fs.StringVarP(&r.Output, "output", "o", OutputTable, "output format: table or json")
}

// AddSelectionFlags binds only the flags that say what is released
// (--config, --stack, --service), for commands that do not run it (`sc
// release plan`).
func (r *Release) AddSelectionFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&r.Config, "config", "f", "", "stack file (sc.yaml) or docker-compose file to release (required)")
	fs.StringVar(&r.Stack, "stack", "", "stack to release (default: the file's only stack, or its only stack with services)")
	fs.StringArrayVar(&r.Services, "service", nil, "release only this service (repeatable; default: every service of the stack)")
}

// ValidateSelection checks the flags AddSelectionFlags binds.
func (r *Release) ValidateSelection() error {
	if r.Config == "" {
		return outcome.Invalid("--config is required: the stack file (sc.yaml) or docker-compose file to release")
	}
	return nil
}

// Validate checks the flags without changing them.
func (r *Release) Validate() error {
	if err := r.ValidateSelection(); err != nil {
		return err
	}
	switch {
	case r.Jobs < 1:
		return outcome.Invalidf("--jobs %d: must be at least 1", r.Jobs)
	case r.Output != OutputTable && r.Output != OutputJSON:
		return outcome.Invalidf("--output %q: want %s or %s", r.Output, OutputTable, OutputJSON)
	}
	return nil
}

// Select returns the services --service names, in the configuration's
// order, or all of them without --service. A name the release does not
// have is a usage error listing the names it has.
func (r *Release) Select(rel *api.Release) ([]api.Service, error) {
	if len(r.Services) == 0 {
		return rel.Services, nil
	}
	names := make([]string, len(rel.Services))
	for i, s := range rel.Services {
		names[i] = s.Name
	}
	for _, want := range r.Services {
		if !slices.Contains(names, want) {
			return nil, outcome.Invalidf("--service %s: no such service in %s; it has %s", want, rel.File, strings.Join(names, ", "))
		}
	}
	var out []api.Service
	for _, s := range rel.Services {
		if slices.Contains(r.Services, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}
