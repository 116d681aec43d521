package options

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

// Provenance is the flag group of `sc provenance generate`: what the image
// was built from, beyond what the execution context tells, and where the
// statement goes.
type Provenance struct {
	// Dockerfile is --dockerfile: the Dockerfile the image was built from.
	// Default: none, and then no base image is recorded.
	Dockerfile string
	// BuildArgs is --build-arg KEY=VALUE, repeatable: the build arguments
	// the image was built with, used to expand ARGs in FROM lines.
	BuildArgs []string
	// RecordArgs is --record-build-arg NAME, repeatable: the allowlist of
	// build arguments whose values are written to the provenance, beyond
	// the platform arguments and SOURCE_DATE_EPOCH.
	RecordArgs []string
	// BuilderID is --builder-id: runDetails.builder.id. Default: derived
	// from the CI run (GitHub Actions, GitLab CI).
	BuilderID string
	// StartedOn is --started-on, RFC 3339: when the build started. Default:
	// when sc started.
	StartedOn string
	// Output is --output: the file to write the statement to. Default:
	// standard output.
	Output string
}

// AddFlags binds the group's flags.
func (p *Provenance) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.Dockerfile, "dockerfile", "", "the Dockerfile the image was built from; its base images are resolved and recorded")
	fs.StringArrayVar(&p.BuildArgs, "build-arg", nil, "a build argument the image was built with, KEY=VALUE (repeatable); used to expand FROM lines")
	fs.StringArrayVar(&p.RecordArgs, "record-build-arg", nil,
		"a build argument whose value may be written to the provenance (repeatable); never name one that holds a secret")
	fs.StringVar(&p.BuilderID, "builder-id", "", "runDetails.builder.id (default: the CI workflow's URI, for GitHub Actions and GitLab CI)")
	fs.StringVar(&p.StartedOn, "started-on", "", "when the build started, RFC 3339 (default: when sc started)")
	fs.StringVarP(&p.Output, "output", "o", "", "write the statement to this file instead of standard output")
}

// Validate checks the flags without changing them. Errors are invalid usage.
func (p *Provenance) Validate() error {
	if _, err := p.BuildArgMap(); err != nil {
		return err
	}
	for _, k := range p.RecordArgs {
		if k == "" || strings.ContainsAny(k, "= \t") {
			return outcome.Invalidf("--record-build-arg %q: give a build argument's name, without a value", k)
		}
	}
	if _, err := p.StartedOnTime(); err != nil {
		return err
	}
	return nil
}

// BuildArgMap returns --build-arg as a map. Every argument needs a value:
// unlike docker build, a bare KEY is not read from the environment.
func (p *Provenance) BuildArgMap() (map[string]string, error) {
	m := make(map[string]string, len(p.BuildArgs))
	for _, kv := range p.BuildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, outcome.Invalidf("--build-arg %q: want KEY=VALUE (sc does not read build arguments from the environment)", kv)
		}
		m[k] = v
	}
	return m, nil
}

// StartedOnTime parses --started-on; the zero time when it is not set.
func (p *Provenance) StartedOnTime() (time.Time, error) {
	if p.StartedOn == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, p.StartedOn)
	if err != nil {
		return time.Time{}, outcome.Invalidf("--started-on %q: want an RFC 3339 time such as 2025-03-14T15:09:26Z: %w", p.StartedOn, err)
	}
	return t, nil
}

// String describes the group for debug logs; build argument values are
// left out, they may be secrets.
func (p *Provenance) String() string {
	keys := make([]string, 0, len(p.BuildArgs))
	for _, kv := range p.BuildArgs {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return fmt.Sprintf("dockerfile=%q build-args=%v record=%v builder-id=%q output=%q",
		p.Dockerfile, keys, p.RecordArgs, p.BuilderID, p.Output)
}
