package image_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sc-project/sc/internal/fixture"
	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/cosigntest"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/pipeline"
	"github.com/sc-project/sc/pkg/security/report"
	"github.com/sc-project/sc/pkg/security/signing"
)

// pushPlatforms pushes an index whose platform images are the given images
// (random ones where nil), with buildx attestation manifests, and returns
// its tag and the platform images' digests.
func pushPlatforms(t *testing.T, reg *testutil.Registry, repoTag string, platforms ...testutil.PlatformImage) (string, []name.Digest) {
	t.Helper()
	for i := range platforms {
		if platforms[i].Image == nil {
			img, err := random.Image(256, 1)
			if err != nil {
				t.Fatal(err)
			}
			platforms[i].Image = img
		}
	}
	ref := reg.Ref(repoTag)
	_, digests := testutil.PushIndex(t, ref, types.OCIImageIndex, true, platforms...)
	return ref, digests
}

// sc image scan of an index scans each platform image: the verdict is the
// worst, --platform chooses, and one the index does not have is exit 2.
func TestScanIndex(t *testing.T) {
	env := scanEnv(t)
	reg := testutil.NewRegistry(t)
	ref, _ := pushPlatforms(t, reg, "shop/app:1",
		testutil.PlatformImage{Platform: "linux/amd64", Image: testutil.FixtureImage(t, fixture.Options{})},
		testutil.PlatformImage{Platform: "linux/arm64"})
	scanArgs := func(extra ...string) []string {
		return append([]string{"image", "scan", "--allow-insecure-registry", "--fail-on", "critical"}, append(extra, ref)...)
	}

	stdout, _, err := run(t, env, scanArgs("-o", "json")...)
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "linux/amd64: ") {
		t.Fatalf("scan: %v (exit %d), want exit 1 naming linux/amd64\n%s", err, outcome.Code(err), stdout)
	}
	var doc report.Document
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("JSON %q: %v", stdout, err)
	}
	if len(doc.Results) != 2 || doc.Results[0].Platform != "linux/amd64" || doc.Results[1].Platform != "linux/arm64" || doc.Verdict != "fail" {
		t.Errorf("document verdict %s, %d results; want fail, linux/amd64 and linux/arm64", doc.Verdict, len(doc.Results))
	}

	stdout, _, err = run(t, env, scanArgs()...)
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(stdout, "PLATFORM linux/amd64") || !strings.Contains(stdout, "PLATFORM linux/arm64") {
		t.Errorf("table: %v\n%s\nwant a table per platform", err, stdout)
	}

	stdout, _, err = run(t, env, scanArgs("-o", "json", "--platform", "linux/arm64")...)
	if err != nil {
		t.Fatalf("scan of linux/arm64: %v", err)
	}
	if r := scanJSON(t, stdout); r.Platform != "linux/arm64" || r.Counts.Total != 0 {
		t.Errorf("linux/arm64: platform %q, %d findings", r.Platform, r.Counts.Total)
	}

	for _, extra := range [][]string{{"--platform", "linux/s390x"}, {"--platform", "arm64"}, {"--platform", "linux/s390x", "--sbom", fixtureSBOM}} {
		if _, _, err := run(t, env, scanArgs(extra...)...); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("%v: %v (exit %d), want exit 2", extra, err, outcome.Code(err))
		}
	}
}

// sc image sign of an index signs the index and, by default, each platform
// image; sc image verify checks the index, and with --recursive each
// platform image too. cosign verifies every one.
func TestSignVerifyIndex(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithReferrers())
	priv, pub := keyFiles(t, "pw")
	env := map[string]string{"SC_KEY_PASSWORD": "pw"}
	pubKey := loadPub(t, pub)

	ref, platforms := pushPlatforms(t, reg, "app:1", testutil.PlatformImage{Platform: "linux/amd64"}, testutil.PlatformImage{Platform: "linux/arm/v7"})
	stdout, _, err := runSC(t, env, "image", "sign", ref, "--key", priv, "--tlog-upload=false", "-o", "json")
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	var signed pipeline.Signed
	if err := json.Unmarshal([]byte(stdout), &signed); err != nil {
		t.Fatalf("sign JSON %q: %v", stdout, err)
	}
	if !signed.Index || len(signed.Platforms) != 2 || signed.Platforms[1].Platform != "linux/arm/v7" || signed.Platforms[1].Image != platforms[1].String() {
		t.Errorf("signed %s", stdout)
	}
	for _, d := range append([]string{ref}, platforms[0].String(), platforms[1].String()) {
		if n, err := cosigntest.Verify(ctx, d, pubKey, true); err != nil || n != 1 {
			t.Errorf("cosign verify %s: %d, %v; want 1", d, n, err)
		}
	}
	// signing again writes nothing, for the index and each platform image
	stdout, _, err = runSC(t, env, "image", "sign", ref, "--key", priv, "--tlog-upload=false", "-o", "json")
	if err != nil {
		t.Fatalf("sign again: %v", err)
	}
	var again pipeline.Signed
	if err := json.Unmarshal([]byte(stdout), &again); err != nil || !again.Skipped || len(again.Platforms) != 2 || !again.Platforms[0].Skipped || !again.Platforms[1].Skipped {
		t.Errorf("sign again: %s (%v), want every signature already there", stdout, err)
	}
	stdout, _, err = runSC(t, nil, "image", "verify", ref, "--key", pub, "--insecure-ignore-tlog", "--recursive")
	if err != nil || strings.Count(stdout, "1 valid signature") != 3 || !strings.Contains(stdout, "linux/arm/v7: Verified "+platforms[1].String()) {
		t.Errorf("verify --recursive: %v\n%s", err, stdout)
	}

	// only the index signed: it verifies, its platform images do not
	only, onlyPlatforms := pushPlatforms(t, reg, "only:1", testutil.PlatformImage{Platform: "linux/amd64"}, testutil.PlatformImage{Platform: "linux/arm64"})
	stdout, _, err = runSC(t, env, "image", "sign", only, "--key", priv, "--tlog-upload=false", "--recursive=false")
	if err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("sign --recursive=false: %v\n%s", err, stdout)
	}
	if _, _, err := runSC(t, nil, "image", "verify", only, "--key", pub, "--insecure-ignore-tlog"); err != nil {
		t.Errorf("verify of the index: %v", err)
	}
	_, _, err = runSC(t, nil, "image", "verify", only, "--key", pub, "--insecure-ignore-tlog", "--recursive", "--platform", "linux/arm64")
	if outcome.Code(err) != outcome.ExitCheckFailed || !strings.Contains(err.Error(), "linux/arm64: ") || strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("verify --recursive --platform linux/arm64 of an index signed alone: %v (exit %d), want exit 1 naming linux/arm64 only", err, outcome.Code(err))
	}
	if n, err := cosigntest.Verify(ctx, onlyPlatforms[0].String(), pubKey, true); err == nil || n != 0 {
		t.Errorf("cosign verify of an unsigned platform image: %d, %v", n, err)
	}

	// a selection the index does not have writes nothing
	if _, _, err := runSC(t, env, "image", "sign", only, "--key", priv, "--tlog-upload=false", "--platform", "linux/s390x"); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("sign --platform linux/s390x: %v (exit %d), want exit 2", err, outcome.Code(err))
	}
}

func loadPub(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublicKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
