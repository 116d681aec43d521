package signing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil/sigstoretest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

// TestPublicGoodTrustedRootOffline: without a reachable TUF repository the
// trusted root cannot be had, and that is operational, with advice.
func TestPublicGoodTrustedRootOffline(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	_, err := signing.PublicGoodTrustedRoot(context.Background(), signing.TUFOptions{MirrorURL: down.URL, CachePath: t.TempDir()})
	if outcome.Code(err) != outcome.ExitOperational {
		t.Fatalf("PublicGoodTrustedRoot = %v, want an operational error", err)
	}
	if !strings.Contains(err.Error(), "--trusted-root") {
		t.Errorf("error %q does not advise --trusted-root", err)
	}
}

func TestLoadTrustedRoot(t *testing.T) {
	ss := sigstoretest.New(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "trusted_root.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, ss.TrustedRootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"mediaType": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		code int
	}{
		{good, outcome.ExitOK},
		{bad, outcome.ExitInvalid},
		{filepath.Join(dir, "missing.json"), outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			tr, err := signing.LoadTrustedRoot(tt.path)
			if code := outcome.Code(err); code != tt.code {
				t.Fatalf("LoadTrustedRoot = %v: exit %d, want %d", err, code, tt.code)
			}
			if err == nil && len(tr.FulcioCertificateAuthorities()) == 0 {
				t.Error("trusted root without Fulcio CAs")
			}
		})
	}
}
