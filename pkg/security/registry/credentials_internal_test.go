package registry

import "testing"

func TestMayReceive(t *testing.T) {
	for _, tt := range []struct {
		hosts  []string
		scheme string
		target string
		want   bool
	}{
		{[]string{"ghcr.io"}, "https", "ghcr.io", true},
		{[]string{"ghcr.io"}, "https", "GHCR.IO:443", true},
		{[]string{"ghcr.io"}, "https", "evil.example", false},
		{[]string{"ghcr.io"}, "https", "ghcr.io.evil.example", false},
		{[]string{"index.docker.io"}, "https", "auth.docker.io", true},
		{[]string{"registry.gitlab.com"}, "https", "gitlab.com", true},
		{[]string{"registry.example.com:5000"}, "https", "auth.example.com", true},
		{[]string{"registry.example.com"}, "https", "example.org", false},
		{[]string{"foo.github.io"}, "https", "bar.github.io", false}, // a public suffix
		{[]string{"127.0.0.1:5000"}, "http", "127.0.0.1:5000", true},
		{[]string{"127.0.0.1:5000"}, "http", "127.0.0.1:5001", false},
		{[]string{"127.0.0.1:5000"}, "http", "localhost:5000", false},
		{[]string{"localhost:5000"}, "http", "localhost:5001", false},
		{[]string{"ghcr.io", "localhost:5000"}, "http", "localhost:5000", true},
	} {
		if got := mayReceive(tt.hosts, tt.scheme, tt.target); got != tt.want {
			t.Errorf("mayReceive(%v, %s, %s) = %v, want %v", tt.hosts, tt.scheme, tt.target, got, tt.want)
		}
	}
}
