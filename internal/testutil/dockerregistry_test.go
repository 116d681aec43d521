package testutil

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestStartDockerRegistry(t *testing.T) {
	reg := StartDockerRegistry(t)
	if !strings.HasPrefix(reg.Host, "127.0.0.1:") {
		t.Fatalf("Host %q: want 127.0.0.1", reg.Host)
	}
	d := pushRandom(t, reg.Ref("app:v1"))
	if _, err := remote.Head(d); err != nil {
		t.Fatalf("HEAD %s: %v", d, err)
	}
	// distribution 2.8 has no referrers API.
	if got := referrersStatus(t, &reg.Registry, d); got != http.StatusNotFound {
		t.Errorf("GET referrers: status %d, want 404", got)
	}
	resp, err := http.Get(reg.HealthURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", reg.HealthURL, resp.Status)
	}
	// Deletes are enabled.
	if err := remote.Delete(d); err != nil {
		t.Errorf("DELETE %s: %v", d, err)
	}
}

// Wrappers sit in a proxy in front of the registry: they see and can break
// the traffic, and uploads (whose Location URLs the registry builds from
// the Host header) go through the proxy too.
func TestStartDockerRegistryWithFaults(t *testing.T) {
	f := NewFaults()
	reg := StartDockerRegistry(t, WithHandler(f.Wrap))
	d := pushRandom(t, reg.Ref("app:v1"))
	if f.Count(http.MethodPatch, ClassUpload) == 0 || f.Count(http.MethodPut, ClassManifest) != 1 {
		t.Errorf("the proxy did not see the push: %+v", f.Requests())
	}
	f.Fail(On(http.MethodHead, ClassManifest), 1, http.StatusServiceUnavailable)
	if _, err := remote.Head(d, remote.WithRetryStatusCodes()); err == nil {
		t.Error("HEAD through a 503 fault succeeded")
	}
	if _, err := remote.Head(d); err != nil {
		t.Errorf("HEAD after the fault: %v", err)
	}
}
