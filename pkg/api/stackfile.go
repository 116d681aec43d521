package api

import (
	"fmt"
	"slices"
	"strings"
)

// This file holds the stack file as written. Its field comments are also
// the descriptions in the JSON Schema.

// StackFile is an sc stack file: file-wide security defaults and named
// stacks of services.
type StackFile struct {
	// Version is the file format version. Only 1 exists. Default: 1.
	Version int `yaml:"version,omitempty" json:"version,omitempty"`
	// Security is the file-wide security configuration: the base of every
	// stack in this file, and what a parent reference to this file without
	// a #stack inherits.
	Security *Security `yaml:"security,omitempty" json:"security,omitempty"`
	// Stacks are the stacks of this file by name: letters, digits, '.',
	// '_' and '-'.
	Stacks map[string]*StackSpec `yaml:"stacks,omitempty" json:"stacks,omitempty"`
}

// StackSpec is one stack as written: a group of services released
// together, with the security they share.
type StackSpec struct {
	// Parent is what this stack inherits security from: a stack of this
	// file ("base"), a stack of another file ("../platform.yaml#base"), or
	// another file's file-wide security ("../platform.yaml"). Paths are
	// relative to this file.
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Security overrides the parent's security for every service of the
	// stack.
	Security *Security `yaml:"security,omitempty" json:"security,omitempty"`
	// Services are the images of the stack by name: letters, digits, '.',
	// '_' and '-'.
	Services map[string]*ServiceSpec `yaml:"services,omitempty" json:"services,omitempty"`
}

// ServiceSpec is one service as written.
type ServiceSpec struct {
	// Image is the image reference sc secures (required). A tag is resolved
	// to a digest once, when the release runs.
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Dockerfile is the Dockerfile the image is built from, relative to
	// this file; provenance records it.
	Dockerfile string `yaml:"dockerfile,omitempty" json:"dockerfile,omitempty"`
	// Context is the build context directory, relative to this file.
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// Security overrides the stack's security for this service.
	Security *Security `yaml:"security,omitempty" json:"security,omitempty"`
}

// composeFile is the part of a docker-compose file that sc reads. Other
// keys are compose's business and are ignored.
type composeFile struct {
	Services map[string]*composeService `yaml:"services"`
	Security *Security                  `yaml:"x-sc-security"`
}

type composeService struct {
	Image    string        `yaml:"image"`
	Build    *composeBuild `yaml:"build"`
	Security *Security     `yaml:"x-sc-security"`
}

// composeBuild is compose's build: either a context path or a mapping.
type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// extensionPrefix starts the compose extension keys that are sc's.
const extensionPrefix = "x-sc-"

// unknownExtension returns the problem with key, an unknown key of a
// compose mapping whose known keys are fields, when key looks like one of
// sc's extensions: it starts with x-sc- (or x-sc_), or it is an x- key a
// typo or two away from one sc reads. Other keys are compose's, and "".
func unknownExtension(key string, fields []string) string {
	var ours []string
	for _, f := range fields {
		if strings.HasPrefix(f, extensionPrefix) {
			ours = append(ours, f)
		}
	}
	lk := strings.ToLower(key)
	near := slices.ContainsFunc(ours, func(f string) bool { return editDistance(lk, f) <= 2 })
	if !strings.HasPrefix(lk, extensionPrefix) && !strings.HasPrefix(lk, "x-sc_") && !(strings.HasPrefix(lk, "x-") && near) {
		return ""
	}
	msg := fmt.Sprintf("unknown field `%s`", key)
	if len(ours) == 0 {
		return msg + ": sc reads x-sc-security at the top level of a compose file and in a service, nowhere else"
	}
	if s := suggest(key, ours); s != "" {
		return msg + fmt.Sprintf("; did you mean `%s`?", s)
	}
	return msg + fmt.Sprintf(": sc reads only %s here", strings.Join(ours, ", "))
}

func (*composeFile) lenientYAML()    {}
func (*composeService) lenientYAML() {}
func (*composeBuild) lenientYAML()   {}

func (b *composeBuild) decodeScalar(text string) { b.Context = text }
