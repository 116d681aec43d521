// Package clitest runs sc's command line inside a test process, with an
// environment of the test's choosing instead of the process's. It links
// every command (pkg/cmd), so only test packages that drive the command
// line import it; library tests do not.
package clitest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
)

// Run runs `sc args…` with only the environment variables in env (and a
// DOCKER_CONFIG of its own, so that the machine's registry credentials are
// not used), and returns its standard output, standard error and error
// (outcome.Code gives the exit code).
func Run(t testing.TB, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := &options.Root{
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var out []string
			for k, v := range env {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
	c := cmd.New(root)
	var o, e bytes.Buffer
	c.SetOut(&o)
	c.SetErr(&e)
	c.SetIn(strings.NewReader(""))
	err = cmd.Execute(context.Background(), c, args)
	return o.String(), e.String(), err
}
