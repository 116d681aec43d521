package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
)

// generateProvenance writes the image's SLSA v1.0 provenance (for an index:
// about the index and each platform image) from the
// execution context (CI run, git checkout) and the provenance block: the
// builder id (configured, else derived from the CI run), the source, the
// Dockerfile and its base images. startedOn is when the release started,
// finishedOn when the provenance was written.
func (r *imageRun) generateProvenance(ctx context.Context, sr *StepResult) error {
	e := r.rl.e
	b, err := r.build()
	if err != nil {
		return err
	}
	g := provenance.NewGenerator(r.rl.bases, provenance.WithVersion(e.version), provenance.WithLogger(e.logger))
	var platforms []name.Digest
	if r.isIndex {
		platforms = r.subjects()[1:]
	}
	st, err := g.Generate(ctx, r.digest, b, platforms...)
	if err != nil {
		return err
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		return err
	}
	var doc struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("reading the provenance statement of %s: %w", r.digest, err)
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		return err
	}
	r.provenance = doc.Predicate
	sr.Detail = fmt.Sprintf("builder %s, %d resolved dependencies",
		pred.GetRunDetails().GetBuilder().GetId(), len(pred.GetBuildDefinition().GetResolvedDependencies()))
	return nil
}

// build describes the build from the execution context and the
// configuration (provenance.NewBuild): startedOn is when the release
// started, finishedOn the executor's clock now.
func (r *imageRun) build() (provenance.Build, error) {
	e := r.rl.e
	var cfg provenance.BuildConfig
	includeDockerfile := true
	if pc := r.sec.Provenance; pc != nil {
		if pc.Builder != nil {
			cfg.BuilderID = pc.Builder.ID
		}
		cfg.RecordedArgs = pc.BuildArgs
		cfg.OmitGit = pc.IncludeGit != nil && !*pc.IncludeGit
		includeDockerfile = pc.IncludeDockerfile == nil || *pc.IncludeDockerfile
	}
	if includeDockerfile && r.svc.Dockerfile != "" {
		content, err := e.readFile(r.svc.Dockerfile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return provenance.Build{}, outcome.Invalidf("dockerfile %s: no such file", r.svc.Dockerfile)
		case err != nil:
			return provenance.Build{}, outcome.Operationalf("reading the Dockerfile %s: %w", r.svc.Dockerfile, err)
		}
		cfg.Dockerfile = provenance.Dockerfile{Path: r.svc.Dockerfile, Content: content}
	}
	cfg.StartedOn = r.rl.started
	return provenance.NewBuild(e.ec, cfg, e.now())
}
