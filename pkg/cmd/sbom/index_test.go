package sbom_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
)

// An image index is not one image: the SBOM commands ask for --platform,
// and then generate, attach and verify on that platform image.
func TestIndexNeedsAPlatform(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	arm, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("shop/app:1")
	_, platforms := testutil.PushIndex(t, ref, types.OCIImageIndex, true,
		testutil.PlatformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		testutil.PlatformImage{Platform: "linux/arm64", Image: arm})
	priv, pub, env := keys(t)

	_, _, err = runWith(t, env, "sbom", "generate", ref)
	if !errors.Is(err, registry.ErrSeveralPlatforms) || outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("generate of an index: %v, want exit 2 naming its platforms", err)
	}
	_, stderr, err := runWith(t, env, "sbom", "generate", ref, "--platform", "linux/amd64")
	if err != nil || !strings.HasPrefix(stderr, platforms[0].String()+": ") {
		t.Errorf("generate --platform linux/amd64: %v\n%s; want the SBOM of %s", err, stderr, platforms[0])
	}

	stdout, _, err := runWith(t, env, "sbom", "attach", ref, "--platform", "linux/amd64", "--key", priv, "--tlog-upload=false")
	if err != nil || !strings.Contains(stdout, " to "+platforms[0].String()+" ") {
		t.Fatalf("attach --platform linux/amd64: %v\n%s", err, stdout)
	}
	verify := []string{"sbom", "verify", ref, "--key", pub, "--insecure-ignore-tlog", "-o", "/dev/null"}
	if _, _, err := runWith(t, env, append(verify, "--platform", "linux/amd64")...); err != nil {
		t.Errorf("verify --platform linux/amd64: %v", err)
	}
	if _, _, err := runWith(t, env, append(verify, "--platform", "linux/arm64")...); outcome.Code(err) != outcome.ExitCheckFailed {
		t.Errorf("verify --platform linux/arm64, which has no SBOM: %v (exit %d), want 1", err, outcome.Code(err))
	}
	if _, _, err := runWith(t, env, verify...); !errors.Is(err, registry.ErrSeveralPlatforms) {
		t.Errorf("verify of the index: %v, want ErrSeveralPlatforms", err)
	}
}
