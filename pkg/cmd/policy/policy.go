// Package policy is `sc policy`: commands about image policy files, the
// deploy-time requirements `sc verify --policy` checks. `sc policy
// from-config` derives one from a stack file; `sc policy export` writes one
// as the admission policies of Kyverno and Sigstore's policy-controller.
// The policy logic is pkg/security/policy's; this package parses flags and
// writes files. It does not verify images: `sc verify --policy` does.
package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/policy"
)

// New returns the `sc policy` group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Write image policies: what a deployable image must carry",
	}
	cmd.AddCommand(newFromConfig(root), newExport(root))
	return cmd
}

func newFromConfig(_ *options.Root) *cobra.Command {
	var (
		config, stack, service, name, outFile, maxAge string
	)
	cmd := &cobra.Command{
		Use:   "from-config --config FILE [--stack S] [--service NAME]",
		Short: "Derive the image policy a stack file's releases satisfy",
		Long: `From-config reads a stack file (or compose file) as "sc release create" does and
writes the image policy its releases satisfy, for "sc verify --policy" and
"sc policy export":

  - the signer signing.verify names: signing.publicKey (its PEM is written
    into the policy) or the keyless identity and OIDC issuer, with the
    transparency log required when signatures are logged (tlogUpload);
  - the attestations sc attaches: the SBOM in its format's type,
    slsaprovenance1 with provenance.builder.id when configured, and with
    scan.attest the vuln attestation with maxSeverity one step below
    scan.failOn (failOn high allows medium) and --max-age;
  - images: each service's repository, with any tag (repo:*) or digest
    (repo@*).

Every service of the stack must need the same policy, or choose one with
--service. Exit code 2 when the configuration has problems, signs nothing,
or signs with a key whose public key it does not name.`,
		Example: `  sc policy from-config --config sc.yaml --stack production --max-age 7d > policy.yaml
  sc policy from-config --config sc.yaml --service api --output api-policy.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config == "" {
				return outcome.Invalid("--config is required: the stack file (sc.yaml) or docker-compose file")
			}
			var age api.Duration
			if maxAge != "" {
				var err error
				if age, err = api.ParseDuration(maxAge); err != nil {
					return outcome.Invalidf("--max-age: %w", err)
				}
			}
			rel, err := api.Load(cmd.Context(), config, api.WithStack(stack))
			if err != nil {
				return err
			}
			p, err := derive(cmd.Context(), rel, service, name, age)
			if err != nil {
				return err
			}
			b, err := api.MarshalPolicy(p)
			if err != nil {
				return err
			}
			b = append([]byte("# yaml-language-server: $schema="+api.PolicySchemaID+"\n# Derived by `sc policy from-config` from "+filepath.Base(config)+".\n"), b...)
			if outFile == "" || outFile == "-" {
				if _, err := cmd.OutOrStdout().Write(b); err != nil {
					return outcome.Operationalf("writing the policy: %w", err)
				}
				return nil
			}
			if err := os.WriteFile(outFile, b, 0o644); err != nil {
				return outcome.Operationalf("writing the policy: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&config, "config", "f", "", "stack file (sc.yaml) or docker-compose file (required)")
	fs.StringVar(&stack, "stack", "", "stack (default: the file's only stack, or its only stack with services)")
	fs.StringVar(&service, "service", "", "derive the policy of this service only (default: every service, which must need the same)")
	fs.StringVar(&name, "name", "", "the policy's name (default: the service's, else the stack's)")
	fs.StringVar(&maxAge, "max-age", "", `the vuln attestation's maxAge, such as "7d" (default: no limit)`)
	fs.StringVarP(&outFile, "output", "o", "", "write the policy to this file (default: standard output)")
	return cmd
}

// derive is the policy of service (every service when empty) of rel.
func derive(ctx context.Context, rel *api.Release, service, name string, maxAge api.Duration) (*api.ImagePolicy, error) {
	var services []api.Service
	for _, s := range rel.Services {
		if service == "" || s.Name == service {
			services = append(services, s)
		}
	}
	if len(services) == 0 {
		if service != "" {
			return nil, outcome.Invalidf("--service %s: no such service in %s", service, rel.File)
		}
		return nil, outcome.Invalidf("%s has no services", rel.File)
	}
	if name == "" {
		name = rel.Stack
		if service != "" {
			name = service
		}
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(rel.File), filepath.Ext(rel.File))
		}
	}
	var (
		first  *api.ImagePolicy
		images []string
	)
	for _, s := range services {
		p, err := policy.FromConfig(ctx, name, nil, &s.Security, maxAge, os.ReadFile)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		if first == nil {
			first = p
		} else if !reflect.DeepEqual(first, p) {
			return nil, outcome.Invalidf("services %s and %s need different policies; choose one with --service", services[0].Name, s.Name)
		}
		repo := repository(s.Image)
		images = append(images, repo+":*", repo+"@*")
	}
	first.Images = images
	return first, nil
}

// repository is an image reference without its tag or digest, as written.
func repository(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}
