package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Fuzz targets for every parser of what a registry returns: manifests of
// legacy tags and their layer lists, referrers answers, fallback indices,
// referrer manifests, error bodies and the hosts of redirects and token
// realms (Link and Retry-After headers: transport_internal_test.go). Run
// one with `go test -run '^$' -fuzz FuzzParseLegacy ./pkg/security/registry`.

const seedDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

var (
	seedManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"` + seedDigest + `"},` +
		`"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":250,"digest":"` + seedDigest + `",` +
		`"annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ=="}},` +
		`{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":250,"digest":"` + seedDigest + `"}]}`
	seedIndex = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":700,"digest":"` + seedDigest + `",` +
		`"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",` +
		`"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}}]}`
	seedReferrer = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"` + seedDigest + `"},` +
		`"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":3000,"digest":"` + seedDigest + `"}],` +
		`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":"` + seedDigest + `"}}`
)

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range append(seeds, "", "{}", "null", "[]", `{"layers":null}`, `{"manifests":[{}]}`,
		`{"schemaVersion":2,"layers":[{"size":-1}]}`, `{"schemaVersion":2,"layers":[{"size":9223372036854775807}]}`,
		strings.Repeat("[", 10000)) {
		f.Add([]byte(s))
	}
}

func FuzzParseLegacy(f *testing.F) {
	addSeeds(f, seedManifest, seedReferrer)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseLegacy("tag", types.OCIManifestSchema1, raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(m.Layers) > MaxLegacyLayers {
			t.Fatalf("accepted %d layers", len(m.Layers))
		}
		for _, suffix := range []string{SuffixSignature, SuffixAttestation} {
			max, limit := layerLimit(suffix)
			layers, err := legacyLayers("tag", m.Layers, max, limit)
			if err != nil {
				var le *LimitError
				if !errors.As(err, &le) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is neither a *LimitError nor ErrMalformed", err)
				}
				continue
			}
			checkLayers(t, m.Layers, layers, max)
		}
		if extensible("tag", SuffixSignature, m) == nil && (m.Config.Size < 0 || m.Config.Size > MaxConfigSize) {
			t.Fatalf("a config of %d bytes is extensible", m.Config.Size)
		}
	})
}

// checkLayers checks what legacyLayers returned for in: each within max,
// the distinct blobs within MaxLegacyTotal, no repeats, in order.
func checkLayers(t *testing.T, in, out []v1.Descriptor, max int64) {
	t.Helper()
	seen := map[string]bool{}
	sizes := map[v1.Hash]int64{}
	var total int64
	j := 0
	for _, l := range out {
		if l.Size < 0 || l.Size > max {
			t.Fatalf("layer of %d bytes accepted under a limit of %d", l.Size, max)
		}
		key, _ := json.Marshal([]any{l.Digest.String(), l.MediaType, l.Annotations})
		if seen[string(key)] {
			t.Fatalf("layer %s returned twice", l.Digest)
		}
		seen[string(key)] = true
		if _, ok := sizes[l.Digest]; !ok {
			sizes[l.Digest] = l.Size
			total += l.Size
		}
		for j < len(in) && in[j].Digest != l.Digest {
			j++
		}
		if j == len(in) {
			t.Fatalf("layer %s returned out of order or from nowhere", l.Digest)
		}
	}
	if total > MaxLegacyTotal {
		t.Fatalf("%d bytes of distinct layers accepted", total)
	}
}

func FuzzParseReferrersAnswer(f *testing.F) {
	addSeeds(f, seedIndex)
	f.Fuzz(func(t *testing.T, raw []byte) {
		descs, err := parseReferrersAnswer(raw)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if err == nil {
			if d := dedupe(descs); len(d) > len(descs) {
				t.Fatal("dedupe added descriptors")
			}
			sortReferrers(descs)
		}
	})
}

func FuzzParseFallbackIndex(f *testing.F) {
	addSeeds(f, seedIndex, seedManifest)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, mt := range []types.MediaType{types.OCIImageIndex, types.OCIManifestSchema1, types.DockerManifestList} {
			_, err := parseFallbackIndex("tag", mt, raw)
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			if err == nil && mt != types.OCIImageIndex {
				t.Fatalf("a %s accepted as the fallback index", mt)
			}
		}
	})
}

func FuzzParseReferrerManifest(f *testing.F) {
	addSeeds(f, seedReferrer, seedIndex)
	f.Add(bytes.Repeat([]byte(" "), MaxReferrerManifestSize+1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseReferrerManifest(seedDigest, types.OCIManifestSchema1, raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(raw) > MaxReferrerManifestSize {
			t.Fatalf("a manifest of %d bytes accepted", len(raw))
		}
		manifestArtifactType(m)
		var d v1.Descriptor
		completeDescriptor(&d, m)
	})
}

func FuzzNameUnknown(f *testing.F) {
	addSeeds(f, `{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}`, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, `{"errors":{}}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		if nameUnknown(bytes.NewReader(body)) && !bytes.Contains(body, []byte("NAME_UNKNOWN")) &&
			!bytes.Contains(body, []byte(`\u`)) {
			t.Fatalf("NAME_UNKNOWN found in %q", body)
		}
	})
}

// Redirect targets and token realms name hosts the registry chose.
func FuzzHosts(f *testing.F) {
	for _, s := range []string{"localhost", "127.1", "0x7f.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "fe80::1%eth0",
		"0", "registry.example.com", "auth.docker.io", "a..b", "...", "0x", "1.2.3.4.5", "localhost.", "xn--localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, ok := parseIP(host)
		if ok && (ip.IsLoopback() || ip.IsUnspecified()) && !onThisMachine(host) {
			t.Fatalf("%q is %v, on this machine, but not seen so", host, ip)
		}
		if ok && !ip.Is4() && !ip.Is6() {
			t.Fatalf("%q parsed to an invalid address", host)
		}
		if mayReceive([]string{"registry.example.com"}, "https", host) && !strings.HasSuffix(strings.ToLower(hostname(host)), "example.com") {
			t.Fatalf("credentials for registry.example.com may go to %q", host)
		}
	})
}

// FuzzIndexPlatforms: whatever a registry serves as an index, listing its
// platforms returns a listing or an error, never panics, keeps within
// MaxIndexManifests, and lists only image manifests that name a platform.
func FuzzIndexPlatforms(f *testing.F) {
	plat := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"` + seedDigest + `","platform":{"os":"linux","architecture":"arm","variant":"v7"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"` + seedDigest + `","platform":{"os":"unknown","architecture":"unknown"},` +
		`"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}`
	addSeeds(f, seedIndex, plat)
	d, err := name.NewDigest("registry.example.com/app@" + seedDigest)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ps, err := indexPlatforms(d, raw, nil)
		if err != nil {
			return
		}
		if len(ps.Images) == 0 || len(ps.Images)+len(ps.Skipped) > MaxIndexManifests {
			t.Fatalf("listing of %d images, %d skipped", len(ps.Images), len(ps.Skipped))
		}
		for _, img := range ps.Images {
			if img.Platform == nil || img.Digest.Context() != d.Context() {
				t.Fatalf("image %+v: no platform, or another repository", img)
			}
		}
	})
}
