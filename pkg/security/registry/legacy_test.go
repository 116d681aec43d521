package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

const simpleSigning = types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json")

func sigArtifact(payload, sig string) registry.Artifact {
	return registry.Artifact{
		MediaType:   simpleSigning,
		Data:        []byte(payload),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": sig},
	}
}

func TestLegacyTag(t *testing.T) {
	d := mustDigest(t, "127.0.0.1:5000/team/app@sha256:"+hex64('a'))
	tag, err := registry.LegacyTag(d, registry.SuffixSignature)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tag.String(), "127.0.0.1:5000/team/app:sha256-"+hex64('a')+".sig"; got != want {
		t.Errorf("LegacyTag = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "SIG", "s.g", "a/b", "x" + hex64('x')} {
		if _, err := registry.LegacyTag(d, bad); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("LegacyTag(%q) = %v, want exit 2", bad, err)
		}
	}
}

func TestAttachFetchLegacy(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		reg := k.start(t)
		c := newClient()
		d := pushImage(t, c, reg.Ref("team/app:v1"))

		if _, err := c.FetchLegacy(ctx, d, registry.SuffixSignature); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("FetchLegacy before any attach = %v, want ErrNotFound", err)
		}

		first := sigArtifact(`{"critical":1}`, "c2lnMQ==")
		second := sigArtifact(`{"critical":2}`, "c2lnMg==")
		// Same bytes as first, other annotations: a different artifact.
		third := sigArtifact(`{"critical":1}`, "b3RoZXI=")

		h1, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, first)
		if err != nil {
			t.Fatalf("AttachLegacy: %v", err)
		}
		h2, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, second)
		if err != nil {
			t.Fatal(err)
		}
		if h1 == h2 {
			t.Error("the manifest digest did not change when a layer was added")
		}
		// Idempotent: the same artifact again changes nothing.
		again, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, first)
		if err != nil {
			t.Fatal(err)
		}
		if again != h2 {
			t.Errorf("attaching an identical artifact again gave manifest %s, want unchanged %s", again, h2)
		}
		if _, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, third); err != nil {
			t.Fatal(err)
		}

		got, err := c.FetchLegacy(ctx, d, registry.SuffixSignature)
		if err != nil {
			t.Fatalf("FetchLegacy: %v", err)
		}
		want := []registry.Artifact{first, second, third}
		for i := range want {
			want[i].Digest = sha(want[i].Data)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("FetchLegacy (-want +got):\n%s", diff)
		}

		// Another suffix is another tag.
		if _, err := c.FetchLegacy(ctx, d, registry.SuffixAttestation); !errors.Is(err, registry.ErrNotFound) || outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("FetchLegacy(att) = %v, want ErrNotFound (exit 3)", err)
		}
	})
}

// The legacy tag is laid out exactly as cosign writes it: an OCI manifest,
// an OCI config whose rootfs lists the layers, one layer per artifact with
// its annotations.
func TestLegacyLayout(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	a := sigArtifact("payload", "c2ln")
	if _, err := c.AttachLegacy(ctx, d, "sig", a); err != nil {
		t.Fatal(err)
	}
	tag, _ := registry.LegacyTag(d, "sig")
	desc := manifestOf(t, c, tag)
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", desc.MediaType, types.OCIManifestSchema1)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s, want %s", m.Config.MediaType, types.OCIConfigJSON)
	}
	wantLayers := []v1.Descriptor{{MediaType: simpleSigning, Size: int64(len(a.Data)), Digest: sha(a.Data), Annotations: a.Annotations}}
	if diff := cmp.Diff(wantLayers, m.Layers); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]v1.Hash{sha(a.Data)}, cfg.RootFS.DiffIDs); diff != "" {
		t.Errorf("rootfs diff_ids (-want +got):\n%s", diff)
	}
	if cfg.RootFS.Type != "layers" {
		t.Errorf("rootfs type %q", cfg.RootFS.Type)
	}
}

// Appending to an existing tag never downloads its layers: only the config
// is read to extend rootfs.
func TestAttachLegacyDownloadsNoLayer(t *testing.T) {
	ctx := context.Background()
	f := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(f.Wrap))
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	for i := range 3 {
		if _, err := c.AttachLegacy(ctx, d, "att", sigArtifact(fmt.Sprint(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	f.Reset()
	if _, err := c.AttachLegacy(ctx, d, "att", sigArtifact("last", "x")); err != nil {
		t.Fatal(err)
	}
	if got := f.Count(http.MethodGet, testutil.ClassBlob); got != 1 {
		t.Errorf("%d blob downloads while appending to a 3-layer tag, want 1 (the config): %+v", got, f.Requests())
	}
}

// A concurrent writer that replaces the tag between our write and our
// check (simulated by a handler that puts the other writer's manifest right
// after ours) does not make our artifact disappear: the check notices and
// the append is repeated on top of the other writer's manifest.
func TestAttachLegacyRepairsLostUpdate(t *testing.T) {
	ctx := context.Background()
	clobber := &clobberer{}
	reg := testutil.NewRegistry(t, testutil.WithHandler(clobber.wrap))
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	tag, _ := registry.LegacyTag(d, "sig")

	// The other writer's manifest: recorded, then the tag removed again.
	other := sigArtifact("other writer", "x")
	if _, err := c.AttachLegacy(ctx, d, "sig", other); err != nil {
		t.Fatal(err)
	}
	clobber.arm(t, c, tag)

	mine := sigArtifact("mine", "y")
	if _, err := c.AttachLegacy(ctx, d, "sig", mine); err != nil {
		t.Fatal(err)
	}
	if !clobber.fired() {
		t.Fatal("the concurrent write was not simulated")
	}
	got, err := c.FetchLegacy(ctx, d, "sig")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, a := range got {
		payloads = append(payloads, string(a.Data))
	}
	if diff := cmp.Diff([]string{"other writer", "mine"}, payloads); diff != "" {
		t.Errorf("artifacts under the tag (-want +got):\n%s", diff)
	}
}

// A legacy tag that is not an image, or an artifact whose bytes do not
// match its descriptor, is reported as malformed.
func TestFetchLegacyMalformed(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	tag, _ := registry.LegacyTag(d, "sig")
	pushIndexAt(t, c, tag.String())
	_, err := c.FetchLegacy(ctx, d, "sig")
	if !errors.Is(err, registry.ErrMalformed) {
		t.Fatalf("FetchLegacy of an index = %v, want ErrMalformed", err)
	}
	if _, err := c.AttachLegacy(ctx, d, "sig", sigArtifact("x", "y")); !errors.Is(err, registry.ErrMalformed) {
		t.Errorf("AttachLegacy onto an index = %v, want ErrMalformed", err)
	}
}

func TestAttachLegacyInvalid(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newClient()
	d := pushImage(t, c, reg.Ref("app:v1"))
	_, err := c.AttachLegacy(context.Background(), d, "sig", registry.Artifact{Data: []byte("x")})
	if outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("AttachLegacy without a media type = %v, want exit 2", err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
