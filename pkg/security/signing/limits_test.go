package signing_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/registry"
	"github.com/sc-project/sc/pkg/security/signing"
)

// A registry answering with a flood of referrers gets the bundle format
// rejected, quickly: the check fails (exit 1) rather than not running, and
// a valid legacy signature still verifies.
func TestVerifyReferrersFlood(t *testing.T) {
	ctx := context.Background()
	faults := testutil.NewFaults()
	host := testutil.NewRegistry(t, testutil.WithReferrers(), testutil.WithHandler(testutil.ServeReferrers(testutil.ManyReferrers(registry.MaxReferrers+1, signing.BundleMediaType))), testutil.WithHandler(faults.Wrap))
	r := &testRegistry{client: registry.New(registry.WithRetry(2, 0), registry.WithKeychain(anonymous{})), host: host}
	d, _ := r.push(t, "app:v1")
	s, pub := newKey(t, signing.Services{})
	v := keyVerifier(t, r.client, pub)

	start := time.Now()
	faults.Reset()
	res, err := v.VerifyDigest(ctx, d)
	if !errors.Is(err, signing.ErrVerificationFailed) || outcome.Code(err) != outcome.ExitCheckFailed {
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

	if _, err := signing.SignImage(ctx, r.client, d.String(), s, signing.SignOptions{Format: signing.FormatLegacy}); err != nil {
		t.Fatal(err)
	}
	res, err = v.VerifyDigest(ctx, d)
	if err != nil || len(res.Verified) != 1 || res.Verified[0].Format != signing.FormatLegacy {
		t.Fatalf("VerifyDigest with a legacy signature = %+v, %v; want it verified", res, err)
	}
}

// Each verification runs under registry.MaxVerifyTime, whatever the
// caller's context.
func TestVerifyDeadline(t *testing.T) {
	r := newTestRegistry(t, inProcess)
	d, _ := r.push(t, "app:v1")
	_, pub := newKey(t, signing.Services{})
	rec := &testutil.DeadlineRecorder{}
	c := registry.New(registry.WithTransport(rec), registry.WithKeychain(anonymous{}))
	start := time.Now()
	_, _ = keyVerifier(t, c, pub).VerifyDigest(context.Background(), d)
	if len(rec.Deadlines()) == 0 {
		t.Fatal("no registry request")
	}
	for _, dl := range rec.Deadlines() {
		if dl.IsZero() || dl.After(start.Add(registry.MaxVerifyTime+time.Second)) {
			t.Errorf("a request had the deadline %v, want one within %v", dl, registry.MaxVerifyTime)
		}
	}
}
