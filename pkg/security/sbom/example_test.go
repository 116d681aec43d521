package sbom_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/sbom"
)

// Resolve a tag once, open the image through sc's registry client and
// generate its SPDX SBOM; then write the same catalogue as CycloneDX
// without reading the image again.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c := registry.New(registry.WithKeychain(authn.NewMultiKeychain()))

	// The sample image, pushed for the example.
	img, err := fixture.Image(fixture.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tag, _ := c.ParseReference(host + "/shop/orders-api:1.4.2")
	if err := remote.Write(tag, img, c.RemoteOptions(ctx)...); err != nil {
		log.Fatal(err)
	}

	d, err := c.Resolve(ctx, host+"/shop/orders-api:1.4.2")
	if err != nil {
		log.Fatal(err)
	}
	image, err := c.Image(ctx, d)
	if err != nil {
		log.Fatal(err)
	}
	res, err := sbom.Generate(ctx, d, image, sbom.WithFormat(sbom.SPDXJSON))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Format, res.SpecVersion, res.MediaType, res.PredicateType, res.Packages)

	cdx, err := sbom.Encode(res.SBOM, sbom.CycloneDXJSON, "1.5")
	if err != nil {
		log.Fatal(err)
	}
	f, v, _ := sbom.Identify(cdx)
	fmt.Println(f, v)
	// Output:
	// spdx-json 2.3 application/spdx+json https://spdx.dev/Document 101
	// cyclonedx-json 1.5
}

// Read an SBOM a user supplied, after naming its format.
func ExampleDecode() {
	doc := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
"components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"}]}`)
	f, v, err := sbom.Identify(doc)
	if err != nil {
		log.Fatal(err)
	}
	s, err := sbom.Decode(doc, f)
	if err != nil {
		log.Fatal(err)
	}
	for p := range s.Artifacts.Packages.Enumerate() {
		fmt.Println(f, v, p.Type, p.Name, p.Version)
	}
	// Output: cyclonedx-json 1.6 npm lodash 4.17.20
}

// The predicate type each format is attached with, as cosign attest
// --type writes it.
func ExampleFormat_PredicateType() {
	for _, f := range sbom.Formats() {
		fmt.Println(f, f.PredicateType(), f.TextPredicate())
	}
	// Output:
	// cyclonedx-json https://cyclonedx.org/bom false
	// cyclonedx-xml https://cyclonedx.org/bom true
	// spdx-json https://spdx.dev/Document false
	// spdx-tag-value https://spdx.dev/Document true
	// syft-json https://syft.dev/bom false
}
