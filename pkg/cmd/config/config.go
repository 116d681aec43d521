// Package config implements `sc config`: checking a configuration file and
// listing every problem in it, printing the effective configuration of each
// service, and printing the JSON Schema of configuration files.
//
// It only turns flags into calls of package api and renders the results; it
// does not sign, scan or contact anything.
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
)

// New returns the `sc config` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and explain sc configuration files",
		Long: `Check and explain sc configuration files: stack files, and docker-compose
files with x-sc-security blocks.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newValidate(root), newShow(), newSchema())
	return cmd
}

func newValidate(root *options.Root) *cobra.Command {
	var stack string
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file and list every problem in it",
		Long: `Check a configuration file: its syntax, every key and value, the parents it
inherits from, and the effective configuration of every service. Each service
gets an OK line on stdout naming the steps that will run; problems go to
stderr, all at once, as file:line:column: path: message, and the exit code
is 2. Warnings go to stderr too and leave the exit code 0: services skipped
for lack of an image, expired ignore rules, security off for every service,
and ${env:NAME} secrets that are not set in this environment (a variable
set to "" is an empty password, as for COSIGN_PASSWORD).

Without --stack, every stack that has services is checked.`,
		Example: `  sc config validate sc.yaml
  sc config validate sc.yaml --stack production
  sc config validate docker-compose.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), root.LookupEnv, args[0], stack)
		},
	}
	cmd.Flags().StringVar(&stack, "stack", "", "check only this stack (default: every stack with services)")
	return cmd
}

func runValidate(ctx context.Context, stdout, stderr io.Writer, lookupEnv func(string) (string, bool), file, stack string) error {
	var (
		rels []*api.Release
		err  error
	)
	if stack != "" {
		var rel *api.Release
		if rel, err = api.Load(ctx, file, api.WithStack(stack)); rel != nil {
			rels = append(rels, rel)
		}
	} else {
		rels, err = api.LoadAll(ctx, file)
	}
	if err != nil {
		return reportProblems(stderr, file, err)
	}
	printWarnings(stderr, rels)
	for _, rel := range rels {
		if w, off := rel.SecurityOff(rel.Services); off {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		for _, w := range rel.CheckEnv(lookupEnv) {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
	}
	if len(rels) == 0 {
		_, err := fmt.Fprintf(stdout, "ok %s: no services; it can be a parent of other files\n", file)
		return err
	}
	services := 0
	for _, rel := range rels {
		services += len(rel.Services)
	}
	if services == 0 {
		_, err := fmt.Fprintf(stdout, "ok %s: no service has an image; nothing to secure\n", file)
		return err
	}
	for _, rel := range rels {
		for _, svc := range rel.Services {
			name := svc.Name
			if rel.Stack != "" {
				name = rel.Stack + "/" + svc.Name
			}
			if _, err := fmt.Fprintf(stdout, "ok %s %s: %s\n", name, svc.Image, steps(&svc.Security)); err != nil {
				return err
			}
		}
	}
	return nil
}

// steps names what will run for an effective configuration.
func steps(s *api.Security) string {
	if !s.Active() {
		return "security off"
	}
	var on []string
	if s.ScanEnabled() {
		on = append(on, fmt.Sprintf("scan (fail on %s)", s.Scan.FailOn))
	}
	if s.SBOMEnabled() {
		on = append(on, "sbom ("+string(s.SBOM.Format)+")")
	}
	if s.ProvenanceEnabled() {
		on = append(on, "provenance")
	}
	if s.SigningEnabled() {
		if s.Signing.IsKeyless() {
			on = append(on, "sign (keyless)")
		} else {
			on = append(on, "sign (key)")
		}
	}
	if s.VerifyEnabled() {
		on = append(on, "verify")
	}
	if len(on) == 0 {
		return "no steps on"
	}
	return strings.Join(on, ", ")
}

// reportProblems prints a validation error's problems to stderr, one per
// line, and returns a short error in the same class: main prints the
// returned error too, and the list should appear once.
func reportProblems(stderr io.Writer, file string, err error) error {
	var verr *api.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	for _, p := range verr.Problems {
		if _, werr := fmt.Fprintln(stderr, p); werr != nil {
			return outcome.Operationalf("writing problems: %w", werr)
		}
	}
	n := len(verr.Problems)
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return outcome.Invalidf("%s: %d %s", file, n, noun)
}

func printWarnings(stderr io.Writer, rels []*api.Release) {
	for _, rel := range rels {
		for _, w := range rel.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
	}
}

func newShow() *cobra.Command {
	var stack, output string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print the effective configuration of every service of a stack",
		Long: `Print the effective configuration of every service of one stack: the file's,
the parents', the stack's and the service's security merged, with every
default filled in. Secrets print as their references (${env:NAME},
${file:PATH}); literal secrets print as [redacted].`,
		Example: `  sc config show sc.yaml --stack production
  sc config show docker-compose.yaml --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShow(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], stack, output)
		},
	}
	cmd.Flags().StringVar(&stack, "stack", "", "the stack to show (default: the only stack, or the only one with services)")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}

func runShow(ctx context.Context, stdout, stderr io.Writer, file, stack, output string) error {
	if output != "yaml" && output != "json" {
		return outcome.Invalidf("unknown --output %q: use yaml or json", output)
	}
	rel, err := api.Load(ctx, file, api.WithStack(stack))
	if err != nil {
		return reportProblems(stderr, file, err)
	}
	printWarnings(stderr, []*api.Release{rel})
	var b []byte
	if output == "json" {
		b, err = json.MarshalIndent(rel, "", "  ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(rel)
	}
	if err != nil {
		return outcome.Operationalf("rendering the configuration: %w", err)
	}
	_, err = stdout.Write(b)
	return err
}

func newSchema() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of sc configuration files",
		Long: `Print the JSON Schema (draft 2020-12) of sc configuration files. Point your
editor at it for completion and checking, for example with a first line of
  # yaml-language-server: $schema=./sc.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := api.Schema()
			if err != nil {
				return outcome.Operationalf("generating the schema: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}
