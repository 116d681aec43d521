package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

type countingResolver struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (c *countingResolver) Resolve(_ context.Context, ref string) (name.Digest, error) {
	c.calls.Add(1)
	if c.fail.Load() {
		return name.Digest{}, errors.New("registry down")
	}
	return name.NewDigest(ref + "@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

// Nine services whose Dockerfiles share a base image resolve it once; a
// failure is not remembered.
func TestOnceResolver(t *testing.T) {
	inner := &countingResolver{}
	o := &onceResolver{inner: inner}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(func() {
			if _, err := o.Resolve(ctx, "registry.example.com/debian"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("the shared base was resolved %d times, want once", n)
	}

	inner.fail.Store(true)
	if _, err := o.Resolve(ctx, "registry.example.com/alpine"); err == nil {
		t.Fatal("a failing resolve succeeded")
	}
	inner.fail.Store(false)
	if _, err := o.Resolve(ctx, "registry.example.com/alpine"); err != nil {
		t.Errorf("after a failure the next caller did not try again: %v", err)
	}
	if n := inner.calls.Load(); n != 3 {
		t.Errorf("%d resolves, want 3 (one shared, one failed, one retried)", n)
	}
}
