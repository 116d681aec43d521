package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sc-project/sc/pkg/outcome"
)

// Redacted is what a literal secret prints as.
const Redacted = "[redacted]"

type secretKind uint8

const (
	secretNone secretKind = iota
	secretLiteral
	secretEnv
	secretFile
)

// Secret is a value that must never be shown: a password, an API token, key
// material. In a configuration it is a string in one of three forms:
//
//	${env:NAME}   the value of environment variable NAME; set to "" it is
//	              the empty value (COSIGN_PASSWORD= is an empty password,
//	              as cosign reads it), unset it is an error
//	${file:PATH}  the contents of file PATH (relative to the configuration
//	              file), less one trailing newline
//	anything else a literal value (allowed, but it puts the secret in the
//	              file); write $${ for a literal "${"
//
// A Secret keeps the reference, not the value: Resolve reads the value when
// it is needed. Every way of printing a Secret (String, %v, %#v, JSON,
// YAML, slog) shows the reference as written, or "[redacted]" for a literal,
// and errors name the reference, never a value. The zero Secret is unset.
//
// Compare Secrets with Equal, not ==.
type Secret struct {
	kind secretKind
	ref  string // the variable name or the path; empty for a literal
	// lit is the literal value. It is kept behind a pointer because fmt,
	// when a verb does not suit a value (%s of a struct holding pointers),
	// prints nested values by reflection without calling their methods;
	// a nested pointer prints as an address, never as the value.
	lit *string
}

func literalSecret(v string) Secret { return Secret{kind: secretLiteral, lit: &v} }

// value is the literal, the variable name or the path.
func (s Secret) value() string {
	if s.kind == secretLiteral {
		return *s.lit
	}
	return s.ref
}

// Equal reports whether s and o are the same reference or literal.
func (s Secret) Equal(o Secret) bool {
	return s.kind == o.kind && s.ref == o.ref && (s.lit == o.lit || (s.lit != nil && o.lit != nil && *s.lit == *o.lit))
}

