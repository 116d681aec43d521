package sigstorelocal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"go.yaml.in/yaml/v3"

	"github.com/sc-project/sc/internal/testutil"
	"github.com/sc-project/sc/internal/testutil/sigstoretest"
)

// Install is the command that installs the services' binaries.
const Install = "bash .ci/sigstore.sh"

const (
	// ready bounds the wait for one service to answer.
	ready = 60 * time.Second
	// trustWindow is how far before Start the trusted root vouches for the
	// services' keys.
	trustWindow = time.Hour
	// caPassword protects the CA and CT keys on disk, as the services
	// require.
	caPassword = "sigstorelocal"
	// ctPrefix is the CT log's URL path.
	ctPrefix = "sc-test"
)

// Service names one of the processes, for Stop.
type Service string

// The services Start runs.
const (
	MariaDB        Service = "mariadb"
	TrillianServer Service = "trillian_log_server"
	TrillianSigner Service = "trillian_log_signer"
	CTLog          Service = "ct_server"
	Fulcio         Service = "fulcio"
	Rekor          Service = "rekor-server"
	TSA            Service = "timestamp-server"
)

// Services is a running local Sigstore. The processes stop when the test
// that started them ends.
type Services struct {
	// OIDCIssuerURL is the issuer Fulcio trusts for e-mail identities
	// (sigstoretest's, in this process).
	OIDCIssuerURL string
	// GitHubIssuerURL is a second in-process issuer that Fulcio treats as
	// GitHub Actions' (its ci-provider github-workflow templates): see
	// GitHubToken.
	GitHubIssuerURL string
	// FulcioURL, RekorURL and CTLogURL are the services' base URLs.
	FulcioURL, RekorURL, CTLogURL string
	// TSAURL is the timestamp endpoint itself, …/api/v1/timestamp.
	TSAURL string

	tb              testing.TB
	issuer, github  *sigstoretest.Sigstore
	procs           map[Service]*exec.Cmd
	exited          map[Service]chan struct{}
	logs            map[Service]string
	trustedRootJSON []byte
	signingConfig   []byte
}

// binaries are the executables Start runs, by service.
var binaries = []Service{TrillianServer, TrillianSigner, CTLog, Fulcio, Rekor, TSA, "createtree"}

