package provenance

import (
	"fmt"
	"time"

	"github.com/sc-project/sc/pkg/security/runenv"
)

// BuildConfig is what the caller knows of a build beyond where sc runs: the
// configuration's provenance block (pkg/security/pipeline) or the flags of
// `sc provenance generate|attach`.
type BuildConfig struct {
	// BuilderID is runDetails.builder.id. Default: derived from the CI run
	// (see BuilderID).
	BuilderID string
	// BuildArgs are the build arguments the image was built with, used to
	// expand FROM lines (see Build.BuildArgs). Default: none.
	BuildArgs map[string]string
	// RecordedArgs is the allowlist of further build arguments whose values
	// are recorded (see Build.RecordedArgs). Default: none.
	RecordedArgs []string
	// Dockerfile is the Dockerfile the image was built from, its Path as
	// the caller named it (relative to the working directory or absolute);
	// NewBuild records it relative to the git checkout's root. Default:
	// none, and no base image is recorded.
	Dockerfile Dockerfile
	// OmitGit leaves the source's ref and commit out, so that the commit is
	// no resolved dependency (the configuration's includeGit: false); the
	// source repository is still named. Default: false.
	OmitGit bool
	// StartedOn is when the build started. Default: left out.
	StartedOn time.Time
}

// NewBuild describes the build from where sc runs (ec: the CI run and the
// git checkout) and cfg; now is when the provenance is written, its
// finishedOn. It reads no clock, environment or file: the caller's clock is
// the only one, so that a caller with a fixed clock gets fixed times.
//
// A StartedOn after now is ErrInvalidBuild: a start in the future. A nil ec
// is where nothing is known (no CI, no git checkout).
func NewBuild(ec *runenv.Context, cfg BuildConfig, now time.Time) (Build, error) {
	if ec == nil {
		ec = &runenv.Context{}
	}
	b := Build{
		Source:       Source{URI: ec.SourceRepository()},
		CI:           ec.CI,
		BuilderID:    cfg.BuilderID,
		BuildArgs:    cfg.BuildArgs,
		RecordedArgs: cfg.RecordedArgs,
		StartedOn:    cfg.StartedOn,
		FinishedOn:   now,
	}
	if !cfg.OmitGit {
		b.Source.Ref, b.Source.Commit = ec.Ref(), ec.Commit()
	}
	if cfg.Dockerfile.Path != "" {
		b.Dockerfile = Dockerfile{Path: ec.Git.RepoPath(cfg.Dockerfile.Path), Content: cfg.Dockerfile.Content}
	}
	if !b.StartedOn.IsZero() && now.Before(b.StartedOn) {
		return Build{}, fmt.Errorf("%w: the build started on %s, which is in the future (now is %s)", ErrInvalidBuild,
			b.StartedOn.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return b, nil
}
