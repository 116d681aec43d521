package registry_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

const user, pass = "ci-bot", "pa55-w0rd-xyz"

var basicHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))

// authRecorder remembers every Authorization header sent to a server.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *authRecorder) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, req.URL.Path+" "+req.Header.Get("Authorization"))
}

func (r *authRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *authRecorder) sawCredentials() bool {
	for _, s := range r.all() {
		if strings.HasSuffix(s, basicHeader) {
			return true
		}
	}
	return false
}

// basicChallenger wants credentials of everyone, as a registry with
// htpasswd authentication does, and records what it is sent.
func basicChallenger(t *testing.T) (*authRecorder, string) {
	rec := &authRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		w.Header().Set("WWW-Authenticate", `Basic realm="recorder"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	return rec, strings.TrimPrefix(srv.URL, "http://")
}

func TestCredentialsOnlyForTheirRegistry(t *testing.T) {
	ctx := context.Background()
	target := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth(user, pass)))
	other, otherHost := basicChallenger(t)
	c := newClient(registry.WithCredentials(registry.Credential{Registry: target.Host, Username: user, Password: pass}))
	d := pushImage(t, c, target.Ref("app:v1"))

	if _, err := c.Resolve(ctx, target.Ref("app:v1")); err != nil {
		t.Fatalf("Resolve on the credentials' registry: %v", err)
	}
	// Another registry asks for credentials; it gets none of the target's.
	_, err := c.Resolve(ctx, otherHost+"/x:1")
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Errorf("Resolve on another registry = %v, want ErrUnauthorized", err)
	}
	if _, err := c.Image(ctx, mustDigest(t, otherHost+"/x@"+d.DigestStr())); err == nil {
		t.Error("Image on another registry succeeded")
	}
	if len(other.all()) == 0 {
		t.Fatal("the other registry was never asked")
	}
	if other.sawCredentials() {
		t.Errorf("the other registry received the target's credentials: %q", other.all())
	}

	// The same port on another name is another registry too.
	if strings.HasPrefix(target.Host, "127.0.0.1:") {
		_, err := c.Resolve(ctx, strings.Replace(target.Ref("app:v1"), "127.0.0.1", "localhost", 1))
		if !errors.Is(err, registry.ErrUnauthorized) {
			t.Errorf("Resolve through localhost = %v, want ErrUnauthorized", err)
		}
	}
}

// go-containerregistry sends the credentials it has for a registry to the
// token realm the registry names in its Bearer challenge. A realm on
// another host must not receive them; one on the registry itself does.
func TestCredentialsNotSentToAForeignRealm(t *testing.T) {
	realmRec := &authRecorder{}
	realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realmRec.record(r)
		if r.Header.Get("Authorization") == basicHeader {
			fmt.Fprint(w, `{"token":"good-token"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(realm.Close)
	// go-containerregistry refuses realms on loopback IP literals other
	// than the registry's own host; "localhost" is a name, and another
	// host than "127.0.0.1".
	foreign := strings.Replace(realm.URL, "127.0.0.1", "localhost", 1) + "/token"

	for _, tt := range []struct {
		name    string
		foreign bool
	}{
		{"realm on another host", true},
		{"realm on the registry", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			regRec := &authRecorder{}
			var host string
			reg := testutil.NewRegistry(t, testutil.WithHandler(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					regRec.record(r)
					switch {
					case r.URL.Path == "/token":
						if r.Header.Get("Authorization") == basicHeader {
							fmt.Fprint(w, `{"token":"good-token"}`)
							return
						}
						w.WriteHeader(http.StatusUnauthorized)
					case r.Header.Get("Authorization") == "Bearer good-token":
						next.ServeHTTP(w, r)
					default:
						realmURL := "http://" + host + "/token"
						if tt.foreign {
							realmURL = foreign
						}
						w.Header().Set("WWW-Authenticate", `Bearer realm="`+realmURL+`",service="sc-test"`)
						w.WriteHeader(http.StatusUnauthorized)
					}
				})
			}))
			host = reg.Host
			c := newClient(registry.WithCredentials(registry.Credential{Registry: reg.Host, Username: user, Password: pass}))
			before := len(realmRec.all())
			_, err := c.Resolve(context.Background(), reg.Ref("app:v1"))
			if tt.foreign {
				if !errors.Is(err, registry.ErrUnauthorized) {
					t.Errorf("Resolve = %v, want ErrUnauthorized (the foreign realm gets no credentials)", err)
				}
				if len(realmRec.all()) == before {
					t.Fatal("the foreign realm was never asked")
				}
				if realmRec.sawCredentials() {
					t.Errorf("the foreign realm received the registry's credentials: %q", realmRec.all())
				}
				return
			}
			if !errors.Is(err, registry.ErrNoSuchImage) {
				t.Errorf("Resolve = %v, want ErrNoSuchImage (authenticated through the registry's own realm)", err)
			}
			if !regRec.sawCredentials() {
				t.Errorf("the registry's own realm did not receive the credentials: %q", regRec.all())
			}
		})
	}
}

func TestCredentialValidateAndPrint(t *testing.T) {
	for _, tt := range []struct {
		c  registry.Credential
		ok bool
	}{
		{registry.Credential{Registry: "ghcr.io", Username: "u", Password: pass}, true},
		{registry.Credential{Registry: "localhost:5000", Username: "u", Password: pass}, true},
		{registry.Credential{Registry: "docker.io", Username: "u", Password: pass}, true},
		{registry.Credential{Registry: "", Username: "u", Password: pass}, false},
		{registry.Credential{Registry: "https://ghcr.io", Username: "u", Password: pass}, false},
		{registry.Credential{Registry: "ghcr.io/acme", Username: "u", Password: pass}, false},
		{registry.Credential{Registry: "u@ghcr.io", Username: "u", Password: pass}, false},
		{registry.Credential{Registry: "ghcr.io", Username: "", Password: pass}, false},
		{registry.Credential{Registry: "ghcr.io", Username: "a:b", Password: pass}, false},
		{registry.Credential{Registry: "ghcr.io", Username: "u", Password: ""}, false},
	} {
		err := tt.c.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%v) = %v, want ok=%v", tt.c, err, tt.ok)
		}
		for _, s := range []string{fmt.Sprint(tt.c), fmt.Sprintf("%+v", tt.c), fmt.Sprintf("%#v", tt.c), fmt.Sprint(err),
			fmt.Sprintf("%v", struct{ C registry.Credential }{tt.c})} {
			if strings.Contains(s, pass) {
				t.Errorf("%q shows the password", s)
			}
		}
	}
	for in, want := range map[string]string{"docker.io": "index.docker.io", "GHCR.io": "ghcr.io", "localhost:5000": "localhost:5000"} {
		if got, err := registry.CanonicalRegistry(in); err != nil || got != want {
			t.Errorf("CanonicalRegistry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"alpine": "index.docker.io", "docker.io/library/alpine:3": "index.docker.io",
		"ghcr.io/acme/shop@sha256:" + hex64('a'): "ghcr.io", "localhost:5000/app": "localhost:5000"} {
		if got, err := registry.Host(in); err != nil || got != want {
			t.Errorf("Host(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := registry.Host("Not A Ref"); !errors.Is(err, registry.ErrInvalidReference) {
		t.Errorf("Host of a bad reference = %v, want ErrInvalidReference", err)
	}
}