// Start starts a fresh local Sigstore for tb. Missing binaries skip tb (fail
// it under CI=true) with the install command; a service that does not come
// up fails tb with the end of its log.
func Start(tb testing.TB) *Services {
	tb.Helper()
	bins := map[Service]string{}
	for _, b := range binaries {
		bins[b] = testutil.ToolInstalledBy(tb, string(b), Install)
	}
	for _, p := range []string{"/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb"} {
		if _, err := os.Stat(p); err != nil {
			msg := p + " is missing: run " + Install + " (installs Debian's mariadb-server)"
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
	share := filepath.Join(filepath.Dir(testutil.ToolsDir()), "share")
	schema, identities := filepath.Join(share, "trillian-storage.sql"), filepath.Join(share, "fulcio-identity-config.yaml")
	for _, f := range []string{schema, identities} {
		if _, err := os.Stat(f); err != nil {
			tb.Fatalf("sigstorelocal: %v: run %s", err, Install)
		}
	}

	s := &Services{tb: tb, issuer: sigstoretest.New(tb), github: sigstoretest.New(tb), procs: map[Service]*exec.Cmd{},
		exited: map[Service]chan struct{}{}, logs: map[Service]string{}}
	s.OIDCIssuerURL, s.GitHubIssuerURL = s.issuer.OIDCIssuerURL, s.github.OIDCIssuerURL
	start := time.Now()
	dir := tb.TempDir()

	sock := s.startMariaDB(schema)
	mysql := "root@unix(" + sock + ")/"

	rpc, rpcHTTP, signerRPC, signerHTTP := port(tb), port(tb), port(tb), port(tb)
	s.start(TrillianServer, bins[TrillianServer], "--storage_system=mysql", "--mysql_uri="+mysql+"trillian",
		"--rpc_endpoint="+rpc, "--http_endpoint="+rpcHTTP, "--quota_system=noop")
	waitHTTP(tb, s, TrillianServer, "http://"+rpcHTTP+"/healthz")
	s.start(TrillianSigner, bins[TrillianSigner], "--storage_system=mysql", "--mysql_uri="+mysql+"trillian",
		"--rpc_endpoint="+signerRPC, "--http_endpoint="+signerHTTP, "--quota_system=noop",
		"--force_master", "--sequencer_interval=50ms", "--batch_size=500")
	waitHTTP(tb, s, TrillianSigner, "http://"+signerHTTP+"/healthz")

	// Fulcio's CA, made here so that the CT log can trust it before
	// Fulcio starts
	caRoot, caIntermediate, caKey, err := sigstoretest.CodeSigningCA("sigstorelocal-fulcio", start)
	if err != nil {
		tb.Fatalf("sigstorelocal: creating the Fulcio CA: %v", err)
	}
	chain := filepath.Join(dir, "fulcio-chain.pem")
	writeFile(tb, chain, append(certPEM(caIntermediate), certPEM(caRoot)...))
	caKeyFile := filepath.Join(dir, "fulcio-key.pem")
	writeFile(tb, caKeyFile, encryptedKeyPEM(tb, caKey))

	// the CT log, on a tree of its own
	ctTree := s.createTree(bins["createtree"], rpc)
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ctKeyFile := filepath.Join(dir, "ct-key.pem")
	writeFile(tb, ctKeyFile, legacyEncryptedKeyPEM(tb, ctKey))
	ctRoots := filepath.Join(dir, "ct-roots.pem")
	writeFile(tb, ctRoots, certPEM(caRoot))
	ctConfig := filepath.Join(dir, "ct.cfg")
	writeFile(tb, ctConfig, fmt.Appendf(nil, `config {
  log_id: %d
  prefix: %q
  roots_pem_file: %q
  private_key: {
    [type.googleapis.com/keyspb.PEMKeyFile] {
      path: %q
      password: %q
    }
  }
  ext_key_usages: [ "CodeSigning" ]
}
`, ctTree, ctPrefix, ctRoots, ctKeyFile, caPassword))
	ctAddr := port(tb)
	s.start(CTLog, bins[CTLog], "--log_config="+ctConfig, "--log_rpc_server="+rpc, "--http_endpoint="+ctAddr)
	s.CTLogURL = "http://" + ctAddr + "/" + ctPrefix
	waitHTTP(tb, s, CTLog, s.CTLogURL+"/ct/v1/get-sth")

	// Fulcio, trusting sigstoretest's issuers
	fulcioConfig := filepath.Join(dir, "fulcio.yaml")
	writeFile(tb, fulcioConfig, s.fulcioConfig(identities))
	fulcioAddr, fulcioGRPC, fulcioMetrics := port(tb), port(tb), port(tb)
	fhost, fport, _ := net.SplitHostPort(fulcioAddr)
	_, gport, _ := net.SplitHostPort(fulcioGRPC)
	_, mport, _ := net.SplitHostPort(fulcioMetrics)
	s.start(Fulcio, bins[Fulcio], "serve", "--host="+fhost, "--port="+fport, "--grpc-host="+fhost, "--grpc-port="+gport,
		"--metrics-port="+mport, "--legacy-unix-domain-socket=@sigstorelocal-fulcio-"+gport,
		"--ca=fileca", "--fileca-cert="+chain, "--fileca-key="+caKeyFile, "--fileca-key-passwd="+caPassword, "--fileca-watch=false",
		"--ct-log-url="+s.CTLogURL, "--config-path="+fulcioConfig, "--log_type=prod")
	s.FulcioURL = "http://" + fulcioAddr
	waitHTTP(tb, s, Fulcio, s.FulcioURL+"/api/v2/trustBundle")

	// The TSA before Rekor: both serve metrics on :2112, a port neither
	// lets one choose; the TSA exits when it cannot have it, Rekor goes on
	// without. (So two local Sigstores cannot run at once on one machine.)
	tsaAddr := port(tb)
	tshost, tsport, _ := net.SplitHostPort(tsaAddr)
	s.start(TSA, bins[TSA], "serve", "--host="+tshost, "--port="+tsport, "--timestamp-signer=memory",
		"--disable-ntp-monitoring", "--log-type=prod")
	s.TSAURL = "http://" + tsaAddr + "/api/v1/timestamp"
	waitHTTP(tb, s, TSA, s.TSAURL+"/certchain")

	// Rekor, on a tree it creates itself, with its search index in MariaDB
	rekorAddr := port(tb)
	rhost, rport, _ := net.SplitHostPort(rekorAddr)
	thost, tport, _ := net.SplitHostPort(rpc)
	s.start(Rekor, bins[Rekor], "serve", "--rekor_server.address="+rhost, "--port="+rport,
		"--trillian_log_server.address="+thost, "--trillian_log_server.port="+tport,
		"--rekor_server.signer=memory", "--search_index.storage_provider=mysql",
		"--search_index.mysql.dsn="+mysql+"rekor", "--log_type=prod")
	s.RekorURL = "http://" + rekorAddr
	waitHTTP(tb, s, Rekor, s.RekorURL+"/api/v1/log/publicKey")

	if err := s.describe(start, caRoot, caIntermediate, ctKey.Public()); err != nil {
		tb.Fatalf("sigstorelocal: describing the services: %v", err)
	}
	return s
}

// GitHubToken mints a token shaped as GitHub Actions' for a push to
// refs/heads/main of repository (owner/name) running workflow (a path in it,
// .github/workflows/release.yml), from the issuer Fulcio treats as GitHub
// Actions'. The certificate's identity is then
// https://github.com/<repository>/<workflow>@refs/heads/main, with GitHub's
// certificate extensions. opts add or spoil claims.
func (s *Services) GitHubToken(repository, workflow string, opts ...sigstoretest.TokenOption) string {
	s.tb.Helper()
	owner, _, _ := strings.Cut(repository, "/")
	ref := repository + "/" + workflow + "@refs/heads/main"
	claims := map[string]any{
		"repository": repository, "repository_id": "1", "repository_owner": owner, "repository_owner_id": "2",
		"repository_visibility": "public", "ref": "refs/heads/main", "ref_type": "branch",
		"sha": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b", "event_name": "push", "workflow": "release",
		"workflow_ref": ref, "workflow_sha": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b",
		"job_workflow_ref": ref, "job_workflow_sha": "4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b",
		"run_id": "1", "run_attempt": "1", "runner_environment": "github-hosted",
	}
	all := make([]sigstoretest.TokenOption, 0, len(claims)+len(opts))
	for k, v := range claims {
		all = append(all, sigstoretest.WithClaim(k, v))
	}
	return s.github.Token("repo:"+repository+":ref:refs/heads/main", append(all, opts...)...)
}

// Token mints an ID token for identity from the e-mail issuer Fulcio
// trusts; see sigstoretest.Sigstore.Token.
func (s *Services) Token(identity string, opts ...sigstoretest.TokenOption) string {
	s.tb.Helper()
	return s.issuer.Token(identity, opts...)
}

// TrustedRootJSON returns a trusted_root.json describing the services:
// Fulcio's CA, the CT log's key, Rekor's key and the TSA's chain, as read
// from the running services.
func (s *Services) TrustedRootJSON() []byte { return bytes.Clone(s.trustedRootJSON) }

// SigningConfigJSON returns a signing config (v0.2) naming the issuer,
// Fulcio, Rekor (v1 API) and the TSA.
func (s *Services) SigningConfigJSON() []byte { return bytes.Clone(s.signingConfig) }

// Stop stops one service (SIGKILL), for "service down" cases.
func (s *Services) Stop(svc Service) {
	s.tb.Helper()
	cmd := s.procs[svc]
	if cmd == nil {
		s.tb.Fatalf("sigstorelocal: no service %s", svc)
	}
	_ = cmd.Process.Kill()
	<-s.exited[svc]
}

// Log returns what svc wrote so far, for a failing test's message.
func (s *Services) Log(svc Service) string {
	b, _ := os.ReadFile(s.logs[svc])
	return string(b)
}

// fulcioConfig is Fulcio's identity configuration: its own CI-provider
// templates (from the file .ci/sigstore.sh copies out of Fulcio's module),
// with the issuers replaced by this Services' two.
func (s *Services) fulcioConfig(identities string) []byte {
	s.tb.Helper()
	b, err := os.ReadFile(identities)
	if err != nil {
		s.tb.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		s.tb.Fatalf("sigstorelocal: reading %s: %v", identities, err)
	}
	delete(cfg, "meta-issuers")
	cfg["oidc-issuers"] = map[string]any{
		s.OIDCIssuerURL:   map[string]any{"issuer-url": s.OIDCIssuerURL, "client-id": "sigstore", "type": "email"},
		s.GitHubIssuerURL: map[string]any{"issuer-url": s.GitHubIssuerURL, "client-id": "sigstore", "type": "ci-provider", "ci-provider": "github-workflow"},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		s.tb.Fatal(err)
	}
	return out
}

// start runs bin with args as svc until the test ends, its output in a log
// file.
func (s *Services) start(svc Service, bin string, args ...string) {
	s.tb.Helper()
	logPath := filepath.Join(s.tb.TempDir(), string(svc)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		s.tb.Fatalf("sigstorelocal: starting %s: %v", svc, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.procs[svc], s.exited[svc], s.logs[svc] = cmd, done, logPath
	s.tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		f.Close()
	})
}

// startMariaDB initialises and starts a MariaDB server listening only on a
// Unix socket, creates the trillian (with Trillian's schema) and rekor
// databases, and returns the socket's path.
func (s *Services) startMariaDB(schema string) string {
	s.tb.Helper()
	// a short path: a Unix socket's is limited to 108 bytes
	dir, err := os.MkdirTemp("", "sc-mariadb-")
	if err != nil {
		s.tb.Fatal(err)
	}
	s.tb.Cleanup(func() { os.RemoveAll(dir) })
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if out, err := exec.Command("/usr/bin/mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		s.tb.Fatalf("sigstorelocal: mariadb-install-db: %v\n%s", err, out)
	}
	s.start(MariaDB, "/usr/sbin/mariadbd", "--no-defaults", "--datadir="+data, "--socket="+sock, "--skip-networking",
		"--user=root", "--skip-grant-tables", "--pid-file="+filepath.Join(dir, "pid"), "--innodb-flush-log-at-trx-commit=0")
	deadline := time.Now().Add(ready)
	for {
		if exec.Command("/usr/bin/mariadb", "--no-defaults", "--socket="+sock, "-u", "root", "-e", "SELECT 1").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("sigstorelocal: MariaDB did not start within %s:\n%s", ready, tail(s.Log(MariaDB)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	sql, err := os.ReadFile(schema)
	if err != nil {
		s.tb.Fatal(err)
	}
	script := "CREATE DATABASE trillian; CREATE DATABASE rekor; USE trillian;\n" + string(sql)
	cmd := exec.Command("/usr/bin/mariadb", "--no-defaults", "--socket="+sock, "-u", "root")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.tb.Fatalf("sigstorelocal: loading Trillian's schema: %v\n%s", err, out)
	}
	return sock
}

// createTree creates and initialises a Trillian log tree with Trillian's
// own createtree and returns its ID.
func (s *Services) createTree(bin, admin string) int64 {
	s.tb.Helper()
	out, err := exec.Command(bin, "--admin_server="+admin, "--tree_type=LOG", "--display_name=sc-test-ct").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		s.tb.Fatalf("sigstorelocal: createtree: %v\n%s", err, out)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		s.tb.Fatalf("sigstorelocal: createtree printed %q", out)
	}
	return id
}

// describe builds the trusted root and the signing config from what the
// running services publish (Rekor's key, the TSA's chain) and from the keys
// made here (the CA, the CT log's).
func (s *Services) describe(start time.Time, caRoot, caIntermediate *x509.Certificate, ctPub crypto.PublicKey) error {
	validFrom := start.Add(-trustWindow)
	rekorPEM, err := get(s.RekorURL + "/api/v1/log/publicKey")
	if err != nil {
		return err
	}
	rekorPub, err := cryptoutils.UnmarshalPEMToPublicKey(rekorPEM)
	if err != nil {
		return fmt.Errorf("Rekor's public key: %w", err)
	}
	chainPEM, err := get(s.TSAURL + "/certchain")
	if err != nil {
		return err
	}
	tsaChain, err := cryptoutils.UnmarshalCertificatesFromPEM(chainPEM)
	if err != nil || len(tsaChain) < 2 {
		return fmt.Errorf("the TSA's chain (%d certificates): %v", len(tsaChain), err)
	}
	ctLog, ctID, err := transparencyLog(s.CTLogURL, ctPub, validFrom)
	if err != nil {
		return err
	}
	rekorLog, rekorID, err := transparencyLog(s.RekorURL, rekorPub, validFrom)
	if err != nil {
		return err
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: caRoot, Intermediates: []*x509.Certificate{caIntermediate}, ValidityPeriodStart: validFrom, URI: s.FulcioURL,
		}},
		map[string]*root.TransparencyLog{ctID: ctLog},
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{
			Root: tsaChain[len(tsaChain)-1], Intermediates: tsaChain[1 : len(tsaChain)-1], Leaf: tsaChain[0],
			ValidityPeriodStart: validFrom, URI: s.TSAURL,
		}},
		map[string]*root.TransparencyLog{rekorID: rekorLog},
	)
	if err != nil {
		return err
	}
	if s.trustedRootJSON, err = tr.MarshalJSON(); err != nil {
		return err
	}
	svc := func(url string) []root.Service {
		return []root.Service{{URL: url, MajorAPIVersion: 1, ValidityPeriodStart: validFrom, Operator: "sigstorelocal"}}
	}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, svc(s.FulcioURL), svc(s.OIDCIssuerURL), svc(s.RekorURL),
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, svc(s.TSAURL),
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		return err
	}
	s.signingConfig, err = sc.MarshalJSON()
	return err
}

