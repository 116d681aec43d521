package shard

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Manifests is what Estimate needs of a registry: resolving a reference,
// listing the platform images of an index and fetching a manifest.
// pkg/security/registry's Client implements it.
type Manifests interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
	Platforms(ctx context.Context, d name.Digest, selection ...v1.Platform) (*registry.Platforms, error)
	Descriptor(ctx context.Context, d name.Digest) (*remote.Descriptor, error)
}

var _ Manifests = (*registry.Client)(nil)

// estimateJobs bounds the manifests fetched at once.
const estimateJobs = 8

// Estimate returns the cost of each service, in order: the sizes of the
// config and the layers its image's manifest lists, summed over the
// platform images its platforms selection keeps for an image index. Only
// manifests are fetched (two or three requests per image), never a layer.
//
// Errors name the service: a reference that does not parse, an image the
// registry does not have, or a platforms selection that matches nothing
// (outcome.ErrInvalid, exit code 2); a registry that cannot be read
// (operational, exit code 3). The estimate decides the shards, so no
// service gets a guessed cost: every job of a matrix must compute the same
// plan.
func Estimate(ctx context.Context, reg Manifests, services []api.Service) ([]Cost, error) {
	costs, _, err := estimate(ctx, reg, services)
	return costs, err
}

// estimate is Estimate, also returning what each service's image resolved
// to (its digest and platform images under its platforms selection), for
// the executor of a shard to start from instead of resolving again.
func estimate(ctx context.Context, reg Manifests, services []api.Service) ([]Cost, []*registry.Platforms, error) {
	costs := make([]Cost, len(services))
	resolved := make([]*registry.Platforms, len(services))
	errs := make([]error, len(services))
	var g errgroup.Group
	g.SetLimit(estimateJobs)
	for i, svc := range services {
		g.Go(func() error {
			n, ps, err := imageBytes(ctx, reg, svc)
			costs[i], resolved[i] = Cost{Service: svc.Name, Bytes: n}, ps
			if err != nil {
				errs[i] = fmt.Errorf("estimating service %s (%s): %w", svc.Name, svc.Image, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return costs, resolved, nil
}

// imageBytes is the size of the service's image, as Estimate sums it, and
// the platform images it summed.
func imageBytes(ctx context.Context, reg Manifests, svc api.Service) (int64, *registry.Platforms, error) {
	sel, err := registry.ParsePlatforms(svc.Security.Platforms)
	if err != nil {
		return 0, nil, err
	}
	d, err := reg.Resolve(ctx, svc.Image)
	if err != nil {
		return 0, nil, err
	}
	ps, err := reg.Platforms(ctx, d, sel...)
	if err != nil {
		return 0, nil, err
	}
	var total int64
	for _, img := range ps.Images {
		desc, err := reg.Descriptor(ctx, img.Digest)
		if err != nil {
			return 0, nil, err
		}
		if !desc.MediaType.IsImage() {
			return 0, nil, outcome.Invalidf("%s: %s is not an image manifest", img.Digest, desc.MediaType)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return 0, nil, fmt.Errorf("%w: parsing the manifest of %s: %w", registry.ErrMalformed, img.Digest, err)
		}
		total += max(m.Config.Size, 0)
		for _, l := range m.Layers {
			total += max(l.Size, 0)
		}
	}
	return total, ps, nil
}

// New is the plan of a release in n shards: Estimate, then Assign. `sc
// release plan` and `sc release create --shard` both call it (through
// NewResolved), so a matrix job works on exactly the services the plan
// gave its shard.
//
// Errors: Estimate's and Assign's.
func New(ctx context.Context, reg Manifests, services []api.Service, n int) (*Plan, error) {
	p, _, err := NewResolved(ctx, reg, services, n)
	return p, err
}

// NewResolved is New, also returning what the estimate resolved each
// service's image to, by service name: a shard's run hands it to the
// executor (pipeline.WithResolved) and resolves no tag a second time.
//
// Errors: New's.
func NewResolved(ctx context.Context, reg Manifests, services []api.Service, n int) (*Plan, map[string]Resolved, error) {
	if n < 1 {
		return nil, nil, outcome.Invalidf("%d shards: want at least 1", n)
	}
	costs, resolved, err := estimate(ctx, reg, services)
	if err != nil {
		return nil, nil, err
	}
	p, err := Assign(costs, n)
	if err != nil {
		return nil, nil, err
	}
	byName := make(map[string]Resolved, len(services))
	for i, svc := range services {
		byName[svc.Name] = Resolved{Image: svc.Image, Platforms: resolved[i]}
	}
	return p, byName, nil
}
