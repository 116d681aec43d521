// Package cache keeps answers that are expensive to compute and determined by
// their inputs — an image's SBOM, a scan result — in a directory on disk, so
// that a second run on the same image digest with the same configuration and
// tool version does not redo the work.
//
// An entry is named by a Key (operation, image digest, configuration hash,
// tool/database version); its file name is the SHA-256 of the key's canonical
// encoding, and the key is kept in the entry's header so that List can show
// it. Entries expire after a TTL chosen by operation (DefaultTTLs).
//
// Writes are atomic: a temporary file in the same directory is written,
// synced and renamed over the entry, so concurrent writers and readers of the
// same key only ever see a complete entry. Every read checks the header's
// length and SHA-256 of the payload: a truncated, corrupted or foreign file
// is a miss, never an error, and is removed.
//
// What it does not do: it does not choose the directory (sc resolves
// $SC_CACHE_DIR, $XDG_CACHE_HOME/sc or the user cache directory in
// pkg/cmd/options), does not compute answers or decorate anything, and does
// not bound its size: `sc cache clean` removes what has expired. The cache
// holds no secrets and must not be given any.
package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sc-project/sc/pkg/outcome"
)

// DefaultTTL is the TTL of an operation without its own in DefaultTTLs.
const DefaultTTL = 24 * time.Hour

// DefaultTTLs returns a new map of the default TTL per operation: "sbom" and
// "sbom-layers" (cataloguing per layer chain) 7 days (an image's contents
// never change under its digest, nor a chain's under its ID; only the tool
// does, and its version is in the key), "scan" 24 hours (vulnerability
// databases are updated daily).
func DefaultTTLs() map[string]time.Duration {
	return map[string]time.Duration{
		"sbom":        7 * 24 * time.Hour,
		"sbom-layers": 7 * 24 * time.Hour,
		"scan":        24 * time.Hour,
	}
}

const (
	// entriesDir is the subdirectory for the current entry format, so that a
	// future format can live beside it.
	entriesDir = "v1"
	tempPrefix = ".tmp-"
	// staleTemp is the age after which Clean removes a temporary file left
	// by an interrupted write.
	staleTemp = time.Hour
)

// Cache is an on-disk cache in one directory. It is safe for concurrent use
// by goroutines and by processes sharing the directory.
type Cache struct {
	dir        string
	ttls       map[string]time.Duration
	defaultTTL time.Duration
	now        func() time.Time
	logger     *slog.Logger
}

// Option configures New.
type Option func(*Cache)

// WithTTL sets the TTL of one operation. Default: DefaultTTLs, then
// DefaultTTL.
func WithTTL(operation string, ttl time.Duration) Option {
	return func(c *Cache) { c.ttls[operation] = ttl }
}

// WithDefaultTTL sets the TTL of operations without their own. Default:
// DefaultTTL.
func WithDefaultTTL(ttl time.Duration) Option {
	return func(c *Cache) { c.defaultTTL = ttl }
}

// WithClock sets the clock used to stamp and expire entries. Default:
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) { c.now = now }
}

// WithLogger sets the logger for removed corrupt entries and, at debug
// level, every hit, miss and store. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *Cache) { c.logger = l }
}