// transparencyLog describes a log whose ID is the SHA-256 of its PKIX
// public key, as Rekor and CT logs define it, and returns it with its hex
// ID.
func transparencyLog(baseURL string, pub crypto.PublicKey, validFrom time.Time) (*root.TransparencyLog, string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	id := sha256.Sum256(der)
	return &root.TransparencyLog{
		BaseURL: baseURL, ID: id[:], HashFunc: crypto.SHA256, PublicKey: pub,
		SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: validFrom,
	}, fmt.Sprintf("%x", id), nil
}

// waitHTTP waits until url answers 200, or fails tb with svc's log.
func waitHTTP(tb testing.TB, s *Services, svc Service, url string) {
	tb.Helper()
	deadline := time.Now().Add(ready)
	for {
		if _, err := get(url); err == nil {
			return
		}
		select {
		case <-s.exited[svc]:
			tb.Fatalf("sigstorelocal: %s exited before it answered %s:\n%s", svc, url, tail(s.Log(svc)))
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sigstorelocal: %s did not answer %s within %s:\n%s", svc, url, ready, tail(s.Log(svc)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get returns url's body, or an error when it does not answer 200.
func get(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// port returns a free 127.0.0.1 address. Another process may take it
// before the service binds it; the service then fails to start and the
// test says so.
func port(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// encryptedKeyPEM encrypts key as Fulcio's file CA reads it: sigstore's
// encrypted private key format.
func encryptedKeyPEM(tb testing.TB, key *ecdsa.PrivateKey) []byte {
	tb.Helper()
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(key, cryptoutils.StaticPasswordFunc([]byte(caPassword)))
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: string(cryptoutils.EncryptedSigstorePrivateKeyPEMType), Bytes: der})
}

// legacyEncryptedKeyPEM encrypts key as the CT log's PEMKeyFile reads it:
// an RFC 1423 encrypted EC PRIVATE KEY block, the only encrypted form
// Trillian's key loader takes.
func legacyEncryptedKeyPEM(tb testing.TB, key *ecdsa.PrivateKey) []byte {
	tb.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	//nolint:staticcheck // RFC 1423 is what Trillian's pem loader decrypts
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte(caPassword), x509.PEMCipherAES256)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// tail returns the end of a log.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
