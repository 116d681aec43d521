package options_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
	err := fs.Parse([]string{"--registry-username", "u", "--registry-password", "p", "--allow-insecure-registry", "--registry-timeout", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	want := options.Registry{Username: "u", Password: "p", AllowInsecure: true, Timeout: 5 * time.Second}
	if r != want {
		t.Errorf("parsed %+v, want %+v", r, want)
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
			if err != nil && strings.Contains(err.Error(), "p\"") {
				t.Errorf("error shows a password: %v", err)
			}
			if tt.r != before {
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
			c, err := tt.r.Client(root, nil)
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
