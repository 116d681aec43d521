package pipeline

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
)

func readAll(t *testing.T, open func() (io.ReadCloser, error)) ([]byte, error) {
	t.Helper()
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// The cached image's layers read as the image's own, are downloaded once
// whatever is read, and keep the manifest's digest, diff ID and media type.
func TestLayerCacheImage(t *testing.T) {
	base, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := newLayerCache(t.TempDir())
	ls, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	counted := testutil.NewCountingImage(t, base)
	img := c.image(counted)
	got, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ls) {
		t.Fatalf("%d layers, want %d", len(got), len(ls))
	}
	for i, l := range got {
		wantTar, err := readAll(t, ls[i].Uncompressed)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			tar, err := readAll(t, l.Uncompressed)
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			if !bytes.Equal(tar, wantTar) {
				t.Errorf("layer %d: the cached tarball differs from the layer's", i)
			}
		}
		wantGz, _ := readAll(t, ls[i].Compressed)
		if gz, err := readAll(t, l.Compressed); err != nil || !bytes.Equal(gz, wantGz) {
			t.Errorf("layer %d: compressed read %d bytes, %v; want the layer's %d bytes", i, len(gz), err, len(wantGz))
		}
		for _, pair := range [][2]func() (v1.Hash, error){{l.Digest, ls[i].Digest}, {l.DiffID, ls[i].DiffID}} {
			a, _ := pair[0]()
			b, _ := pair[1]()
			if a != b {
				t.Errorf("layer %d: %s, want %s", i, a, b)
			}
		}
		if mt, _ := l.MediaType(); mt != types.DockerLayer {
			t.Errorf("layer %d: media type %s", i, mt)
		}
	}
	for i, l := range ls {
		if d, _ := l.Digest(); counted.Reads(d) != 1 {
			t.Errorf("layer %d, read 3 times, downloaded %d times, want once", i, counted.Reads(d))
		}
	}
}

// A cache entry changed on disk after it was written is not taken as the
// layer: the read fails at its end, with an operational error that says
// what to do.
func TestLayerCacheEntryChangedOnDisk(t *testing.T) {
	l, err := random.Layer(4096, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	c := newLayerCache(t.TempDir())
	cl := &cachedLayer{Layer: l, c: c}
	if _, err := readAll(t, cl.Compressed); err != nil {
		t.Fatal(err)
	}
	h, _ := l.Digest()
	// the same gzip stream with different content: still decompresses
	other, err := random.Layer(4096, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := readAll(t, other.Compressed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path(h), gz, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (io.ReadCloser, error){"compressed": cl.Compressed, "uncompressed": cl.Uncompressed} {
		_, err := readAll(t, open)
		if err == nil || !strings.Contains(err.Error(), "changed since it was cached") {
			t.Errorf("%s read of a changed entry: %v, want it refused", name, err)
		}
		if outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("%s read: exit code %d, want operational", name, outcome.Code(err))
		}
	}
}
