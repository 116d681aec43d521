package pipeline

import (
	"context"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

	"github.com/sc-project/sc/pkg/security/provenance"
)

// onceResolver resolves each reference once per release: the base images
// of several services' Dockerfiles (FROM debian:12 in every one) are looked
// up once, and callers asking at the same time share one request. Only
// answers are remembered; a failure is tried again by the next caller.
type onceResolver struct {
	inner provenance.Resolver
	group singleflight.Group
	done  sync.Map // ref → name.Digest
}

var _ provenance.Resolver = (*onceResolver)(nil)

// Resolve returns ref's digest, from an earlier answer of this release when
// there is one.
func (o *onceResolver) Resolve(ctx context.Context, ref string) (name.Digest, error) {
	if d, ok := o.done.Load(ref); ok {
		return d.(name.Digest), nil
	}
	v, err, _ := o.group.Do(ref, func() (any, error) {
		// a caller that missed the map just before an earlier flight
		// stored its answer starts a flight of its own: look again
		if d, ok := o.done.Load(ref); ok {
			return d, nil
		}
		// every caller works under the release's context: the first
		// one's cancellation is everyone's
		d, err := o.inner.Resolve(ctx, ref)
		if err == nil {
			o.done.Store(ref, d)
		}
		return d, err
	})
	if err != nil {
		return name.Digest{}, err
	}
	return v.(name.Digest), nil
}
