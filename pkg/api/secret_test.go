package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

func TestParseSecret(t *testing.T) {
	tests := []struct {
		text      string
		want      string // String()
		reference bool
		wantErr   string
	}{
		{text: "", want: ""},
		{text: "hunter2", want: api.Redacted},
		{text: "${env:COSIGN_PASSWORD}", want: "${env:COSIGN_PASSWORD}", reference: true},
		{text: "${file:keys/password.txt}", want: "${file:keys/password.txt}", reference: true},
		{text: "$${env:NOT_A_REF}", want: api.Redacted},
		{text: "pa$$word", want: api.Redacted},
		{text: "${env:COSIGN_PASSWORD", wantErr: "malformed secret reference"},
		{text: "pre-${env:X}", wantErr: "malformed secret reference"},
		{text: "${vault:secret/x}", wantErr: "malformed secret reference"},
		{text: "${env:}", wantErr: "NAME in ${env:NAME} must be"},
		{text: "${env:1X}", wantErr: "NAME in ${env:NAME} must be"},
		{text: "${file:}", wantErr: "${file:PATH} needs a path"},
		{text: "p@ss${word", wantErr: "malformed secret reference"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, err := api.ParseSecret(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSecret(%q) error %v, want …%s…", tt.text, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.text) {
					t.Errorf("error %q repeats the text, which may be a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.String() != tt.want || s.IsReference() != tt.reference || s.IsZero() != (tt.text == "") {
				t.Errorf("ParseSecret(%q) = %q (reference %v, zero %v), want %q (reference %v)",
					tt.text, s, s.IsReference(), s.IsZero(), tt.want, tt.reference)
			}
		})
	}
}

