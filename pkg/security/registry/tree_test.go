package registry_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

func TestTree(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, k kind) {
		ctx := context.Background()
		f := testutil.NewFaults()
		reg := k.start(t, testutil.WithHandler(f.Wrap))
		c := newClient()
		d := pushImage(t, c, reg.Ref("app:v1"))

		empty, err := c.Tree(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(empty.Legacy) != 0 || len(empty.Referrers) != 0 || empty.Subject.String() != d.String() {
			t.Errorf("Tree of a bare image = %+v", empty)
		}

		sig := sigArtifact("sig payload", "c2ln")
		att := registry.Artifact{MediaType: "application/vnd.dsse.envelope.v1+json", Data: []byte("att"),
			Annotations: map[string]string{"predicateType": "https://slsa.dev/provenance/v1"}}
		sigH, err := c.AttachLegacy(ctx, d, registry.SuffixSignature, sig)
		if err != nil {
			t.Fatal(err)
		}
		attH, err := c.AttachLegacy(ctx, d, registry.SuffixAttestation, att)
		if err != nil {
			t.Fatal(err)
		}
		b1, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b1"), map[string]string{registry.AnnotationCreated: created2})
		if err != nil {
			t.Fatal(err)
		}
		b2, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b2"), map[string]string{registry.AnnotationCreated: created1})
		if err != nil {
			t.Fatal(err)
		}
		// an attestation bundle: same artifact type, its own group
		b3, err := c.AttachReferrer(ctx, d, bundleType, bundleArtifact("b3"), map[string]string{
			registry.AnnotationCreated: created1, registry.AnnotationBundlePredicateType: "https://cyclonedx.org/bom"})
		if err != nil {
			t.Fatal(err)
		}
		sb, err := c.AttachReferrer(ctx, d, "application/spdx+json", registry.Artifact{MediaType: "application/spdx+json", Data: []byte("{}")},
			map[string]string{registry.AnnotationCreated: created1})
		if err != nil {
			t.Fatal(err)
		}

		f.Reset()
		tree, err := c.Tree(ctx, d)
		if err != nil {
			t.Fatalf("Tree: %v", err)
		}
		// Only manifests: no artifact content downloaded.
		if n := f.Count(http.MethodGet, testutil.ClassBlob); n != 0 {
			t.Errorf("Tree downloaded %d blobs", n)
		}

		type ref struct {
			Digest  v1.Hash
			Created string
			Layer   types.MediaType
		}
		type group struct {
			Type      string
			Predicate string
			Refs      []ref
		}
		var gotGroups []group
		for _, g := range tree.Referrers {
			gg := group{Type: g.ArtifactType, Predicate: g.PredicateType}
			for _, r := range g.Referrers {
				if len(r.Layers) != 1 {
					t.Fatalf("referrer %s has %d layers", r.Descriptor.Digest, len(r.Layers))
				}
				gg.Refs = append(gg.Refs, ref{r.Descriptor.Digest, r.Descriptor.Annotations[registry.AnnotationCreated], r.Layers[0].MediaType})
			}
			gotGroups = append(gotGroups, gg)
		}
		wantGroups := []group{
			{Type: "application/spdx+json", Refs: []ref{{sb, created1, "application/spdx+json"}}},
			{Type: bundleType, Refs: []ref{{b2, created1, bundleType}, {b1, created2, bundleType}}},
			{Type: bundleType, Predicate: "https://cyclonedx.org/bom", Refs: []ref{{b3, created1, bundleType}}},
		}
		if diff := cmp.Diff(wantGroups, gotGroups); diff != "" {
			t.Errorf("referrer groups (-want +got):\n%s", diff)
		}
		if tree.ReferrersAPI != k.referrers {
			t.Errorf("ReferrersAPI = %v, want %v", tree.ReferrersAPI, k.referrers)
		}

		type legacy struct {
			Suffix   string
			Tag      string
			Manifest v1.Hash
			Layers   []v1.Descriptor
		}
		var gotLegacy []legacy
		for _, l := range tree.Legacy {
			gotLegacy = append(gotLegacy, legacy{l.Suffix, l.Tag.String(), l.Manifest.Digest, l.Layers})
		}
		sigTag, _ := registry.LegacyTag(d, "sig")
		attTag, _ := registry.LegacyTag(d, "att")
		wantLegacy := []legacy{
			{"sig", sigTag.String(), sigH, []v1.Descriptor{{MediaType: simpleSigning, Size: int64(len(sig.Data)), Digest: sha(sig.Data), Annotations: sig.Annotations}}},
			{"att", attTag.String(), attH, []v1.Descriptor{{MediaType: att.MediaType, Size: int64(len(att.Data)), Digest: sha(att.Data), Annotations: att.Annotations}}},
		}
		if diff := cmp.Diff(wantLegacy, gotLegacy); diff != "" {
			t.Errorf("legacy tags (-want +got):\n%s", diff)
		}
	})
}

func TestTreeMissingImage(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newClient()
	pushImage(t, c, reg.Ref("app:v1"))
	d := mustDigest(t, reg.Ref("app@sha256:"+hex64('9')))
	if _, err := c.Tree(context.Background(), d); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Tree of a missing image = %v, want ErrNotFound", err)
	}
}
