package provenance_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/provenance"
	"github.com/sc-project/sc/pkg/security/runenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const (
	commit      = "4f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
	subjectRef  = "registry.example.com/acme/shop@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	golangIndex = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	distroless  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	alpinePin   = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

// dockerfile exercises every kind of FROM line at once: global ARGs with
// defaults and overrides, --platform, a stage reference, a pinned digest,
// scratch, and the same image twice.
const dockerfile = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG RUNTIME=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG VERSION
RUN --mount=type=secret,id=npm go build -ldflags "-X main.version=${VERSION}" -o /out/shop ./cmd/shop

FROM build AS test
RUN go test ./...

FROM alpine:3.20@` + alpinePin + ` AS certs
RUN apk add ca-certificates

FROM golang:${GO_VERSION} AS tools

FROM scratch AS empty

FROM ${RUNTIME}
COPY --from=certs /etc/ssl/certs /etc/ssl/certs
COPY --from=build /out/shop /shop
ENTRYPOINT ["/shop"]
`

// fakeResolver answers from a map and records what it was asked. It stands
// in for the registry where the digests must be stable for golden files;
// TestGenerateAgainstRegistry uses a real registry.
type fakeResolver struct {
	digests map[string]string
	err     error

	mu    sync.Mutex
	asked []string
}

func (f *fakeResolver) Resolve(_ context.Context, ref string) (name.Digest, error) {
	f.mu.Lock()
	f.asked = append(f.asked, ref)
	f.mu.Unlock()
	if f.err != nil {
		return name.Digest{}, f.err
	}
	d, ok := f.digests[ref]
	if !ok {
		return name.Digest{}, fmt.Errorf("resolving %s: not found", ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(d), nil
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{digests: map[string]string{
		"golang:1.23": golangIndex,
		"gcr.io/distroless/static-debian12:nonroot": distroless,
	}}
}

var _ provenance.Resolver = (*fakeResolver)(nil)

func started() time.Time { return time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC) }

func buildFor(ci runenv.CI, ref string) provenance.Build {
	return provenance.Build{
		Source:     provenance.Source{URI: ci.RepositoryURL, Ref: ref, Commit: commit},
		CI:         ci,
		Dockerfile: provenance.Dockerfile{Path: "build/Dockerfile", Content: []byte(dockerfile)},
		BuildArgs: map[string]string{
			"GO_VERSION":    "1.23",
			"BUILDPLATFORM": "linux/amd64",
			"VERSION":       "1.4.0",
			"NPM_TOKEN":     "npm_s3cr3tt0k3n",
		},
		RecordedArgs: []string{"VERSION", "GO_VERSION"},
		StartedOn:    started(),
		FinishedOn:   started().Add(95 * time.Second),
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateGolden(t *testing.T) {
	tests := []struct {
		name  string
		build provenance.Build
		// builderID is what the statement must carry.
		builderID string
	}{{
		name:      "github-actions",
		build:     buildFor(githubCI(), "refs/heads/main"),
		builderID: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
	}, {
		name:      "gitlab-ci",
		build:     buildFor(gitlabCI(), "refs/tags/v1.4.0"),
		builderID: "https://gitlab.example.com/acme/platform/shop//ci/release.gitlab-ci.yml@refs/tags/v1.4.0",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := newFakeResolver()
			g := provenance.NewGenerator(res, provenance.WithVersion("v0.9.0"))
			st, err := g.Generate(context.Background(), mustDigest(t, subjectRef), tt.build)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			got, err := provenance.Marshal(st)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			golden(t, filepath.Join("testdata", tt.name+".json"), got)

			// What we write, we can read, and it is valid in-toto and SLSA.
			if err := st.Validate(); err != nil {
				t.Errorf("statement does not validate: %v", err)
			}
			_, pred, err := provenance.Parse(got)
			if err != nil {
				t.Fatalf("Parse of our own output: %v", err)
			}
			if got := pred.GetRunDetails().GetBuilder().GetId(); got != tt.builderID {
				t.Errorf("builder id %q, want %q", got, tt.builderID)
			}
			if err := provenance.Verify(pred, provenance.Expectations{
				BuilderID: tt.builderID, SourceURI: tt.build.Source.URI, Commit: commit,
			}); err != nil {
				t.Errorf("Verify against the build's own values: %v", err)
			}

			// golang:1.23 is used by two stages and resolved once; the
			// pinned alpine is never asked for.
			slices.Sort(res.asked)
			if diff := cmp.Diff([]string{"gcr.io/distroless/static-debian12:nonroot", "golang:1.23"}, res.asked); diff != "" {
				t.Errorf("resolved (-want +got):\n%s", diff)
			}
		})
	}
}

// golden compares got with the file at path, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func generate(t *testing.T, b provenance.Build) (*intoto.Statement, *slsa.Provenance) {
	t.Helper()
	st, err := provenance.NewGenerator(newFakeResolver()).Generate(context.Background(), mustDigest(t, subjectRef), b)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return st, pred
}

func TestGenerateRecordsOnlyAllowlistedArgs(t *testing.T) {
	b := buildFor(githubCI(), "refs/heads/main")
	b.BuildArgs = map[string]string{
		"GO_VERSION":        "1.23",
		"TARGETARCH":        "arm64",
		"SOURCE_DATE_EPOCH": "1700000000",
		"VERSION":           "1.4.0",
		"NPM_TOKEN":         "npm_s3cr3tt0k3n",
		"AWS_SECRET":        "aws-s3cr3t",
		"HTTP_PROXY":        "http://user:proxy-pass@proxy:3128",
	}
	b.RecordedArgs = []string{"VERSION"}
	st, pred := generate(t, b)

	got := pred.GetBuildDefinition().GetExternalParameters().GetFields()["buildArgs"].GetStructValue().AsMap()
	want := map[string]any{"TARGETARCH": "arm64", "SOURCE_DATE_EPOCH": "1700000000", "VERSION": "1.4.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buildArgs (-want +got):\n%s", diff)
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"npm_s3cr3tt0k3n", "aws-s3cr3t", "proxy-pass", "NPM_TOKEN", "GO_VERSION"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("statement contains %q, which is not on the allowlist", secret)
		}
	}

	// Without an allowlist and without default arguments, nothing is
	// recorded, not even an empty object.
	b.BuildArgs = map[string]string{"GO_VERSION": "1.23", "NPM_TOKEN": "npm_s3cr3tt0k3n"}
	b.RecordedArgs = nil
	_, pred = generate(t, b)
	if _, ok := pred.GetBuildDefinition().GetExternalParameters().GetFields()["buildArgs"]; ok {
		t.Error("buildArgs recorded although no argument is on the allowlist")
	}
}

func TestGenerateMinimal(t *testing.T) {
	// Outside CI with an explicit builder id, no Dockerfile, no commit: the
	// source is recorded, nothing is resolved, no metadata is invented.
	b := provenance.Build{
		Source:    provenance.Source{URI: "https://git.example.com/acme/shop"},
		BuilderID: "https://ci.example.com/builders/shop",
	}
	res := newFakeResolver()
	st, err := provenance.NewGenerator(res).Generate(context.Background(), mustDigest(t, subjectRef), b)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(res.asked) != 0 {
		t.Errorf("resolved %v without a Dockerfile", res.asked)
	}
	raw, err := provenance.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	_, pred, err := provenance.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if deps := pred.GetBuildDefinition().GetResolvedDependencies(); len(deps) != 0 {
		t.Errorf("resolved dependencies %v, want none", deps)
	}
	if pred.GetRunDetails().GetMetadata() != nil {
		t.Errorf("metadata %v, want none", pred.GetRunDetails().GetMetadata())
	}
	wantExt := map[string]any{"source": map[string]any{"uri": "https://git.example.com/acme/shop"}}
	if diff := cmp.Diff(wantExt, pred.GetBuildDefinition().GetExternalParameters().AsMap()); diff != "" {
		t.Errorf("externalParameters (-want +got):\n%s", diff)
	}
	wantInt := map[string]any{"scVersion": "devel"}
	if diff := cmp.Diff(wantInt, pred.GetBuildDefinition().GetInternalParameters().AsMap()); diff != "" {
		t.Errorf("internalParameters (-want +got):\n%s", diff)
	}
	subj := st.GetSubject()
	if len(subj) != 1 || subj[0].GetName() != "registry.example.com/acme/shop" ||
		subj[0].GetDigest()["sha256"] != strings.Repeat("a", 64) {
		t.Errorf("subject %v", subj)
	}
}

// The provenance of an image index names the index, then each platform
// image; a subject named twice is an invalid build.
func TestGenerateIndexSubjects(t *testing.T) {
	b := provenance.Build{
		Source:    provenance.Source{URI: "https://git.example.com/acme/shop"},
		BuilderID: "https://ci.example.com/builders/shop",
	}
	idx := mustDigest(t, subjectRef)
	amd := mustDigest(t, "registry.example.com/acme/shop@sha256:"+strings.Repeat("b", 64))
	arm := mustDigest(t, "registry.example.com/acme/shop@sha256:"+strings.Repeat("c", 64))
	st, err := provenance.NewGenerator(newFakeResolver()).Generate(context.Background(), idx, b, amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range st.GetSubject() {
		got = append(got, s.GetName()+"@sha256:"+s.GetDigest()["sha256"])
	}
	if diff := cmp.Diff([]string{idx.String(), amd.String(), arm.String()}, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if _, err := provenance.NewGenerator(newFakeResolver()).Generate(context.Background(), idx, b, amd, idx); !errors.Is(err, provenance.ErrInvalidBuild) {
		t.Errorf("a subject named twice: %v, want ErrInvalidBuild", err)
	}
}

func TestGenerateInvalid(t *testing.T) {
	ok := buildFor(githubCI(), "refs/heads/main")
	tests := []struct {
		name    string
		change  func(*provenance.Build)
		wantErr error
		wantMsg string
	}{
		{name: "no source", change: func(b *provenance.Build) { b.Source.URI = "" }, wantErr: provenance.ErrInvalidBuild, wantMsg: "source repository"},
		{name: "source with credentials", change: func(b *provenance.Build) {
			b.Source.URI = "https://x-access-token:ghs_s3cr3t@github.com/acme/shop"
		}, wantErr: provenance.ErrInvalidBuild, wantMsg: "carries credentials"},
		{name: "ssh source", change: func(b *provenance.Build) { b.Source.URI = "git@github.com:acme/shop.git" }, wantErr: provenance.ErrInvalidBuild},
		{name: "short commit", change: func(b *provenance.Build) { b.Source.Commit = "4f2c1e0" }, wantErr: provenance.ErrInvalidBuild, wantMsg: "commit"},
		{name: "builder id not a URI", change: func(b *provenance.Build) { b.BuilderID = "my laptop" }, wantErr: provenance.ErrInvalidBuild, wantMsg: "builder id"},
		{name: "Dockerfile without content", change: func(b *provenance.Build) { b.Dockerfile.Content = nil }, wantErr: provenance.ErrInvalidBuild, wantMsg: "no content"},
		{name: "finished before started", change: func(b *provenance.Build) { b.FinishedOn = b.StartedOn.Add(-time.Second) }, wantErr: provenance.ErrInvalidBuild},
		{name: "bad build argument name", change: func(b *provenance.Build) { b.BuildArgs["A=B"] = "c" }, wantErr: provenance.ErrInvalidBuild},
		{name: "no builder id outside CI", change: func(b *provenance.Build) { b.CI = runenv.CI{} }, wantErr: provenance.ErrNoBuilderID},
		{name: "broken Dockerfile", change: func(b *provenance.Build) { b.Dockerfile.Content = []byte("FROM\n") },
			wantErr: provenance.ErrDockerfile, wantMsg: "build/Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ok
			b.BuildArgs = map[string]string{}
			b.Source = ok.Source
			tt.change(&b)
			res := newFakeResolver()
			_, err := provenance.NewGenerator(res).Generate(context.Background(), mustDigest(t, subjectRef), b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Generate error %v, want %v", err, tt.wantErr)
			}
			if outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitInvalid)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "ghs_s3cr3t") {
				t.Errorf("error %q repeats a credential", err)
			}
			if len(res.asked) != 0 {
				t.Errorf("resolved %v before rejecting the build", res.asked)
			}
		})
	}
}

func TestGenerateUnresolvableBaseImage(t *testing.T) {
	res := newFakeResolver()
	delete(res.digests, "gcr.io/distroless/static-debian12:nonroot")
	_, err := provenance.NewGenerator(res).Generate(context.Background(), mustDigest(t, subjectRef), buildFor(githubCI(), "refs/heads/main"))
	if !errors.Is(err, provenance.ErrBaseImage) {
		t.Fatalf("Generate error %v, want ErrBaseImage", err)
	}
	if outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("exit code %d, want %d", outcome.Code(err), outcome.ExitOperational)
	}
	for _, want := range []string{"gcr.io/distroless/static-debian12:nonroot", "line 19", "build/Dockerfile"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := newFakeResolver()
	res.err = context.Canceled
	_, err := provenance.NewGenerator(res).Generate(ctx, mustDigest(t, subjectRef), buildFor(githubCI(), "refs/heads/main"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate error %v, want context.Canceled", err)
	}
}

func ExampleGenerator_Generate() {
	// A resolver answering from a map; in sc it is a registry.Client.
	res := &fakeResolver{digests: map[string]string{
		"alpine:3.20": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
	}}
	g := provenance.NewGenerator(res, provenance.WithVersion("v1.0.0"))

	subject, _ := name.NewDigest("registry.example.com/acme/shop@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	st, err := g.Generate(context.Background(), subject, provenance.Build{
		Source: provenance.Source{
			URI:    "https://github.com/acme/shop",
			Ref:    "refs/heads/main",
			Commit: "4f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
		},
		CI: runenv.CI{
			Provider:    runenv.ProviderGitHubActions,
			ServerURL:   "https://github.com",
			WorkflowRef: "acme/shop/.github/workflows/release.yml@refs/heads/main",
		},
		Dockerfile: provenance.Dockerfile{Path: "Dockerfile", Content: []byte("FROM alpine:3.20\n")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, _ := provenance.Marshal(st)
	_, pred, _ := provenance.Parse(raw)
	fmt.Println(st.GetPredicateType())
	fmt.Println(pred.GetRunDetails().GetBuilder().GetId())
	for _, d := range pred.GetBuildDefinition().GetResolvedDependencies() {
		fmt.Println(d.GetUri())
	}
	// Output:
	// https://slsa.dev/provenance/v1
	// https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main
	// git+https://github.com/acme/shop@4f2c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
	// pkg:docker/alpine@3.20
}
