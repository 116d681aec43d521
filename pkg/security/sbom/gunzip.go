package sbom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// gunzipImage is an image whose gzip layers stereoscope unpacks with
// klauspost/compress's gzip reader instead of the standard library's,
// which go-containerregistry's Uncompressed uses: unpacking the layers is
// the largest part of a cold SBOM, and klauspost's reader is the faster
// one. Everything else about the image, and the layers' compressed
// streams with their digest checks, is the image's own; layers hollowed
// for composing (hollowLayer) are left as they are.
type gunzipImage struct{ v1.Image }

func (g gunzipImage) Layers() ([]v1.Layer, error) {
	ls, err := g.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = gunzipLayer{l}
		if _, ok := l.(hollowLayer); ok {
			// nothing to unpack: its content is an empty tar
			out[i] = l
		}
	}
	return out, nil
}

// gunzipLayer is a layer whose Uncompressed gunzips its compressed stream
// with klauspost/compress when that stream is gzip. A stream that is not
// (zstd, or a tar labelled as compressed) is decompressed as
// go-containerregistry decompresses any compressed layer
// (partial.CompressedToLayer), from the stream already opened: the layer
// is fetched once either way.
type gunzipLayer struct{ v1.Layer }

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

func (l gunzipLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	stream := readCloser{Reader: br, Closer: rc}
	if head, err := br.Peek(len(gzipMagic)); err != nil || !bytes.Equal(head, gzipMagic) {
		// not gzip, or too short to say: go-containerregistry's own
		// reading decides, and reports
		ul, err := partial.CompressedToLayer(openedLayer{Layer: l.Layer, stream: stream})
		if err != nil {
			return nil, errors.Join(err, rc.Close())
		}
		return ul.Uncompressed()
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("reading the layer's gzip header: %w", err), rc.Close())
	}
	return readCloser{Reader: zr, Closer: closers{zr, rc}}, nil
}

// openedLayer is a layer whose compressed stream is already open: its
// Compressed hands that stream over.
type openedLayer struct {
	v1.Layer
	stream io.ReadCloser
}

func (l openedLayer) Compressed() (io.ReadCloser, error) { return l.stream, nil }

// readCloser reads from one thing and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// closers closes each of its closers, in order.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
