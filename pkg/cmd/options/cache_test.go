package options

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

func TestCacheResolveDir(t *testing.T) {
	// The last fallback reads the process environment through
	// os.UserCacheDir; pin it.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", "")
	userCache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"flag wins", "/flag", map[string]string{EnvCacheDir: "/env", "XDG_CACHE_HOME": "/xdg"}, "/flag"},
		{"SC_CACHE_DIR", "", map[string]string{EnvCacheDir: "/env", "XDG_CACHE_HOME": "/xdg"}, "/env"},
		{"XDG_CACHE_HOME", "", map[string]string{"XDG_CACHE_HOME": "/xdg"}, "/xdg/sc"},
		{"relative XDG_CACHE_HOME is ignored", "", map[string]string{"XDG_CACHE_HOME": "rel"}, filepath.Join(userCache, "sc")},
		{"user cache dir", "", nil, filepath.Join(userCache, "sc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cache{}
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			c.AddFlags(fs)
			if tt.flag != "" {
				if err := fs.Parse([]string{"--cache-dir", tt.flag}); err != nil {
					t.Fatal(err)
				}
			}
			root := &Root{Getenv: func(k string) string { return tt.env[k] }}
			got, err := c.ResolveDir(root)
			if err != nil {
				t.Fatalf("ResolveDir() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("ResolveDir() = %q, want %q", got, tt.want)
			}
			cc, err := c.Open(root)
			if err != nil || cc.Dir() != tt.want {
				t.Errorf("Open() = %v, %v; want a cache in %s", cc, err, tt.want)
			}
		})
	}
}

func TestCacheResolveDirWithoutHome(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	if _, err := os.UserCacheDir(); err == nil {
		t.Fatal("os.UserCacheDir() found a directory without HOME on this platform")
	}
	_, err := (&Cache{}).ResolveDir(&Root{})
	if !errors.Is(err, outcome.ErrInvalid) {
		t.Errorf("ResolveDir() error = %v, want invalid", err)
	}
}
