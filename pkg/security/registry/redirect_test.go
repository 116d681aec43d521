package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

// remoteHost is a registry name outside the loopback interface, which
// remoteTransport connects to a local test server.
const remoteHost = "registry.test"

// remoteTransport dials remoteHost to srv and every other address as
// usual, so that a test server passes for a registry elsewhere.
func remoteTransport(srv *httptest.Server) http.RoundTripper {
	d := &net.Dialer{}
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, _, _ := net.SplitHostPort(addr); h == remoteHost {
			addr = srv.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}}
}

func TestRedirectFromARemoteRegistryToLoopbackRefused(t *testing.T) {
	var local atomic.Int32
	loopback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local.Add(1)
		_, _ = w.Write([]byte("the machine's own secrets"))
	}))
	t.Cleanup(loopback.Close)
	port := loopback.Listener.Addr().(*net.TCPAddr).Port
	targets := []string{"localhost", "LocalHost.", "sc.localhost", "127.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "0.0.0.0"}

	// Resolve goes through go-containerregistry's client, which refuses IP
	// literals itself but follows names; FetchLegacy's blob read through
	// sc's own client, which has only the guard.
	for _, path := range []string{"manifest", "blob"} {
		for _, host := range targets {
			t.Run(path+"/"+host, func(t *testing.T) {
				target := fmt.Sprintf("http://%s:%d/steal", host, port)
				reg := testutil.NewRegistry(t, testutil.WithHandler(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/"+path+"s/") &&
							!strings.Contains(r.URL.Path, "/uploads/") && r.Header.Get("X-Setup") == "" {
							http.Redirect(w, r, target, http.StatusTemporaryRedirect)
							return
						}
						next.ServeHTTP(w, r)
					})
				}))
				srv := &httptest.Server{Listener: mustListener(t, reg.Host)}
				c := newClient(registry.WithInsecureHTTP(), registry.WithTransport(remoteTransport(srv)))
				setup := newClient(registry.WithInsecureHTTP(), registry.WithTransport(setupHeader{remoteTransport(srv)}))
				d := pushImage(t, setup, remoteHost+"/app:v1")
				if _, err := setup.AttachLegacy(context.Background(), d, registry.SuffixSignature,
					registry.Artifact{MediaType: "text/plain", Data: []byte("sig")}); err != nil {
					t.Fatal(err)
				}
				before := local.Load()
				var err error
				if path == "manifest" {
					_, err = c.Resolve(context.Background(), remoteHost+"/app:v1")
				} else {
					_, err = c.FetchLegacy(context.Background(), d, registry.SuffixSignature)
				}
				if err == nil {
					t.Fatal("no error")
				}
				if local.Load() != before {
					t.Errorf("the redirect to %s was followed: %v", host, err)
				}
				if path == "blob" && !errors.Is(err, registry.ErrMalformed) {
					t.Errorf("error %v, want ErrMalformed", err)
				}
			})
		}
	}
}

// setupHeader marks the requests of a test's set-up, which the crafted
// registry serves faithfully.
type setupHeader struct{ inner http.RoundTripper }

func (s setupHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Setup", "1")
	return s.inner.RoundTrip(req)
}

// mustListener is a stand-in listener whose address is host, for
// remoteTransport.
func mustListener(t *testing.T, host string) net.Listener {
	t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	return fakeListener{addr}
}

type fakeListener struct{ addr net.Addr }

func (fakeListener) Accept() (net.Conn, error) { return nil, errors.New("not a listener") }
func (fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr          { return l.addr }

// A loopback registry redirecting to another loopback address is a test
// set-up, not an attack: followed.
func TestRedirectBetweenLoopbackHostsFollowed(t *testing.T) {
	c := newClient()
	backend := testutil.NewRegistry(t)
	d := pushImage(t, c, backend.Ref("app:v1"))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, backend.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(front.Close)
	host := strings.TrimPrefix(front.URL, "http://")
	got, err := c.Resolve(context.Background(), host+"/app:v1")
	if err != nil || got.DigestStr() != d.DigestStr() {
		t.Fatalf("Resolve through a loopback redirect = %v, %v; want %s", got, err, d.DigestStr())
	}
}

// Blob storage answers with pre-signed URLs whose query is a credential:
// no error may carry it.
func TestBlobErrorsStripPresignedQueries(t *testing.T) {
	const secret = "X-Amz-Signature=deadbeefs3cr3t"
	for _, tt := range []struct {
		name    string
		storage http.HandlerFunc
	}{
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}},
		{"denied", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		}},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storage := httptest.NewServer(tt.storage)
			t.Cleanup(storage.Close)
			c := newClient(registry.WithRetry(2, time.Millisecond))
			reg := testutil.NewRegistry(t, testutil.WithHandler(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
						http.Redirect(w, r, storage.URL+"/bucket/blob?X-Amz-Credential=AKIA&"+secret, http.StatusTemporaryRedirect)
						return
					}
					next.ServeHTTP(w, r)
				})
			}))
			d := pushImage(t, c, reg.Ref("app:v1"))
			if _, err := c.AttachLegacy(context.Background(), d, registry.SuffixSignature,
				registry.Artifact{MediaType: "text/plain", Data: []byte("sig")}); err != nil {
				t.Fatal(err)
			}
			_, err := c.FetchLegacy(context.Background(), d, registry.SuffixSignature)
			if err == nil {
				t.Fatal("FetchLegacy succeeded although the storage fails")
			}
			if strings.Contains(err.Error(), "deadbeef") || strings.Contains(err.Error(), "AKIA") {
				t.Errorf("error carries the pre-signed query: %v", err)
			}
		})
	}
}
