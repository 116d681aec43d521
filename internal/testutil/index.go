package testutil

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformImage is an image of an index and the platform it is for,
// os/arch[/variant].
type PlatformImage struct {
	Platform string
	Image    v1.Image
}

// PushIndex pushes to ref (a tag on a registry of this test) an image index
// of media type mt (types.OCIImageIndex or types.DockerManifestList) holding
// images, as `docker buildx build --platform … --push` does: with buildx,
// each image is followed by an attestation manifest (platform
// unknown/unknown, annotated as buildx annotates them with the image's
// digest). In a Docker manifest list the images have Docker media types. It
// returns the index's digest and each platform image's, in ref's
// repository, in the order given.
func PushIndex(t testing.TB, ref string, mt types.MediaType, buildx bool, images ...PlatformImage) (name.Digest, []name.Digest) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	var digests []name.Digest
	for _, pi := range images {
		plat, err := v1.ParsePlatform(pi.Platform)
		if err != nil {
			t.Fatal(err)
		}
		img := pi.Image
		if mt == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, r.Context().Digest(h.String()))
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
		if buildx {
			att, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{
					"vnd.docker.reference.type":   "attestation-manifest",
					"vnd.docker.reference.digest": h.String(),
				},
			}})
		}
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mt)
	if err := remote.WriteIndex(r, idx, remote.WithContext(context.Background())); err != nil {
		t.Fatalf("pushing the index %s: %v", ref, err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(h.String()), digests
}