// New returns a cache in dir. It does not touch the disk: the directory is
// created by the first Put. Every TTL must be positive.
func New(dir string, opts ...Option) (*Cache, error) {
	if dir == "" {
		return nil, outcome.Invalid("cache directory is empty")
	}
	c := &Cache{
		dir:        dir,
		ttls:       DefaultTTLs(),
		defaultTTL: DefaultTTL,
		now:        time.Now,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	if c.defaultTTL <= 0 {
		return nil, outcome.Invalidf("cache default TTL must be positive, not %s", c.defaultTTL)
	}
	for op, ttl := range c.ttls {
		if ttl <= 0 {
			return nil, outcome.Invalidf("cache TTL for %q must be positive, not %s", op, ttl)
		}
	}
	return c, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// TTL is how long entries of operation stay valid.
func (c *Cache) TTL(operation string) time.Duration {
	if ttl, ok := c.ttls[operation]; ok {
		return ttl
	}
	return c.defaultTTL
}

func (c *Cache) entries() string { return filepath.Join(c.dir, entriesDir) }

func (c *Cache) path(id string) string { return filepath.Join(c.entries(), id) }

// Get returns the payload stored under key. ok is false on a miss: no entry,
// an expired one, or one that is truncated, corrupted or belongs to another
// key (such an entry is removed). err is for what makes the cache unusable
// (an unreadable directory) and is operational.
func (c *Cache) Get(ctx context.Context, key Key) (payload []byte, ok bool, err error) {
	if err := key.Validate(); err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	path := c.path(key.ID())
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.miss(ctx, key, "no entry")
		return nil, false, nil
	}
	if err != nil {
		return nil, false, outcome.Operationalf("reading cache entry for %s: %w", key, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, false, outcome.Operationalf("reading cache entry for %s: %w", key, err)
	}
	if !info.Mode().IsRegular() {
		return nil, false, outcome.Operationalf("reading cache entry for %s: %s is not a regular file", key, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, false, outcome.Operationalf("reading cache entry for %s: %w", key, err)
	}
	h, payload, err := decode(data)
	if err == nil && h.Key != key {
		err = fmt.Errorf("%w: entry belongs to %s", errCorrupt, h.Key)
	}
	if err != nil {
		c.removeBad(path, info, err)
		c.miss(ctx, key, "corrupt entry removed")
		return nil, false, nil
	}
	if c.expired(h.Key.Operation, h.Created) {
		c.miss(ctx, key, "expired")
		return nil, false, nil
	}
	c.logger.DebugContext(ctx, "cache hit", "operation", key.Operation, "digest", key.Digest, "tool", key.ToolVersion,
		"created", h.Created.UTC().Format(time.RFC3339), "bytes", len(payload))
	return payload, true, nil
}

// miss logs a miss at debug level.
func (c *Cache) miss(ctx context.Context, key Key, why string) {
	c.logger.DebugContext(ctx, "cache miss", "operation", key.Operation, "digest", key.Digest, "tool", key.ToolVersion, "reason", why)
}

// Put stores payload under key, replacing any entry, atomically: readers see
// the old entry or the new one, never a mix. Errors are operational.
func (c *Cache) Put(ctx context.Context, key Key, payload []byte) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := encode(key, c.now(), payload)
	if err != nil {
		return outcome.Operationalf("encoding cache entry for %s: %w", key, err)
	}
	dir := c.entries()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return outcome.Operationalf("creating cache directory: %w", err)
	}
	id := key.ID()
	tmp, err := os.CreateTemp(dir, tempPrefix+id[:16]+"-*")
	if err != nil {
		return outcome.Operationalf("writing cache entry for %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return outcome.Operationalf("writing cache entry for %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return outcome.Operationalf("syncing cache entry for %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return outcome.Operationalf("writing cache entry for %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), c.path(id)); err != nil {
		return outcome.Operationalf("storing cache entry for %s: %w", key, err)
	}
	committed = true
	// Make the rename itself durable. The entry is already visible, and
	// some file systems refuse to sync a directory, so a failure here is
	// only logged.
	if d, err := os.Open(dir); err == nil {
		if err := d.Sync(); err != nil {
			c.logger.Debug("syncing cache directory", "dir", dir, "err", err.Error())
		}
		_ = d.Close()
	}
	c.logger.DebugContext(ctx, "cache store", "operation", key.Operation, "digest", key.Digest, "tool", key.ToolVersion, "bytes", len(payload))
	return nil
}

// Entry describes one entry file, as List and Clean report it.
type Entry struct {
	// ID is the entry's file name: the hex SHA-256 of its key.
	ID string `json:"id"`
	// Key is the key the entry was stored under; zero when Corrupt.
	Key Key `json:"key"`
	// Created is when the entry was stored; for a corrupt entry, the file's
	// modification time.
	Created time.Time `json:"created"`
	// Expires is when the entry stops being served; zero when Corrupt.
	Expires time.Time `json:"expires,omitzero"`
	// Expired reports whether Expires has passed, or the entry is corrupt.
	Expired bool `json:"expired"`
	// Size is the payload's size in bytes.
	Size int64 `json:"size"`
	// FileSize is the entry file's size on disk in bytes.
	FileSize int64 `json:"fileSize"`
	// Path is the entry file.
	Path string `json:"path"`
	// Corrupt reports an entry whose header cannot be read, whose file size
	// disagrees with its header, or whose file name is not its key's ID. It
	// will never be served. (List reads only headers; Get also checks the
	// payload's SHA-256.)
	Corrupt bool `json:"corrupt,omitempty"`
}

// listed is an Entry with the file identity it was read from, so that a
// removal can tell whether the file was replaced since.
type listed struct {
	Entry
	info fs.FileInfo
}

// List returns the cache's entries sorted by operation, digest and creation
// time, corrupt ones last. A missing directory is an empty cache. Errors are
// operational.
func (c *Cache) List(ctx context.Context) ([]Entry, error) {
	ls, _, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ls))
	for i, l := range ls {
		out[i] = l.Entry
	}
	return out, nil
}

