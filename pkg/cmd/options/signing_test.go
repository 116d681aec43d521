package options

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/outcome"
)

func TestSigningValidate(t *testing.T) {
	base := func() Signing {
		return Signing{Format: "bundle", TlogUpload: true, FulcioURL: "https://f", RekorURL: "https://r", Output: OutputText}
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
