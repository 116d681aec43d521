package options

import (
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
)

// EnvCacheDir names the environment variable that sets the cache directory.
const EnvCacheDir = "SC_CACHE_DIR"

// Cache is the flag group of the on-disk cache of SBOMs and scan results.
type Cache struct {
	// Dir is --cache-dir. Default: $SC_CACHE_DIR, else $XDG_CACHE_HOME/sc,
	// else the user cache directory (os.UserCacheDir) /sc.
	Dir string
}

// AddFlags binds the group's flags.
func (c *Cache) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Dir, "cache-dir", "",
		"directory of sc's cache (default: $SC_CACHE_DIR, else $XDG_CACHE_HOME/sc, else the user cache directory/sc)")
}

// ResolveDir returns the cache directory: --cache-dir, else $SC_CACHE_DIR,
// else $XDG_CACHE_HOME/sc (when absolute, as the XDG specification requires),
// else os.UserCacheDir()/sc. It does not create it.
func (c *Cache) ResolveDir(root *Root) (string, error) {
	if c.Dir != "" {
		return c.Dir, nil
	}
	getenv := root.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if d := getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sc"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", outcome.Invalidf("no cache directory: set --cache-dir or %s (%w)", EnvCacheDir, err)
	}
	return filepath.Join(d, "sc"), nil
}

// Open resolves the directory and returns the cache in it.
func (c *Cache) Open(root *Root, opts ...cache.Option) (*cache.Cache, error) {
	dir, err := c.ResolveDir(root)
	if err != nil {
		return nil, err
	}
	return cache.New(dir, opts...)
}