// list returns the entries and the temporary files it saw.
func (c *Cache) list(ctx context.Context) ([]listed, []listed, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	dir := c.entries()
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, outcome.Operationalf("listing cache %s: %w", c.dir, err)
	}
	now := c.now()
	var entries, temps []listed
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		path := filepath.Join(dir, de.Name())
		info, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, nil, outcome.Operationalf("listing cache %s: %w", c.dir, err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		l := listed{Entry: Entry{ID: de.Name(), Path: path, FileSize: info.Size(), Created: info.ModTime().UTC()}, info: info}
		if strings.HasPrefix(de.Name(), tempPrefix) {
			temps = append(temps, l)
			continue
		}
		h, err := readHeader(path, info.Size())
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, errCorrupt):
			l.Corrupt, l.Expired = true, true
		case err != nil:
			return nil, nil, outcome.Operationalf("listing cache %s: %w", c.dir, err)
		case h.Key.ID() != de.Name():
			l.Corrupt, l.Expired = true, true
		default:
			l.Key, l.Size, l.Created = h.Key, h.Size, h.Created
			l.Expires = h.Created.Add(c.TTL(h.Key.Operation))
			l.Expired = !now.Before(l.Expires)
		}
		entries = append(entries, l)
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.Corrupt != b.Corrupt {
			return !a.Corrupt
		}
		if a.Key.Operation != b.Key.Operation {
			return a.Key.Operation < b.Key.Operation
		}
		if a.Key.Digest != b.Key.Digest {
			return a.Key.Digest < b.Key.Digest
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	return entries, temps, nil
}

// readHeader reads and checks the header of the entry file at path, and that
// the file is exactly as long as the header says.
func readHeader(path string, size int64) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	buf := make([]byte, min(size, maxHeader))
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return header{}, fmt.Errorf("%w: file shrank while being read", errCorrupt)
		}
		return header{}, err
	}
	h, n, err := parseHeader(buf)
	if err != nil {
		return header{}, err
	}
	if int64(n)+h.Size != size {
		return header{}, fmt.Errorf("%w: file is %d bytes, header says %d", errCorrupt, size, int64(n)+h.Size)
	}
	return h, nil
}

// Filter chooses the entries Clean removes. Set All alone, or any of the
// other fields: an entry is removed when it matches every field that is set.
// The zero Filter is invalid, so that nothing is removed by accident.
type Filter struct {
	// All removes every entry.
	All bool
	// Operation removes entries of this operation only.
	Operation string
	// OlderThan removes entries created more than this long ago.
	OlderThan time.Duration
	// Expired removes entries whose TTL has passed. Corrupt entries count
	// as expired.
	Expired bool
}

