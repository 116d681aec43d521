package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sc-project/sc/pkg/outcome"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func key(op, image string) Key {
	return Key{Operation: op, Digest: digest(image), ConfigHash: "sha256:cfg", ToolVersion: "syft 1.57.0"}
}

func newCache(t *testing.T, clk *clock, opts ...Option) *Cache {
	t.Helper()
	c, err := New(t.TempDir(), append([]Option{WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustGet(t *testing.T, c *Cache, k Key) ([]byte, bool) {
	t.Helper()
	p, ok, err := c.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%s) error = %v", k, err)
	}
	return p, ok
}

func TestPutGet(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	k := key("sbom", "a")
	if _, ok := mustGet(t, c, k); ok {
		t.Fatal("Get() hit in an empty cache")
	}
	for _, payload := range [][]byte{[]byte(`{"sbom":1}`), {}, bytes.Repeat([]byte("x\n"), 100_000)} {
		if err := c.Put(t.Context(), k, payload); err != nil {
			t.Fatalf("Put() error = %v", err)
		}
		got, ok := mustGet(t, c, k)
		if !ok || !bytes.Equal(got, payload) {
			t.Fatalf("Get() = %d bytes, %v; want the %d bytes just stored", len(got), ok, len(payload))
		}
	}

	// Each key field separates entries.
	variants := []Key{
		{Operation: "scan", Digest: k.Digest, ConfigHash: k.ConfigHash, ToolVersion: k.ToolVersion},
		{Operation: k.Operation, Digest: digest("b"), ConfigHash: k.ConfigHash, ToolVersion: k.ToolVersion},
		{Operation: k.Operation, Digest: k.Digest, ConfigHash: "sha256:other", ToolVersion: k.ToolVersion},
		{Operation: k.Operation, Digest: k.Digest, ConfigHash: k.ConfigHash, ToolVersion: "syft 1.58.0"},
	}
	for _, v := range variants {
		if _, ok := mustGet(t, c, v); ok {
			t.Errorf("Get(%s) hit the entry of %s", v, k)
		}
	}
}

func TestGetExpiry(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk, WithTTL("scan", time.Hour), WithDefaultTTL(2*time.Hour))
	scan, other := key("scan", "a"), key("custom-op", "a")
	for _, k := range []Key{scan, other} {
		if err := c.Put(t.Context(), k, []byte("answer")); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		advance             time.Duration
		wantScan, wantOther bool
	}{
		{0, true, true},
		{59 * time.Minute, true, true},
		{time.Minute, false, true}, // exactly the TTL: expired
		{time.Hour, false, false},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		if _, ok := mustGet(t, c, scan); ok != s.wantScan {
			t.Errorf("at %s: Get(scan) ok = %v, want %v", clk.Now(), ok, s.wantScan)
		}
		if _, ok := mustGet(t, c, other); ok != s.wantOther {
			t.Errorf("at %s: Get(other) ok = %v, want %v", clk.Now(), ok, s.wantOther)
		}
	}
	// Expired entries stay on disk for Clean.
	entries, err := c.List(t.Context())
	if err != nil || len(entries) != 2 {
		t.Fatalf("List() = %d entries, %v; want 2", len(entries), err)
	}
}

// TestGetRejectsBadEntries damages an entry file in every way we can think of
// and checks that Get misses, without error, and removes the file.
func TestGetRejectsBadEntries(t *testing.T) {
	k := key("sbom", "a")
	other := key("sbom", "b")
	payload := []byte(`{"packages":["a","b","c"]}`)
	good, err := encode(k, newClock().Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	headerEnd := bytes.IndexByte(good, '\n') + 1

	tests := []struct {
		name   string
		damage func(t *testing.T, c *Cache) // writes the damaged file at k's path
	}{
		{"empty file", writeFile(k, nil)},
		{"garbage", writeFile(k, []byte("\x00\x01garbage that is not an entry\n\xff"))},
		{"truncated header", writeFile(k, good[:headerEnd/2])},
		{"header without payload", writeFile(k, good[:headerEnd])},
		{"truncated payload", writeFile(k, good[:len(good)-3])},
		{"extra bytes after payload", writeFile(k, append(append([]byte{}, good...), "more"...))},
		{"payload byte flipped (wrong checksum)", writeFile(k, flip(good, len(good)-2))},
		{"checksum in header altered", writeFile(k, alterChecksum(good))},
		{"unknown header field", writeFile(k, bytes.Replace(good, []byte(`{"key"`), []byte(`{"x":1,"key"`), 1))},
		{"header too long", writeFile(k, append([]byte(magic), bytes.Repeat([]byte(" "), maxHeader+10)...))},
		{"wrong magic", writeFile(k, append([]byte("sc-cache v9 "), good[len(magic):]...))},
		{"another key's entry under this key's name (collision attempt)", func(t *testing.T, c *Cache) {
			theirs, err := encode(other, newClock().Now(), []byte("not the answer for k"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(k, theirs)(t, c)
		}},
		{"header claims this key but carries another payload", func(t *testing.T, c *Cache) {
			forged := bytes.Replace(good, payload, []byte(`{"packages":["evil","b"]}`), 1)
			writeFile(k, forged)(t, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := newCache(t, newClock(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			tt.damage(t, c)
			got, ok, err := c.Get(t.Context(), k)
			if err != nil {
				t.Fatalf("Get() error = %v, want a miss", err)
			}
			if ok {
				t.Fatalf("Get() served a damaged entry: %q", got)
			}
			if _, err := os.Stat(c.path(k.ID())); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("damaged entry was not removed (stat: %v)", err)
			}
			if !strings.Contains(logs.String(), "removed corrupt cache entry") {
				t.Errorf("removal was not logged: %q", logs.String())
			}
			// The key is usable again.
			if err := c.Put(t.Context(), k, payload); err != nil {
				t.Fatal(err)
			}
			if got, ok := mustGet(t, c, k); !ok || !bytes.Equal(got, payload) {
				t.Errorf("Get() after re-Put = %q, %v", got, ok)
			}
		})
	}
}

func writeFile(k Key, data []byte) func(t *testing.T, c *Cache) {
	return func(t *testing.T, c *Cache) {
		t.Helper()
		if err := os.MkdirAll(c.entries(), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.path(k.ID()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// alterChecksum changes one hex digit of the header's payload checksum.
func alterChecksum(entry []byte) []byte {
	out := append([]byte{}, entry...)
	i := bytes.Index(out, []byte(`"sha256":"`)) + len(`"sha256":"`)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}

func flip(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] ^= 0xff
	return out
}

func TestRemoveIfSameLeavesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "entry")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	oldInfo, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// A concurrent writer renames a new file over it.
	tmp := filepath.Join(dir, "tmp")
	if err := os.WriteFile(tmp, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	removed, err := removeIfSame(path, oldInfo)
	if err != nil || removed {
		t.Fatalf("removeIfSame() = %v, %v; want the replaced file kept", removed, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file = %q, want the new one", b)
	}
	newInfo, _ := os.Stat(path)
	if removed, err := removeIfSame(path, newInfo); err != nil || !removed {
		t.Errorf("removeIfSame(current) = %v, %v; want removed", removed, err)
	}
	if removed, err := removeIfSame(path, newInfo); err != nil || removed {
		t.Errorf("removeIfSame(gone) = %v, %v; want false, nil", removed, err)
	}
}

// TestConcurrentWritersAndReaders has many goroutines, through separate Cache
// values as separate processes would, write different payloads under one key
// while others read it: a reader must only ever see one complete payload.
func TestConcurrentWritersAndReaders(t *testing.T) {
	dir := t.TempDir()
	k := key("scan", "shared")
	const writers, readers, rounds = 8, 8, 25

	// Payload w is w's index repeated over a length that differs per
	// writer, so a mix of two payloads or a short read is recognisable.
	payloads := make([][]byte, writers)
	for w := range payloads {
		payloads[w] = bytes.Repeat([]byte{byte('a' + w)}, 4096*(w+1)+w)
	}
	valid := func(p []byte) bool {
		for _, want := range payloads {
			if bytes.Equal(p, want) {
				return true
			}
		}
		return false
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	hits := make([]int, readers)
	for w := range writers {
		wg.Go(func() {
			c, err := New(dir)
			if err != nil {
				errs <- err
				return
			}
			for range rounds {
				if err := c.Put(context.Background(), k, payloads[w]); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			c, err := New(dir)
			if err != nil {
				errs <- err
				return
			}
			for range rounds * 2 {
				p, ok, err := c.Get(context.Background(), k)
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				if ok {
					hits[r]++
					if !valid(p) {
						errs <- fmt.Errorf("reader %d saw an incomplete or mixed payload of %d bytes", r, len(p))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	c, _ := New(dir)
	p, ok := mustGet(t, c, k)
	if !ok || !valid(p) {
		t.Fatalf("final Get() = %d bytes, %v; want one writer's payload", len(p), ok)
	}
	entries, err := c.List(t.Context())
	if err != nil || len(entries) != 1 || entries[0].Corrupt {
		t.Errorf("List() = %+v, %v; want one sound entry", entries, err)
	}
	left, _ := os.ReadDir(c.entries())
	if len(left) != 1 {
		t.Errorf("%d files left in the cache, want 1 (temporary files leaked)", len(left))
	}
}

func TestList(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	t0 := clk.Now()
	put := func(k Key, p string) {
		t.Helper()
		if err := c.Put(t.Context(), k, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.List(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("List() of a missing directory = %v, %v; want empty", got, err)
	}
	put(key("sbom", "b"), "sbom-b")
	put(key("scan", "a"), "scan")
	clk.Add(2 * time.Hour)
	put(key("sbom", "a"), "sbom-a-longer")
	clk.Add(23 * time.Hour) // the scan entry (24h) has now expired, the SBOMs (7d) not
	// A corrupt file and a temporary file in the directory.
	if err := os.WriteFile(filepath.Join(c.entries(), strings.Repeat("f", 64)), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.entries(), tempPrefix+"123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := c.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	entry := func(k Key, created time.Time, ttl time.Duration, payload string, expired bool) Entry {
		data, _ := encode(k, created, []byte(payload))
		return Entry{
			ID: k.ID(), Key: k, Created: created, Expires: created.Add(ttl), Expired: expired,
			Size: int64(len(payload)), FileSize: int64(len(data)), Path: c.path(k.ID()),
		}
	}
	week := 7 * 24 * time.Hour
	want := []Entry{
		entry(key("sbom", "a"), t0.Add(2*time.Hour), week, "sbom-a-longer", false),
		entry(key("sbom", "b"), t0, week, "sbom-b", false),
		entry(key("scan", "a"), t0, 24*time.Hour, "scan", true),
		{ID: strings.Repeat("f", 64), Path: filepath.Join(c.entries(), strings.Repeat("f", 64)), FileSize: 4, Expired: true, Corrupt: true},
	}
	// Digest order decides between the two SBOMs.
	if want[0].Key.Digest > want[1].Key.Digest {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Entry{}, "Created")); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	for i := range 3 {
		if !got[i].Created.Equal(want[i].Created) {
			t.Errorf("entry %d Created = %s, want %s", i, got[i].Created, want[i].Created)
		}
	}
}

func TestListFlagsEntryUnderWrongName(t *testing.T) {
	c := newCache(t, newClock())
	k := key("sbom", "a")
	if err := c.Put(t.Context(), k, []byte("x")); err != nil {
		t.Fatal(err)
	}
	wrong := c.path(key("sbom", "b").ID())
	if err := os.Rename(c.path(k.ID()), wrong); err != nil {
		t.Fatal(err)
	}
	got, err := c.List(t.Context())
	if err != nil || len(got) != 1 || !got[0].Corrupt {
		t.Fatalf("List() = %+v, %v; want one corrupt entry", got, err)
	}
}

func TestClean(t *testing.T) {
	type ent struct {
		k   Key
		age time.Duration
	}
	entries := []ent{
		{key("sbom", "fresh"), time.Hour},
		{key("sbom", "old"), 8 * 24 * time.Hour}, // expired (7d)
		{key("scan", "fresh"), time.Hour},
		{key("scan", "old"), 25 * time.Hour}, // expired (24h)
		{key("scan", "mid"), 3 * time.Hour},
	}
	tests := []struct {
		name     string
		filter   Filter
		wantLeft []string // images whose entries remain, as "op/image"
	}{
		{"all", Filter{All: true}, nil},
		{"expired", Filter{Expired: true}, []string{"sbom/fresh", "scan/fresh", "scan/mid"}},
		{"operation", Filter{Operation: "scan"}, []string{"sbom/fresh", "sbom/old"}},
		{"operation and expired", Filter{Operation: "scan", Expired: true}, []string{"sbom/fresh", "sbom/old", "scan/fresh", "scan/mid"}},
		{"older than", Filter{OlderThan: 2 * time.Hour}, []string{"sbom/fresh", "scan/fresh"}},
		{"older than within an operation", Filter{Operation: "sbom", OlderThan: 2 * time.Hour}, []string{"sbom/fresh", "scan/fresh", "scan/mid", "scan/old"}},
		{"unknown operation removes nothing", Filter{Operation: "verify"}, []string{"sbom/fresh", "sbom/old", "scan/fresh", "scan/mid", "scan/old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := newCache(t, clk)
			start := clk.Now()
			names := map[string]string{}
			for _, e := range entries {
				clk.t = start.Add(-e.age)
				if err := c.Put(t.Context(), e.k, []byte("payload")); err != nil {
					t.Fatal(err)
				}
				for _, img := range []string{"fresh", "old", "mid"} {
					if e.k.Digest == digest(img) {
						names[e.k.ID()] = e.k.Operation + "/" + img
					}
				}
			}
			clk.t = start
			// A corrupt file counts as expired; only All and Expired remove it.
			corrupt := filepath.Join(c.entries(), strings.Repeat("0", 64))
			if err := os.WriteFile(corrupt, []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}

			res, err := c.Clean(t.Context(), tt.filter)
			if err != nil {
				t.Fatalf("Clean() error = %v", err)
			}
			left, err := c.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var gotLeft []string
			corruptLeft := false
			for _, e := range left {
				if e.Corrupt {
					corruptLeft = true
					continue
				}
				gotLeft = append(gotLeft, names[e.ID])
			}
			if diff := cmp.Diff(tt.wantLeft, gotLeft, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries left mismatch (-want +got):\n%s", diff)
			}
			wantCorruptRemoved := tt.filter.All || (tt.filter.Expired && tt.filter.Operation == "")
			if corruptLeft == wantCorruptRemoved {
				t.Errorf("corrupt entry left = %v, want %v", corruptLeft, !wantCorruptRemoved)
			}
			if res.Kept != len(left) {
				t.Errorf("Kept = %d, but %d entries are left", res.Kept, len(left))
			}
			var bytesRemoved int64
			for _, e := range res.Removed {
				bytesRemoved += e.FileSize
			}
			if res.Bytes != bytesRemoved || len(res.Removed)+res.Kept != len(entries)+1 {
				t.Errorf("CleanResult = %d removed, %d kept, %d bytes; inconsistent", len(res.Removed), res.Kept, res.Bytes)
			}
		})
	}
}

func TestCleanTempFiles(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	if err := c.Put(t.Context(), key("sbom", "a"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(c.entries(), tempPrefix+"stale")
	fresh := filepath.Join(c.entries(), tempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(stale, time.Time{}, clk.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(fresh, time.Time{}, clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	res, err := c.Clean(t.Context(), Filter{Expired: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.TempFiles != 1 || res.Bytes != int64(len("partial")) || len(res.Removed) != 0 || res.Kept != 1 {
		t.Errorf("Clean() = %+v; want one stale temporary file removed", res)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale temporary file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh temporary file (a write in progress) removed")
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name    string
		f       Filter
		wantErr bool
	}{
		{"zero removes nothing by accident", Filter{}, true},
		{"all", Filter{All: true}, false},
		{"all with operation", Filter{All: true, Operation: "sbom"}, true},
		{"all with expired", Filter{All: true, Expired: true}, true},
		{"negative age", Filter{OlderThan: -time.Hour}, true},
		{"bad operation", Filter{Operation: "../x"}, true},
		{"operation", Filter{Operation: "sbom"}, false},
		{"everything but all", Filter{Operation: "sbom", OlderThan: time.Hour, Expired: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrInvalidFilter) || outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("Validate() = %v, want ErrInvalidFilter (invalid)", err)
			}
		})
	}
	c := newCache(t, newClock())
	if _, err := c.Clean(t.Context(), Filter{}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("Clean(Filter{}) error = %v, want ErrInvalidFilter", err)
	}
}

func TestKeyValidate(t *testing.T) {
	good := key("sbom", "a")
	tests := []struct {
		name    string
		k       Key
		wantErr bool
	}{
		{"good", good, false},
		{"minimal", Key{Operation: "scan", Digest: good.Digest}, false},
		{"sha512", Key{Operation: "scan", Digest: "sha512:" + strings.Repeat("ab", 64)}, false},
		{"no operation", Key{Digest: good.Digest}, true},
		{"operation with slash", Key{Operation: "sbom/x", Digest: good.Digest}, true},
		{"operation upper case", Key{Operation: "SBOM", Digest: good.Digest}, true},
		{"operation starting with dot", Key{Operation: ".sbom", Digest: good.Digest}, true},
		{"operation too long", Key{Operation: strings.Repeat("a", 65), Digest: good.Digest}, true},
		{"tag instead of digest", Key{Operation: "sbom", Digest: "latest"}, true},
		{"short digest", Key{Operation: "sbom", Digest: "sha256:abc"}, true},
		{"upper-case digest", Key{Operation: "sbom", Digest: strings.ToUpper(good.Digest)}, true},
		{"unknown algorithm", Key{Operation: "sbom", Digest: "md5:" + strings.Repeat("a", 64)}, true},
		{"control character in tool version", Key{Operation: "sbom", Digest: good.Digest, ToolVersion: "1.0\n"}, true},
		{"huge config hash", Key{Operation: "sbom", Digest: good.Digest, ConfigHash: strings.Repeat("a", 1025)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.k.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrInvalidKey) || outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("Validate() = %v, want ErrInvalidKey (invalid)", err)
			}
			c := newCache(t, newClock())
			if _, _, err := c.Get(t.Context(), tt.k); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get() error = %v, want ErrInvalidKey", err)
			}
			if err := c.Put(t.Context(), tt.k, nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put() error = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	d := digest("a")
	// Keys whose fields would run together in a naive concatenation.
	keys := []Key{
		{Operation: "sbom", Digest: d, ConfigHash: "x"},
		{Operation: "sbom", Digest: d, ToolVersion: "x"},
		{Operation: "sbom", Digest: d, ConfigHash: "x", ToolVersion: ""},
		{Operation: "sbom", Digest: d, ConfigHash: "", ToolVersion: "x\x00"},
		{Operation: "sbom", Digest: d, ConfigHash: "a\",\"b"},
		{Operation: "sbom", Digest: d, ConfigHash: "a", ToolVersion: "b"},
		{Operation: "sbom", Digest: d, ConfigHash: "ab"},
		{Operation: "sbo", Digest: d, ConfigHash: "mab"},
	}
	seen := map[string]Key{}
	for _, k := range keys {
		id := k.ID()
		if prev, ok := seen[id]; ok && prev != k {
			t.Errorf("%+v and %+v share ID %s", prev, k, id)
		}
		seen[id] = k
	}
	if len(seen) != len(keys)-1 { // keys[0] and keys[2] are the same key
		t.Errorf("%d distinct IDs for %d keys (two of them equal)", len(seen), len(keys))
	}
	// The ID is part of the on-disk format: changing it orphans every
	// entry, so it must only change on purpose.
	const want = "afcd2544f7f27a4d4d2515a6572fad15cad08701245fa18b033b93bf683d3855"
	got := Key{Operation: "sbom", Digest: "sha256:" + strings.Repeat("0", 64), ConfigHash: "c", ToolVersion: "t"}.ID()
	if len(got) != 64 {
		t.Fatalf("ID() = %q, want 64 hex characters", got)
	}
	if got != want {
		t.Errorf("ID() = %s, want %s", got, want)
	}
}

func TestHashConfig(t *testing.T) {
	type cfg struct {
		Format string
		Scope  map[string]bool
	}
	a, err := HashConfig(cfg{"spdx-json", map[string]bool{"x": true, "a": false}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := HashConfig(cfg{"spdx-json", map[string]bool{"a": false, "x": true}})
	c, _ := HashConfig(cfg{"cyclonedx-json", nil})
	if a != b {
		t.Errorf("equal configurations hash differently: %s, %s", a, b)
	}
	if a == c || !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 {
		t.Errorf("HashConfig() = %s, %s", a, c)
	}
	if _, err := HashConfig(func() {}); !errors.Is(err, outcome.ErrInvalid) {
		t.Errorf("HashConfig(func) error = %v, want invalid", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		opts []Option
	}{
		{"empty dir", "", nil},
		{"zero ttl", "d", []Option{WithTTL("sbom", 0)}},
		{"negative default ttl", "d", []Option{WithDefaultTTL(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.dir, tt.opts...); !errors.Is(err, outcome.ErrInvalid) {
				t.Errorf("New() error = %v, want invalid", err)
			}
		})
	}
	c, err := New("d")
	if err != nil {
		t.Fatal(err)
	}
	if c.TTL("sbom") != 7*24*time.Hour || c.TTL("scan") != 24*time.Hour || c.TTL("other") != DefaultTTL {
		t.Errorf("default TTLs: sbom %s, scan %s, other %s", c.TTL("sbom"), c.TTL("scan"), c.TTL("other"))
	}
}

// TestUnusableDirectory checks that a cache that cannot be used is an
// operational error, not a silent miss.
func TestUnusableDirectory(t *testing.T) {
	k := key("sbom", "a")
	tests := []struct {
		name  string
		setup func(t *testing.T) *Cache
		// getErr: whether Get must fail (rather than miss).
		getErr bool
	}{{
		name: "cache directory is a file",
		setup: func(t *testing.T) *Cache {
			file := filepath.Join(t.TempDir(), "cache")
			if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			c, _ := New(file)
			return c
		},
		getErr: true,
	}, {
		name: "entries directory is a file",
		setup: func(t *testing.T) *Cache {
			c, _ := New(t.TempDir())
			if err := os.WriteFile(c.entries(), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return c
		},
		getErr: true,
	}}
	if os.Geteuid() != 0 {
		// Root reads through permission bits; the cases above cover root.
		tests = append(tests, struct {
			name   string
			setup  func(t *testing.T) *Cache
			getErr bool
		}{
			name: "unreadable directory",
			setup: func(t *testing.T) *Cache {
				c, _ := New(t.TempDir())
				if err := c.Put(t.Context(), k, []byte("x")); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(c.entries(), 0); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.Chmod(c.entries(), 0o700) })
				return c
			},
			getErr: true,
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.setup(t)
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, outcome.ErrOperational) {
					t.Errorf("%s error = %v, want operational", op, err)
				}
			}
			check("Put()", c.Put(t.Context(), k, []byte("x")))
			_, err := c.List(t.Context())
			check("List()", err)
			_, err = c.Clean(t.Context(), Filter{All: true})
			check("Clean()", err)
			_, ok, err := c.Get(t.Context(), k)
			if tt.getErr {
				check("Get()", err)
			}
			if ok {
				t.Error("Get() hit in an unusable cache")
			}
		})
	}
}

func TestEntryPathIsADirectory(t *testing.T) {
	c := newCache(t, newClock())
	k := key("sbom", "a")
	if err := os.MkdirAll(filepath.Join(c.path(k.ID()), "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(t.Context(), k); !errors.Is(err, outcome.ErrOperational) {
		t.Errorf("Get() error = %v, want operational", err)
	}
	if err := c.Put(t.Context(), k, []byte("x")); !errors.Is(err, outcome.ErrOperational) {
		t.Errorf("Put() error = %v, want operational", err)
	}
}

func TestCancelled(t *testing.T) {
	c := newCache(t, newClock())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k := key("sbom", "a")
	if err := c.Put(ctx, k, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Put() error = %v", err)
	}
	if _, _, err := c.Get(ctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Get() error = %v", err)
	}
	if _, err := c.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List() error = %v", err)
	}
	if _, err := c.Clean(ctx, Filter{All: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("Clean() error = %v", err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	c := newCache(t, newClock())
	if err := c.Put(t.Context(), key("sbom", "a"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{c.entries(): 0o700, c.path(key("sbom", "a").ID()): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode = %o, want %o", path, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := encode(key("sbom", "a"), newClock().Now(), []byte("payload"))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte(magic + "{}\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := decode(data)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decode error %v is not errCorrupt", err)
			}
			return
		}
		// Whatever decodes must be exactly what encode writes for it.
		again, err := encode(h.Key, h.Created, payload)
		if err != nil {
			t.Fatal(err)
		}
		h2, p2, err := decode(again)
		if err != nil || h2.Key != h.Key || !h2.Created.Equal(h.Created) || h2.Size != h.Size || h2.SHA256 != h.SHA256 || !bytes.Equal(p2, payload) {
			t.Fatalf("re-encoding a decoded entry does not round-trip: %v", err)
		}
	})
}

// At debug level every miss (with why), store and hit is logged, naming the
// operation and digest, never the payload.
func TestDebugLogsHitsAndMisses(t *testing.T) {
	var logs bytes.Buffer
	clk := newClock()
	c := newCache(t, clk, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	k := key("sbom", "shop")
	mustGet(t, c, k)
	if err := c.Put(t.Context(), k, []byte("the payload")); err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, k)
	clk.Add(c.TTL(k.Operation) + time.Second)
	mustGet(t, c, k)
	out := logs.String()
	for _, want := range []string{
		`msg="cache miss" operation=` + k.Operation + ` digest=` + k.Digest,
		`reason="no entry"`,
		`msg="cache store"`,
		`msg="cache hit"`,
		`reason=expired`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "the payload") {
		t.Errorf("the payload is in the log:\n%s", out)
	}
}
