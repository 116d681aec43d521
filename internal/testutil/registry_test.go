package testutil

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// pushRandom pushes a random image to ref and returns its digest reference.
func pushRandom(t *testing.T, ref string, opts ...remote.Option) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(h.String())
}

func referrersStatus(t *testing.T, reg *Registry, d name.Digest) int {
	t.Helper()
	resp, err := http.Get(reg.URL + "/v2/" + d.Context().RepositoryStr() + "/referrers/" + d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNewRegistry(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []RegistryOption
		want int
	}{
		{"without referrers", nil, http.StatusNotFound},
		{"with referrers", []RegistryOption{WithReferrers()}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry(t, tt.opts...)
			if !strings.HasPrefix(reg.Host, "127.0.0.1:") || reg.URL != "http://"+reg.Host {
				t.Fatalf("Host %q URL %q: want 127.0.0.1 and http", reg.Host, reg.URL)
			}
			d := pushRandom(t, reg.Ref("app:v1"))
			if _, err := remote.Head(d); err != nil {
				t.Fatalf("HEAD %s: %v", d, err)
			}
			if got := referrersStatus(t, reg, d); got != tt.want {
				t.Errorf("GET referrers: status %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRequireBasicAuth(t *testing.T) {
	reg := NewRegistry(t, WithHandler(RequireBasicAuth("alice", "s3cret")))
	ref := reg.Ref("app:v1")

	pushRandom(t, ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"}))

	r, _ := name.ParseReference(ref)
	for _, tt := range []struct {
		name string
		auth authn.Authenticator
	}{
		{"anonymous", authn.Anonymous},
		{"wrong password", &authn.Basic{Username: "alice", Password: "nope"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := remote.Head(r, remote.WithAuth(tt.auth))
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
				t.Fatalf("HEAD: %v, want 401", err)
			}
		})
	}
}
