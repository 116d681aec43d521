package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DockerRegistryBinary is where Debian's docker-registry package installs
// the registry (distribution 2.8).
const DockerRegistryBinary = "/usr/bin/docker-registry"

// DockerRegistryInstall is the command that installs it.
const DockerRegistryInstall = "apt-get install docker-registry"

const (
	// dockerRegistryReady bounds the wait for the registry to answer /v2/.
	dockerRegistryReady = 30 * time.Second
	// dockerRegistryStop bounds the wait for it to exit after SIGTERM.
	dockerRegistryStop = 10 * time.Second
	// dockerRegistryTries is how many ports are tried when another process
	// takes the free port first.
	dockerRegistryTries = 3
)

const dockerRegistryConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: sc-test-secret
  debug:
    addr: %q
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`

// DockerRegistry is a running docker-registry.
type DockerRegistry struct {
	Registry
	// HealthURL is the registry's health endpoint (/debug/health on its
	// debug listener).
	HealthURL string
}

// StartDockerRegistry starts the real docker-registry (distribution 2.8, no
// referrers API) on a free 127.0.0.1 port, with a temporary storage
// directory and configuration (no authentication, deletes enabled, log
// level warn, health checks), waits until /v2/ answers and stops it when
// the test ends.
//
// Without the binary the test is skipped with the command that installs
// it, except when the environment says CI=true: then it fails, so that CI
// never skips the integration tests silently.
//
// WithHandler wrappers are put in a reverse proxy in front of the registry
// (Host and URL then point at the proxy); WithReferrers fails the test.
func StartDockerRegistry(t testing.TB, opts ...RegistryOption) *DockerRegistry {
	t.Helper()
	cfg := &registryConfig{}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.referrers {
		t.Fatal("testutil: docker-registry (distribution 2.8) has no referrers API; use NewRegistry(t, WithReferrers())")
	}
	bin, err := dockerRegistryPath()
	if err != nil {
		msg := fmt.Sprintf("docker-registry is not installed (%v); install it with: %s", err, DockerRegistryInstall)
		// CI must not skip (test support reads CI for this, and Tool the tools
		// directory).
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	dir := t.TempDir()
	var last error
	for try := 1; try <= dockerRegistryTries; try++ {
		dr, err := startDockerRegistry(t, bin, dir, try)
		if err == nil {
			if len(cfg.wrappers) == 0 {
				return dr
			}
			target, err := url.Parse(dr.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(target)
			// A client giving up on a delayed request is expected.
			proxy.ErrorLog = log.New(io.Discard, "", 0)
			front := serve(t, cfg.wrap(proxy))
			dr.Registry = *front
			return dr
		}
		last = err
	}
	t.Fatalf("starting docker-registry: %v", last)
	return nil
}

func dockerRegistryPath() (string, error) {
	if _, err := os.Stat(DockerRegistryBinary); err == nil {
		return DockerRegistryBinary, nil
	}
	return exec.LookPath("docker-registry")
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SyncBuffer is a bytes.Buffer many goroutines may write to at once: the
// registry's output for the test log, a logger's lines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startDockerRegistry(t testing.TB, bin, dir string, try int) (*DockerRegistry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	debugPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	debugAddr := fmt.Sprintf("127.0.0.1:%d", debugPort)
	storage := filepath.Join(dir, fmt.Sprintf("storage-%d", try))
	config := filepath.Join(dir, fmt.Sprintf("config-%d.yml", try))
	if err := os.WriteFile(config, fmt.Appendf(nil, dockerRegistryConfig, storage, addr, debugAddr), 0o600); err != nil {
		return nil, err
	}

	out := &SyncBuffer{}
	cmd := exec.Command(bin, "serve", config)
	// A clean environment: REGISTRY_* variables would override the config.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(dockerRegistryStop):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(dockerRegistryReady)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("docker-registry exited (%v): %s", waitErr, out.String())
		default:
		}
		if resp, err := client.Get(base + "/v2/"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("docker-registry did not answer %s/v2/ within %v: %s", base, dockerRegistryReady, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if s := out.String(); s != "" {
				t.Logf("docker-registry output:\n%s", s)
			}
		}
		if waitErr != nil && !isSignalExit(waitErr) {
			t.Logf("docker-registry exited: %v", waitErr)
		}
	})
	return &DockerRegistry{
		Registry:  Registry{Host: addr, URL: base},
		HealthURL: "http://" + debugAddr + "/debug/health",
	}, nil
}

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}
