package attest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/attest"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// A registry answering with more referrers than sc considers gets the
// bundle format rejected, quickly: the check fails (exit 1) rather than
// not running.
func TestVerifyReferrersFlood(t *testing.T) {
	faults := testutil.NewFaults()
	host := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(faults.Wrap),
		testutil.WithHandler(testutil.ServeReferrers(testutil.ManyReferrers(registry.MaxReferrers+1, signing.BundleMediaType))))
	r := &testRegistry{client: registry.New(registry.WithRetry(2, 0), registry.WithKeychain(anonymous{})), host: host}
	d, _ := r.push(t, "app:v1")
	_, pub := newKey(t, signing.Services{})
	faults.Reset()
	start := time.Now()
	res, err := keyVerifier(t, r.client, pub).VerifyDigest(context.Background(), d, "cyclonedx")
	if !errors.Is(err, attest.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("VerifyDigest = %+v, %v; want ErrVerificationFailed (exit 1)", res, err)
	}
	if !strings.Contains(err.Error(), "MaxReferrers") {
		t.Errorf("error %q does not name the limit", err)
	}
	if n := faults.Count(http.MethodGet, testutil.ClassManifest); n > 10 {
		t.Errorf("%d manifest reads for a flood of referrers", n)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}

// Each verification runs under registry.MaxVerifyTime.
func TestVerifyDeadline(t *testing.T) {
	r := newTestRegistry(t, inProcess)
	d, _ := r.push(t, "app:v1")
	_, pub := newKey(t, signing.Services{})
	rec := &testutil.DeadlineRecorder{}
	c := registry.New(registry.WithTransport(rec), registry.WithKeychain(anonymous{}))
	start := time.Now()
	_, _ = keyVerifier(t, c, pub).VerifyDigest(context.Background(), d, "cyclonedx")
	if len(rec.Deadlines()) == 0 {
		t.Fatal("no registry request")
	}
	for _, dl := range rec.Deadlines() {
		if dl.IsZero() || dl.After(start.Add(registry.MaxVerifyTime+time.Second)) {
			t.Errorf("a request had the deadline %v, want one within %v", dl, registry.MaxVerifyTime)
		}
	}
}
