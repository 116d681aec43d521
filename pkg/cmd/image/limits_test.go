package image_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// rawManifest is a manifest given as bytes, for remote.Put.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// One 200 MiB blob listed a thousand times under the .sig tag: sc image
// verify says no (exit 1) and sc image sign --format legacy refuses to
// extend the tag (exit 3), both quickly and without reading the blob.
func TestLegacySignatureFlood(t *testing.T) {
	blob := []byte("the flood")
	digest, _, _ := v1.SHA256(strings.NewReader(string(blob)))
	var blobGets atomic.Int32
	endless := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest.String()) {
				blobGets.Add(1)
				zeros := make([]byte, 64<<10)
				for range 200 << 4 { // 200 MiB
					if _, err := w.Write(zeros); err != nil {
						return
					}
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testutil.NewRegistry(t, testutil.WithHandler(endless))
	ref, d := pushImage(t, reg, "app:v1")
	tag, err := name.NewTag(strings.Replace(d.String(), "@sha256:", ":sha256-", 1)+".sig", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	config := static.NewLayer([]byte("{}"), types.OCIConfigJSON)
	if err := remote.WriteLayer(tag.Context(), config); err != nil {
		t.Fatal(err)
	}
	cd, _ := config.Digest()
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cd, Size: 2}}
	for range registry.MaxLegacyLayers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Digest: digest, Size: 200 << 20})
	}
	raw, _ := json.Marshal(m)
	if err := remote.Put(tag, rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	priv, pub := keyFiles(t, "pw")
	env := map[string]string{"SC_KEY_PASSWORD": "pw"}

	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"verify", []string{"image", "verify", ref, "--key", pub, "--insecure-ignore-tlog"}, outcome.ExitCheckFailed},
		{"sign", []string{"image", "sign", ref, "--key", priv, "--tlog-upload=false", "--format", "legacy"}, outcome.ExitOperational},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			stdout, stderr, err := runSC(t, env, tt.args...)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if got := outcome.Code(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tt.code, stderr)
			}
			if out := stdout + stderr + err.Error(); !strings.Contains(out, "MaxSignatureSize") {
				t.Errorf("the output does not name the limit:\n%s", out)
			}
			if took > 20*time.Second {
				t.Errorf("took %v", took)
			}
			// Signing decrypts the key with scrypt, which wants 32 MiB or so.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if n := blobGets.Load(); n != 0 {
				t.Errorf("the listed blob was read %d times", n)
			}
		})
	}
}
