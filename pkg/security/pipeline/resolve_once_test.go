package pipeline

import (
	"context"
	"errors"
	"fmt"
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
// failure is not remembered. The race between looking in the answers and
// joining a flight is narrow, so it is run for many bases in one test.
func TestOnceResolver(t *testing.T) {
	inner := &countingResolver{}
	o := &onceResolver{inner: inner}
	ctx := context.Background()
	const bases = 2000
	for i := range bases {
		ref := fmt.Sprintf("registry.example.com/debian-%d", i)
		var wg sync.WaitGroup
		for range 9 {
			wg.Go(func() {
				if _, err := o.Resolve(ctx, ref); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := inner.calls.Load(); n != int32(i+1) {
			t.Fatalf("base %d: %d resolves in all, want %d: a shared base was resolved more than once", i, n, i+1)
		}
	}

	inner.fail.Store(true)
	if _, err := o.Resolve(ctx, "registry.example.com/alpine"); err == nil {
		t.Fatal("a failing resolve succeeded")
	}
	inner.fail.Store(false)
	if _, err := o.Resolve(ctx, "registry.example.com/alpine"); err != nil {
		t.Errorf("after a failure the next caller did not try again: %v", err)
	}
	if n := inner.calls.Load(); n != bases+2 {
		t.Errorf("%d resolves, want %d (one per shared base, one failed, one retried)", n, bases+2)
	}
}
