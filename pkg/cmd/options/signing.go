package options

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sc-project/sc/pkg/api"
	"github.com/sc-project/sc/pkg/outcome"
)

// Environment variables read for key passwords, in this order.
const (
	EnvKeyPassword    = "SC_KEY_PASSWORD"
	EnvCosignPassword = "COSIGN_PASSWORD"
)

// Output formats of the signing commands.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// Trust is the flag group that says where the Sigstore trusted material
// (Fulcio CAs, Rekor, CT log and TSA keys) comes from.
type Trust struct {
	// TrustedRoot is --trusted-root: a trusted_root.json, for private or
	// offline Sigstore deployments. Default: the public-good trusted root
	// fetched through TUF.
	TrustedRoot string
	// TUFMirror is --tuf-mirror: the TUF repository to fetch the trusted
	// root from. Default: the public-good Sigstore TUF repository.
	TUFMirror string
	// TUFCacheDir is --tuf-cache-dir: where TUF metadata is cached.
	// Default: $HOME/.sigstore/root, shared with cosign.
	TUFCacheDir string
}

// AddFlags binds the group's flags.
func (t *Trust) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.TrustedRoot, "trusted-root", "",
		"Sigstore trusted_root.json to trust instead of the public-good root fetched through TUF (private or offline Sigstore)")
	fs.StringVar(&t.TUFMirror, "tuf-mirror", "", "TUF repository serving the trusted root (default: the public-good Sigstore TUF repository)")
	fs.StringVar(&t.TUFCacheDir, "tuf-cache-dir", "", "where TUF metadata is cached (default: $HOME/.sigstore/root)")
}

// Signer is the flag group of every command that signs (`sc image sign`,
// `sc sbom attach`, `sc provenance attach`, through Signing and Attest):
// who signs, a private key or keylessly an OIDC identity, and the Sigstore
// services. Config maps it onto a configuration's signing block, which
// pkg/security/signing/setup turns into a signer as it does for `sc
// release create`.
type Signer struct {
	// ExecutionContext holds --identity-token for keyless signing.
	ExecutionContext
	// Key is --key: the private key (a file, env://VAR, or PEM content).
	// Default: none, and then sc signs keylessly.
	Key string
	// TlogUpload is --tlog-upload: record what is signed in Rekor.
	// Default: true. Keyless signing requires it (or a timestamp
	// authority).
	TlogUpload bool
	// FulcioURL, RekorURL and TSAURL are the Sigstore services. Defaults:
	// public-good Fulcio and Rekor (api.DefaultFulcioURL,
	// api.DefaultRekorURL), no timestamp authority.
	FulcioURL string
	RekorURL  string
	TSAURL    string
}

// addFlags binds the group's flags; what is what a signature is recorded
// as in --tlog-upload's help ("signature", "attestation").
func (s *Signer) addFlags(fs *pflag.FlagSet, what string) {
	s.ExecutionContext.AddFlags(fs)
	fs.StringVar(&s.Key, "key", "", "private key: a file, env://VAR or PEM content (default: keyless, with an OIDC identity)")
	fs.BoolVar(&s.TlogUpload, "tlog-upload", true,
		"record the "+what+" in the Rekor transparency log (--tlog-upload=false for air-gapped key-based signing)")
	fs.StringVar(&s.FulcioURL, "fulcio-url", api.DefaultFulcioURL, "Fulcio certificate authority for keyless signing")
	fs.StringVar(&s.RekorURL, "rekor-url", api.DefaultRekorURL, "Rekor transparency log")
	fs.StringVar(&s.TSAURL, "timestamp-server-url", "", "RFC 3161 timestamp authority endpoint (default: none)")
}

// Validate checks the flags without changing them. Errors are invalid
// usage.
func (s *Signer) Validate() error {
	if _, err := KeyRef(s.Key); err != nil {
		return err
	}
	if s.Key == "" && !s.TlogUpload && s.TSAURL == "" {
		return outcome.Invalid("--tlog-upload=false needs --key (or a --timestamp-server-url): a keyless certificate expires within minutes and only a log entry or timestamp proves when it was used")
	}
	if s.Key == "" && s.FulcioURL == "" {
		return outcome.Invalid("keyless signing needs --fulcio-url")
	}
	if s.TlogUpload && s.RekorURL == "" {
		return outcome.Invalid("--rekor-url is empty; use --tlog-upload=false to sign without a transparency log")
	}
	return nil
}

