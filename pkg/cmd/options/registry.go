package options

import (
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Environment variables read by the registry flag group.
const (
	EnvRegistryUsername = "SC_REGISTRY_USERNAME"
	EnvRegistryPassword = "SC_REGISTRY_PASSWORD"
)

// Registry is the flag group of commands that talk to registries:
// credentials, the plain-HTTP opt-in and the request timeout. Without
// credentials the docker config file and its credential helpers are used.
type Registry struct {
	// Username is --registry-username, else SC_REGISTRY_USERNAME.
	Username string
	// Password is --registry-password, else SC_REGISTRY_PASSWORD. Never
	// printed.
	Password string
	// AllowInsecure is --allow-insecure-registry: plain HTTP to registries
	// outside the loopback interface.
	AllowInsecure bool
	// Timeout is --registry-timeout: how long one request may go without
	// progress.
	Timeout time.Duration
}

// AddFlags binds the registry flags.
func (r *Registry) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.Username, "registry-username", "",
		"registry username (or "+EnvRegistryUsername+"); default: docker config and credential helpers")
	fs.StringVar(&r.Password, "registry-password", "",
		"registry password or token (or "+EnvRegistryPassword+", preferred: flags show in process lists)")
	fs.BoolVar(&r.AllowInsecure, "allow-insecure-registry", false,
		"allow plain HTTP to registries outside the loopback interface (loopback registries always may)")
	fs.DurationVar(&r.Timeout, "registry-timeout", registry.DefaultTimeout,
		"how long a registry request may go without progress before it is retried")
}

// credentials returns the username and password from the flags, falling
// back to the environment.
func (r *Registry) credentials(root *Root) (string, string) {
	user, pass := r.Username, r.Password
	if root != nil && root.Getenv != nil {
		if user == "" {
			user = root.Getenv(EnvRegistryUsername)
		}
		if pass == "" {
			pass = root.Getenv(EnvRegistryPassword)
		}
	}
	return user, pass
}

// Validate checks the flags, with the environment of root, without changing
// them: credentials come as a pair and the timeout is positive.
func (r *Registry) Validate(root *Root) error {
	user, pass := r.credentials(root)
	switch {
	case user != "" && pass == "":
		return outcome.Invalidf("a registry username without a password: set --registry-password or %s", EnvRegistryPassword)
	case user == "" && pass != "":
		return outcome.Invalidf("a registry password without a username: set --registry-username or %s", EnvRegistryUsername)
	case r.Timeout <= 0:
		return outcome.Invalidf("--registry-timeout must be positive, got %v", r.Timeout)
	}
	return nil
}

// Client validates the flags and returns a registry client configured by
// them, sending root's user agent and logging to logger.
func (r *Registry) Client(root *Root, logger *slog.Logger) (*registry.Client, error) {
	if err := r.Validate(root); err != nil {
		return nil, err
	}
	opts := []registry.Option{
		registry.WithUserAgent(root.UserAgent()),
		registry.WithTimeout(r.Timeout),
		registry.WithLogger(logger),
	}
	if user, pass := r.credentials(root); user != "" {
		opts = append(opts, registry.WithBasicAuth(user, pass))
	}
	if r.AllowInsecure {
		opts = append(opts, registry.WithInsecureHTTP())
	}
	return registry.New(opts...), nil
}
