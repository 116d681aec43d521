package options

import (
	"github.com/spf13/pflag"
)

// SBOM is the flag group of the commands that make SBOMs (`sc sbom
// generate`, and `sc sbom attach` after it): the document's format and spec
// version, the part of the image catalogued and the file entries.
//
// It keeps the flags as given. pkg/cmd/sbom checks them and turns them into
// the options of pkg/security/sbom: this package does not import that one,
// which links syft, so that commands without SBOMs do not pay for it.
type SBOM struct {
	// Format is --format: cyclonedx-json, cyclonedx-xml, spdx-json,
	// spdx-tag-value or syft-json. Default: cyclonedx-json.
	Format string
	// SpecVersion is --spec-version: the version of the format's
	// specification. Default: "", the format's own default (CycloneDX 1.6,
	// SPDX 2.3).
	SpecVersion string
	// Scope is --scope: squashed or all-layers. Default: squashed.
	Scope string
	// Files is --files: none, owned-by-package or all. Default: none.
	Files string
}

// AddFlags binds the group's flags.
func (s *SBOM) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Format, "format", "cyclonedx-json",
		"SBOM format: cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value or syft-json")
	fs.StringVar(&s.SpecVersion, "spec-version", "",
		"version of the format's specification: 1.5, 1.6 or 1.7 for CycloneDX, 2.3 for SPDX (default: CycloneDX 1.6, SPDX 2.3)")
	fs.StringVar(&s.Scope, "scope", "squashed",
		"what to catalogue: squashed (the image's final filesystem) or all-layers (also what later layers deleted)")
	fs.StringVar(&s.Files, "files", "none",
		"list files with their SHA-1 and SHA-256 digests: none, owned-by-package or all (larger and slower)")
}
