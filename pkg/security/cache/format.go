package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// An entry file is one header line and the payload:
//
//	sc-cache v1 {"key":{…},"created":"…","size":1234,"sha256":"…"}\n<payload>
//
// The header says how long the payload is and what it hashes to, so a
// truncated, extended or altered payload is detected on read.
const (
	magic = "sc-cache v1 "
	// maxHeader bounds the header line, magic and newline included.
	maxHeader = 16 << 10
)

// header is the first line of an entry file.
type header struct {
	Key     Key       `json:"key"`
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
}

// errCorrupt marks an entry file that cannot be trusted. It never leaves the
// package: a corrupt entry is a miss.
var errCorrupt = errors.New("corrupt cache entry")

// encode returns the file contents for payload under h's key and time.
func encode(key Key, created time.Time, payload []byte) ([]byte, error) {
	sum := sha256.Sum256(payload)
	h, err := json.Marshal(header{Key: key, Created: created.UTC(), Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(magic) + len(h) + 1 + len(payload))
	buf.WriteString(magic)
	buf.Write(h)
	buf.WriteByte('\n')
	buf.Write(payload)
	return buf.Bytes(), nil
}

// parseHeader reads the header line at the start of data (the whole file or
// just its beginning) and returns it with the header line's length.
func parseHeader(data []byte) (header, int, error) {
	if !bytes.HasPrefix(data, []byte(magic)) {
		return header{}, 0, fmt.Errorf("%w: no sc-cache v1 header", errCorrupt)
	}
	nl := bytes.IndexByte(data[:min(len(data), maxHeader)], '\n')
	if nl < 0 {
		return header{}, 0, fmt.Errorf("%w: header line is unterminated or too long", errCorrupt)
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(data[len(magic):nl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return header{}, 0, fmt.Errorf("%w: header: %w", errCorrupt, err)
	}
	if dec.More() {
		return header{}, 0, fmt.Errorf("%w: trailing data in header", errCorrupt)
	}
	if h.Size < 0 || len(h.SHA256) != sha256.Size*2 || h.Created.IsZero() {
		return header{}, 0, fmt.Errorf("%w: header fields out of range", errCorrupt)
	}
	if err := h.Key.Validate(); err != nil {
		return header{}, 0, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return h, nl + 1, nil
}

// decode checks a whole entry file and returns its header and payload.
func decode(data []byte) (header, []byte, error) {
	h, n, err := parseHeader(data)
	if err != nil {
		return header{}, nil, err
	}
	payload := data[n:]
	if int64(len(payload)) != h.Size {
		return header{}, nil, fmt.Errorf("%w: payload is %d bytes, header says %d", errCorrupt, len(payload), h.Size)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != h.SHA256 {
		return header{}, nil, fmt.Errorf("%w: payload checksum mismatch", errCorrupt)
	}
	return h, payload, nil
}
