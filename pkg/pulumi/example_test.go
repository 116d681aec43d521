package pulumi_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
)

// policyRunner stands in for sc's security executor: it passes every
// image but one.
type policyRunner struct{ vulnerable string }

func (r policyRunner) Run(_ context.Context, image string, _ *api.Security) (*scpulumi.Summary, error) {
	if image == r.vulnerable {
		return nil, outcome.CheckFailed("scan: CVE-2024-0001 (critical) in openssl")
	}
	return &scpulumi.Summary{
		Verdict: scpulumi.VerdictPass,
		Steps: []scpulumi.Step{
			{Name: "scan", Status: scpulumi.StepSucceeded},
			{Name: "sign", Status: scpulumi.StepSucceeded},
		},
		SignatureDigest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	}, nil
}

// engine is Pulumi's mock engine: it accepts every resource as given.
type engine struct{}

func (engine) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "-id", args.Inputs, nil
}

func (engine) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) { return nil, nil }

func ExampleNewImageSecurity() {
	runner := policyRunner{vulnerable: "registry.example.com/legacy@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
	program := func(image string) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			sec, err := scpulumi.NewImageSecurity(ctx, "app", &scpulumi.ImageSecurityArgs{
				// In a real program: the build-and-push resource's digest output.
				Image:    pulumi.String(image),
				Security: &api.Security{},
				Runner:   runner,
			})
			if err != nil {
				return err
			}
			sec.Image.ApplyT(func(ref string) string {
				fmt.Println("deploying", ref)
				return ref
			})
			return nil
		}
	}
	mocks := pulumi.WithMocks("shop", "prod", engine{})

	err := pulumi.RunErr(program("registry.example.com/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), mocks)
	fmt.Println("exit code", outcome.Code(err))

	err = pulumi.RunErr(program("registry.example.com/legacy@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), mocks)
	fmt.Println("check failed:", errors.Is(err, outcome.ErrCheckFailed), "exit code", outcome.Code(err))

	// Output:
	// deploying registry.example.com/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
	// exit code 0
	// check failed: true exit code 1
}
