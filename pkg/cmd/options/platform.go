package options

import (
	"github.com/spf13/pflag"
)

// Platforms is the flag group of the commands that read or sign an image
// index: which of its platform images they work on, and, for signing and
// verification, whether the platform images are signed (verified) besides
// the index.
//
// It keeps the flags as given: the command reads each platform with
// registry.ParsePlatform and hands the selection to the library call.
type Platforms struct {
	// Platforms is --platform os/arch[/variant], repeatable. Default:
	// every platform image of an index; an image that is not an index is
	// its own only platform whatever this says.
	Platforms []string
	// Recursive is --recursive, bound by AddRecursiveFlag only.
	Recursive bool
}

// AddFlags binds --platform.
func (p *Platforms) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&p.Platforms, "platform", nil,
		"for an image index: a platform image to work on, os/arch[/variant] (linux/arm64, linux/arm/v7), repeatable (default: every platform; buildx attestation manifests are never platforms)")
}

// AddRecursiveFlag binds --recursive with its default and help text.
func (p *Platforms) AddRecursiveFlag(fs *pflag.FlagSet, def bool, usage string) {
	fs.BoolVar(&p.Recursive, "recursive", def, usage)
}
