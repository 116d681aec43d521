package provenance_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/signing"
)

const builderID = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"

// keyFiles writes a cosign key pair into dir and returns the paths of the
// private and public key, and the environment holding the password.
func keyFiles(t *testing.T, dir string) (priv, pub string, env map[string]string) {
	t.Helper()
	kp, err := signing.GenerateKeyPair([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub, map[string]string{"SC_KEY_PASSWORD": "s3cret"}
}

// registryWith starts a registry of the given kind holding the base
// images and acme/shop:1.4.0, in a fresh working directory with the
// Dockerfile.
func registryWith(t *testing.T, kind string) *testutil.Registry {
	t.Helper()
	var reg *testutil.Registry
	switch kind {
	case "in-process":
		reg = testutil.NewRegistry(t, testutil.WithReferrers())
	case "docker-registry":
		reg = &testutil.StartDockerRegistry(t).Registry
	default:
		t.Fatalf("unknown registry %q", kind)
	}
	push(t, reg.Ref("base/golang:1.23"), image(t, "golang"))
	push(t, reg.Ref("base/runtime:2"), image(t, "runtime"))
	push(t, reg.Ref("acme/shop:1.4.0"), image(t, "shop"))
	push(t, reg.Ref("acme/other:1"), image(t, "other"))
	t.Chdir(t.TempDir())
	if err := os.WriteFile("Dockerfile", []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return reg
}

func merged(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		maps.Copy(out, e)
	}
	return out
}

// TestAttachVerify generates, signs and attaches provenance in CI, in both
// storage formats on both registries, and verifies it with expectations:
// matching ones pass, each mismatch fails naming its field.
func TestAttachVerify(t *testing.T) {
	for _, kind := range []string{"in-process", "docker-registry"} {
		for _, format := range []string{"bundle", "legacy"} {
			t.Run(kind+"/"+format, func(t *testing.T) {
				reg := registryWith(t, kind)
				priv, pub, keyEnv := keyFiles(t, t.TempDir())
				env := merged(githubEnv(), keyEnv)
				image := reg.Ref("acme/shop:1.4.0")

				stdout, stderr, err := run(t, env, "provenance", "attach", image,
					"--dockerfile", "Dockerfile", "--build-arg", "REGISTRY="+reg.Host, "--build-arg", "GO_VERSION=1.23",
					"--key", priv, "--tlog-upload=false", "--attestation-format", format, "--output", "statement.json")
				if err != nil {
					t.Fatalf("attach: %v\n%s", err, stderr)
				}
				if !strings.HasPrefix(stdout, "Attached https://slsa.dev/provenance/v1 attestation to "+reg.Ref("acme/shop@sha256:")) ||
					!strings.Contains(stdout, "("+format+", key ") {
					t.Errorf("attach printed %q", stdout)
				}
				statement, err := os.ReadFile("statement.json")
				if err != nil || !strings.Contains(string(statement), builderID) {
					t.Errorf("--output statement: %v\n%s", err, statement)
				}
				checkNoSecrets(t, string(statement))

				verify := []string{"provenance", "verify", image, "--key", pub, "--insecure-ignore-tlog"}
				stdout, stderr, err = run(t, env, append(verify,
					"--expected-builder-id", builderID, "--expected-source-uri", "https://github.com/acme/shop",
					"--expected-commit", commit)...)
				if err != nil {
					t.Fatalf("verify: %v\n%s", err, stderr)
				}
				for _, want := range []string{"Verified SLSA provenance of " + reg.Ref("acme/shop@sha256:"), "builder     " + builderID,
					"source      https://github.com/acme/shop", "commit      " + commit, "(" + format + ", sha256:"} {
					if !strings.Contains(stdout, want) {
						t.Errorf("verify output lacks %q:\n%s", want, stdout)
					}
				}

				mismatches := []struct{ flag, value, field string }{
					{"--expected-commit", strings.Repeat("0", 40), "buildDefinition.externalParameters.source.commit"},
					{"--expected-source-uri", "https://github.com/evil/shop", "buildDefinition.externalParameters.source.uri"},
					{"--expected-builder-id", "https://github.com/evil/shop/.github/workflows/x.yml@refs/heads/main", "runDetails.builder.id"},
				}
				for _, m := range mismatches {
					_, _, err := run(t, env, append(verify, m.flag, m.value)...)
					if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), m.field) {
						t.Errorf("verify %s %s: %v; want exit 1 naming %s", m.flag, m.value, err, m.field)
					}
				}
			})
		}
	}
}

// TestAttachFromFile attaches what `sc provenance generate` wrote, checks
// that it is about the image, and refuses generation flags beside it.
func TestAttachFromFile(t *testing.T) {
	reg := registryWith(t, "in-process")
	priv, pub, keyEnv := keyFiles(t, t.TempDir())
	env := merged(gitlabEnv(), keyEnv)
	image := reg.Ref("acme/shop:1.4.0")
	if _, stderr, err := run(t, env, "provenance", "generate", image, "--output", "prov.json"); err != nil {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	sign := []string{"--key", priv, "--tlog-upload=false"}

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"statement about the image", []string{image, "--provenance", "prov.json"}, outcome.ExitOK},
		{"statement about another image", []string{reg.Ref("acme/other:1"), "--provenance", "prov.json"}, outcome.ExitInvalid},
		{"generation flag beside --provenance", []string{image, "--provenance", "prov.json", "--dockerfile", "Dockerfile"}, outcome.ExitInvalid},
		{"missing file", []string{image, "--provenance", "nope.json"}, outcome.ExitInvalid},
		{"not provenance", []string{image, "--provenance", "Dockerfile"}, outcome.ExitInvalid},
		{"unknown storage format", []string{image, "--provenance", "prov.json", "--attestation-format", "zip"}, outcome.ExitInvalid},
		{"keyless without a log", []string{image, "--provenance", "prov.json", "--tlog-upload=false"}, outcome.ExitInvalid},
		{"missing image", []string{reg.Ref("acme/none:1"), "--provenance", "prov.json"}, outcome.ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"provenance", "attach"}, tt.args...)
			if tt.name != "keyless without a log" {
				args = append(args, sign...)
			}
			_, stderr, err := run(t, env, args...)
			if got := outcome.Code(err); got != tt.want {
				t.Fatalf("attach: exit %d (%v), want %d\n%s", got, err, tt.want, stderr)
			}
		})
	}

	// A bare predicate is accepted too.
	stmt, err := os.ReadFile("prov.json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(stmt), `"predicate": {`)
	if i < 0 {
		t.Fatalf("no predicate in %s", stmt)
	}
	pred := strings.TrimSuffix(strings.TrimSpace(string(stmt[i+len(`"predicate": `):])), "}")
	if err := os.WriteFile("pred.json", []byte(pred), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := run(t, env, append([]string{"provenance", "attach", image, "--provenance", "pred.json"}, sign...)...); err != nil {
		t.Fatalf("attach of a bare predicate: %v\n%s", err, stderr)
	}

	// Both attestations verify; the GitLab pipeline is the builder.
	stdout, stderr, err := run(t, env, "provenance", "verify", image, "--key", pub, "--insecure-ignore-tlog",
		"--expected-source-uri", "https://gitlab.example.com/acme/platform/shop", "--output", "json")
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, `"builderId": "https://gitlab.example.com/acme/platform/shop`) || !strings.Contains(stdout, `"statement": {`) {
		t.Errorf("verify --output json:\n%s", stdout)
	}
}
