package options_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

func TestRegistryFlags(t *testing.T) {
	var r options.Registry
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	r.AddFlags(fs)
	if r.Timeout != registry.DefaultTimeout {
		t.Errorf("default timeout %v, want %v", r.Timeout, registry.DefaultTimeout)
	}
	err := fs.Parse([]string{"--registry-username", "u", "--registry-password", "p", "--allow-insecure-registry", "--registry-timeout", "5s",
		"--registry-credentials", "ghcr.io=bot:a,b", "--registry-credentials", "localhost:5000=x:y"})
	if err != nil {
		t.Fatal(err)
	}
	want := options.Registry{Username: "u", Password: "p", AllowInsecure: true, Timeout: 5 * time.Second,
		Credentials: []string{"ghcr.io=bot:a,b", "localhost:5000=x:y"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if f := fs.Lookup("registry-password"); f.DefValue != "" {
		t.Errorf("the password flag has a default %q", f.DefValue)
	}
}

func TestRegistryValidate(t *testing.T) {
	env := func(m map[string]string) *options.Root {
		return &options.Root{Getenv: func(k string) string { return m[k] }}
	}
	for _, tt := range []struct {
		name string
		r    options.Registry
		root *options.Root
		ok   bool
	}{
		{"nothing", options.Registry{Timeout: time.Second}, env(nil), true},
		{"flags", options.Registry{Username: "u", Password: "p", Timeout: time.Second}, env(nil), true},
		{"environment", options.Registry{Timeout: time.Second}, env(map[string]string{options.EnvRegistryUsername: "u", options.EnvRegistryPassword: "p"}), true},
		{"mixed", options.Registry{Username: "u", Timeout: time.Second}, env(map[string]string{options.EnvRegistryPassword: "p"}), true},
		{"username only", options.Registry{Username: "u", Timeout: time.Second}, env(nil), false},
		{"password only", options.Registry{Timeout: time.Second}, env(map[string]string{options.EnvRegistryPassword: "p"}), false},
		{"zero timeout", options.Registry{}, env(nil), false},
		{"negative timeout", options.Registry{Timeout: -time.Second}, env(nil), false},
		{"no Getenv", options.Registry{Timeout: time.Second}, &options.Root{}, true},
		{"named", options.Registry{Timeout: time.Second, Credentials: []string{"ghcr.io=bot:p:with:colons"}}, env(nil), true},
		{"named in the environment", options.Registry{Timeout: time.Second},
			env(map[string]string{options.EnvRegistryCredentials: "ghcr.io=bot:p\n\n  docker.io=me:p  \n"}), true},
		{"named without host", options.Registry{Timeout: time.Second, Credentials: []string{"=bot:p"}}, env(nil), false},
		{"named without password", options.Registry{Timeout: time.Second, Credentials: []string{"ghcr.io=bot:"}}, env(nil), false},
		{"named without username", options.Registry{Timeout: time.Second, Credentials: []string{"ghcr.io=:p"}}, env(nil), false},
		{"named without colon", options.Registry{Timeout: time.Second, Credentials: []string{"ghcr.io=p"}}, env(nil), false},
		{"named with a URL", options.Registry{Timeout: time.Second, Credentials: []string{"https://ghcr.io=bot:p"}}, env(nil), false},
		{"named, bad line in the environment", options.Registry{Timeout: time.Second},
			env(map[string]string{options.EnvRegistryCredentials: "ghcr.io=bot:p\nnonsense-p"}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.r
			err := tt.r.Validate(tt.root)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("exit code %d, want 2", outcome.Code(err))
			}
			if err != nil && (strings.Contains(err.Error(), "p\"") || strings.Contains(err.Error(), "nonsense")) {
				t.Errorf("error shows a password: %v", err)
			}
			if !cmp.Equal(tt.r, before) {
				t.Errorf("Validate changed the options: %+v", tt.r)
			}
		})
	}
}

// The client takes its credentials from the flags or the environment, the
// flags winning.
func TestRegistryClient(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth("alice", "s3cret")))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, tt := range []struct {
		name string
		r    options.Registry
		env  map[string]string
		want error
	}{
		{"environment", options.Registry{}, map[string]string{options.EnvRegistryUsername: "alice", options.EnvRegistryPassword: "s3cret"}, registry.ErrNoSuchImage},
		{"flag wins", options.Registry{Password: "s3cret"}, map[string]string{options.EnvRegistryUsername: "alice", options.EnvRegistryPassword: "old"}, registry.ErrNoSuchImage},
		{"none", options.Registry{}, nil, registry.ErrUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Timeout = time.Minute
			root := &options.Root{Version: "v1", Getenv: func(k string) string { return tt.env[k] }}
			c, err := tt.r.Client(root, nil, reg.Ref("app:v1"))
			if err != nil {
				t.Fatal(err)
			}
			// Authenticated, the registry answers that there is no such image.
			_, err = c.Resolve(context.Background(), reg.Ref("app:v1"))
			if !errors.Is(err, tt.want) {
				t.Errorf("Resolve = %v, want %v", err, tt.want)
			}
		})
	}
}

