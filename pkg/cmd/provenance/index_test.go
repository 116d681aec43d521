package provenance_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// The provenance of a platform image of an index is about the index and
// that platform image, and is attached to and verified at the platform
// image; without --platform an index of several is exit 2.
func TestIndex(t *testing.T) {
	reg := setup(t)
	priv, pub, keyEnv := keyFiles(t, t.TempDir())
	env := merged(githubEnv(), keyEnv)
	ref := reg.Ref("acme/app:1")
	idx, platforms := testutil.PushIndex(t, ref, types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: image(t, "amd64")},
		testutil.PlatformImage{Platform: "linux/arm64", Image: image(t, "arm64")})

	if _, _, err := run(t, env, "provenance", "generate", ref); !errors.Is(err, registry.ErrSeveralPlatforms) || outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("generate of an index: %v, want exit 2", err)
	}
	stdout, stderr, err := run(t, env, "provenance", "attach", ref, "--platform", "linux/arm64", "--key", priv, "--tlog-upload=false", "--output", "statement.json")
	if err != nil || !strings.Contains(stdout, " to "+platforms[1].String()+" ") {
		t.Fatalf("attach --platform linux/arm64: %v\n%s%s", err, stdout, stderr)
	}

	verify := []string{"provenance", "verify", ref, "--key", pub, "--insecure-ignore-tlog", "-o", "json"}
	stdout, _, err = run(t, env, append(verify, "--platform", "linux/arm64")...)
	if err != nil {
		t.Fatalf("verify --platform linux/arm64: %v\n%s", err, stdout)
	}
	var out struct {
		Image     string `json:"image"`
		Statement struct {
			Subject []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		} `json:"statement"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, s := range out.Statement.Subject {
		subjects = append(subjects, s.Name+"@sha256:"+s.Digest["sha256"])
	}
	if out.Image != platforms[1].String() || len(subjects) != 2 || subjects[0] != idx.String() || subjects[1] != platforms[1].String() {
		t.Errorf("verified %s about %v; want %s about the index %s and itself", out.Image, subjects, platforms[1], idx)
	}
	if _, _, err := run(t, env, append(verify, "--platform", "linux/amd64")...); outcome.Code(err) != outcome.ExitCheckFailed {
		t.Errorf("verify --platform linux/amd64, which has none: %v (exit %d), want 1", err, outcome.Code(err))
	}
}
