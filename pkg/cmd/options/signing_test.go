package options

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

func TestSigningValidate(t *testing.T) {
	base := func() Signing {
		return Signing{Format: "bundle", Signer: Signer{TlogUpload: true, FulcioURL: "https://f", RekorURL: "https://r"}, Output: OutputText}
	}
	tests := []struct {
		name string
		edit func(*Signing)
		ok   bool
	}{
		{"keyless defaults", func(*Signing) {}, true},
		{"key without log", func(s *Signing) { s.Key = "k"; s.TlogUpload = false }, true},
		{"keyless without log", func(s *Signing) { s.TlogUpload = false }, false},
		{"keyless without log but TSA", func(s *Signing) { s.TlogUpload = false; s.TSAURL = "https://t" }, true},
		{"keyless without fulcio", func(s *Signing) { s.FulcioURL = "" }, false},
		{"log without URL", func(s *Signing) { s.RekorURL = "" }, false},
		{"bad annotation", func(s *Signing) { s.Annotations = []string{"=x"} }, false},
		{"bad output", func(s *Signing) { s.Output = "yaml" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			err := s.Validate()
			if (err == nil) != tt.ok || (err != nil && outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("Validate() = %v, want ok=%v (invalid otherwise)", err, tt.ok)
			}
		})
	}
}

func TestVerificationValidate(t *testing.T) {
	tests := []struct {
		name string
		v    Verification
		ok   bool
	}{
		{"key", Verification{Key: "k"}, true},
		{"identity and issuer", Verification{CertIdentity: "a", CertOIDCIssuer: "i"}, true},
		{"regexps", Verification{CertIdentityRegexp: "a", CertOIDCIssuerRegexp: "i"}, true},
		{"nothing", Verification{}, false},
		{"identity only", Verification{CertIdentity: "a"}, false},
		{"issuer only", Verification{CertOIDCIssuerRegexp: "i"}, false},
		{"key and identity", Verification{Key: "k", CertIdentity: "a", CertOIDCIssuer: "i"}, false},
		{"identity twice", Verification{CertIdentity: "a", CertIdentityRegexp: "a", CertOIDCIssuer: "i"}, false},
		{"issuer twice", Verification{CertIdentity: "a", CertOIDCIssuer: "i", CertOIDCIssuerRegexp: "i"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Output = OutputText
			err := tt.v.Validate()
			if (err == nil) != tt.ok || (err != nil && outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("Validate() = %v, want ok=%v (invalid otherwise)", err, tt.ok)
			}
		})
	}
}

func TestAnnotationMap(t *testing.T) {
	got, err := AnnotationMap([]string{"a=1", "b=x=y", "c="})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "x=y", "c": ""}, got); diff != "" {
		t.Errorf("AnnotationMap (-want +got):\n%s", diff)
	}
	if _, err := AnnotationMap([]string{"novalue"}); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("AnnotationMap(novalue) = %v, want invalid", err)
	}
}

func TestKeyPassword(t *testing.T) {
	env := func(kv ...string) *Root {
		return &Root{Environ: func() []string { return kv }, Getenv: func(string) string { return "" }}
	}
	tests := []struct {
		name string
		root *Root
		want string
		ok   bool
	}{
		{"sc first", env("COSIGN_PASSWORD=c", "SC_KEY_PASSWORD=s"), "s", true},
		{"cosign", env("COSIGN_PASSWORD=c"), "c", true},
		{"empty but set", env("COSIGN_PASSWORD="), "", true},
		{"unset, no terminal", env("OTHER=1"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyPassword(tt.root, strings.NewReader(""), &strings.Builder{}, false)
			if (err == nil) != tt.ok || string(got) != tt.want {
				t.Errorf("KeyPassword = %q, %v; want %q ok=%v", got, err, tt.want, tt.ok)
			}
			if err != nil && outcome.Code(err) != outcome.ExitInvalid {
				t.Errorf("error %v is not invalid usage", err)
			}
		})
	}
}

