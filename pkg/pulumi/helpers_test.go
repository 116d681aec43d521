package pulumi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/sc-project/sc/pkg/api"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	sigDig  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	sbomDig = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	provDig = "sha256:3333333333333333333333333333333333333333333333333333333333333333"

	imageType  = "test:index:Image"
	deployType = "test:index:Deployment"
	gatedType  = "test:index:Record"
)

// call is one Run of a fakeRunner.
type call struct {
	image string
	sec   *api.Security
	ctx   context.Context
}

// fakeRunner records its calls and answers with a fixed summary and error.
type fakeRunner struct {
	summary *scpulumi.Summary
	err     error

	mu    sync.Mutex
	calls []call
}

var _ scpulumi.Runner = (*fakeRunner)(nil)

func (r *fakeRunner) Run(ctx context.Context, image string, sec *api.Security) (*scpulumi.Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{image: image, sec: sec, ctx: ctx})
	if r.summary == nil {
		return nil, r.err
	}
	s := *r.summary
	return &s, r.err
}

func (r *fakeRunner) recorded() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// passing returns a runner whose summary passes, with every artifact.
func passing() *fakeRunner {
	return &fakeRunner{summary: &scpulumi.Summary{
		Verdict: scpulumi.VerdictPass,
		Steps: []scpulumi.Step{
			{Name: "scan", Status: scpulumi.StepSucceeded},
			{Name: "sign", Status: scpulumi.StepSucceeded},
			{Name: "sbom", Status: scpulumi.StepSucceeded},
			{Name: "provenance", Status: scpulumi.StepSucceeded},
		},
		SignatureDigest:             sigDig,
		SBOMAttestationDigest:       sbomDig,
		ProvenanceAttestationDigest: provDig,
	}}
}

// registered is one resource the mock engine saw.
type registered struct {
	typ, name string
	inputs    resource.PropertyMap
	deps      []string
	// runs is how many times the runner had been called when the resource
	// was registered.
	runs int
}

// mocks is the mock engine. Image resources (imageType) output their
// "ref" input as "repoDigest", except in a preview when unknownRef is set,
// where the output is unknown, as a build's is before it has run.
type mocks struct {
	runner     *fakeRunner
	unknownRef bool

	mu   sync.Mutex
	seen []registered
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	outs := args.Inputs.Copy()
	if args.TypeToken == imageType {
		if m.unknownRef {
			outs["repoDigest"] = resource.MakeComputed(resource.NewProperty(""))
		} else {
			outs["repoDigest"] = args.Inputs["ref"]
		}
	}
	r := registered{typ: args.TypeToken, name: args.Name, inputs: args.Inputs, deps: args.RegisterRPC.GetDependencies()}
	if m.runner != nil {
		r.runs = len(m.runner.recorded())
	}
	m.mu.Lock()
	m.seen = append(m.seen, r)
	m.mu.Unlock()
	return args.Name + "-id", outs, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}

// find returns the resources of type typ the engine saw.
func (m *mocks) find(typ string) []registered {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registered
	for _, r := range m.seen {
		if r.typ == typ {
			out = append(out, r)
		}
	}
	return out
}

// builtImage is a stand-in for a build-and-push resource.
type builtImage struct {
	pulumi.CustomResourceState
	RepoDigest pulumi.StringOutput `pulumi:"repoDigest"`
}

func newBuiltImage(ctx *pulumi.Context, name, ref string) (*builtImage, error) {
	var img builtImage
	err := ctx.RegisterResource(imageType, name, pulumi.Map{"ref": pulumi.String(ref)}, &img)
	return &img, err
}

// deployment is a stand-in for a resource that deploys the image.
type deployment struct {
	pulumi.CustomResourceState
}

func newDeployment(ctx *pulumi.Context, name string, image pulumi.StringInput) error {
	var d deployment
	return ctx.RegisterResource(deployType, name, pulumi.Map{"image": image}, &d)
}

// newGated registers a resource that takes nothing from c but waits for it
// through c.Gate(), as a DNS record switched over after a deploy would.
func newGated(ctx *pulumi.Context, name string, c *scpulumi.ImageSecurity) error {
	var d deployment
	return ctx.RegisterResource(gatedType, name, pulumi.Map{"value": pulumi.String("v2")}, &d, c.Gate())
}

// preview is a RunOption for a preview (pulumi preview) rather than an
// update.
func preview(info *pulumi.RunInfo) { info.DryRun = true }

// run runs body against m as a program of project "proj", stack "dev".
func run(m *mocks, dryRun bool, body pulumi.RunFunc) error {
	opts := []pulumi.RunOption{pulumi.WithMocks("proj", "dev", m)}
	if dryRun {
		opts = append(opts, preview)
	}
	return pulumi.RunErr(body, opts...)
}

// value is what an output resolved to.
type value struct {
	Known bool
	Value string
}

// await reads a resolved output.
func await(t *testing.T, o pulumi.Output) value {
	t.Helper()
	res, err := internals.UnsafeAwaitOutput(context.Background(), o)
	if err != nil {
		t.Fatalf("awaiting output: %v", err)
	}
	s, _ := res.Value.(string)
	return value{Known: res.Known, Value: s}
}

// outputs reads every output of c, keyed by its registered name.
func outputs(t *testing.T, c *scpulumi.ImageSecurity) map[string]value {
	t.Helper()
	return map[string]value{
		"image":                       await(t, c.Image),
		"digest":                      await(t, c.Digest),
		"verdict":                     await(t, c.Verdict),
		"signatureDigest":             await(t, c.SignatureDigest),
		"sbomAttestationDigest":       await(t, c.SBOMAttestationDigest),
		"provenanceAttestationDigest": await(t, c.ProvenanceAttestationDigest),
		"summary":                     await(t, c.Summary),
	}
}

// hasDep reports whether deps holds a URN of type typ.
func hasDep(deps []string, typ string) bool {
	for _, d := range deps {
		if strings.Contains(d, "::"+typ+"::") || strings.Contains(d, "$"+typ+"::") {
			return true
		}
	}
	return false
}
