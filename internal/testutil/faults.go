package testutil

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RequestClass is the kind of a registry request, from its path.
type RequestClass string

// The kinds of registry requests.
const (
	ClassPing      RequestClass = "ping"      // /v2/
	ClassManifest  RequestClass = "manifest"  // /v2/<repo>/manifests/<ref>
	ClassBlob      RequestClass = "blob"      // /v2/<repo>/blobs/<digest>
	ClassUpload    RequestClass = "upload"    // /v2/<repo>/blobs/uploads/…
	ClassReferrers RequestClass = "referrers" // /v2/<repo>/referrers/<digest>
	ClassTags      RequestClass = "tags"      // /v2/<repo>/tags/list
	ClassOther     RequestClass = "other"
)

// Classify tells the kind of a registry request from its path.
func Classify(r *http.Request) RequestClass {
	p := strings.TrimSuffix(r.URL.Path, "/")
	if p == "/v2" {
		return ClassPing
	}
	if !strings.HasPrefix(p, "/v2/") {
		return ClassOther
	}
	switch {
	case strings.Contains(p, "/blobs/uploads"):
		return ClassUpload
	case strings.HasSuffix(p, "/tags/list"):
		return ClassTags
	}
	elems := strings.Split(p, "/")
	if len(elems) < 4 {
		return ClassOther
	}
	switch elems[len(elems)-2] {
	case "manifests":
		return ClassManifest
	case "blobs":
		return ClassBlob
	case "referrers":
		return ClassReferrers
	}
	return ClassOther
}

// Match selects requests.
type Match func(*http.Request) bool

// On matches requests by method and kind; "" matches any method or kind.
func On(method string, class RequestClass) Match {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && (class == "" || Classify(r) == class)
	}
}

// PathContains narrows m to requests whose path contains s, e.g. a tag.
func (m Match) PathContains(s string) Match {
	return func(r *http.Request) bool { return m(r) && strings.Contains(r.URL.Path, s) }
}

// Always, as Fault.Times, makes a fault persistent.
const Always = -1

// MaxDelay caps Fault.Delay so that a test never hangs on a fault.
const MaxDelay = 10 * time.Second

// Fault is one kind of misbehaviour for the next Times matching requests.
// Exactly what happens: Delay first (if any, capped at MaxDelay and cut
// short when the client gives up), then Drop (the connection is hijacked
// and closed without an answer) or Status (an error answer in the
// registry's JSON error format) or, with neither, the real answer.
type Fault struct {
	// Match selects the requests; nil matches all.
	Match Match
	// Times is how many matching requests suffer the fault; Always for all.
	Times int
	// Status, when not 0, is the status answered instead of the real one.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header with Status.
	RetryAfter string
	// Drop closes the connection without answering.
	Drop bool
	// Delay holds the request before doing the rest.
	Delay time.Duration
}

// Request is one request a Faults wrapper saw.
type Request struct {
	Method string
	Path   string
	Class  RequestClass
	// Fault is true when a fault was injected into it.
	Fault bool
}

// Faults injects faults into a registry's handler and records every
// request. Use Wrap as the argument of WithHandler. Safe for concurrent
// use.
type Faults struct {
	mu       sync.Mutex
	faults   []*Fault
	requests []Request
}

// NewFaults returns a Faults with no faults armed.
func NewFaults() *Faults { return &Faults{} }

// Add arms a fault. Faults are tried in the order added; the first one that
// matches a request and has times left applies.
func (f *Faults) Add(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := fault
	f.faults = append(f.faults, &fc)
}

// Fail answers the next n matching requests with status.
func (f *Faults) Fail(m Match, n, status int) {
	f.Add(Fault{Match: m, Times: n, Status: status})
}

// Drop closes the connection of the next n matching requests unanswered.
func (f *Faults) Drop(m Match, n int) {
	f.Add(Fault{Match: m, Times: n, Drop: true})
}

// Delay holds the next n matching requests for d before answering them.
func (f *Faults) Delay(m Match, n int, d time.Duration) {
	f.Add(Fault{Match: m, Times: n, Delay: d})
}

// Clear disarms all faults; the record of requests stays.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Reset forgets the recorded requests.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// Requests returns the requests seen so far, in order.
func (f *Faults) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count returns how many requests of the method and kind were seen; ""
// matches any method or kind.
func (f *Faults) Count(method string, class RequestClass) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if (method == "" || r.Method == method) && (class == "" || r.Class == class) {
			n++
		}
	}
	return n
}

// Injected returns how many requests suffered a fault.
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Fault {
			n++
		}
	}
	return n
}

// take records r and returns the fault that applies to it, if any.
func (f *Faults) take(r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := Request{Method: r.Method, Path: r.URL.Path, Class: Classify(r)}
	var hit *Fault
	for _, fault := range f.faults {
		if fault.Times == 0 || (fault.Match != nil && !fault.Match(r)) {
			continue
		}
		if fault.Times > 0 {
			fault.Times--
		}
		c := *fault
		hit = &c
		rec.Fault = true
		break
	}
	f.requests = append(f.requests, rec)
	return hit
}

// Wrap returns next with the faults applied.
func (f *Faults) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault := f.take(r)
		if fault == nil {
			next.ServeHTTP(w, r)
			return
		}
		if fault.Delay > 0 {
			t := time.NewTimer(min(fault.Delay, MaxDelay))
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case fault.Drop:
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("testutil: the server does not support hijacking; cannot drop the connection")
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case fault.Status != 0:
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"injected fault: %d"}]}`, errorCode(fault.Status), fault.Status)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// errorCode is the registry error code that goes with an HTTP status.
func errorCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case status == http.StatusForbidden:
		return "DENIED"
	case status == http.StatusNotFound:
		return "MANIFEST_UNKNOWN"
	case status == http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case status >= 500:
		return "UNAVAILABLE"
	default:
		return "UNKNOWN"
	}
}
