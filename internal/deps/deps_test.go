// Package deps holds no code: its test keeps the import graph in the shape
// STYLE.md asks for, so that libraries stay usable without the command line
// and heavy dependencies stay in few packages.
package deps

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list returns each package matching pattern with its transitive imports.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-deps=false", "-json=ImportPath,Imports,Deps"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v matched no package", patterns)
	}
	return pkgs
}

// stdlib reports whether an import path is in the standard library: its
// first element has no dot.
func stdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestLeaves keeps the leaf packages leaves: everything they link, not
// only what they import, is the standard library or the packages listed.
func TestLeaves(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const mod = "github.com/sc-project/sc/"
	for _, r := range []struct {
		pattern string
		allowed []string
		why     string
	}{
		{mod + "pkg/security/runenv", []string{mod + "pkg/outcome"},
			"the run environment (CI, git, OIDC tokens, secrets) needs only the standard library and the error classes"},
		{mod + "pkg/version", nil,
			"the build facts are read with the standard library only: results and attestations embed them"},
	} {
		for _, p := range list(t, r.pattern) {
			for _, d := range p.Deps {
				if !stdlib(d) && !slices.Contains(r.allowed, d) {
					t.Errorf("%s links %s: %s", p.ImportPath, d, r.why)
				}
			}
		}
	}
}

// TestKMSProvidersInOnePlace keeps sigstore's KMS providers imported by
// one package: pkg/security/signing/kms says which schemes sc supports
// and loads them; everything else goes through it.
func TestKMSProvidersInOnePlace(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const mod = "github.com/sc-project/sc/"
	const providers = "github.com/sigstore/sigstore/pkg/signature/kms"
	seen := false
	for _, p := range list(t, mod+"...") {
		for _, d := range p.Imports {
			if d != providers && !strings.HasPrefix(d, providers+"/") {
				continue
			}
			if p.ImportPath == mod+"pkg/security/signing/kms" || p.ImportPath == mod+"pkg/security/signing/kms_test" {
				seen = true
				continue
			}
			t.Errorf("%s imports %s: only pkg/security/signing/kms imports sigstore's KMS providers", p.ImportPath, d)
		}
	}
	if !seen {
		t.Error("pkg/security/signing/kms imports no KMS provider: the rule checks nothing")
	}
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const mod = "github.com/sc-project/sc/"
	rules := []struct {
		pattern   string
		forbidden []string
		why       string
		direct    bool // only direct imports count (cobra comes in through rekor's pgp support)
	}{
		{pattern: mod + "pkg/security/...", forbidden: []string{"github.com/spf13/cobra", "github.com/spf13/pflag"}, direct: true,
			why: "libraries must not use the command-line framework"},
		{mod + "pkg/security/...", []string{mod + "pkg/cmd"},
			"libraries must not depend on the command line", false},
		{mod + "pkg/api", []string{"github.com/sigstore/", "github.com/anchore/", "github.com/google/go-containerregistry"},
			"configuration parsing stays light", false},
		{mod + "pkg/security/registry", []string{"github.com/sigstore/", "github.com/anchore/"},
			"the registry layer stays light: signing builds on it", false},
		{mod + "pkg/security/shard", []string{"github.com/sigstore/", "github.com/anchore/"},
			"planning shards reads manifests only: `sc release plan` and CI jobs need no scanner or signer", false},
		{mod + "pkg/outcome", []string{"github.com/"},
			"the error classes are a leaf", false},
		{mod + "pkg/security/...", []string{"github.com/pulumi/"},
			"the Pulumi SDK stays in pkg/pulumi", false},
		{mod + "pkg/cmd/...", []string{"github.com/pulumi/"},
			"the Pulumi SDK stays in pkg/pulumi", false},
		{mod + "pkg/...", []string{"github.com/pulumi/pulumi/sdk/v3/go/auto"},
			"the Automation API (which runs the Pulumi CLI) drives the engine in internal/pulumiint's tests only", false},
		{mod + "...", []string{"github.com/sigstore/cosign/v3/cmd/"},
			"cosign's cmd/ packages drag in a module the proxy refuses", false},
		{mod + "pkg/cmd/options", []string{"github.com/anchore/", "github.com/sigstore/"},
			"option groups fill option structs and link nothing heavy: every command imports them", false},
		{mod + "pkg/cmd/config", []string{"github.com/anchore/", "github.com/sigstore/"},
			"`sc config` needs no scanner or signer", false},
		{mod + "pkg/cmd/cache", []string{"github.com/anchore/", "github.com/sigstore/"},
			"`sc cache` needs no scanner or signer", false},
		{mod + "pkg/cmd/key", []string{"github.com/anchore/", "github.com/sigstore/"},
			"`sc key` makes keys with pkg/security/signing/keyfile, not cosign", false},
		{mod + "pkg/security/policy", []string{"github.com/anchore/syft", "github.com/anchore/grype", "github.com/anchore/stereoscope", mod + "pkg/security/pipeline"},
			"checking an image against a policy reads signatures and attestations: no cataloguer, scanner or executor", false},
		{mod + "pkg/cmd/verify", []string{"github.com/anchore/syft", "github.com/anchore/grype", "github.com/anchore/stereoscope"},
			"`sc verify --policy` is a deploy gate: it must stay quick to build and start, without a cataloguer or scanner", false},
		{mod + "pkg/cmd/policy", []string{"github.com/anchore/syft", "github.com/anchore/grype", "github.com/anchore/stereoscope"},
			"`sc policy` writes policy files: no cataloguer or scanner", false},
		{mod + "pkg/security/signing", []string{"github.com/aws/", "github.com/hashicorp/vault/", "github.com/sigstore/sigstore/pkg/signature/kms/"},
			"KMS providers (the AWS SDK, Vault's client) are linked through pkg/security/signing/kms by signing/setup only: signing itself stays without them", false},
		{mod + "pkg/security/attest", []string{"github.com/aws/", "github.com/hashicorp/vault/", "github.com/sigstore/sigstore/pkg/signature/kms/"},
			"KMS providers are linked through pkg/security/signing/kms by signing/setup only", false},
		{mod + "pkg/security/registry", []string{"github.com/aws/", "github.com/hashicorp/vault/"},
			"KMS providers are linked through pkg/security/signing/kms by signing/setup only", false},
		{mod + "pkg/cmd/options", []string{"github.com/aws/", "github.com/hashicorp/vault/"},
			"option groups link nothing heavy", false},
		{mod + "pkg/cmd/config", []string{"github.com/aws/", "github.com/hashicorp/vault/"},
			"`sc config validate` checks KMS URIs by scheme (pkg/api), without the providers", false},
		{mod + "pkg/cmd/attest", []string{"github.com/anchore/"},
			"`sc attest` and `sc verify-attestation` sign and verify documents they are given: no cataloguer or scanner", false},
	}
	for _, r := range rules {
		for _, p := range list(t, r.pattern) {
			if strings.HasPrefix(p.ImportPath, mod+"internal/testutil") {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				for _, f := range r.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
						t.Errorf("%s imports %s: %s", p.ImportPath, d, r.why)
					}
				}
			}
		}
	}
}
