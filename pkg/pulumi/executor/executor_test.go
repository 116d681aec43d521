package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
	"github.com/sc-project/sc/pkg/pulumi/executor"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/runenv"
	"github.com/sc-project/sc/pkg/security/signing"
	sigsetup "github.com/sc-project/sc/pkg/security/signing/setup"
)

const password = "pulumi-test"

type mocks struct{}

func (mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "-id", args.Inputs, nil
}
func (mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) { return args.Args, nil }

// setup pushes the fixture image and returns its digest reference and a
// descriptor that signs with a fresh key, scans nothing (no database here)
// and attaches provenance.
func setup(t *testing.T) (string, *api.Security, *pipeline.Executor) {
	t.Helper()
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	client := registry.New()
	img, err := fixture.Image(fixture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := client.ParseReference(reg.Host + "/shop/orders-api:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, client.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	d, err := client.Resolve(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	kp, err := signing.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(keyPath, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "stacks:\n  s:\n    security:\n" +
		"      signing: {privateKey: " + keyPath + ", password: '${env:PW}', tlogUpload: false}\n" +
		"      provenance: {builder: {id: https://example.com/builder}}\n" +
		"      sbom: {enabled: false}\n" +
		"      scan: {enabled: false}\n" +
		"    services:\n      svc: {image: " + d.String() + "}\n"
	path := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := api.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sec := rel.Services[0].Security
	lookupEnv := func(k string) (string, bool) {
		if k == "PW" {
			return password, true
		}
		return "", false
	}
	ex := pipeline.NewExecutor(client,
		pipeline.WithSigners(sigsetup.NewSigners(lookupEnv, nil)),
		pipeline.WithExecutionContext(&runenv.Context{CI: runenv.CI{
			RepositoryURL: fixture.Source, Commit: fixture.Revision, Ref: "refs/heads/main"}}))
	return d.String(), &sec, ex
}

// A Pulumi update runs sc's real pipeline on the pushed digest and exposes
// what it wrote.
func TestImageSecurityRunsTheExecutor(t *testing.T) {
	image, sec, ex := setup(t)
	var mu sync.Mutex
	got := map[string]string{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := scpulumi.NewImageSecurity(ctx, "orders", &scpulumi.ImageSecurityArgs{
			Image: pulumi.String(image), Security: sec, Runner: executor.New(ex),
		})
		if err != nil {
			return err
		}
		pulumi.All(c.Digest, c.Verdict, c.SignatureDigest, c.ProvenanceAttestationDigest).ApplyT(func(v []any) error {
			mu.Lock()
			defer mu.Unlock()
			got["digest"], got["verdict"], got["signature"], got["provenance"] = v[0].(string), v[1].(string), v[2].(string), v[3].(string)
			return nil
		})
		return nil
	}, pulumi.WithMocks("proj", "dev", mocks{}))
	if err != nil {
		t.Fatalf("pulumi update: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasSuffix(image, "@"+got["digest"]) || got["verdict"] != "pass" {
		t.Errorf("outputs %v for %s", got, image)
	}
	for _, k := range []string{"signature", "provenance"} {
		if !strings.HasPrefix(got[k], "sha256:") {
			t.Errorf("%s digest = %q, want what the executor wrote", k, got[k])
		}
	}
}

// A failing step fails the deployment, with the executor's error class.
func TestImageSecurityFailsTheDeployment(t *testing.T) {
	image, sec, _ := setup(t)
	// A signer that cannot be made (wrong password) is a configuration
	// error: the executor refuses before touching the registry.
	ex := pipeline.NewExecutor(registry.New(), pipeline.WithSigners(sigsetup.NewSigners(func(string) (string, bool) { return "wrong", true }, nil)))
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := scpulumi.NewImageSecurity(ctx, "orders", &scpulumi.ImageSecurityArgs{
			Image: pulumi.String(image), Security: sec, Runner: executor.New(ex),
		})
		return err
	}, pulumi.WithMocks("proj", "dev", mocks{}))
	if err == nil || outcome.Code(err) == outcome.ExitOK {
		t.Fatalf("pulumi update = %v, want a failure", err)
	}
	if !errors.Is(err, outcome.ErrInvalid) {
		t.Errorf("error %v (exit %d), want the executor's invalid-configuration class", err, outcome.Code(err))
	}
}

func TestSummaryMapping(t *testing.T) {
	r := &pipeline.SecurityResult{
		Digest:  "sha256:abc",
		Outcome: pipeline.OutcomeWarned,
		Steps: []pipeline.StepResult{
			{Name: pipeline.StepScan, Status: pipeline.StatusWarned, Warnings: []string{"2 medium"}},
			{Name: pipeline.StepSign, Status: pipeline.StatusOK, Artifacts: []pipeline.Artifact{{Kind: "signature", Digest: "sha256:s"}}},
			{Name: pipeline.StepSBOMAttach, Status: pipeline.StatusSkipped, Detail: "attach is off"},
			{Name: pipeline.StepProvenanceAttach, Status: pipeline.StatusFailed, Error: "registry down"},
		},
	}
	s := executor.Summary(r)
	if s.Digest != "sha256:abc" || s.Verdict != scpulumi.VerdictWarn || s.SignatureDigest != "sha256:s" || s.SBOMAttestationDigest != "" {
		t.Errorf("summary %+v", s)
	}
	want := []scpulumi.Step{
		{Name: "scan", Status: scpulumi.StepWarned, Message: "2 medium"},
		{Name: "sign", Status: scpulumi.StepSucceeded},
		{Name: "sbom-attach", Status: scpulumi.StepSkipped, Message: "attach is off"},
		{Name: "provenance-attach", Status: scpulumi.StepFailed, Message: "registry down"},
	}
	if len(s.Steps) != len(want) {
		t.Fatalf("steps %+v", s.Steps)
	}
	for i := range want {
		if s.Steps[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, s.Steps[i], want[i])
		}
	}
}
