package signing_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sc-project/sc/pkg/security/signing"
)

func TestLocate(t *testing.T) {
	const hex = "749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"
	subject, err := name.NewDigest("registry.example/shop/orders@sha256:" + hex)
	if err != nil {
		t.Fatal(err)
	}
	const artifact = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	for _, tt := range []struct {
		name     string
		format   signing.Format
		artifact string
		suffix   string
		want     signing.Location
	}{
		{"bundle: the referrer manifest", signing.FormatBundle, artifact, "sig",
			signing.Location{Storage: signing.StorageReferrer, Ref: "registry.example/shop/orders@" + artifact}},
		{"legacy signature: the .sig tag", signing.FormatLegacy, artifact, "sig",
			signing.Location{Storage: signing.StorageTag, Ref: "registry.example/shop/orders:sha256-" + hex + ".sig"}},
		{"legacy attestation: the .att tag", signing.FormatLegacy, artifact, signing.AttestationSuffix,
			signing.Location{Storage: signing.StorageTag, Ref: "registry.example/shop/orders:sha256-" + hex + ".att"}},
		{"unknown format", signing.Format("oci"), artifact, "sig", signing.Location{}},
		{"bad suffix", signing.FormatLegacy, artifact, "SIG!", signing.Location{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := signing.Locate(subject, tt.format, tt.artifact, tt.suffix); got != tt.want {
				t.Errorf("Locate = %+v, want %+v", got, tt.want)
			}
		})
	}
}
