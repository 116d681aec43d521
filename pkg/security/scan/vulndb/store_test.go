package vulndb_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// deadListing is a listing URL nothing answers at: a server that was
// started and closed (127.0.0.1 only, no test reaches the internet).
func deadListing(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/databases/v6/latest.json"
	srv.Close()
	return u
}

func TestOpenOfflineWithoutDatabase(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []vulndb.Option
	}{
		{"auto-update off", []vulndb.Option{vulndb.WithAutoUpdate(false)}},
		{"listing unreachable", []vulndb.Option{vulndb.WithListingURL(deadListing(t))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vulndb.NewStore(t.TempDir(), tc.opts...).Open(ctx)
			if !errors.Is(err, vulndb.ErrNoDatabase) || outcome.Code(err) != outcome.ExitOperational {
				t.Fatalf("Open = %v (exit %d), want ErrNoDatabase, exit 3", err, outcome.Code(err))
			}
			if !strings.Contains(err.Error(), "sc scan db import") {
				t.Errorf("error %q does not name `sc scan db import`", err)
			}
		})
	}
}

func TestOpenDownloadsWhenMissing(t *testing.T) {
	ctx := context.Background()
	srv := tv.Serve(t, fixtureArchive)
	store := vulndb.NewStore(t.TempDir(), vulndb.WithListingURL(srv.ListingURL()))
	db, err := store.Open(ctx)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	reqs := srv.Requests()
	if !slices.Contains(reqs, "GET /databases/v6/latest.json") || !slices.Contains(reqs, "GET /databases/v6/"+filepath.Base(fixtureArchive.Path)) {
		t.Errorf("server saw %v, want the listing and the archive fetched", reqs)
	}
	if src := db.Info().DB.Source; !strings.HasPrefix(src, srv.URL) {
		t.Errorf("source = %q, want the archive's URL on %s", src, srv.URL)
	}
	// a second Open of a fresh database does not touch the network
	db2, err := store.Open(ctx)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db2.Close()
	if more := srv.Requests()[len(reqs):]; len(more) != 0 {
		t.Errorf("second Open made requests %v, want none", more)
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	srv := tv.Serve(t, fixtureArchive)
	store := vulndb.NewStore(t.TempDir(), vulndb.WithListingURL(srv.ListingURL()))
	st, updated, err := store.Update(ctx)
	if err != nil || !updated || !st.Usable() {
		t.Fatalf("Update = %+v, %v, %v; want a usable database installed", st, updated, err)
	}
	st, updated, err = store.Update(ctx)
	if err != nil || updated {
		t.Fatalf("second Update = %+v, %v, %v; want nothing to do", st, updated, err)
	}

	_, _, err = vulndb.NewStore(t.TempDir(), vulndb.WithListingURL(deadListing(t))).Update(ctx)
	if !errors.Is(err, vulndb.ErrUpdate) || outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("Update from a dead listing = %v, want ErrUpdate, exit 3", err)
	}
}

