package pulumiint

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/api"
	scpulumi "github.com/sc-project/sc/pkg/pulumi"
)

// TestLifecycle takes one stack through preview, up, a second up with
// the same digest, and destroy, against the real engine.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	st := w.stack("dev", w.program(w.security(api.SeverityCritical)))
	out := &progress{t: t}

	// preview: the program runs, the digest becomes known, but nothing is
	// secured and nothing is written to the registry.
	pre, err := st.Preview(ctx, optpreview.ProgressStreams(out))
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if n := len(w.runner.recorded()); n != 0 {
		t.Errorf("preview ran the executor %d times", n)
	}
	if reqs := w.log.Requests(); len(reqs) != 0 {
		t.Errorf("preview sent the registry %d requests: %v", len(reqs), reqs)
	}
	w.log.Reset()
	t.Logf("preview changes: %v", pre.ChangeSummary)

	// up: the executor runs once, after the digest is known; the
	// deployment and the gated record come after the verdict.
	up1, err := st.Up(ctx, optup.ProgressStreams(out))
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	runs := w.runner.recorded()
	if len(runs) != 1 {
		t.Fatalf("up ran the executor %d times, want once", len(runs))
	}
	if runs[0].image != w.image || runs[0].err != nil {
		t.Errorf("executor ran on %s (%v), want %s", runs[0].image, runs[0].err, w.image)
	}
	o1 := values(up1.Outputs)
	t.Logf("outputs: %v", o1)
	at := func(k string) int {
		t.Helper()
		f, ok := o1[k].(float64)
		if !ok {
			t.Fatalf("output %s = %v, want a time", k, o1[k])
		}
		return int(f)
	}
	// each pair: the first happened no later than the second
	pushed := at("pushedAt")
	for _, p := range []struct {
		first, second string
		a, b          int
	}{
		{"digest pushed", "executor started", pushed, runs[0].start},
		{"executor started", "executor ended", runs[0].start, runs[0].end},
		{"executor ended", "verdict resolved", runs[0].end, at("verdictAt")},
		// the verdict is known when the executor ends; the outputs derived
		// from it resolve in any order after that
		{"executor ended", "deployment got the image", runs[0].end, at("deployedAt")},
		{"executor ended", "gated record registered", runs[0].end, at("recordAt")},
	} {
		if p.b < p.a {
			t.Errorf("%s at %d, before %s at %d", p.second, p.b, p.first, p.a)
		}
	}
	if o1["image"] != w.image || o1["deployedImage"] != w.image || o1["digest"] != w.digest.DigestStr() {
		t.Errorf("image %v, deployed %v, digest %v; want %s", o1["image"], o1["deployedImage"], o1["digest"], w.image)
	}
	if o1["verdict"] != string(scpulumi.VerdictPass) {
		t.Errorf("verdict %v, want pass", o1["verdict"])
	}
	for _, k := range []string{"signatureDigest", "sbomAttestationDigest", "provenanceAttestationDigest"} {
		if s, _ := o1[k].(string); !strings.HasPrefix(s, "sha256:") {
			t.Errorf("%s = %v, want what the executor wrote", k, o1[k])
		}
	}
	if writes := w.writes(); len(writes) == 0 {
		t.Error("up wrote nothing to the registry")
	}
	if err := w.verifySignature(); err != nil {
		t.Errorf("the signature does not verify after up: %v", err)
	}
	t.Logf("up changes: %v", changes(up1.Summary))

	// a preview of the deployed stack, the digest known and unchanged:
	// still nothing secured, nothing asked of the registry
	w.log.Reset() // the verification's reads
	pre2, err := st.Preview(ctx, optpreview.ProgressStreams(out))
	if err != nil {
		t.Fatalf("preview after up: %v", err)
	}
	if n := len(w.runner.recorded()); n != 1 {
		t.Errorf("the preview after up ran the executor: %d runs in all", n)
	}
	if reqs := w.log.Requests(); len(reqs) != 0 {
		t.Errorf("the preview after up sent the registry %d requests: %v", len(reqs), reqs)
	}
	w.log.Reset()
	t.Logf("preview after up: %v", pre2.ChangeSummary)

	// a second up with the same digest: nothing changes in the stack and
	// nothing is written to the registry.
	up2, err := st.Up(ctx, optup.ProgressStreams(out))
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if n := len(w.runner.recorded()); n != 2 {
		t.Errorf("the second up ran the executor %d times in all, want once more", n)
	}
	if writes := w.writes(); len(writes) != 0 {
		t.Errorf("the second up wrote to the registry: %v", writes)
	}
	o2 := values(up2.Outputs)
	if diff := cmp.Diff(withoutTimes(o1), withoutTimes(o2)); diff != "" {
		t.Errorf("outputs changed on the second up (-first +second):\n%s", diff)
	}
	if c := changes(up2.Summary); len(c) != 1 || c["same"] == 0 {
		t.Errorf("second up changed resources: %v, want all same", c)
	}

	// destroy: the stack's resources go, the registry's signature and
	// attestations stay: they belong to the digest.
	before := w.referrers()
	if _, err := st.Destroy(ctx, optdestroy.ProgressStreams(out)); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if n := len(w.runner.recorded()); n != 2 {
		t.Errorf("destroy ran the executor: %d runs in all", n)
	}
	if writes := w.writes(); len(writes) != 0 {
		t.Errorf("destroy wrote to the registry: %v", writes)
	}
	if err := w.verifySignature(); err != nil {
		t.Errorf("the signature does not verify after destroy: %v", err)
	}
	if after := w.referrers(); !slices.Equal(before, after) {
		t.Errorf("referrers before destroy %v, after %v", before, after)
	}
}

