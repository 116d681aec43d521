package testutil

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sc-project/sc/internal/fixture"
)

// FixtureImage returns fixture.Image(opts), the sample image with
// deterministic digests, and stops the test if it cannot be built.
func FixtureImage(t testing.TB, opts fixture.Options) v1.Image {
	t.Helper()
	img, err := fixture.Image(opts)
	if err != nil {
		t.Fatalf("building fixture image %+v: %v", opts, err)
	}
	return img
}

// FixtureImages returns fixture.Images(n), the images of a release of n
// services sharing their lower layers, and stops the test if they cannot be
// built.
func FixtureImages(t testing.TB, n int) []v1.Image {
	t.Helper()
	imgs, err := fixture.Images(n)
	if err != nil {
		t.Fatalf("building %d fixture images: %v", n, err)
	}
	return imgs
}