func TestStale(t *testing.T) {
	ctx := context.Background()
	later := func() time.Time { return time.Now().Add(vulndb.DefaultMaxAge + 24*time.Hour) }
	newStore := func(t *testing.T, opts ...vulndb.Option) *vulndb.Store {
		dir := t.TempDir()
		if _, err := vulndb.NewStore(dir).Import(ctx, fixtureArchive.Path); err != nil {
			t.Fatalf("Import: %v", err)
		}
		return vulndb.NewStore(dir, append([]vulndb.Option{vulndb.WithClock(later)}, opts...)...)
	}

	t.Run("refused", func(t *testing.T) {
		store := newStore(t, vulndb.WithAutoUpdate(false))
		st, err := store.Status(ctx)
		if err != nil || !st.Stale || st.Usable() {
			t.Fatalf("Status = %+v, %v; want stale", st, err)
		}
		_, err = store.Open(ctx)
		if !errors.Is(err, vulndb.ErrStaleDatabase) || outcome.Code(err) != outcome.ExitOperational {
			t.Fatalf("Open = %v, want ErrStaleDatabase, exit 3", err)
		}
		if !strings.Contains(err.Error(), "--insecure-allow-stale-db") {
			t.Errorf("error %q does not name the opt-out", err)
		}
	})
	t.Run("refused when the update fails", func(t *testing.T) {
		_, err := newStore(t, vulndb.WithListingURL(deadListing(t))).Open(ctx)
		if !errors.Is(err, vulndb.ErrStaleDatabase) || !strings.Contains(err.Error(), "update failed") {
			t.Fatalf("Open = %v, want ErrStaleDatabase saying the update failed", err)
		}
	})
	t.Run("refused when the listing has nothing newer", func(t *testing.T) {
		srv := tv.Serve(t, fixtureArchive)
		_, err := newStore(t, vulndb.WithListingURL(srv.ListingURL())).Open(ctx)
		if reqs := srv.Requests(); !errors.Is(err, vulndb.ErrStaleDatabase) || !slices.Contains(reqs, "GET /databases/v6/latest.json") ||
			slices.Contains(reqs, "GET /databases/v6/"+filepath.Base(fixtureArchive.Path)) {
			t.Fatalf("Open = %v after requests %v, want ErrStaleDatabase after checking the listing and downloading nothing", err, reqs)
		}
	})
	t.Run("allowed explicitly", func(t *testing.T) {
		db, err := newStore(t, vulndb.WithAutoUpdate(false), vulndb.WithInsecureAllowStale()).Open(ctx)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer db.Close()
		r, err := db.Scan(ctx, fixtureImage, fixtureInput())
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if !r.Scanner.DB.Stale || len(r.Notices) != 1 || r.Notices[0].Kind != scan.NoticeStaleDB {
			t.Errorf("report of a stale database: DB %+v, notices %+v; want stale and a stale-db notice", r.Scanner.DB, r.Notices)
		}
	})
	t.Run("max age", func(t *testing.T) {
		store := newStore(t, vulndb.WithAutoUpdate(false), vulndb.WithMaxAge(30*24*time.Hour))
		db, err := store.Open(ctx)
		if err != nil {
			t.Fatalf("Open with a 30-day maximum age: %v", err)
		}
		_ = db.Close()
	})
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	srv := tv.Serve(t, fixtureArchive)
	for _, tc := range []struct{ name, ref string }{
		{"archive", fixtureArchive.Path},
		{"db file", fixtureArchive.DBPath},
		{"url", srv.URL + "/databases/v6/" + filepath.Base(fixtureArchive.Path)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
			st, err := store.Import(ctx, tc.ref)
			if err != nil || !st.Usable() {
				t.Fatalf("Import(%s) = %+v, %v; want a usable database", tc.ref, st, err)
			}
		})
	}

	bad := filepath.Join(t.TempDir(), "garbage.tar.gz")
	if err := os.WriteFile(bad, []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{bad, filepath.Join(t.TempDir(), "missing.tar.gz"), srv.URL + "/databases/v6/missing.tar.gz"} {
		store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
		if _, err := store.Import(ctx, ref); !errors.Is(err, vulndb.ErrImport) || outcome.Code(err) != outcome.ExitOperational {
			t.Errorf("Import(%s) = %v, want ErrImport, exit 3", ref, err)
		}
		if st, err := store.Status(ctx); err != nil || st.Installed {
			t.Errorf("after a failed import: Status = %+v, %v; want nothing installed", st, err)
		}
	}
}

// TestTampered changes the installed database after import: its checksum no
// longer matches, and it is refused.
func TestTampered(t *testing.T) {
	ctx := context.Background()
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
	st, err := store.Import(ctx, fixtureArchive.Path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(st.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tampered")); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	st, err = store.Status(ctx)
	if err != nil || st.Problem == "" || st.Usable() {
		t.Fatalf("Status = %+v, %v; want a problem", st, err)
	}
	if _, err := store.Open(ctx); !errors.Is(err, vulndb.ErrInvalidDatabase) {
		t.Fatalf("Open = %v, want ErrInvalidDatabase", err)
	}
}

func TestSample(t *testing.T) {
	ctx := context.Background()
	path, err := vulndb.WriteSample(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("WriteSample: %v", err)
	}
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false))
	if _, err := store.Import(ctx, path); err != nil {
		t.Fatalf("Import: %v", err)
	}
	db, err := store.Open(ctx)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	r, err := db.Scan(ctx, fixtureImage, fixtureInput())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	got := map[string]bool{}
	for _, m := range r.Matches {
		got[m.ID] = true
		if !strings.HasPrefix(m.Description, vulndb.SampleNotice) {
			t.Errorf("%s: description %q does not start with %q", m.ID, m.Description, vulndb.SampleNotice)
		}
	}
	for _, a := range vulndb.SampleAdvisories() {
		if !got[a.ID] {
			t.Errorf("sample advisory %s matches nothing in the fixture image", a.ID)
		}
	}
}

// At debug level, Open says which database a scan uses.
func TestOpenLogsDatabase(t *testing.T) {
	var logs strings.Builder
	store := vulndb.NewStore(t.TempDir(), vulndb.WithAutoUpdate(false),
		vulndb.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if _, err := store.Import(context.Background(), fixtureArchive.Path); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, want := range []string{`msg="using vulnerability database"`, "schema=", `source="manual import"`, "autoUpdate=false"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
