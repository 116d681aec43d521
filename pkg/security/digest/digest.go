// Package digest abbreviates content digests ("sha256:<hex>") for people,
// in tables, step details, messages and SARIF categories, so that every
// output of sc shortens a digest the same way.
//
// What it does not do: it does not parse, validate or compute digests
// (go-containerregistry's v1.Hash does), and it imports the standard
// library only, so that renderers can use it without linking a registry
// client.
package digest

import "strings"

// ShortLen is how many hex digits a short digest keeps, as docker does.
const ShortLen = 12

// Short abbreviates a digest to its algorithm and ShortLen hex digits:
// "sha256:0123456789ab". The digest of a reference ("repo@sha256:…") is
// abbreviated alone; a string without an algorithm (a key ID, a cache
// entry's ID) is taken as bare hex and cut to ShortLen characters. Shorter
// strings, and "", are returned as they are.
func Short(d string) string {
	if i := strings.LastIndex(d, "@"); i >= 0 {
		d = d[i+1:]
	}
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return cut(d)
	}
	return algo + ":" + cut(hex)
}

// ShortHex is Short without the algorithm: "0123456789ab".
func ShortHex(d string) string {
	s := Short(d)
	if _, hex, ok := strings.Cut(s, ":"); ok {
		return hex
	}
	return s
}

func cut(hex string) string {
	if len(hex) > ShortLen {
		return hex[:ShortLen]
	}
	return hex
}
