package httpretry_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/sc-project/sc/pkg/security/httpretry"
)

// A GET retried through two 503 answers, with an http.Client bounding each
// attempt.
func ExamplePolicy_Do() {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	p := httpretry.Policy{
		Attempts: 4,
		Backoff:  time.Millisecond,
		OnRetry: func(r httpretry.Retry) {
			fmt.Printf("attempt %d of %d: %s\n", r.Attempt, r.Attempts, r.Reason)
		},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := p.Do(req, client.Do)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// attempt 1 of 4: 503 Service Unavailable
	// attempt 2 of 4: 503 Service Unavailable
	// 200 OK
}
