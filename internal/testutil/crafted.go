package testutil

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ServeReferrers returns a wrapper that answers every referrers API request
// with index (an OCI image index, as JSON), as a registry that lists
// whatever it likes would. Other requests go through.
func ServeReferrers(index []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Classify(r) != ClassReferrers {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			_, _ = w.Write(index)
		})
	}
}

// DeadlineRecorder is an http.RoundTripper that records the deadline of
// each request's context (the zero time for none) before passing it on to
// Inner (http.DefaultTransport when nil).
type DeadlineRecorder struct {
	Inner http.RoundTripper

	mu        sync.Mutex
	deadlines []time.Time
}

// RoundTrip records and sends req.
func (d *DeadlineRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	dl, _ := req.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	inner := d.Inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	return inner.RoundTrip(req)
}

// Deadlines returns the recorded deadlines, in request order.
func (d *DeadlineRecorder) Deadlines() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.deadlines...)
}

// ManyReferrers is an OCI image index (as JSON) listing n distinct
// manifests of artifactType, none of which exists: what a registry
// flooding its referrers answer serves.
func ManyReferrers(n int, artifactType string) []byte {
	type descriptor struct {
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
		Digest       string `json:"digest"`
		Size         int    `json:"size"`
	}
	im := struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
	for i := range n {
		im.Manifests = append(im.Manifests, descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json",
			ArtifactType: artifactType, Digest: fmt.Sprintf("sha256:%064x", i), Size: 1})
	}
	raw, err := json.Marshal(im)
	if err != nil {
		panic(err) // cannot happen: plain strings and ints
	}
	return raw
}