// TestFailingPolicy: a policy the image fails fails `pulumi up` with sc's
// reason in the engine's error; the executor writes nothing, the
// deployment never gets the image and the gated record is never created.
func TestFailingPolicy(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	st := w.stack("dev", w.program(w.security(api.SeverityMedium)))
	out := &progress{t: t}

	_, err := st.Up(ctx, optup.ProgressStreams(out))
	if err == nil {
		t.Fatal("up succeeded on an image that fails its policy")
	}
	t.Logf("up: %v", err)
	// the engine's diagnostics (in the error with the CLI's output) carry
	// sc's reason: the component, the image, the step, the policy and the
	// findings
	for _, want := range []string{"image security api", "securing " + w.image, "scan: ",
		"vulnerability policy violated", tv.ZlibUnfixed, tv.MinimistCVE} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up's error does not say %q", want)
		}
	}
	runs := w.runner.recorded()
	if len(runs) != 1 || runs[0].err == nil {
		t.Fatalf("executor runs %+v, want one that failed", runs)
	}
	if writes := w.writes(); len(writes) != 0 {
		t.Errorf("a failed image was written to: %v", writes)
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		t.Fatalf("outputs: %v", err)
	}
	for _, k := range []string{"deployedImage", "deployedAt", "recordAt", "verdict", "image"} {
		if v, ok := outs[k]; ok {
			t.Errorf("output %s resolved to %v after a failed policy", k, v.Value)
		}
	}
	dep, err := st.Export(ctx)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var state struct {
		Resources []struct {
			URN  string `json:"urn"`
			Type string `json:"type"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &state); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Resources {
		t.Logf("in the stack: %s", r.URN)
		if r.Type == "test:index:Record" {
			t.Errorf("the gated record was created: %s", r.URN)
		}
	}
}

// values returns the plain values of stack outputs.
func values(m auto.OutputMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v.Value
	}
	return out
}

// withoutTimes drops the recorded times from outputs.
func withoutTimes(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !strings.HasSuffix(k, "At") {
			out[k] = v
		}
	}
	return out
}

// changes returns an update's resource changes by operation.
func changes(s auto.UpdateSummary) map[string]int {
	if s.ResourceChanges == nil {
		return nil
	}
	return *s.ResourceChanges
}
