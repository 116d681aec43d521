package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/security/signing"
	"github.com/sc-project/sc/pkg/security/signing/setup"
)

// A release of one image, signed with a key from the configuration: the
// SBOM and provenance are attached, everything is verified. (The scan is
// left out here: it needs a vulnerability database, see WithScanners.)
func ExampleExecutor_Run() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)

	// A registry with the sample image, and a key pair.
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	client := registry.New()
	image := strings.TrimPrefix(srv.URL, "http://") + "/shop/orders-api:1.4.2"
	img, _ := fixture.Image(fixture.Options{})
	ref, _ := client.ParseReference(image)
	if err := remote.Write(ref, img, client.RemoteOptions(ctx)...); err != nil {
		fmt.Println(err)
		return
	}
	kp, _ := signing.GenerateKeyPair([]byte("s3cret"))
	_ = os.WriteFile(filepath.Join(dir, "cosign.key"), kp.PrivatePEM, 0o600)

	// The configuration, as api.Load would give it.
	stack := filepath.Join(dir, "sc.yaml")
	_ = os.WriteFile(stack, []byte(`stacks:
  production:
    security:
      signing: {privateKey: cosign.key, password: "${env:KEY_PASSWORD}", tlogUpload: false}
      provenance: {builder: {id: "https://example.com/builder"}}
      scan: {enabled: false}
    services:
      orders: {image: "`+image+`"}
`), 0o644)
	rel, err := api.Load(ctx, stack)
	if err != nil {
		fmt.Println(err)
		return
	}

	lookupEnv := func(name string) (string, bool) {
		v, ok := map[string]string{"KEY_PASSWORD": "s3cret"}[name]
		return v, ok
	}
	ex := pipeline.NewExecutor(client,
		pipeline.WithSigners(setup.NewSigners(lookupEnv, nil)),
		pipeline.WithExecutionContext(&runenv.Context{CI: runenv.CI{RepositoryURL: "https://github.com/example/shop"}}))
	res, err := ex.Run(ctx, rel.Services)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Services {
		fmt.Println(s.Service, s.Outcome)
		for _, st := range s.Steps {
			fmt.Printf("  %-19s %s\n", st.Name, st.Status)
		}
	}
	// Output:
	// orders ok
	//   resolve             ok
	//   sbom-generate       ok
	//   scan                skipped
	//   provenance-generate ok
	//   sign                ok
	//   verify              ok
	//   sbom-attach         ok
	//   sbom-verify         ok
	//   provenance-attach   ok
	//   provenance-verify   ok
	//   vuln-attach         skipped
	//   vuln-verify         skipped
	//   vex-attach          skipped
	//   vex-verify          skipped
}

// One image scanned as `sc image scan` scans it: with the cache, a second
// scan of the same digest reads no layer and matches nothing again. (Not
// run: it needs a vulnerability database and a registry.)
func ExampleScanImage() {
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), "sc-example")
	c, err := cache.New(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := vulndb.NewStore(filepath.Join(dir, "vulndb")).Open(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = db.Close() }()
	res, err := pipeline.ScanImage(ctx, registry.New(), "registry.example.com/shop:1.4.0",
		[]scan.Tool{{Scanner: db, Required: true}}, scan.Policy{FailOn: scan.High}, pipeline.ScanOptions{Cache: c})
	if err != nil {
		fmt.Println(err)
		return
	}
	// one result per platform image of an index, else the image's own
	for _, r := range res.Results() {
		fmt.Println(r.Image, r.Platform, r.Verdict.Status)
	}
	fmt.Println("verdict:", res.Err(), "cached:", res.Cached())
}
