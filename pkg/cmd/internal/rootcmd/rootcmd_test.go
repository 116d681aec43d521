package rootcmd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

var errCheck = errors.New("the image is not signed")

// tree is sc with one group holding one command: it needs --key and one
// argument, and fails its check.
func tree() *cobra.Command {
	sign := &cobra.Command{
		Use:  "sign IMAGE",
		Args: cobra.ExactArgs(1),
		RunE: func(*cobra.Command, []string) error { return fmt.Errorf("verifying: %w", errCheck) },
	}
	sign.Flags().String("key", "", "key")
	_ = sign.MarkFlagRequired("key")
	group := &cobra.Command{Use: "image"}
	group.AddCommand(sign)
	return rootcmd.New(&options.Root{LogLevel: "info"}, group)
}

// What goes wrong before a command runs is a usage error (exit code 2)
// whose hint names the help of the command that was asked for; what the
// command returns passes through unchanged.
func TestExecuteClassesUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string // in the message; "" for the command's own error
	}{
		{"unknown command", []string{"imag", "sign"}, "see 'sc --help'"},
		{"unknown flag", []string{"image", "sign", "--kye", "k", "img"}, "see 'sc image sign --help'"},
		{"missing required flag", []string{"image", "sign", "img"}, `required flag(s) "key" not set`},
		{"wrong number of arguments", []string{"image", "sign", "--key", "k"}, "see 'sc image sign --help'"},
		{"bad global flag value", []string{"--log-level", "loud", "image", "sign", "--key", "k", "img"}, "--log-level"},
		{"the command's own failure", []string{"image", "sign", "--key", "k", "img"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := rootcmd.Execute(context.Background(), tree(), tt.args)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want == "" {
				if !errors.Is(err, errCheck) || errors.Is(err, outcome.ErrInvalid) {
					t.Errorf("got %v (usage error %v), want the command's own error, unclassed", err, errors.Is(err, outcome.ErrInvalid))
				}
				return
			}
			if !errors.Is(err, outcome.ErrInvalid) {
				t.Errorf("%v: not a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: want %q in it", err, tt.want)
			}
		})
	}
}
