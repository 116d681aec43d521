package options

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

// Attest is the flag group of the commands that attach signed attestations
// (`sc sbom attach`, `sc provenance attach`): who signs and how the
// attestation is stored. It is the signing side of Signing without
// annotations, --verify and --output, and with the storage format under
// --attestation-format, since --format names the SBOM format there.
type Attest struct {
	// ExecutionContext holds --identity-token for keyless signing.
	ExecutionContext
	// Key is --key: the private key (a file, env://VAR, or PEM content).
	// Default: none, and then sc signs keylessly.
	Key string
	// StorageFormat is --attestation-format: bundle (cosign v3, OCI
	// referrer) or legacy (cosign v2, .att tag). Default: bundle.
	StorageFormat string
	// TlogUpload is --tlog-upload: record the attestation in Rekor.
	// Default: true. Keyless signing requires it (or a timestamp
	// authority).
	TlogUpload bool
	// FulcioURL, RekorURL and TSAURL are the Sigstore services. Defaults:
	// public-good Fulcio and Rekor, no timestamp authority.
	FulcioURL string
	RekorURL  string
	TSAURL    string
}

// AddFlags binds the group's flags.
func (a *Attest) AddFlags(fs *pflag.FlagSet) {
	a.ExecutionContext.AddFlags(fs)
	fs.StringVar(&a.Key, "key", "", "private key: a file, env://VAR or PEM content (default: keyless, with an OIDC identity)")
	fs.StringVar(&a.StorageFormat, "attestation-format", "bundle",
		"how the attestation is stored: bundle (cosign v3, OCI referrer) or legacy (cosign v2, .att tag)")
	fs.BoolVar(&a.TlogUpload, "tlog-upload", true,
		"record the attestation in the Rekor transparency log (--tlog-upload=false for air-gapped key-based signing)")
	fs.StringVar(&a.FulcioURL, "fulcio-url", "https://fulcio.sigstore.dev", "Fulcio certificate authority for keyless signing")
	fs.StringVar(&a.RekorURL, "rekor-url", "https://rekor.sigstore.dev", "Rekor transparency log")
	fs.StringVar(&a.TSAURL, "timestamp-server-url", "", "RFC 3161 timestamp authority endpoint (default: none)")
}

// Validate checks the flags without changing them. Errors are invalid
// usage.
func (a *Attest) Validate() error {
	switch strings.ToLower(strings.TrimSpace(a.StorageFormat)) {
	case "bundle", "legacy":
	default:
		return outcome.Invalidf("--attestation-format %q: want bundle or legacy", a.StorageFormat)
	}
	if a.Key == "" && !a.TlogUpload && a.TSAURL == "" {
		return outcome.Invalid("--tlog-upload=false needs --key (or a --timestamp-server-url): a keyless certificate expires within minutes and only a log entry or timestamp proves when it was used")
	}
	if a.Key == "" && a.FulcioURL == "" {
		return outcome.Invalid("keyless signing needs --fulcio-url")
	}
	if a.TlogUpload && a.RekorURL == "" {
		return outcome.Invalid("--rekor-url is empty; use --tlog-upload=false to sign without a transparency log")
	}
	return nil
}

// AttestVerification is the flag group of the commands that verify
// attestations (`sc sbom verify`, `sc provenance verify`): the Verification
// flags (whose key or identity to accept, trusted material, the insecure
// opt-outs) without --output, which those commands bind themselves, plus
// --any-repository.
type AttestVerification struct {
	Verification
	// AnyRepository is --any-repository: accept attestations whose subject
	// names another repository than the image's. Default: false.
	AnyRepository bool
}

// AddFlags binds the group's flags. Output is left at text for Validate.
func (a *AttestVerification) AddFlags(fs *pflag.FlagSet) {
	all := pflag.NewFlagSet("verification", pflag.ContinueOnError)
	a.Verification.AddFlags(all)
	all.VisitAll(func(f *pflag.Flag) {
		if f.Name != "output" {
			fs.AddFlag(f)
		}
	})
	a.Output = OutputText
	fs.BoolVar(&a.AnyRepository, "any-repository", false,
		"accept attestations whose statement names another repository than the image's, with the image's digest (images promoted between registries with their attestations)")
}
