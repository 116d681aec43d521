// Package kmstest starts key management services for the tests of sc's
// KMS signing keys (pkg/security/signing/kms), on 127.0.0.1 only:
//
//   - StartAWS runs local-kms (github.com/nsmithuk/local-kms, built into
//     the tools directory by .ci/localkms.sh), a real AWS KMS emulator,
//     behind a TLS front of the test's own: sigstore's awskms provider
//     reaches an awskms://HOST:PORT/… endpoint over HTTPS only, and
//     local-kms speaks plain HTTP. The KMS protocol is local-kms's.
//   - NewVault is an in-test server for hashivault:// keys. No Vault
//     server can be installed here (Vault is not in Debian, and its Go
//     module's replace directives stop `go install`), so it speaks the
//     parts of Vault's transit HTTP API that sigstore's hashivault client
//     uses — reading a key (GET /v1/transit/keys/NAME), sign and verify
//     (POST /v1/transit/{sign,verify}/NAME[/sha2-256]) with the
//     X-Vault-Token header — as Vault documents them, for ECDSA P-256
//     keys only. It is a fake of a remote service that cannot run here,
//     not a Vault.
//
// Both set, with t.Setenv, the environment that sigstore's providers read
// (AWS credentials and region; VAULT_ADDR, VAULT_TOKEN), so tests that use
// them cannot run in parallel. Nothing here is used outside tests.
package kmstest

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sc-project/sc/internal/testutil"
)

// Region is the region local-kms serves and the tests' AWS_REGION.
const Region = "eu-west-2"

// AWS is a running local-kms behind a TLS front.
type AWS struct {
	// Endpoint is HOST:PORT of the TLS front, for awskms://HOST:PORT/….
	Endpoint string
	// CAFile is the PEM certificate of the TLS front (AWS_CA_BUNDLE).
	CAFile string

	plain  string // http://127.0.0.1:PORT of local-kms itself
	front  *httptest.Server
	cmd    *exec.Cmd
	client *kms.Client
}

// localKMS returns the path of the local-kms executable, skipping the test
// with the install command when it is missing, or failing it under
// CI=true (.ci/run installs it first).
func localKMS(t testing.TB) string {
	t.Helper()
	p := filepath.Join(testutil.ToolsDir(), "local-kms")
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	if p, err := exec.LookPath("local-kms"); err == nil {
		return p
	}
	msg := "local-kms is not installed: run bash .ci/localkms.sh (builds it into " + testutil.ToolsDir() + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var startedRE = regexp.MustCompile(`Local KMS started on [0-9.]+:([0-9]+)`)

// StartAWS starts local-kms on a free port (its data in a temporary
// directory, no seed), a TLS front for it on 127.0.0.1, and sets the
// environment sigstore's awskms provider and the AWS SDK read: dummy
// credentials, Region, no EC2 metadata look-ups (which would leave the
// machine), and AWS_CA_BUNDLE, the SDK's own setting, trusting the
// front's self-signed certificate. It is stopped when the test ends.
func StartAWS(t *testing.T) *AWS {
	t.Helper()
	bin := localKMS(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	// local-kms binds every interface: only its port number is used, on
	// 127.0.0.1.
	cmd.Env = []string{"PORT=0", "KMS_DATA_PATH=" + filepath.Join(dir, "data"), "KMS_SEED_PATH=" + filepath.Join(dir, "none.yaml"),
		"KMS_REGION=" + Region, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting local-kms: %v", err)
	}
	a := &AWS{cmd: cmd}
	t.Cleanup(a.Stop)
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := startedRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				port <- m[1]
				sent = true
			}
		}
		if !sent {
			close(port)
		}
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatal("local-kms exited before it listened")
		}
		a.plain = "http://127.0.0.1:" + p
	case <-time.After(time.Minute):
		t.Fatal("local-kms did not say where it listens within a minute")
	}
	target, _ := url.Parse(a.plain)
	a.front = httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	a.Endpoint = strings.TrimPrefix(a.front.URL, "https://")
	a.CAFile = filepath.Join(dir, "front.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.front.Certificate().Raw})
	if err := os.WriteFile(a.CAFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range a.env() {
		t.Setenv(k, v)
	}
	a.client = kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(a.plain),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	return a
}

func (a *AWS) env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": Region, "AWS_DEFAULT_REGION": Region, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
		"AWS_CA_BUNDLE": a.CAFile,
	}
}

// Env is the environment of a subprocess (the cosign CLI) that uses the
// emulator: the AWS variables of StartAWS, and home.
func (a *AWS) Env(home string) []string {
	var out []string
	for k, v := range a.env() {
		out = append(out, k+"="+v)
	}
	return append(out, "HOME="+home, "PATH="+os.Getenv("PATH"))
}

// CreateKey creates an ECDSA P-256 SIGN_VERIFY key in the emulator with
// the alias alias/NAME and returns its public key.
func (a *AWS) CreateKey(t *testing.T, name string) crypto.PublicKey {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := a.client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatalf("local-kms CreateKey: %v", err)
	}
	if _, err := a.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/" + name), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("local-kms CreateAlias: %v", err)
	}
	pk, err := a.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: out.KeyMetadata.KeyId})
	if err != nil {
		t.Fatalf("local-kms GetPublicKey: %v", err)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// URI is the awskms:// URI of alias/NAME through the TLS front.
func (a *AWS) URI(name string) string { return "awskms://" + a.Endpoint + "/alias/" + name }

// Stop stops the front and the emulator; later calls fail to connect.
func (a *AWS) Stop() {
	if a.front != nil {
		a.front.Close()
		a.front = nil
	}
	if a.cmd != nil && a.cmd.Process != nil {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
		a.cmd = nil
	}
}
