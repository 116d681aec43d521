package testutil_test

import (
	"testing"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
)

func TestFixtureImages(t *testing.T) {
	imgs := testutil.FixtureImages(t, 2)
	one := testutil.FixtureImage(t, fixture.Options{Name: fixture.ServiceName(1)})
	want, err := one.Digest()
	if err != nil {
		t.Fatal(err)
	}
	got, err := imgs[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("FixtureImages(t, 2)[1] = %s, FixtureImage(%s) = %s: want equal", got, fixture.ServiceName(1), want)
	}
}