var (
	secretRefRE = regexp.MustCompile(`^\$\{(env|file):([^{}\n]*)\}$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// errMalformedRef never includes the text: a malformed reference may be a
// literal secret that happens to contain "${".
var errMalformedRef = errors.New("malformed secret reference: write ${env:NAME} or ${file:PATH} as the whole value, or $${ for a literal \"${\"")

// ParseSecret reads a Secret as written in a configuration. The empty
// string is the unset Secret. Errors never include the text.
func ParseSecret(text string) (Secret, error) {
	if text == "" {
		return Secret{}, nil
	}
	if !strings.Contains(text, "${") {
		return literalSecret(text), nil
	}
	if m := secretRefRE.FindStringSubmatch(text); m != nil {
		switch {
		case m[1] == "env" && !envNameRE.MatchString(m[2]):
			return Secret{}, errors.New("malformed secret reference: NAME in ${env:NAME} must be letters, digits and _, not starting with a digit")
		case m[1] == "file" && strings.TrimSpace(m[2]) == "":
			return Secret{}, errors.New("malformed secret reference: ${file:PATH} needs a path")
		case m[1] == "env":
			return Secret{kind: secretEnv, ref: m[2]}, nil
		default:
			return Secret{kind: secretFile, ref: m[2]}, nil
		}
	}
	if strings.Contains(strings.ReplaceAll(text, "$${", ""), "${") {
		return Secret{}, errMalformedRef
	}
	return literalSecret(strings.ReplaceAll(text, "$${", "${")), nil
}

// EnvSecret returns a Secret that reads environment variable name.
func EnvSecret(name string) Secret { return Secret{kind: secretEnv, ref: name} }

// FileSecret returns a Secret that reads the file at path.
func FileSecret(path string) Secret { return Secret{kind: secretFile, ref: path} }

// IsZero reports whether s is unset.
func (s Secret) IsZero() bool { return s.kind == secretNone }

// IsReference reports whether s is an ${env:…} or ${file:…} reference
// rather than a literal.
func (s Secret) IsReference() bool { return s.kind == secretEnv || s.kind == secretFile }

// Resolve returns the secret's value. lookupEnv reads the environment as
// os.LookupEnv does, telling an unset variable (an error: "is not set")
// from one set to "" (the empty value: an empty password); readFile reads
// files (an empty file is an error). Resolve touches nothing else. The
// unset Secret resolves to "". Errors are in the outcome.ErrInvalid class
// and name the reference, never a value.
func (s Secret) Resolve(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	switch s.kind {
	case secretLiteral:
		return *s.lit, nil
	case secretEnv:
		if lookupEnv == nil {
			return "", outcome.Invalidf("%s: no environment to read it from", s)
		}
		v, ok := lookupEnv(s.ref)
		if !ok {
			return "", outcome.Invalidf("%s is not set", s)
		}
		return v, nil
	case secretFile:
		if readFile == nil {
			return "", outcome.Invalidf("%s: no file system to read it from", s)
		}
		b, err := readFile(s.ref)
		if err != nil {
			return "", outcome.Invalidf("reading %s: %w", s, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", outcome.Invalidf("%s is empty", s)
		}
		return v, nil
	default:
		return "", nil
	}
}

// String returns the reference as written, "[redacted]" for a literal, or
// "" when unset.
func (s Secret) String() string {
	switch s.kind {
	case secretLiteral:
		return Redacted
	case secretEnv:
		return "${env:" + s.ref + "}"
	case secretFile:
		return "${file:" + s.ref + "}"
	default:
		return ""
	}
}

// GoString prints s for %#v without its value.
func (s Secret) GoString() string { return "api.Secret(" + strconv.Quote(s.String()) + ")" }

// Format makes every fmt verb print String (and %#v print GoString), so no
// verb can reach the value.
func (s Secret) Format(f fmt.State, verb rune) { formatSafe(f, verb, s.String(), s.GoString()) }

// LogValue makes slog print String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText returns String: a literal marshals as "[redacted]", so a
// marshalled configuration does not round-trip literal secrets.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON returns String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML returns String.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalText reads s as ParseSecret does.
func (s *Secret) UnmarshalText(b []byte) error {
	v, err := ParseSecret(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// rebase makes a relative ${file:…} path relative to dir.
func (s Secret) rebase(dir string) Secret {
	if s.kind == secretFile {
		s.ref = joinPath(dir, s.ref)
	}
	return s
}

// KeyRef locates a private key. Written as a Secret, its literal form is a
// path to a PEM key file (relative to the configuration file) or a KMS URI
// (awskms://…, hashivault://…: KMSSchemes; other schemes, such as
// gcpkms://, azurekms:// or k8s://, validation refuses); a reference
// (${env:…}, ${file:…}) holds PEM. Unlike other literal secrets, a literal
// path or URI is printed as written, since it locates the key without being
// it; a literal that holds key material is "[redacted]".
type KeyRef struct {
	Secret
}

// ParseKeyRef reads a KeyRef as written in a configuration.
func ParseKeyRef(text string) (KeyRef, error) {
	s, err := ParseSecret(text)
	return KeyRef{Secret: s}, err
}

// IsKMS reports whether k is a literal KMS URI.
func (k KeyRef) IsKMS() bool { return k.kind == secretLiteral && isURI(*k.lit) }

// Equal reports whether k and o locate the key the same way.
func (k KeyRef) Equal(o KeyRef) bool { return k.Secret.Equal(o.Secret) }

// Resolve returns the key as PEM text, or a KMS URI as written. A literal
// path is read with readFile; references resolve as Secret.Resolve does,
// except that a variable set to "" is an error: it holds no key.
func (k KeyRef) Resolve(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	if k.kind != secretLiteral || k.IsKMS() || looksLikeKeyMaterial(*k.lit) {
		v, err := k.Secret.Resolve(lookupEnv, readFile)
		if err == nil && v == "" && k.kind == secretEnv {
			return "", outcome.Invalidf("%s is empty: it holds no key", k)
		}
		return v, err
	}
	return FileSecret(*k.lit).Resolve(lookupEnv, readFile)
}

// String returns the reference, path or URI as written, or "[redacted]"
// for literal key material.
func (k KeyRef) String() string {
	if k.kind == secretLiteral && !looksLikeKeyMaterial(*k.lit) {
		return *k.lit
	}
	return k.Secret.String()
}

// GoString prints k for %#v without key material.
func (k KeyRef) GoString() string { return "api.KeyRef(" + strconv.Quote(k.String()) + ")" }

// Format makes every fmt verb print String (and %#v print GoString).
func (k KeyRef) Format(f fmt.State, verb rune) { formatSafe(f, verb, k.String(), k.GoString()) }

// LogValue makes slog print String.
func (k KeyRef) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalText returns String.
func (k KeyRef) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalJSON returns String as a JSON string.
func (k KeyRef) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// MarshalYAML returns String.
func (k KeyRef) MarshalYAML() (any, error) { return k.String(), nil }

// rebase makes a relative key path or ${file:…} path relative to dir.
func (k KeyRef) rebase(dir string) KeyRef {
	if k.kind == secretLiteral && !k.IsKMS() && !looksLikeKeyMaterial(*k.lit) {
		k.Secret = literalSecret(joinPath(dir, *k.lit))
		return k
	}
	k.Secret = k.Secret.rebase(dir)
	return k
}

func formatSafe(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, gs)
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(s))
	default:
		_, _ = io.WriteString(f, s)
	}
}

// looksLikeKeyMaterial reports whether a literal may be a key rather than a
// path or URI: PEM always spans lines.
func looksLikeKeyMaterial(v string) bool {
	return strings.ContainsAny(v, "\r\n") || strings.Contains(v, "-----BEGIN") || strings.Contains(v, "PRIVATE KEY")
}

var uriRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

func isURI(v string) bool { return uriRE.MatchString(v) }

// KMSSchemes are the schemes of the KMS key URIs sc signs and verifies
// with, through sigstore's own providers: AWS KMS (awskms://[ENDPOINT]/ID,
// ARN or alias/NAME) and HashiCorp Vault's transit engine
// (hashivault://KEY). Other KMS schemes (gcpkms://, azurekms://, k8s://)
// are refused by validation.
func KMSSchemes() []string { return []string{"awskms://", "hashivault://"} }

// IsSupportedKMS reports whether uri is a key URI of one of KMSSchemes.
func IsSupportedKMS(uri string) bool {
	for _, s := range KMSSchemes() {
		if strings.HasPrefix(uri, s) {
			return true
		}
	}
	return false
}

// uriScheme is the scheme of a URI with its "://".
func uriScheme(uri string) string { return uriRE.FindString(uri) }

// joinPath makes a relative path relative to dir, cleaned; absolute paths,
// URIs and the empty path are returned as they are.
func joinPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || isURI(p) {
		return p
	}
	return filepath.Join(dir, p)
}