// Config is the signing block the flags stand for: keyless without --key,
// else the key of --key (see KeyRef), whose password the caller supplies
// (KeyPassword); the transparency log and the services as given.
func (s *Signer) Config() (*api.Signing, error) {
	key, err := KeyRef(s.Key)
	if err != nil {
		return nil, err
	}
	return &api.Signing{
		Keyless:    new(s.Key == ""),
		PrivateKey: key,
		TlogUpload: new(s.TlogUpload),
		FulcioURL:  s.FulcioURL,
		RekorURL:   s.RekorURL,
		TSAURL:     s.TSAURL,
	}, nil
}

// KeyRef maps a --key value, as cosign takes it (a file, env://NAME for PEM
// content in the environment variable NAME, or PEM content), onto the key
// reference of a configuration: a path, ${env:NAME}, or the PEM content. A
// value is never read as a ${…} reference itself. "" is the unset KeyRef;
// env:// without a name is invalid usage.
func KeyRef(flag string) (api.KeyRef, error) {
	if flag == "" {
		return api.KeyRef{}, nil
	}
	if name, ok := strings.CutPrefix(flag, "env://"); ok {
		if name == "" {
			return api.KeyRef{}, outcome.Invalidf("--key %s names no environment variable", flag)
		}
		return api.KeyRef{Secret: api.EnvSecret(name)}, nil
	}
	// $${ is a literal "${": a file or PEM content stays what it is
	k, err := api.ParseKeyRef(strings.ReplaceAll(flag, "${", "$${"))
	if err != nil {
		return api.KeyRef{}, outcome.Invalidf("--key: %w", err)
	}
	return k, nil
}

// Signing is the flag group of `sc image sign`: the signer, the trusted
// material for checking what it wrote, and how the signature is stored.
type Signing struct {
	Signer
	Trust
	// Format is --format: bundle (cosign v3) or legacy (cosign v2 .sig
	// tag). Default: bundle.
	Format string
	// Annotations is -a/--annotation KEY=VALUE, repeatable: signed along
	// with the digest.
	Annotations []string
	// VerifyAfterSign is --verify: read the signature back and verify it.
	// Default: false.
	VerifyAfterSign bool
	// InsecureIgnoreSCT is --insecure-ignore-sct, for checking signatures
	// by a Fulcio without certificate transparency. Default: false.
	InsecureIgnoreSCT bool
	// Output is --output: text or json. Default: text.
	Output string
}

// AddFlags binds the group's flags.
func (s *Signing) AddFlags(fs *pflag.FlagSet) {
	s.Trust.AddFlags(fs)
	s.Signer.addFlags(fs, "signature")
	fs.StringVar(&s.Format, "format", "bundle", "signature format: bundle (cosign v3, OCI referrer) or legacy (cosign v2, .sig tag)")
	fs.StringArrayVarP(&s.Annotations, "annotation", "a", nil, "annotation KEY=VALUE signed with the digest (repeatable)")
	fs.BoolVar(&s.VerifyAfterSign, "verify", false, "verify the signature right after writing it and fail if it does not verify")
	fs.BoolVar(&s.InsecureIgnoreSCT, "insecure-ignore-sct", false, "accept certificates without a certificate transparency timestamp when checking signatures")
	fs.StringVarP(&s.Output, "output", "o", OutputText, "output format: text or json")
}

// Validate checks the flags without changing them. Errors are invalid
// usage.
func (s *Signing) Validate() error {
	if _, err := AnnotationMap(s.Annotations); err != nil {
		return err
	}
	if err := validOutput(s.Output); err != nil {
		return err
	}
	return s.Signer.Validate()
}

// Verification is the flag group of `sc image verify`.
type Verification struct {
	Trust
	// Key is --key: the public key (a file, env://VAR, or PEM content).
	Key string
	// CertIdentity and CertIdentityRegexp match the certificate's subject;
	// CertOIDCIssuer and CertOIDCIssuerRegexp its OIDC issuer. Keyless
	// verification needs one of each.
	CertIdentity         string
	CertIdentityRegexp   string
	CertOIDCIssuer       string
	CertOIDCIssuerRegexp string
	// Annotations is -a/--annotation KEY=VALUE: required signed
	// annotations.
	Annotations []string
	// InsecureIgnoreTlog is --insecure-ignore-tlog: accept signatures
	// without a transparency log entry. Default: false.
	InsecureIgnoreTlog bool
	// InsecureIgnoreSCT is --insecure-ignore-sct: accept certificates
	// without a certificate transparency timestamp. Default: false.
	InsecureIgnoreSCT bool
	// Output is --output: text or json. Default: text.
	Output string
}

