package options

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// Environment variables read by the registry flag group.
const (
	EnvRegistryUsername = "SC_REGISTRY_USERNAME"
	EnvRegistryPassword = "SC_REGISTRY_PASSWORD"
	// EnvRegistryCredentials holds credentials for named registries, one
	// HOST=USERNAME:PASSWORD per line, as --registry-credentials does.
	EnvRegistryCredentials = "SC_REGISTRY_CREDENTIALS"
)

// Registry is the flag group of commands that talk to registries:
// credentials, the plain-HTTP opt-in and the request timeout.
//
// Credentials are scoped to a registry. --registry-username and
// --registry-password belong to the registry of the image the command works
// on; --registry-credentials HOST=USERNAME:PASSWORD names its registry.
// Every other registry (a base image named by a Dockerfile, say) gets only
// what the docker config file and its credential helpers have for it.
type Registry struct {
	// Username is --registry-username, else SC_REGISTRY_USERNAME.
	Username string
	// Password is --registry-password, else SC_REGISTRY_PASSWORD. Never
	// printed.
	Password string
	// Credentials is --registry-credentials (repeatable), each
	// HOST=USERNAME:PASSWORD; the lines of SC_REGISTRY_CREDENTIALS are added
	// to them. Never printed.
	Credentials []string
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
		"username for the image's registry (or "+EnvRegistryUsername+"); default: docker config and credential helpers")
	fs.StringVar(&r.Password, "registry-password", "",
		"password or token for the image's registry (or "+EnvRegistryPassword+", preferred: flags show in process lists)")
	fs.StringArrayVar(&r.Credentials, "registry-credentials", nil,
		"HOST=USERNAME:PASSWORD, credentials for the registry HOST only; repeatable "+
			"(or "+EnvRegistryCredentials+", one per line, preferred: flags show in process lists)")
	fs.BoolVar(&r.AllowInsecure, "allow-insecure-registry", false,
		"allow plain HTTP to registries outside the loopback interface (loopback registries always may)")
	fs.DurationVar(&r.Timeout, "registry-timeout", registry.DefaultTimeout,
		"how long a registry request may go without progress before it is retried")
}

// String shows the flags without a password: the username and the hosts of
// the named credentials.
func (r Registry) String() string {
	hosts := make([]string, len(r.Credentials))
	for i, c := range r.Credentials {
		hosts[i], _, _ = strings.Cut(c, "=")
	}
	pass := ""
	if r.Password != "" {
		pass = "(redacted)"
	}
	return fmt.Sprintf("username=%q password=%s credentials-for=%v allow-insecure=%v timeout=%v",
		r.Username, pass, hosts, r.AllowInsecure, r.Timeout)
}

// GoString is String: %#v must not show a password either.
func (r Registry) GoString() string { return "options.Registry{" + r.String() + "}" }

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

// named parses --registry-credentials and SC_REGISTRY_CREDENTIALS. Errors
// name the entry, never its content past the host.
func (r *Registry) named(root *Root) ([]registry.Credential, error) {
	type entry struct{ where, text string }
	var entries []entry
	for i, c := range r.Credentials {
		entries = append(entries, entry{fmt.Sprintf("--registry-credentials #%d", i+1), c})
	}
	if root != nil && root.Getenv != nil {
		for i, line := range strings.Split(root.Getenv(EnvRegistryCredentials), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				entries = append(entries, entry{fmt.Sprintf("%s line %d", EnvRegistryCredentials, i+1), line})
			}
		}
	}
	var out []registry.Credential
	for _, e := range entries {
		host, userpass, ok := strings.Cut(e.text, "=")
		user, pass, ok2 := strings.Cut(userpass, ":")
		if !ok || !ok2 {
			return nil, outcome.Invalidf("%s: want HOST=USERNAME:PASSWORD", e.where)
		}
		c := registry.Credential{Registry: strings.TrimSpace(host), Username: user, Password: pass}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", e.where, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Validate checks the flags, with the environment of root, without changing
// them: the username and password come as a pair, every
// --registry-credentials entry parses, and the timeout is positive.
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
	if _, err := r.named(root); err != nil {
		return err
	}
	return nil
}

// Client validates the flags and returns a registry client configured by
// them, sending root's user agent and logging to logger. images are the
// references the command works on: --registry-username and
// --registry-password are given to their registry, which must be one.
func (r *Registry) Client(root *Root, logger *slog.Logger, images ...string) (*registry.Client, error) {
	if err := r.Validate(root); err != nil {
		return nil, err
	}
	creds, err := r.named(root)
	if err != nil {
		return nil, err
	}
	if user, pass := r.credentials(root); user != "" {
		host, err := imageRegistry(images)
		if err != nil {
			return nil, err
		}
		creds = append(creds, registry.Credential{Registry: host, Username: user, Password: pass})
	}
	if err := distinctRegistries(creds); err != nil {
		return nil, err
	}
	opts := []registry.Option{
		registry.WithUserAgent(root.UserAgent()),
		registry.WithTimeout(r.Timeout),
		registry.WithLogger(logger),
		registry.WithCredentials(creds...),
	}
	if r.AllowInsecure {
		opts = append(opts, registry.WithInsecureHTTP())
	}
	return registry.New(opts...), nil
}

// imageRegistry is the one registry the images are on, which
// --registry-username and --registry-password are for.
func imageRegistry(images []string) (string, error) {
	var hosts []string
	for _, img := range images {
		h, err := registry.Host(img)
		if err != nil {
			return "", err
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	switch len(hosts) {
	case 0:
		return "", outcome.Invalid("--registry-username and --registry-password are for the registry of the image worked on, " +
			"and there is none here: name the registry with --registry-credentials HOST=USERNAME:PASSWORD")
	case 1:
		return hosts[0], nil
	}
	return "", outcome.Invalidf("--registry-username and --registry-password are for one registry, and the images are on %s: "+
		"give each registry its own with --registry-credentials HOST=USERNAME:PASSWORD (or %s)",
		strings.Join(hosts, ", "), EnvRegistryCredentials)
}

// distinctRegistries refuses two different credentials for one registry:
// which one is meant cannot be told.
func distinctRegistries(creds []registry.Credential) error {
	seen := map[string]registry.Credential{}
	for _, c := range creds {
		h, _ := registry.CanonicalRegistry(c.Registry)
		if prev, ok := seen[h]; ok && prev != c {
			return outcome.Invalidf("two different sets of credentials for the registry %s", c.Registry)
		}
		seen[h] = c
	}
	return nil
}
