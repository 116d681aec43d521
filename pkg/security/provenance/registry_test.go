package provenance_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/registry"
)

var _ provenance.Resolver = (*registry.Client)(nil)

// pushImage pushes a random image to ref and returns its digest.
func pushImage(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pushIndex pushes a random multi-platform index to ref and returns its
// digest.
func pushIndex(t *testing.T, ref string) v1.Hash {
	t.Helper()
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateAgainstRegistry(t *testing.T) {
	reg := testutil.NewRegistry(t)
	golang := pushIndex(t, reg.Ref("base/golang:1.23"))
	runtime := pushImage(t, reg.Ref("base/runtime:2"))
	pinned := pushImage(t, reg.Ref("base/certs:1"))
	subject := pushImage(t, reg.Ref("acme/shop:v1"))

	dockerfile := `ARG REGISTRY
ARG GO_VERSION=1.22
FROM ${REGISTRY}/base/golang:${GO_VERSION} AS build
FROM ${REGISTRY}/base/certs@` + pinned.String() + ` AS certs
FROM build AS test
FROM scratch AS empty
FROM ${REGISTRY}/base/runtime:2
`
	b := provenance.Build{
		Source:     provenance.Source{URI: "https://github.com/acme/shop", Ref: "refs/heads/main", Commit: commit},
		CI:         githubCI(),
		Dockerfile: provenance.Dockerfile{Path: "Dockerfile", Content: []byte(dockerfile)},
		BuildArgs:  map[string]string{"REGISTRY": reg.Host, "GO_VERSION": "1.23"},
	}
	g := provenance.NewGenerator(registry.New(registry.WithRetry(1, 0)))
	st, err := g.Generate(context.Background(), mustDigest(t, reg.Ref("acme/shop@"+subject.String())), b)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}

	type dep struct{ URI, Digest string }
	var got []dep
	for _, d := range pred.GetBuildDefinition().GetResolvedDependencies() {
		got = append(got, dep{d.GetUri(), d.GetDigest()["sha256"] + d.GetDigest()["gitCommit"]})
	}
	ns := "pkg:docker/" + strings.ReplaceAll(reg.Host, ":", "%3A") + "/base/"
	want := []dep{
		{"git+https://github.com/acme/shop@" + commit, commit},
		{ns + "golang@1.23", golang.Hex},
		{ns + "certs?digest=sha256%3A" + pinned.Hex, pinned.Hex},
		{ns + "runtime@2", runtime.Hex},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved dependencies (-want +got):\n%s", diff)
	}
	if s := st.GetSubject(); len(s) != 1 || s[0].GetName() != reg.Ref("acme/shop") || s[0].GetDigest()["sha256"] != subject.Hex {
		t.Errorf("subject %v, want %s@%s", s, reg.Ref("acme/shop"), subject)
	}
}

func TestGenerateBaseImageMissingFromRegistry(t *testing.T) {
	reg := testutil.NewRegistry(t)
	pushImage(t, reg.Ref("base/golang:1.23"))
	missing := reg.Ref("base/golang:1.99")

	b := provenance.Build{
		Source:     provenance.Source{URI: "https://github.com/acme/shop"},
		CI:         githubCI(),
		Dockerfile: provenance.Dockerfile{Path: "Dockerfile", Content: []byte("FROM " + reg.Ref("base/golang:1.23") + "\nFROM " + missing + "\n")},
	}
	g := provenance.NewGenerator(registry.New(registry.WithRetry(1, 0)))
	_, err := g.Generate(context.Background(), mustDigest(t, reg.Ref("acme/shop@"+someDigest)), b)
	if !errors.Is(err, provenance.ErrBaseImage) || !errors.Is(err, registry.ErrNoSuchImage) {
		t.Fatalf("Generate error %v, want ErrBaseImage and registry.ErrNoSuchImage", err)
	}
	// a FROM naming a tag that does not exist is the same mistake as a
	// command naming one: exit 2
	if outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitInvalid)
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %q does not name %s on line 2", err, missing)
	}
}
