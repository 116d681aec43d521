package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/sc-project/sc/pkg/outcome"
)

// ErrInvalidKey means a Key does not validate.
var ErrInvalidKey = outcome.Invalid("invalid cache key")

// Key names one cached answer. Two requests share an entry only when all four
// fields are equal, so every input that changes the answer must be in one of
// them.
type Key struct {
	// Operation is what produced the answer, for example "sbom" or "scan":
	// lower-case letters, digits, '.', '_' and '-', at most 64 characters.
	// It also chooses the entry's TTL.
	Operation string `json:"operation"`
	// Digest is the image digest the answer is about, "sha256:<64 hex>" or
	// "sha512:<128 hex>".
	Digest string `json:"digest"`
	// ConfigHash identifies the configuration that changes the answer (an
	// SBOM format, scanner options); see HashConfig. Empty when nothing
	// configurable changes it.
	ConfigHash string `json:"configHash,omitempty"`
	// ToolVersion identifies the tool and, for scanners, the vulnerability
	// database version that produced the answer.
	ToolVersion string `json:"toolVersion,omitempty"`
}

// Validate reports whether k can name an entry. It does not change k.
func (k Key) Validate() error {
	if !validOperation(k.Operation) {
		return fmt.Errorf("%w: operation %q must be 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", ErrInvalidKey, k.Operation)
	}
	if !validDigest(k.Digest) {
		return fmt.Errorf("%w: digest %q is not sha256:<64 hex> or sha512:<128 hex>", ErrInvalidKey, k.Digest)
	}
	for _, f := range []struct{ name, v string }{{"config hash", k.ConfigHash}, {"tool version", k.ToolVersion}} {
		if len(f.v) > 1024 || strings.ContainsFunc(f.v, unicode.IsControl) {
			return fmt.Errorf("%w: %s must be at most 1024 characters without control characters", ErrInvalidKey, f.name)
		}
	}
	return nil
}

// ID is the hex SHA-256 of k's canonical encoding, used as the entry's file
// name. The encoding is a JSON array of the four fields behind a version
// line, so no two different keys share an encoding.
func (k Key) ID() string {
	b, err := json.Marshal([4]string{k.Operation, k.Digest, k.ConfigHash, k.ToolVersion})
	if err != nil {
		// Marshalling an array of strings cannot fail.
		panic(err)
	}
	h := sha256.New()
	h.Write([]byte("sc-cache-key/v1\n"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// String renders k for messages.
func (k Key) String() string {
	s := k.Operation + " " + k.Digest
	if k.ConfigHash != "" {
		s += " config=" + k.ConfigHash
	}
	if k.ToolVersion != "" {
		s += " tool=" + k.ToolVersion
	}
	return s
}

// HashConfig returns "sha256:<hex>" of v's JSON encoding, for
// Key.ConfigHash. encoding/json writes struct fields in declaration order and
// map keys sorted, so equal values hash equally.
func HashConfig(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", outcome.Invalidf("hashing cache configuration: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func validOperation(op string) bool {
	if op == "" || len(op) > 64 {
		return false
	}
	for i, r := range op {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func validDigest(d string) bool {
	algo, hexPart, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	var n int
	switch algo {
	case "sha256":
		n = 64
	case "sha512":
		n = 128
	default:
		return false
	}
	if len(hexPart) != n {
		return false
	}
	for _, r := range hexPart {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
