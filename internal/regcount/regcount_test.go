package regcount_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sc-project/sc/internal/regcount"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         regcount.Request
	}{
		{"HEAD", "/v2/shop/api/manifests/1.0", regcount.Request{"HEAD", regcount.Manifest, "shop/api", "1.0"}},
		{"GET", "/v2/a/b/c/manifests/sha256:ab", regcount.Request{"GET", regcount.Manifest, "a/b/c", "sha256:ab"}},
		{"GET", "/v2/shop/api/blobs/sha256:cd", regcount.Request{"GET", regcount.Blob, "shop/api", "sha256:cd"}},
		{"POST", "/v2/shop/api/blobs/uploads/", regcount.Request{"POST", regcount.Upload, "shop/api", ""}},
		{"PATCH", "/v2/shop/api/blobs/uploads/1234", regcount.Request{"PATCH", regcount.Upload, "shop/api", ""}},
		{"GET", "/v2/shop/api/referrers/sha256:ef", regcount.Request{"GET", regcount.Referrers, "shop/api", "sha256:ef"}},
		// a repository named like a kind is still its repository
		{"GET", "/v2/manifests/manifests/x", regcount.Request{"GET", regcount.Manifest, "manifests", "x"}},
		{"GET", "/v2/", regcount.Request{"GET", regcount.Other, "", ""}},
		{"GET", "/v2/shop/api/tags/list", regcount.Request{"GET", regcount.Other, "", ""}},
		{"GET", "/healthz", regcount.Request{"GET", regcount.Other, "", ""}},
	} {
		if got := regcount.Parse(tc.method, tc.path); got != tc.want {
			t.Errorf("Parse(%s %s) = %+v, want %+v", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestLog(t *testing.T) {
	var l regcount.Log
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })))
	defer srv.Close()
	for _, p := range []string{"/v2/a/manifests/1", "/v2/a/blobs/sha256:1", "/v2/a/manifests/2"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s: status %d, want the wrapped handler's", p, resp.StatusCode)
		}
	}
	if got, want := regcount.Summary(l.Requests()), "manifest 2 (GET 2), blob 1 (GET 1)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	l.Reset()
	if got := regcount.Summary(l.Requests()); got != "no requests" {
		t.Errorf("after Reset: %q", got)
	}
}