// AddFlags binds the group's flags.
func (v *Verification) AddFlags(fs *pflag.FlagSet) {
	v.Trust.AddFlags(fs)
	fs.StringVar(&v.Key, "key", "", "public key: a file, env://VAR or PEM content")
	fs.StringVar(&v.CertIdentity, "certificate-identity", "", "keyless: the exact certificate identity (e-mail or URI) to accept")
	fs.StringVar(&v.CertIdentityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the certificate identity must match")
	fs.StringVar(&v.CertOIDCIssuer, "certificate-oidc-issuer", "", "keyless: the exact OIDC issuer to accept")
	fs.StringVar(&v.CertOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the OIDC issuer must match")
	fs.StringArrayVarP(&v.Annotations, "annotation", "a", nil, "require the signed annotation KEY=VALUE (repeatable)")
	fs.BoolVar(&v.InsecureIgnoreTlog, "insecure-ignore-tlog", false,
		"accept signatures without a transparency log entry (needed for key-based signatures made with --tlog-upload=false)")
	fs.BoolVar(&v.InsecureIgnoreSCT, "insecure-ignore-sct", false, "accept certificates without a certificate transparency timestamp")
	fs.StringVarP(&v.Output, "output", "o", OutputText, "output format: text or json")
}

// Validate checks the flags without changing them: either --key, or both an
// identity and an issuer (there is no "any identity" default).
func (v *Verification) Validate() error {
	if _, err := AnnotationMap(v.Annotations); err != nil {
		return err
	}
	if err := validOutput(v.Output); err != nil {
		return err
	}
	keyless := v.CertIdentity != "" || v.CertIdentityRegexp != "" || v.CertOIDCIssuer != "" || v.CertOIDCIssuerRegexp != ""
	switch {
	case v.Key != "" && keyless:
		return outcome.Invalid("--key and --certificate-* flags exclude each other")
	case v.Key != "":
		return nil
	case !keyless:
		return outcome.Invalid("say whose signatures to accept: --key, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	case v.CertIdentity != "" && v.CertIdentityRegexp != "":
		return outcome.Invalid("give --certificate-identity or --certificate-identity-regexp, not both")
	case v.CertOIDCIssuer != "" && v.CertOIDCIssuerRegexp != "":
		return outcome.Invalid("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both")
	case v.CertIdentity == "" && v.CertIdentityRegexp == "":
		return outcome.Invalid("keyless verification needs --certificate-identity or --certificate-identity-regexp")
	case v.CertOIDCIssuer == "" && v.CertOIDCIssuerRegexp == "":
		return outcome.Invalid("keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
	}
	return nil
}

// AnnotationMap parses KEY=VALUE annotations.
func AnnotationMap(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, outcome.Invalidf("annotation %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func validOutput(o string) error {
	switch o {
	case OutputText, OutputJSON:
		return nil
	}
	return outcome.Invalidf("--output %q: want %s or %s", o, OutputText, OutputJSON)
}

// KeyPassword returns the password of a private key: SC_KEY_PASSWORD, else
// COSIGN_PASSWORD (set but empty means an empty password, as in cosign),
// else a prompt on the terminal in (confirmed twice when confirm is set).
// Without any of them it is an invalid-usage error: CI must set the
// variable.
func KeyPassword(root *Root, in io.Reader, prompt io.Writer, confirm bool) ([]byte, error) {
	for _, name := range []string{EnvKeyPassword, EnvCosignPassword} {
		if v, ok := root.LookupEnv(name); ok {
			return []byte(v), nil
		}
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, outcome.Invalidf("no key password: set %s (or %s), or run on a terminal to be asked", EnvKeyPassword, EnvCosignPassword)
	}
	read := func(label string) ([]byte, error) {
		fmt.Fprint(prompt, label)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, outcome.Operationalf("reading the password: %w", err)
		}
		return pw, nil
	}
	pw, err := read("Enter password for private key: ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := read("Enter password for private key again: ")
	if err != nil {
		return nil, err
	}
	if string(pw) != string(again) {
		return nil, outcome.Invalid("the passwords do not match")
	}
	return pw, nil
}
