package sbom

import (
	"bytes"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
)

func readAllOf(open func() (io.ReadCloser, error)) ([]byte, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// truncatedLayer serves the first n bytes of its compressed stream.
type truncatedLayer struct {
	v1.Layer
	n int64
}

func (l truncatedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, l.n), rc}, nil
}

// A layer unpacks to the tarball its own Uncompressed gives, whatever its
// compression, from one fetch; a gzip stream cut short is an error, not a
// short tarball.
func TestGunzipLayer(t *testing.T) {
	for _, mt := range []types.MediaType{types.DockerLayer, types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer} {
		l, err := random.Layer(64<<10, mt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := readAllOf(l.Uncompressed)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			t.Fatal(err)
		}
		counted := testutil.NewCountingImage(t, img)
		ls, err := gunzipImage{counted}.Layers()
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAllOf(ls[0].Uncompressed)
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: unpacked %d bytes, want the layer's own %d", mt, len(got), len(want))
		}
		if d, _ := l.Digest(); counted.Reads(d) != 1 {
			t.Errorf("%s: the layer was fetched %d times to unpack it, want once", mt, counted.Reads(d))
		}
	}
	l, err := random.Layer(64<<10, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := l.Size()
	if _, err := readAllOf(gunzipLayer{truncatedLayer{Layer: l, n: size / 2}}.Uncompressed); err == nil {
		t.Error("a gzip stream cut in half unpacked without an error")
	}
}
