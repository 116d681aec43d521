package image_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// run executes sc with args in-process and returns stdout, stderr and the
// error. env is the whole environment the command sees; DOCKER_CONFIG is
// pointed at an empty directory so that the machine's credentials play no
// part.
func run(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := &options.Root{
		Version: "v0.0.0-test",
		Getenv:  func(k string) string { return env[k] },
		Environ: func() []string { return nil },
	}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// subject pushes a deterministic image to reg and attaches a signature and
// an attestation in the legacy form and two referrers, with fixed creation
// times, so that every digest in the output is stable.
func subject(t *testing.T, reg *testutil.Registry, auth ...registry.Option) name.Digest {
	t.Helper()
	ctx := context.Background()
	c := registry.New(append([]registry.Option{registry.WithKeychain(authn.NewMultiKeychain())}, auth...)...)
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("sc tree fixture"), types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.ParseReference(reg.Ref("team/shop:1.4.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	d, err := c.Resolve(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.AttachLegacy(ctx, d, registry.SuffixSignature, registry.Artifact{
		MediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
		Data:      []byte(`{"critical":{"image":{"docker-manifest-digest":"` + d.DigestStr() + `"}}}`),
		Annotations: map[string]string{
			"dev.cosignproject.cosign/signature": strings.Repeat("MEUCIQD", 16),
		},
	}))
	must(c.AttachLegacy(ctx, d, registry.SuffixAttestation, registry.Artifact{
		MediaType:   "application/vnd.dsse.envelope.v1+json",
		Data:        []byte(`{"payloadType":"application/vnd.in-toto+json"}`),
		Annotations: map[string]string{"predicateType": "https://slsa.dev/provenance/v1"},
	}))
	bundle := "application/vnd.dev.sigstore.bundle.v0.3+json"
	must(c.AttachReferrer(ctx, d, bundle, registry.Artifact{MediaType: types.MediaType(bundle), Data: []byte(`{"bundle":1}`)},
		map[string]string{registry.AnnotationCreated: "2025-01-02T03:04:05Z", "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"}))
	must(c.AttachReferrer(ctx, d, "application/spdx+json", registry.Artifact{MediaType: "application/spdx+json", Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)},
		map[string]string{registry.AnnotationCreated: "2025-01-02T03:04:06Z"}))
	return d
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestTreeGolden(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []testutil.RegistryOption
		output string
		file   string
	}{
		{"fallback tag, text", nil, "text", "tree-fallback.txt"},
		{"fallback tag, json", nil, "json", "tree-fallback.json"},
		{"referrers API, text", []testutil.RegistryOption{testutil.WithReferrers()}, "text", "tree-api.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := testutil.NewRegistry(t, tt.opts...)
			subject(t, reg)
			stdout, stderr, err := run(t, nil, "image", "tree", "-o", tt.output, reg.Ref("team/shop:1.4.0"))
			if err != nil {
				t.Fatalf("sc image tree: %v\n%s", err, stderr)
			}
			golden(t, tt.file, strings.ReplaceAll(stdout, reg.Host, "REGISTRY"))
		})
	}
}

func TestTreeNothingAttached(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := registry.New(registry.WithKeychain(authn.NewMultiKeychain()))
	ref, _ := c.ParseReference(reg.Ref("app:v1"))
	img, _ := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("bare"), types.OCILayer))
	if err := remote.Write(ref, img, c.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, nil, "image", "tree", reg.Ref("app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "nothing attached") {
		t.Errorf("output %q does not say nothing is attached", stdout)
	}
}

func TestTreeCredentials(t *testing.T) {
	const user, pass = "ci-bot", "pa55-w0rd-xyz"
	reg := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth(user, pass)))
	subject(t, reg, registry.WithCredentials(registry.Credential{Registry: reg.Host, Username: user, Password: pass}))
	image := reg.Ref("team/shop:1.4.0")

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"environment", map[string]string{options.EnvRegistryUsername: user, options.EnvRegistryPassword: pass}, nil, outcome.ExitOK},
		{"flags", nil, []string{"--registry-username", user, "--registry-password", pass}, outcome.ExitOK},
		{"flag over environment", map[string]string{options.EnvRegistryUsername: user, options.EnvRegistryPassword: "stale"},
			[]string{"--registry-password", pass}, outcome.ExitOK},
		{"no credentials", nil, nil, outcome.ExitOperational},
		{"wrong password", map[string]string{options.EnvRegistryUsername: user, options.EnvRegistryPassword: pass + "-not"}, nil, outcome.ExitOperational},
		{"username only", map[string]string{options.EnvRegistryUsername: user}, nil, outcome.ExitInvalid},
		{"password only", nil, []string{"--registry-password", pass}, outcome.ExitInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"image", "tree", "--log-level", "debug"}, tt.args...)
			stdout, stderr, err := run(t, tt.env, append(args, image)...)
			if got := outcome.Code(err); got != tt.code {
				t.Fatalf("exit code %d (%v), want %d\n%s", got, err, tt.code, stderr)
			}
			all := stdout + stderr
			if err != nil {
				all += err.Error()
			}
			if strings.Contains(all, pass) {
				t.Errorf("the password shows in the output:\n%s", all)
			}
			if tt.code == outcome.ExitOperational && !strings.Contains(err.Error(), image) {
				t.Errorf("error %q does not name the image", err)
			}
		})
	}
}

func TestTreeErrors(t *testing.T) {
	reg := testutil.NewRegistry(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing image", []string{reg.Ref("team/none:1")}, outcome.ExitInvalid, reg.Ref("team/none:1")},
		{"malformed reference", []string{"Not A Reference"}, outcome.ExitInvalid, "invalid image reference"},
		{"bad output", []string{"-o", "yaml", reg.Ref("team/none:1")}, outcome.ExitInvalid, "--output"},
		{"no image", nil, outcome.ExitInvalid, "arg"},
		{"two images", []string{"a", "b"}, outcome.ExitInvalid, "arg"},
		{"zero timeout", []string{"--registry-timeout", "0s", reg.Ref("team/none:1")}, outcome.ExitInvalid, "--registry-timeout"},
		{"bad timeout", []string{"--registry-timeout", "soon", reg.Ref("team/none:1")}, outcome.ExitInvalid, "registry-timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := run(t, nil, append([]string{"image", "tree"}, tt.args...)...)
			if got := outcome.Code(err); got != tt.code {
				t.Fatalf("exit code %d (%v), want %d", got, err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout on failure: %q", stdout)
			}
		})
	}
}
