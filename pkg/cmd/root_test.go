package cmd_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
)

// pflag takes the first back-quoted words of a flag's usage as the name of
// its value (`--db-no-update sc scan db update|import`): a usage quotes a
// value name alone, one word, and a boolean flag none.
func TestFlagUsagesNameNoValueByAccident(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			switch {
			case f.Value.Type() == "bool" && name != "":
				t.Errorf("%s --%s: a boolean flag shows the value name %q in its help", c.CommandPath(), f.Name, name)
			case strings.ContainsAny(name, " |"):
				t.Errorf("%s --%s: the value name %q is back-quoted text, not a name", c.CommandPath(), f.Name, name)
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd.New(&options.Root{Version: "test", Getenv: func(string) string { return "" }}))
}
