// Command pulumi is a Pulumi program that secures an image with sc before
// anything deploys it: the README's "In a Pulumi program", as a user would
// copy it. It takes the pushed image from the stack's configuration and
// the security descriptor from sc.yaml, runs sc's executor on the digest
// during `pulumi up`, and exports the secured reference; a resource that
// deploys the image takes that output, or waits with Gate().
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/sc-project/sc/pkg/api"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
	"github.com/sc-project/sc/pkg/pulumi/executor"
	"github.com/sc-project/sc/pkg/security/cache"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	sigsetup "github.com/sc-project/sc/pkg/security/signing/setup"
)

func main() {
	// sc's cache directory, as the sc command uses it: grype's database
	// (`sc scan db update` keeps it) and the results cache. The database
	// stays open until the program has finished: the executor runs after
	// the function given to pulumi.RunErr has returned, once the digest
	// is known.
	dir, err := os.UserCacheDir()
	if err != nil {
		fail(err)
	}
	dir = filepath.Join(dir, "sc")
	db, err := vulndb.NewStore(filepath.Join(dir, "vulndb")).Open(context.Background())
	if err != nil {
		fail(err)
	}
	results, err := cache.New(dir)
	if err != nil {
		fail(err)
	}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		// The image the build pushed, repo@sha256:… (pulumi config set
		// image …). A build-and-push resource in this program would hand
		// over its output instead, e.g. pulumi-docker-build's img.Ref.
		image := pulumi.String(config.Require(ctx, "image"))

		// What to do to the image: the security block of sc.yaml's first
		// service.
		rel, err := api.Load(ctx.Context(), "sc.yaml")
		if err != nil {
			return err
		}
		// sc's executor: the registry through the Docker credential
		// helpers, signers from the signing block with key passwords from
		// the environment. Every pulumi up runs it again on an unchanged
		// digest: the cache and provenance reuse make that write nothing.
		ex := pipeline.NewExecutor(registry.New(),
			pipeline.WithScanners(db),
			pipeline.WithSigners(sigsetup.NewSigners(os.LookupEnv, nil)),
			pipeline.WithCache(results),
			pipeline.WithProvenanceReuse(true))

		secured, err := scpulumi.NewImageSecurity(ctx, "api", &scpulumi.ImageSecurityArgs{
			Image:    image,
			Security: &rel.Services[0].Security,
			Runner:   executor.New(ex),
		})
		if err != nil {
			return err
		}
		// Deploy secured.Image: it resolves only once the image has
		// passed. A resource that takes nothing from it waits with
		// pulumi.NewX(ctx, name, args, secured.Gate()).
		ctx.Export("image", secured.Image)
		ctx.Export("verdict", secured.Verdict)
		ctx.Export("signature", secured.SignatureDigest)
		return nil
	})
	_ = db.Close()
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
