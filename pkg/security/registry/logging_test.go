package registry_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/pkg/security/registry"
)

// At debug level every attempt of every request is logged with its
// method, host, path, status and attempt number, and where the
// credentials came from; never the credentials, a header or a query.
func TestDebugLogsRequests(t *testing.T) {
	faults := testutil.NewFaults()
	reg := testutil.NewRegistry(t, testutil.WithHandler(faults.Wrap))
	var logs testutil.SyncBuffer
	debug := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const password = "s3cret-Passw0rd"
	c := newClient(registry.WithLogger(debug), registry.WithCredentials(registry.Credential{Registry: reg.Host, Username: "ci-bot", Password: password}))
	ref := reg.Ref("shop/api:1.0")
	pushImage(t, newClient(), ref)

	faults.Fail(testutil.On(http.MethodHead, testutil.ClassManifest), 1, http.StatusServiceUnavailable)
	if _, err := c.Resolve(context.Background(), ref); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	out := logs.String()
	for _, want := range []string{
		`msg="registry request" method=HEAD host=` + reg.Host + ` path=/v2/shop/api/manifests/1.0 attempt=1`,
		"status=503",
		`path=/v2/shop/api/manifests/1.0 attempt=2`,
		"status=200",
		`msg="registry credentials" registry=` + reg.Host + ` source="the credentials given for ` + reg.Host + ` (username and password)"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{password, "Authorization", "Basic "} {
		if strings.Contains(out, secret) {
			t.Errorf("debug log holds %q:\n%s", secret, out)
		}
	}

	// the referrers API has a query string: it is not logged
	logs = testutil.SyncBuffer{}
	d, err := c.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Referrers(context.Background(), d, "application/vnd.dev.sigstore.bundle.v0.3+json"); err != nil {
		t.Fatalf("Referrers: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "/referrers/") && !strings.Contains(out, "sha256-") || strings.Contains(out, "artifactType") {
		t.Errorf("referrers requests not logged, or logged with their query:\n%s", out)
	}
}

// Anonymous access says so; at info level nothing of this is logged.
func TestDebugLogsAnonymous(t *testing.T) {
	reg := testutil.NewRegistry(t)
	ref := reg.Ref("shop/api:1.0")
	pushImage(t, newClient(), ref)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var logs testutil.SyncBuffer
		l := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
		c := newClient(registry.WithLogger(l), registry.WithKeychain(authn.NewMultiKeychain()))
		if _, err := c.Resolve(context.Background(), ref); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		switch level {
		case slog.LevelDebug:
			if !strings.Contains(out, `source="none (anonymous)"`) || !strings.Contains(out, `msg="registry request"`) {
				t.Errorf("debug log:\n%s", out)
			}
		default:
			if out != "" {
				t.Errorf("info log holds the debug lines:\n%s", out)
			}
		}
	}
}
