package kmstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Vault is an in-test server speaking the transit parts of Vault's HTTP
// API that sigstore's hashivault client uses (see the package doc).
type Vault struct {
	// Addr is the server's http://127.0.0.1:PORT, set as VAULT_ADDR.
	Addr string
	// Token is the token it accepts, set as VAULT_TOKEN.
	Token string

	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
}

// NewVault starts the server and sets VAULT_ADDR and VAULT_TOKEN (and
// clears TRANSIT_SECRET_ENGINE_PATH and VAULT_KEY_PREFIX: the transit
// engine is at transit/). It is stopped when the test ends.
func NewVault(t *testing.T) *Vault {
	t.Helper()
	v := &Vault{Token: "s.test-token", keys: map[string]*ecdsa.PrivateKey{}}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.srv.Close)
	v.Addr = v.srv.URL
	t.Setenv("VAULT_ADDR", v.Addr)
	t.Setenv("VAULT_TOKEN", v.Token)
	t.Setenv("TRANSIT_SECRET_ENGINE_PATH", "")
	t.Setenv("VAULT_KEY_PREFIX", "")
	return v
}

// CreateKey creates the ECDSA P-256 transit key name (version 1) and
// returns its public key.
func (v *Vault) CreateKey(t *testing.T, name string) crypto.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys[name] = k
	return &k.PublicKey
}

// URI is the hashivault:// URI of the transit key name.
func (v *Vault) URI(name string) string { return "hashivault://" + name }

// Close stops the server; later calls fail to connect.
func (v *Vault) Close() { v.srv.Close() }

func (v *Vault) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != v.Token {
		vaultError(w, http.StatusForbidden, "permission denied")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/transit/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/v1/transit/") || len(parts) < 2 {
		vaultError(w, http.StatusNotFound, "no handler for route")
		return
	}
	op, name := parts[0], parts[1]
	v.mu.Lock()
	key := v.keys[name]
	v.mu.Unlock()
	if key == nil {
		// Vault answers a read of a missing key with 404 and no body errors
		vaultError(w, http.StatusNotFound, "")
		return
	}
	hash := "sha2-256"
	if len(parts) > 2 {
		hash = parts[2]
	}
	switch {
	case op == "keys" && r.Method == http.MethodGet:
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			vaultError(w, http.StatusInternalServerError, err.Error())
			return
		}
		pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		vaultData(w, map[string]any{
			"name": name, "type": "ecdsa-p256", "latest_version": 1, "min_decryption_version": 1,
			"keys": map[string]any{"1": map[string]any{"name": "P-256", "public_key": pemText, "creation_time": "2026-01-01T00:00:00Z"}},
		})
	case (op == "sign" || op == "verify") && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		if hash != "sha2-256" {
			vaultError(w, http.StatusBadRequest, "unsupported hash algorithm "+hash)
			return
		}
		var body struct {
			Input     string `json:"input"`
			Prehashed bool   `json:"prehashed"`
			Signature string `json:"signature"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			vaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		digest, err := base64.StdEncoding.DecodeString(body.Input)
		if err != nil || !body.Prehashed || len(digest) != 32 {
			vaultError(w, http.StatusBadRequest, "input must be a base64 SHA-256 digest with prehashed: true")
			return
		}
		if op == "sign" {
			sig, err := ecdsa.SignASN1(rand.Reader, key, digest)
			if err != nil {
				vaultError(w, http.StatusInternalServerError, err.Error())
				return
			}
			vaultData(w, map[string]any{"signature": "vault:v1:" + base64.StdEncoding.EncodeToString(sig), "key_version": 1})
			return
		}
		sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(body.Signature, "vault:v1:"))
		if err != nil || !strings.HasPrefix(body.Signature, "vault:v1:") {
			vaultError(w, http.StatusBadRequest, "invalid signature")
			return
		}
		vaultData(w, map[string]any{"valid": ecdsa.VerifyASN1(&key.PublicKey, digest, sig)})
	default:
		vaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func vaultData(w http.ResponseWriter, data map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "lease_duration": 0, "renewable": false})
}

func vaultError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	errs := []string{}
	if msg != "" {
		errs = append(errs, msg)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}
