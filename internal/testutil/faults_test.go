package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		method, path string
		want         RequestClass
	}{
		{"GET", "/v2/", ClassPing},
		{"GET", "/v2", ClassPing},
		{"HEAD", "/v2/app/manifests/v1", ClassManifest},
		{"PUT", "/v2/org/app/manifests/sha256-abc.sig", ClassManifest},
		{"GET", "/v2/org/app/blobs/sha256:abc", ClassBlob},
		{"POST", "/v2/app/blobs/uploads/", ClassUpload},
		{"PATCH", "/v2/app/blobs/uploads/1234", ClassUpload},
		{"GET", "/v2/app/referrers/sha256:abc", ClassReferrers},
		{"GET", "/v2/app/tags/list", ClassTags},
		{"GET", "/v2/_catalog", ClassOther},
		{"GET", "/debug/health", ClassOther},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if got := Classify(r); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	f := NewFaults()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(f.Wrap(ok))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), err
	}

	f.Add(Fault{Match: On(http.MethodGet, ClassManifest), Times: 2, Status: http.StatusTooManyRequests, RetryAfter: "3"})
	f.Drop(On("", ClassBlob), 1)
	f.Fail(On(http.MethodGet, ClassReferrers), Always, http.StatusServiceUnavailable)

	type result struct {
		Status     int
		RetryAfter string
		Dropped    bool
	}
	var got []result
	for _, p := range []string{
		"/v2/app/manifests/v1", "/v2/app/manifests/v1", "/v2/app/manifests/v1",
		"/v2/app/blobs/sha256:ab", "/v2/app/blobs/sha256:ab",
		"/v2/app/referrers/sha256:ab", "/v2/app/referrers/sha256:ab",
	} {
		status, ra, err := get(p)
		got = append(got, result{Status: status, RetryAfter: ra, Dropped: err != nil})
	}
	want := []result{
		{Status: 429, RetryAfter: "3"}, {Status: 429, RetryAfter: "3"}, {Status: 200},
		{Dropped: true}, {Status: 200},
		{Status: 503}, {Status: 503},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if got, want := f.Count(http.MethodGet, ClassManifest), 3; got != want {
		t.Errorf("Count(GET, manifest) = %d, want %d", got, want)
	}
	if got, want := f.Count("", ""), 7; got != want {
		t.Errorf("Count(all) = %d, want %d", got, want)
	}
	if got, want := f.Injected(), 5; got != want {
		t.Errorf("Injected = %d, want %d", got, want)
	}

	f.Clear()
	if status, _, err := get("/v2/app/referrers/sha256:ab"); err != nil || status != 200 {
		t.Errorf("after Clear: %d, %v; want 200", status, err)
	}
	f.Reset()
	if n := len(f.Requests()); n != 0 {
		t.Errorf("after Reset: %d requests recorded", n)
	}
}

// A delayed request is released when the client gives up; the handler does
// not sit out the whole delay.
func TestFaultsDelayEndsWithClient(t *testing.T) {
	f := NewFaults()
	f.Delay(nil, 1, MaxDelay)
	srv := httptest.NewServer(f.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(srv.Close)

	client := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := client.Get(srv.URL + "/v2/"); err == nil {
		t.Fatal("GET answered before the delay")
	}
	// srv.Close (cleanup) waits for the handler: the test ends well before
	// MaxDelay only if the handler saw the client go.
}
