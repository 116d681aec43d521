package digest_test

import (
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/security/digest"
)

const hex = "749ba80b11e68a699101007845153a4d865489601a608fb5109e0d12fd0f832d"

func TestShort(t *testing.T) {
	for _, tt := range []struct {
		in, short, hex string
	}{
		{"sha256:" + hex, "sha256:749ba80b11e6", "749ba80b11e6"},
		{"sha512:" + hex + hex, "sha512:749ba80b11e6", "749ba80b11e6"},
		{"registry.example/app@sha256:" + hex, "sha256:749ba80b11e6", "749ba80b11e6"},
		{"registry.example:5000/app@sha256:" + hex, "sha256:749ba80b11e6", "749ba80b11e6"},
		{hex, "749ba80b11e6", "749ba80b11e6"}, // a key ID
		{"sha256:abc", "sha256:abc", "abc"},
		{"sha256:", "sha256:", ""},
		{"", "", ""},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := digest.Short(tt.in); got != tt.short {
				t.Errorf("Short(%q) = %q, want %q", tt.in, got, tt.short)
			}
			if got := digest.ShortHex(tt.in); got != tt.hex {
				t.Errorf("ShortHex(%q) = %q, want %q", tt.in, got, tt.hex)
			}
		})
	}
}

func FuzzShort(f *testing.F) {
	for _, s := range []string{"sha256:" + hex, "a@b:c", "", ":", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := digest.Short(s)
		if len(got) > len(s) {
			t.Fatalf("Short(%q) = %q is longer", s, got)
		}
		if _, h, ok := strings.Cut(got, ":"); ok && len(h) > digest.ShortLen || !ok && len(got) > digest.ShortLen {
			t.Fatalf("Short(%q) = %q keeps more than %d digits", s, got, digest.ShortLen)
		}
	})
}
