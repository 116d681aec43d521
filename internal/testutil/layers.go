package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// AppendFiles returns base with one more layer holding files, by path
// relative to the root: an upper layer that adds, replaces or (with
// whiteout names, ".wh.NAME") removes files of lower ones. A nil body is a
// directory; a file in a directory named bin is executable (0755), any
// other 0644.
func AppendFiles(t testing.TB, base v1.Image, files map[string][]byte) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if files[n] == nil {
			hdr = &tar.Header{Name: n + "/", Mode: 0o755, Typeflag: tar.TypeDir}
		} else if path.Base(path.Dir(n)) == "bin" {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ImageFile reads the file p (relative to the root) of img's flattened
// filesystem; a missing file fails the test.
func ImageFile(t testing.TB, img v1.Image, p string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the image: %v", p, err)
		}
		if strings.TrimPrefix(hdr.Name, "/") == p {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// CountingImage is an image that counts, per layer digest, the reads of
// its layers' content (compressed or not): a test of what was downloaded
// or unpacked counts them.
type CountingImage struct {
	v1.Image
	reads map[v1.Hash]*atomic.Int32
}

// NewCountingImage returns img counting the reads of its layers.
func NewCountingImage(t testing.TB, img v1.Image) CountingImage {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	c := CountingImage{Image: img, reads: map[v1.Hash]*atomic.Int32{}}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		c.reads[d] = &atomic.Int32{}
	}
	return c
}

// Reads is the number of reads of the layer with digest d so far.
func (c CountingImage) Reads(d v1.Hash) int {
	if n, ok := c.reads[d]; ok {
		return int(n.Load())
	}
	return 0
}

func (c CountingImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		out[i] = countingLayer{Layer: l, n: c.reads[d]}
	}
	return out, nil
}

type countingLayer struct {
	v1.Layer
	n *atomic.Int32
}

func (l countingLayer) Compressed() (io.ReadCloser, error) {
	l.n.Add(1)
	return l.Layer.Compressed()
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	l.n.Add(1)
	return l.Layer.Uncompressed()
}