func TestSecretResolve(t *testing.T) {
	env := map[string]string{"SET": "from-env", "EMPTY": ""}
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	files := memFS{"pw": "from-file\n", "crlf": "from-file\r\n", "empty": "\n"}
	tests := []struct {
		text    string
		want    string
		wantErr string
	}{
		{text: "", want: ""},
		{text: "literal", want: "literal"},
		{text: "$${x}", want: "${x}"},
		{text: "${env:SET}", want: "from-env"},
		{text: "${env:UNSET}", wantErr: "${env:UNSET} is not set"},
		// set but empty: the empty value (COSIGN_PASSWORD= is an empty
		// password, as cosign reads it), not "not set"
		{text: "${env:EMPTY}", want: ""},
		{text: "${file:pw}", want: "from-file"},
		{text: "${file:crlf}", want: "from-file"},
		{text: "${file:empty}", wantErr: "${file:empty} is empty"},
		{text: "${file:missing}", wantErr: "reading ${file:missing}: open missing: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, err := api.ParseSecret(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Resolve(lookupEnv, files.read)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Resolve error %v, want %q", err, tt.wantErr)
				}
				if outcome.Code(err) != outcome.ExitInvalid {
					t.Errorf("Resolve error class %d, want invalid", outcome.Code(err))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := api.EnvSecret("X").Resolve(nil, nil); err == nil {
		t.Error("Resolve without getenv: want an error")
	}
	if _, err := api.FileSecret("x").Resolve(nil, nil); err == nil {
		t.Error("Resolve without readFile: want an error")
	}
}

const testPEM = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nPEM-BODY-SECRET\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"

func TestKeyRef(t *testing.T) {
	files := memFS{"keys/cosign.key": testPEM + "\n"}
	lookupEnv := func(k string) (string, bool) {
		switch k {
		case "KEY":
			return testPEM, true
		case "EMPTY":
			return "", true
		}
		return "", false
	}
	tests := []struct {
		text, shown, resolved string
		kms                   bool
	}{
		{text: "keys/cosign.key", shown: "keys/cosign.key", resolved: testPEM},
		{text: "awskms:///alias/release", shown: "awskms:///alias/release", resolved: "awskms:///alias/release", kms: true},
		{text: "${env:KEY}", shown: "${env:KEY}", resolved: testPEM},
		{text: "${file:keys/cosign.key}", shown: "${file:keys/cosign.key}", resolved: testPEM},
		{text: testPEM, shown: api.Redacted, resolved: testPEM},
	}
	for _, tt := range tests {
		t.Run(tt.shown, func(t *testing.T) {
			k, err := api.ParseKeyRef(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if k.String() != tt.shown || fmt.Sprint(k) != tt.shown || k.IsKMS() != tt.kms {
				t.Errorf("shown as %q / %q (kms %v), want %q (kms %v)", k.String(), fmt.Sprint(k), k.IsKMS(), tt.shown, tt.kms)
			}
			got, err := k.Resolve(lookupEnv, files.read)
			if err != nil || got != tt.resolved {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.resolved)
			}
		})
	}
	// an empty password is a password; an empty key is no key
	for text, want := range map[string]string{"${env:EMPTY}": "${env:EMPTY} is empty: it holds no key", "${env:UNSET}": "${env:UNSET} is not set"} {
		k, err := api.ParseKeyRef(text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Resolve(lookupEnv, files.read); err == nil || err.Error() != want || outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("Resolve(%s) error %v, want %q (invalid)", text, err, want)
		}
	}
}

// TestSecretsNeverShown puts secrets in a configuration, in the
// environment and in files, and looks for them in everything sc can print
// about the configuration: fmt verbs, JSON, YAML, slog, errors.
func TestSecretsNeverShown(t *testing.T) {
	secrets := []string{"hunter2-literal", "PEM-BODY-SECRET", "env-secret-value", "file-secret-value", "dojo-literal-token"}
	env := map[string]string{"COSIGN_PASSWORD": "env-secret-value"}
	files := memFS{
		"sc.yaml": `
stacks:
  prod:
    security:
      signing:
        privateKey: |
          -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
          PEM-BODY-SECRET
          -----END ENCRYPTED SIGSTORE PRIVATE KEY-----
        password: hunter2-literal
      reporting:
        defectdojo:
          url: https://dojo.example.com
          apiKey: dojo-literal-token
          engagementID: 1
    services:
      api: {image: registry.example.com/api:1}
      web:
        image: registry.example.com/web:1
        security:
          signing:
            privateKey: cosign.key
            password: ${env:COSIGN_PASSWORD}
          reporting:
            defectdojo: {apiKey: "${file:token}"}
`,
		"token": "file-secret-value\n",
	}
	rel, err := load(t, files, "sc.yaml")
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	for _, v := range []any{rel, *rel, rel.Services[0], rel.Services[0].Security.Signing, *rel.Services[0].Security.Signing,
		rel.Services[0].Security.Signing.Password, &rel.Services[0].Security.Signing.Password,
		rel.Services[0].Security.Signing.PrivateKey, rel.Services[0].Security.Reporting.DefectDojo} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	j, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(j)
	y, err := yaml.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(y)
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		log := slog.New(h)
		log.Info("release", "release", rel, "password", rel.Services[0].Security.Signing.Password,
			"key", rel.Services[0].Security.Signing.PrivateKey, "signing", rel.Services[0].Security.Signing)
		log.Info("group", slog.Group("g", slog.Any("apiKey", rel.Services[0].Security.Reporting.DefectDojo.APIKey)))
	}

	// Resolving works, and a failed resolution names the reference only.
	web := serviceByName(t, rel, "web").Security
	if got, err := web.Signing.Password.Resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, files.read); err != nil || got != "env-secret-value" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if got, err := web.Reporting.DefectDojo.APIKey.Resolve(nil, files.read); err != nil || got != "file-secret-value" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	_, err = web.Signing.Password.Resolve(func(string) (string, bool) { return "", false }, files.read)
	fmt.Fprintln(&out, err)
	_, err = api.FileSecret("token").Resolve(nil, func(string) ([]byte, error) {
		return nil, &fs.PathError{Op: "read", Path: "token", Err: errors.New("is a directory")}
	})
	fmt.Fprintln(&out, err)

	// Invalid configurations: problems never quote a secret.
	for _, bad := range []string{
		"stacks: {p: {security: {signing: {passwrd: hunter2-literal}}, services: {a: {image: x}}}}",
		"stacks: {p: {security: {signing: {password: [hunter2-literal]}}, services: {a: {image: x}}}}",
		"stacks: {p: {security: {signing: {password: {x: hunter2-literal}}}, services: {a: {image: x}}}}",
		"stacks: {p: {security: {signing: {password: 'hunter2-literal${'}}, services: {a: {image: x}}}}",
		"stacks: {p: {security: {reporting: {defectdojo: {apiKey: 'dojo-literal-token${env:'}}}, services: {a: {image: x}}}}",
	} {
		_, err := load(t, memFS{"sc.yaml": bad}, "sc.yaml")
		if err == nil {
			t.Fatalf("no error for %s", bad)
		}
		fmt.Fprintln(&out, err)
	}

	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret %q appears in the output:\n%s", s, out.String())
		}
	}
	for _, want := range []string{api.Redacted, "${env:COSIGN_PASSWORD}", "${file:token}", "${env:COSIGN_PASSWORD} is not set", "cosign.key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
