package options

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-project/sc/pkg/outcome"
)

// Attest is the flag group of the commands that attach signed attestations
// (`sc sbom attach`, `sc provenance attach`): who signs (the Signer group
// `sc image sign` has too) and how the attestation is stored, under
// --attestation-format since --format names the SBOM format there.
type Attest struct {
	Signer
	// StorageFormat is --attestation-format: bundle (cosign v3, OCI
	// referrer) or legacy (cosign v2, .att tag). Default: bundle.
	StorageFormat string
}

// AddFlags binds the group's flags.
func (a *Attest) AddFlags(fs *pflag.FlagSet) {
	a.Signer.addFlags(fs, "attestation")
	fs.StringVar(&a.StorageFormat, "attestation-format", "bundle",
		"how the attestation is stored: bundle (cosign v3, OCI referrer) or legacy (cosign v2, .att tag)")
}

// Validate checks the flags without changing them. Errors are invalid
// usage.
func (a *Attest) Validate() error {
	switch strings.ToLower(strings.TrimSpace(a.StorageFormat)) {
	case "bundle", "legacy":
	default:
		return outcome.Invalidf("--attestation-format %q: want bundle or legacy", a.StorageFormat)
	}
	return a.Signer.Validate()
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
