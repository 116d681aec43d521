package testutil

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestPushIndex(t *testing.T) {
	reg := NewRegistry(t)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []types.MediaType{types.OCIImageIndex, types.DockerManifestList} {
		t.Run(string(mt), func(t *testing.T) {
			d, platforms := PushIndex(t, reg.Ref("app:"+string(mt[len(mt)-4:])), mt, true,
				PlatformImage{Platform: "linux/amd64", Image: img}, PlatformImage{Platform: "linux/arm/v7", Image: img})
			idx, err := remote.Index(d, remote.WithContext(context.Background()))
			if err != nil {
				t.Fatal(err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != mt || len(m.Manifests) != 4 || len(platforms) != 2 {
				t.Fatalf("index %s of %d manifests, %d platforms; want %s of two images and two attestation manifests", m.MediaType, len(m.Manifests), len(platforms), mt)
			}
			if got := m.Manifests[2]; got.Digest.String() != platforms[1].DigestStr() || got.Platform.Variant != "v7" {
				t.Errorf("third manifest %+v, want linux/arm/v7 at %s", got, platforms[1])
			}
			if got := m.Manifests[3]; got.Platform.OS != "unknown" || got.Annotations["vnd.docker.reference.digest"] != platforms[1].DigestStr() {
				t.Errorf("fourth manifest %+v, want linux/arm/v7's attestation manifest", got)
			}
			if mt == types.DockerManifestList && m.Manifests[0].MediaType != types.DockerManifestSchema2 {
				t.Errorf("image media type %s in a Docker manifest list", m.Manifests[0].MediaType)
			}
		})
	}
}