// The username and password belong to the image's registry, named
// credentials to theirs: which registry gets which is decided here.
func TestRegistryClientScoping(t *testing.T) {
	alice := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth("alice", "s3cret")))
	bob := testutil.NewRegistry(t, testutil.WithHandler(testutil.RequireBasicAuth("bob", "hunter2")))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	pair := options.Registry{Username: "alice", Password: "s3cret"}
	named := options.Registry{Credentials: []string{bob.Host + "=bob:hunter2"}}
	both := options.Registry{Username: "alice", Password: "s3cret", Credentials: named.Credentials}
	for _, tt := range []struct {
		name    string
		r       options.Registry
		env     map[string]string
		images  []string
		aliceOK bool
		bobOK   bool
		code    int // of Client; 0 when it succeeds
	}{
		{"pair for the image", pair, nil, []string{alice.Ref("app:v1")}, true, false, 0},
		{"pair for the other image", pair, nil, []string{bob.Ref("app:v1")}, false, false, 0},
		{"named", named, nil, []string{alice.Ref("app:v1")}, false, true, 0},
		{"named in the environment", options.Registry{}, map[string]string{options.EnvRegistryCredentials: bob.Host + "=bob:hunter2"},
			[]string{alice.Ref("app:v1")}, false, true, 0},
		{"both", both, nil, []string{alice.Ref("app:v1"), alice.Ref("db:v1")}, true, true, 0},
		{"pair, images on two registries", pair, nil, []string{alice.Ref("app:v1"), bob.Ref("app:v1")}, false, false, outcome.ExitInvalid},
		{"pair, no image", pair, nil, nil, false, false, outcome.ExitInvalid},
		{"pair, bad image", pair, nil, []string{"Not A Reference"}, false, false, outcome.ExitInvalid},
		{"two credentials for one registry", options.Registry{Username: "alice", Password: "s3cret", Credentials: []string{alice.Host + "=alice:other"}},
			nil, []string{alice.Ref("app:v1")}, false, false, outcome.ExitInvalid},
		{"the same credentials twice", options.Registry{Username: "alice", Password: "s3cret", Credentials: []string{alice.Host + "=alice:s3cret"}},
			nil, []string{alice.Ref("app:v1")}, true, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Timeout = time.Minute
			root := &options.Root{Version: "v1", Getenv: func(k string) string { return tt.env[k] }}
			c, err := tt.r.Client(root, nil, tt.images...)
			if tt.code != 0 {
				if outcome.Code(err) != tt.code {
					t.Fatalf("Client = %v, want exit %d", err, tt.code)
				}
				for _, secret := range []string{"s3cret", "hunter2", "other"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error shows a password: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct {
				reg *testutil.Registry
				ok  bool
			}{{alice, tt.aliceOK}, {bob, tt.bobOK}} {
				// Authenticated, the registry answers that there is no such image.
				_, err = c.Resolve(context.Background(), r.reg.Ref("app:v1"))
				want := registry.ErrUnauthorized
				if r.ok {
					want = registry.ErrNoSuchImage
				}
				if !errors.Is(err, want) {
					t.Errorf("Resolve(%s) = %v, want %v", r.reg.Host, err, want)
				}
			}
		})
	}
}

func TestRegistryNeverPrintsPasswords(t *testing.T) {
	r := options.Registry{Username: "u", Password: "s3cret", Credentials: []string{"ghcr.io=bot:hunter2"}, Timeout: time.Second}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%v", &r)} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, "hunter2") {
			t.Errorf("%q shows a password", s)
		}
		if !strings.Contains(s, "ghcr.io") {
			t.Errorf("%q does not name the registry", s)
		}
	}
}
