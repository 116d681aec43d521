package policy

import (
	"context"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// shared is a signing.Reader that asks the registry each question once:
// the signature verifier of every signer and the attestation verifier of
// every attestation type list the same referrers and fetch the same
// artifacts, so one Check lists each digest's referrers once. Answers,
// errors included, hold for one Check; a cancelled context is not kept.
type shared struct {
	inner signing.Reader

	mu        sync.Mutex
	referrers map[string]answer[[]v1.Descriptor]
	legacy    map[string]answer[[]registry.Artifact]
	fetched   map[string]answer[registry.Artifact]
}

var _ signing.Reader = (*shared)(nil)

type answer[T any] struct {
	v   T
	err error
}

func newShared(inner signing.Reader) *shared {
	return &shared{inner: inner,
		referrers: map[string]answer[[]v1.Descriptor]{},
		legacy:    map[string]answer[[]registry.Artifact]{},
		fetched:   map[string]answer[registry.Artifact]{},
	}
}

// Resolve is not shared: Check resolves once, before any verifier runs.
func (s *shared) Resolve(ctx context.Context, ref string) (name.Digest, error) {
	return s.inner.Resolve(ctx, ref)
}

func (s *shared) Referrers(ctx context.Context, subject name.Digest, artifactType string) ([]v1.Descriptor, error) {
	a := once(ctx, s, s.referrers, subject.String()+" "+artifactType, func() ([]v1.Descriptor, error) {
		return s.inner.Referrers(ctx, subject, artifactType)
	})
	return slices.Clone(a.v), a.err
}

func (s *shared) FetchLegacy(ctx context.Context, subject name.Digest, suffix string) ([]registry.Artifact, error) {
	a := once(ctx, s, s.legacy, subject.String()+" "+suffix, func() ([]registry.Artifact, error) {
		return s.inner.FetchLegacy(ctx, subject, suffix)
	})
	return slices.Clone(a.v), a.err
}

func (s *shared) FetchReferrer(ctx context.Context, subject name.Digest, desc v1.Descriptor) (registry.Artifact, error) {
	a := once(ctx, s, s.fetched, subject.String()+" "+desc.Digest.String(), func() (registry.Artifact, error) {
		return s.inner.FetchReferrer(ctx, subject, desc)
	})
	return a.v, a.err
}

// once answers key from m, asking fn the first time. The lock is held
// while asking: Check runs its verifiers one after the other, and a second
// asker of the same question waits for the first answer.
func once[T any](ctx context.Context, s *shared, m map[string]answer[T], key string, fn func() (T, error)) answer[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := m[key]; ok {
		return a
	}
	v, err := fn()
	a := answer[T]{v: v, err: err}
	if ctx.Err() == nil {
		m[key] = a
	}
	return a
}
