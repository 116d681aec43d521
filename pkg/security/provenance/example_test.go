package provenance_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sc-project/sc/pkg/security/provenance"
)

func ExampleBaseImages() {
	dockerfile := []byte(`ARG GO_VERSION=1.22
FROM --platform=linux/amd64 golang:${GO_VERSION} AS build
FROM build AS test
FROM gcr.io/distroless/static-debian12:nonroot
`)
	images, err := provenance.BaseImages(dockerfile, map[string]string{"GO_VERSION": "1.23"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, img := range images {
		fmt.Printf("line %d: %s %s\n", img.Line, img.Ref, img.Platform)
	}
	// Output:
	// line 2: golang:1.23 linux/amd64
	// line 4: gcr.io/distroless/static-debian12:nonroot
}

func ExampleVerify() {
	raw, err := os.ReadFile(filepath.Join("testdata", "github-actions.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = provenance.Verify(pred, provenance.Expectations{
		BuilderID: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
		SourceURI: "https://github.com/acme/shop-fork",
	})
	var m *provenance.MismatchError
	if errors.As(err, &m) {
		fmt.Println(m.Field)
		fmt.Println(m.Got)
	}
	// Output:
	// buildDefinition.externalParameters.source.uri
	// https://github.com/acme/shop
}
