package provenance_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd/options"
)

// recorder is a registry that wants credentials of everyone (401 with a
// Basic challenge) and remembers every Authorization header it was sent.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Get("Authorization"))
	r.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Basic realm="recorder"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func (r *recorder) sawSecret(secret string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.seen {
		if strings.Contains(h, secret) {
			return true
		}
	}
	return false
}

func (r *recorder) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// A Dockerfile of a pull request names whatever base image it likes: the
// credentials given for the image's registry must never reach another one.
func TestBaseImagesNeverGetTheTargetsCredentials(t *testing.T) {
	const user, pass = "ci-bot", "pa55-w0rd-xyz"
	encoded := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	target := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth(user, pass)))
	r, err := name.ParseReference(target.Ref("acme/shop:1.4.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, image(t, "shop"), remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	evil := &recorder{}
	srv := httptest.NewServer(evil)
	t.Cleanup(srv.Close)
	evilHost := strings.TrimPrefix(srv.URL, "http://")

	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("Dockerfile", []byte("FROM "+evilHost+"/x:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flags", nil, []string{"--registry-username", user, "--registry-password", pass}},
		{"environment", map[string]string{options.EnvRegistryUsername: user, options.EnvRegistryPassword: pass}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := evil.requests()
			args := append([]string{"provenance", "generate", target.Ref("acme/shop:1.4.0"), "--dockerfile", "Dockerfile"}, tt.args...)
			_, stderr, err := run(t, merged(githubEnv(), tt.env), args...)
			if err == nil {
				t.Fatal("generate succeeded although the base image's registry refuses everyone")
			}
			if evil.requests() == before {
				t.Fatalf("the base image's registry was never asked: %v\n%s", err, stderr)
			}
			if evil.sawSecret(encoded) {
				t.Errorf("the base image's registry %s received the target registry's credentials", evilHost)
			}
			if strings.Contains(err.Error()+stderr, pass) {
				t.Errorf("the password shows in the output: %v\n%s", err, stderr)
			}
		})
	}
}
