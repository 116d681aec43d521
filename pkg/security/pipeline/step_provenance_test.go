package pipeline

import (
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/runenv"
)

// The provenance step describes the build with provenance.NewBuild, on the
// executor's clock: startedOn is when the release started, finishedOn the
// clock's now, never the wall clock.
func TestProvenanceBuild(t *testing.T) {
	started := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	now := started.Add(95 * time.Second)
	ci := runenv.CI{RepositoryURL: "https://github.com/acme/shop", Commit: "4f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", Ref: "refs/heads/main"}
	content := []byte("FROM scratch\n")
	readFile := func(path string) ([]byte, error) {
		switch path {
		case "Dockerfile":
			return content, nil
		case "unreadable/Dockerfile":
			return nil, fs.ErrPermission
		}
		return nil, fs.ErrNotExist
	}
	no := false
	tests := []struct {
		name       string
		dockerfile string
		cfg        *api.Provenance
		want       provenance.Build
		wantCode   int
	}{{
		name:       "defaults",
		dockerfile: "Dockerfile",
		want: provenance.Build{
			Source: provenance.Source{URI: ci.RepositoryURL, Ref: ci.Ref, Commit: ci.Commit}, CI: ci,
			Dockerfile: provenance.Dockerfile{Path: "Dockerfile", Content: content},
			StartedOn:  started, FinishedOn: now,
		},
	}, {
		name:       "every setting",
		dockerfile: "Dockerfile",
		cfg:        &api.Provenance{Builder: &api.Builder{ID: "https://example.com/builder"}, BuildArgs: []string{"VERSION"}, IncludeGit: &no, IncludeDockerfile: &no},
		want: provenance.Build{
			Source: provenance.Source{URI: ci.RepositoryURL}, CI: ci,
			BuilderID: "https://example.com/builder", RecordedArgs: []string{"VERSION"},
			StartedOn: started, FinishedOn: now,
		},
	}, {
		name:       "Dockerfile missing",
		dockerfile: "nope/Dockerfile",
		wantCode:   outcome.ExitInvalid,
	}, {
		name:       "Dockerfile unreadable",
		dockerfile: "unreadable/Dockerfile",
		wantCode:   outcome.ExitOperational,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewExecutor(nil,
				WithClock(func() time.Time { return now }),
				WithExecutionContext(&runenv.Context{CI: ci}),
				WithReadFile(readFile))
			sec := &api.Security{Provenance: tt.cfg}
			r := &imageRun{rl: &release{e: e, started: started}, svc: api.Service{Dockerfile: tt.dockerfile}, sec: sec}
			got, err := r.build()
			if tt.wantCode != 0 {
				if outcome.Code(err) != tt.wantCode {
					t.Fatalf("build = %v (exit %d), want exit %d", err, outcome.Code(err), tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("build (-want +got):\n%s", diff)
			}
		})
	}
}
