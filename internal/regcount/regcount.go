// Package regcount counts the requests a registry serves, by kind
// (manifest, blob, referrers, upload), repository and reference: the tests
// of `sc release create --shard` check with it which manifests a shard
// reads, and bench/cmd/countproxy reports the registry load of a sharded
// release with it.
//
// It only observes: it wraps an http.Handler (a registry, or a reverse
// proxy in front of one) and passes every request through unchanged. It
// does not parse bodies or judge what a client should have asked.
package regcount

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Kinds of request, from the distribution API's paths.
const (
	Manifest  = "manifest"  // /v2/<repo>/manifests/<ref>
	Blob      = "blob"      // /v2/<repo>/blobs/<digest>
	Upload    = "upload"    // /v2/<repo>/blobs/uploads/…
	Referrers = "referrers" // /v2/<repo>/referrers/<digest>
	Other     = "other"     // /v2/, tags lists, anything else
)

// Request is one request as the log keeps it.
type Request struct {
	Method string
	// Kind is one of the kinds above.
	Kind string
	// Repo is the repository ("shop/api"), empty for Other.
	Repo string
	// Ref is the tag or digest of a manifest, blob or referrers request.
	Ref string
}

// Parse classifies a request by its method and URL path.
func Parse(method, path string) Request {
	r := Request{Method: method, Kind: Other}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return r
	}
	if repo, up, ok := strings.Cut(rest, "/blobs/uploads"); ok && (up == "" || strings.HasPrefix(up, "/")) {
		r.Kind, r.Repo = Upload, repo
		return r
	}
	for _, k := range []struct{ seg, kind string }{{"/manifests/", Manifest}, {"/blobs/", Blob}, {"/referrers/", Referrers}} {
		if i := strings.LastIndex(rest, k.seg); i > 0 {
			r.Kind, r.Repo, r.Ref = k.kind, rest[:i], rest[i+len(k.seg):]
			return r
		}
	}
	return r
}

// Log is the requests a handler served; safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	reqs []Request
}

// Wrap returns h, recording each request in the log before serving it.
func (l *Log) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := Parse(req.Method, req.URL.Path)
		l.mu.Lock()
		l.reqs = append(l.reqs, r)
		l.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// Requests returns the requests so far, in the order they came.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// Reset forgets the requests so far.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

// Counts is how many requests of each kind, by "kind" and by
// "kind METHOD" ("manifest HEAD").
func Counts(reqs []Request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		out[r.Kind]++
		out[r.Kind+" "+r.Method]++
	}
	return out
}

// Summary writes counts on one line, kinds in a fixed order:
// "manifest 120 (GET 60, HEAD 60), blob 3 (GET 3), …"; kinds with no
// request are left out.
func Summary(reqs []Request) string {
	c := Counts(reqs)
	var parts []string
	for _, k := range []string{Manifest, Blob, Referrers, Upload, Other} {
		if c[k] == 0 {
			continue
		}
		var ms []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			if n := c[k+" "+m]; n > 0 {
				ms = append(ms, fmt.Sprintf("%s %d", m, n))
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d (%s)", k, c[k], strings.Join(ms, ", ")))
	}
	if len(parts) == 0 {
		return "no requests"
	}
	return strings.Join(parts, ", ")
}
