package provenance_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/runenv"
)

func TestNewBuild(t *testing.T) {
	// A clock far from the wall clock: a time read from time.Now would
	// show.
	now := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfilePath := filepath.Join(repo, "build", "Dockerfile")
	if err := os.WriteFile(dockerfilePath, []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	ci := githubCI()
	inCI := &runenv.Context{CI: ci}
	checkout := &runenv.Context{Git: runenv.Git{Root: repo, RemoteURL: "https://git.example.com/acme/shop", Commit: commit, Branch: "main"}}
	args := map[string]string{"GO_VERSION": "1.23"}

	tests := []struct {
		name string
		ec   *runenv.Context
		cfg  provenance.BuildConfig
		want provenance.Build
	}{{
		name: "CI run, every field",
		ec:   inCI,
		cfg: provenance.BuildConfig{
			BuilderID: "https://example.com/builder", BuildArgs: args, RecordedArgs: []string{"GO_VERSION"},
			StartedOn: now.Add(-time.Minute),
		},
		want: provenance.Build{
			Source: provenance.Source{URI: ci.RepositoryURL, Ref: ci.Ref, Commit: ci.Commit},
			CI:     ci, BuilderID: "https://example.com/builder", BuildArgs: args, RecordedArgs: []string{"GO_VERSION"},
			StartedOn: now.Add(-time.Minute), FinishedOn: now,
		},
	}, {
		name: "includeGit false names the repository only",
		ec:   inCI,
		cfg:  provenance.BuildConfig{OmitGit: true, StartedOn: now},
		want: provenance.Build{Source: provenance.Source{URI: ci.RepositoryURL}, CI: ci, StartedOn: now, FinishedOn: now},
	}, {
		name: "git checkout: source from git, Dockerfile relative to its root",
		ec:   checkout,
		cfg:  provenance.BuildConfig{Dockerfile: provenance.Dockerfile{Path: dockerfilePath, Content: []byte(dockerfile)}},
		want: provenance.Build{
			Source:     provenance.Source{URI: "https://git.example.com/acme/shop", Ref: "refs/heads/main", Commit: commit},
			Dockerfile: provenance.Dockerfile{Path: "build/Dockerfile", Content: []byte(dockerfile)},
			FinishedOn: now,
		},
	}, {
		name: "nowhere known",
		ec:   nil,
		cfg:  provenance.BuildConfig{Dockerfile: provenance.Dockerfile{Path: "./build/../Dockerfile", Content: []byte(dockerfile)}},
		want: provenance.Build{Dockerfile: provenance.Dockerfile{Path: "Dockerfile", Content: []byte(dockerfile)}, FinishedOn: now},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provenance.NewBuild(tt.ec, tt.cfg, now)
			if err != nil {
				t.Fatalf("NewBuild: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("build (-want +got):\n%s", diff)
			}
		})
	}
}

// The statement's times are the caller's: finishedOn is the now given to
// NewBuild, never the wall clock.
func TestNewBuildHonoursTheClock(t *testing.T) {
	now := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	b, err := provenance.NewBuild(&runenv.Context{CI: githubCI()}, provenance.BuildConfig{StartedOn: now.Add(-95 * time.Second)}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, pred := generate(t, b)
	md := pred.GetRunDetails().GetMetadata()
	if got := md.GetFinishedOn().AsTime(); !got.Equal(now) {
		t.Errorf("finishedOn %s, want the clock's %s", got, now)
	}
	if got := md.GetStartedOn().AsTime(); !got.Equal(now.Add(-95 * time.Second)) {
		t.Errorf("startedOn %s, want %s", got, now.Add(-95*time.Second))
	}
}

func TestNewBuildStartInTheFuture(t *testing.T) {
	now := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	_, err := provenance.NewBuild(nil, provenance.BuildConfig{StartedOn: now.Add(time.Second)}, now)
	if !errors.Is(err, provenance.ErrInvalidBuild) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "future") {
		t.Errorf("NewBuild with a start after now = %v, want ErrInvalidBuild saying it is in the future (exit 2)", err)
	}
	if _, err := provenance.NewBuild(nil, provenance.BuildConfig{StartedOn: now}, now); err != nil {
		t.Errorf("NewBuild starting now = %v, want a build", err)
	}
}
