// Package options holds the option groups shared by sc's commands. Each group
// binds its own flags (and, where documented, environment variables) and turns
// them into the options of a library call; none of them does any work itself.
//
// This is the only layer, with cmd/sc, that reads the process environment:
// it does so through Root.Getenv so that tests can supply their own.
package options

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

// Root carries what every command gets from the process around it. It is
// built once by the root command and handed to every command group.
type Root struct {
	// Version is sc's version, as printed by `sc version` and sent in the
	// user agent.
	Version string
	// Getenv reads the environment; os.Getenv in the binary, a map in tests.
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE pairs; os.Environ in the
	// binary. Used where a whole environment is read into a struct (CI
	// detection).
	Environ func() []string

	// LogLevel is the --log-level flag: debug, info, warn or error.
	LogLevel string
}

// LookupEnv reads the environment as os.LookupEnv does: whether name is
// set, even to "", when Environ lists the whole environment; without
// Environ, a non-empty Getenv counts as set. It is the lookup that
// ${env:NAME} secrets of configuration files resolve with, so that a
// variable set to "" is an empty value (COSIGN_PASSWORD= an empty password)
// and an unset one is "not set", as for SC_KEY_PASSWORD and COSIGN_PASSWORD
// themselves.
func (r *Root) LookupEnv(name string) (string, bool) {
	if r.Environ != nil {
		prefix := name + "="
		for _, kv := range r.Environ() {
			if v, ok := strings.CutPrefix(kv, prefix); ok {
				return v, true
			}
		}
		return "", false
	}
	if r.Getenv == nil {
		return "", false
	}
	v := r.Getenv(name)
	return v, v != ""
}

// AddFlags binds the global flags.
func (r *Root) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.LogLevel, "log-level", "info", "log level for progress on stderr: debug, info, warn or error")
}

// Validate checks the global flags without changing them: an unknown
// --log-level is a usage error rather than a silent fallback to info.
func (r *Root) Validate() error {
	if _, ok := parseLevel(r.LogLevel); !ok {
		return outcome.Invalidf("--log-level %q: want debug, info, warn or error", r.LogLevel)
	}
	return nil
}

// parseLevel maps a --log-level value to its slog level; "" is info.
func parseLevel(v string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug":
		return slog.LevelDebug, true
	case "", "info":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// Logger returns a text logger writing to w at the configured level (info
// for a level Validate would refuse).
func (r *Root) Logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(r.LogLevel)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// UserAgent is the User-Agent sc sends to registries and Sigstore services.
func (r *Root) UserAgent() string {
	v := r.Version
	if v == "" {
		v = "devel"
	}
	return "sc/" + v
}