// --key values reach the configuration's key reference as what they are:
// a file, an environment variable, PEM content; never as a ${…}
// reference of the configuration syntax.
func TestKeyRef(t *testing.T) {
	const pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	env := map[string]string{"SIGNING_KEY": "from-env", "X": "x-value"}
	files := map[string]string{"cosign.key": "from-file", "${env:X}": "a file named like a reference", "a$${b": "dollars"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	readFile := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("no such file")
	}
	tests := []struct {
		flag    string
		want    string
		kms     bool
		invalid bool
	}{
		{flag: "cosign.key", want: "from-file"},
		{flag: "env://SIGNING_KEY", want: "from-env"},
		{flag: pem, want: pem},
		{flag: "${env:X}", want: "a file named like a reference"},
		{flag: "a$${b", want: "dollars"},
		{flag: "awskms:///alias/sc", kms: true},
		{flag: "env://", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			k, err := KeyRef(tt.flag)
			if tt.invalid {
				if outcome.Code(err) != outcome.ExitInvalid {
					t.Fatalf("KeyRef = %v, want invalid usage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.IsKMS() != tt.kms {
				t.Fatalf("IsKMS = %v, want %v", k.IsKMS(), tt.kms)
			}
			if tt.kms {
				return
			}
			got, err := k.Resolve(getenv, readFile)
			if err != nil || got != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if k, err := KeyRef(""); err != nil || !k.IsZero() {
		t.Errorf(`KeyRef("") = %v, %v; want the unset KeyRef`, k, err)
	}
}

func TestSignerConfig(t *testing.T) {
	keyless := Signer{TlogUpload: true, FulcioURL: "https://f", RekorURL: "https://r", TSAURL: "https://t"}
	cfg, err := keyless.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.IsKeyless() || *cfg.TlogUpload != true || cfg.FulcioURL != "https://f" || cfg.RekorURL != "https://r" || cfg.TSAURL != "https://t" || !cfg.PrivateKey.IsZero() {
		t.Errorf("keyless Config() = %+v", cfg)
	}
	key := Signer{Key: "cosign.key", TlogUpload: false, RekorURL: "https://r"}
	cfg, err = key.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IsKeyless() || *cfg.TlogUpload || cfg.PrivateKey.String() != "cosign.key" || !cfg.Password.IsZero() {
		t.Errorf("key Config() = %+v", cfg)
	}
	if _, err := (&Signer{Key: "env://"}).Config(); outcome.Code(err) != outcome.ExitInvalid {
		t.Errorf("Config(--key env://) = %v, want invalid", err)
	}
}

// Every command that signs binds the same signer flags, with the defaults
// of a configuration's signing block and today's help.
func TestSignerFlags(t *testing.T) {
	groups := map[string]interface{ AddFlags(*pflag.FlagSet) }{"signature": &Signing{}, "attestation": &Attest{}}
	for what, g := range groups {
		fs := pflag.NewFlagSet(what, pflag.ContinueOnError)
		g.AddFlags(fs)
		for name, def := range map[string]string{
			"key": "", "identity-token": "", "tlog-upload": "true", "timestamp-server-url": "",
			"fulcio-url": api.DefaultFulcioURL, "rekor-url": api.DefaultRekorURL,
		} {
			f := fs.Lookup(name)
			if f == nil {
				t.Errorf("%s group: no --%s", what, name)
				continue
			}
			if f.DefValue != def {
				t.Errorf("%s group: --%s defaults to %q, want %q", what, name, f.DefValue, def)
			}
		}
		if u := fs.Lookup("tlog-upload").Usage; !strings.HasPrefix(u, "record the "+what+" in the Rekor transparency log") {
			t.Errorf("%s group: --tlog-upload help %q", what, u)
		}
	}
}

func TestAttestValidate(t *testing.T) {
	base := func() Attest {
		return Attest{StorageFormat: "bundle", Signer: Signer{TlogUpload: true, FulcioURL: "https://f", RekorURL: "https://r"}}
	}
	tests := []struct {
		name string
		edit func(*Attest)
		ok   bool
	}{
		{"keyless defaults", func(*Attest) {}, true},
		{"legacy", func(a *Attest) { a.StorageFormat = "Legacy" }, true},
		{"bad format", func(a *Attest) { a.StorageFormat = "v1" }, false},
		{"key without log", func(a *Attest) { a.Key = "k"; a.TlogUpload = false }, true},
		{"keyless without log", func(a *Attest) { a.TlogUpload = false }, false},
		{"keyless without fulcio", func(a *Attest) { a.FulcioURL = "" }, false},
		{"log without URL", func(a *Attest) { a.RekorURL = "" }, false},
		{"env:// without a name", func(a *Attest) { a.Key = "env://" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base()
			tt.edit(&a)
			err := a.Validate()
			if (err == nil) != tt.ok || (err != nil && outcome.Code(err) != outcome.ExitInvalid) {
				t.Errorf("Validate() = %v, want ok=%v (invalid otherwise)", err, tt.ok)
			}
		})
	}
}
