package shard_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/shard"
)

// push writes img to ref and returns its size as Estimate sums it, read
// from the image itself.
func push(t *testing.T, ref string, img v1.Image) int64 {
	t.Helper()
	c := registry.New()
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	return imageSize(t, img)
}

func imageSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func randomImage(t *testing.T, size int64, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestEstimateReadsManifestsOnly(t *testing.T) {
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	small := push(t, reg.Ref("shop/small:1"), randomImage(t, 1000, 1))
	big := push(t, reg.Ref("shop/big:1"), randomImage(t, 50000, 3))
	amd, arm := randomImage(t, 3000, 2), randomImage(t, 7000, 1)
	testutil.PushIndex(t, reg.Ref("shop/multi:1"), types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: amd}, testutil.PlatformImage{Platform: "linux/arm64", Image: arm})

	multiOnly := api.Service{Name: "multi-arm", Image: reg.Ref("shop/multi:1")}
	multiOnly.Security.Platforms = []string{"linux/arm64"}
	services := []api.Service{
		{Name: "small", Image: reg.Ref("shop/small:1")},
		{Name: "big", Image: reg.Ref("shop/big:1")},
		{Name: "multi", Image: reg.Ref("shop/multi:1")},
		multiOnly,
	}
	faults.Reset()
	costs, err := shard.Estimate(context.Background(), registry.New(), services)
	if err != nil {
		t.Fatal(err)
	}
	want := []shard.Cost{
		{"small", small}, {"big", big},
		{"multi", imageSize(t, amd) + imageSize(t, arm)}, // the attestation manifests skipped
		{"multi-arm", imageSize(t, arm)},
	}
	for i := range want {
		if costs[i] != want[i] {
			t.Errorf("cost %d = %+v, want %+v", i, costs[i], want[i])
		}
	}
	if n := faults.Count("", testutil.ClassBlob); n != 0 {
		t.Errorf("estimating read %d blobs; it must read manifests only", n)
	}
}

func TestEstimateErrorsNameTheService(t *testing.T) {
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	push(t, reg.Ref("shop/ok:1"), randomImage(t, 100, 1))
	push(t, reg.Ref("shop/down:1"), randomImage(t, 100, 1))
	bad := api.Service{Name: "bad-platform", Image: reg.Ref("shop/ok:1")}
	bad.Security.Platforms = []string{"linux"}

	for _, tc := range []struct {
		name    string
		svc     api.Service
		arm     func()
		class   error
		message string
	}{
		{"missing image", api.Service{Name: "ghost", Image: reg.Ref("shop/ghost:1")}, nil, outcome.ErrInvalid, "service ghost"},
		{"bad reference", api.Service{Name: "typo", Image: "UPPER/Case::x"}, nil, outcome.ErrInvalid, "service typo"},
		{"bad platforms", bad, nil, outcome.ErrInvalid, "service bad-platform"},
		{"registry failing", api.Service{Name: "down", Image: reg.Ref("shop/down:1")}, func() {
			faults.Add(testutil.Fault{Match: testutil.On("", testutil.ClassManifest).PathContains("down"), Times: testutil.Always, Status: http.StatusServiceUnavailable})
		}, outcome.ErrOperational, "service down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faults.Clear()
			if tc.arm != nil {
				tc.arm()
			}
			services := []api.Service{{Name: "ok", Image: reg.Ref("shop/ok:1")}, tc.svc}
			_, err := shard.Estimate(context.Background(), registry.New(registry.WithRetry(1, 0)), services)
			if !errors.Is(err, tc.class) {
				t.Fatalf("Estimate = %v, want class %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.message) || strings.Contains(err.Error(), "service ok ") {
				t.Errorf("error %q should name %s only", err, tc.message)
			}
		})
	}
}
