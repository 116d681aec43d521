package registry_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/pkg/security/registry"
)

// Resolve a tag once, attach a signature in the legacy form and an SBOM as
// a referrer, and list what is attached.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	c := registry.New(registry.WithUserAgent("sc/example"), registry.WithKeychain(authn.NewMultiKeychain()))

	// An image to work on.
	img, _ := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("hello"), types.OCILayer))
	ref, _ := c.ParseReference(host + "/team/app:v1")
	if err := remote.Write(ref, img, c.RemoteOptions(ctx)...); err != nil {
		log.Fatal(err)
	}

	d, err := c.Resolve(ctx, host+"/team/app:v1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("digest:", d.DigestStr())

	if _, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, registry.Artifact{
		MediaType:   "application/vnd.dev.cosign.simplesigning.v1+json",
		Data:        []byte(`{"critical":{}}`),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": "MEUCIQ…"},
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.AttachReferrer(ctx, d, "application/spdx+json", registry.Artifact{
		MediaType: "application/spdx+json",
		Data:      []byte(`{"spdxVersion":"SPDX-2.3"}`),
	}, nil); err != nil {
		log.Fatal(err)
	}

	tree, err := c.Tree(ctx, d)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range tree.Legacy {
		fmt.Printf("legacy %s: %d layer(s)\n", l.Suffix, len(l.Layers))
	}
	for _, g := range tree.Referrers {
		fmt.Printf("referrers %s: %d\n", g.ArtifactType, len(g.Referrers))
	}
	// Output:
	// digest: sha256:2f451377322276dc31f7ef87607976b09cc83fd9b8fdfc6cec6e83d10290c88a
	// legacy sig: 1 layer(s)
	// referrers application/spdx+json: 1
}