// ErrInvalidFilter means a Filter does not validate.
var ErrInvalidFilter = outcome.Invalid("invalid cache clean filter")

// Validate reports whether f says what to remove. It does not change f.
func (f Filter) Validate() error {
	others := f.Operation != "" || f.OlderThan != 0 || f.Expired
	switch {
	case f.All && others:
		return fmt.Errorf("%w: all cannot be combined with other criteria", ErrInvalidFilter)
	case !f.All && !others:
		return fmt.Errorf("%w: choose all, an operation, an age or expired entries", ErrInvalidFilter)
	case f.OlderThan < 0:
		return fmt.Errorf("%w: age %s is negative", ErrInvalidFilter, f.OlderThan)
	case f.Operation != "" && !validOperation(f.Operation):
		return fmt.Errorf("%w: operation %q is not a valid operation name", ErrInvalidFilter, f.Operation)
	}
	return nil
}

func (f Filter) matches(e Entry, now time.Time) bool {
	if f.All {
		return true
	}
	if f.Operation != "" && (e.Corrupt || e.Key.Operation != f.Operation) {
		return false
	}
	if f.OlderThan > 0 && !e.Created.Before(now.Add(-f.OlderThan)) {
		return false
	}
	if f.Expired && !e.Expired {
		return false
	}
	return true
}

// CleanResult says what Clean removed.
type CleanResult struct {
	// Removed lists the removed entries.
	Removed []Entry `json:"removed"`
	// Kept counts the entries left in place.
	Kept int `json:"kept"`
	// Bytes is the disk space freed, stale temporary files included.
	Bytes int64 `json:"bytes"`
	// TempFiles counts removed temporary files left by interrupted writes
	// (removed by every Clean once they are an hour old).
	TempFiles int `json:"tempFiles"`
}

// Clean removes the entries f matches. An entry replaced by a concurrent Put
// after it was listed is left alone. Errors are operational, except an
// invalid f.
func (c *Cache) Clean(ctx context.Context, f Filter) (CleanResult, error) {
	if err := f.Validate(); err != nil {
		return CleanResult{}, err
	}
	entries, temps, err := c.list(ctx)
	if err != nil {
		return CleanResult{}, err
	}
	now := c.now()
	res := CleanResult{Removed: []Entry{}}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if !f.matches(e.Entry, now) {
			res.Kept++
			continue
		}
		removed, err := removeIfSame(e.Path, e.info)
		if err != nil {
			return res, outcome.Operationalf("cleaning cache %s: %w", c.dir, err)
		}
		if removed {
			res.Removed = append(res.Removed, e.Entry)
			res.Bytes += e.FileSize
		} else {
			res.Kept++
		}
	}
	for _, t := range temps {
		if !t.Created.Before(now.Add(-staleTemp)) {
			continue
		}
		removed, err := removeIfSame(t.Path, t.info)
		if err != nil {
			return res, outcome.Operationalf("cleaning cache %s: %w", c.dir, err)
		}
		if removed {
			res.TempFiles++
			res.Bytes += t.FileSize
		}
	}
	return res, nil
}

// removeIfSame removes path if it is still the file described by info. It
// reports whether it removed it; a file already gone is not an error.
func removeIfSame(path string, info fs.FileInfo) (bool, error) {
	cur, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !os.SameFile(cur, info) {
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// removeBad removes a corrupt entry file unless it was replaced since it was
// read.
func (c *Cache) removeBad(path string, info fs.FileInfo, why error) {
	removed, err := removeIfSame(path, info)
	switch {
	case err != nil:
		c.logger.Warn("corrupt cache entry could not be removed", "path", path, "reason", why.Error(), "err", err.Error())
	case removed:
		c.logger.Warn("removed corrupt cache entry", "path", path, "reason", why.Error())
	}
}

func (c *Cache) expired(operation string, created time.Time) bool {
	return !c.now().Before(created.Add(c.TTL(operation)))
}
