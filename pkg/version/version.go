// Package version reports what an sc binary is made of, for auditors and for
// the results and attestations sc writes: sc's own version and the commit it
// was built from, the Go toolchain and platform, and the exact versions of
// the libraries that do the security work (syft, grype, cosign, sigstore-go,
// sigstore, go-containerregistry), read from the module information the Go
// linker embeds (runtime/debug.ReadBuildInfo), replace directives honoured.
//
// It uses the standard library only, so that any package can embed an Info
// without linking anything heavy. It does not look at anything outside the
// binary: the vulnerability database, Trivy and other installed tools are
// reported by the packages that use them (pkg/security/scan and vulndb).
package version

import (
	"runtime"
	"runtime/debug"
	"slices"
)

// Devel is the version of a binary that was built without one: neither
// stamped at link time nor built from a module version (go build in a
// checkout without a tag).
const Devel = "devel"

// Info is what a binary is made of. It marshals to JSON as `sc version
// --output json` prints it.
type Info struct {
	// Version is sc's version: the one stamped at link time, else the main
	// module's version, else Devel.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from (vcs.revision),
	// "" when the build did not record one (go test, -buildvcs=false).
	Commit string `json:"commit,omitempty"`
	// Dirty is true when the work tree had uncommitted changes
	// (vcs.modified); omitted from JSON when false.
	Dirty bool `json:"dirty,omitempty"`
	// CommitTime is the commit's time (vcs.time), RFC 3339, "" when not
	// recorded. Go records no build time: this is the closest fact.
	CommitTime string `json:"commitTime,omitempty"`
	// GoVersion is the toolchain that built the binary ("go1.26.8").
	GoVersion string `json:"goVersion"`
	// Platform is the binary's GOOS/GOARCH ("linux/amd64").
	Platform string `json:"platform"`
	// Modules are the linked versions of Tracked modules, in Tracked's
	// order; every tracked module is listed, with Version "" when the
	// binary does not link it.
	Modules []Module `json:"modules"`
}

// Module is one library module as linked into the binary.
type Module struct {
	// Path is the module path ("github.com/anchore/grype").
	Path string `json:"path"`
	// Version is the version linked: the replacement's when a replace
	// directive applies ("(devel)" for a replacement by a local
	// directory), "" when the binary does not link the module.
	Version string `json:"version"`
	// Sum is the checksum of the code linked ("h1:…"), "" when unknown.
	Sum string `json:"sum,omitempty"`
	// Replaced names the replacement, "path" or "path@version", when a
	// replace directive applies.
	Replaced string `json:"replaced,omitempty"`
}

// Tracked returns the module paths Info reports, in the order it reports
// them: the libraries whose versions decide what sc's results say.
func Tracked() []string {
	return []string{
		"github.com/anchore/syft",
		"github.com/anchore/grype",
		"github.com/sigstore/cosign/v3",
		"github.com/sigstore/sigstore-go",
		"github.com/sigstore/sigstore",
		"github.com/google/go-containerregistry",
	}
}

// Linked is the version of any module linked into the running binary (the
// replacement's when a replace directive applies), or "unknown" when the
// binary carries no module information or does not link path. Cache keys
// and scanner descriptions use it.
func Linked(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path != path {
			continue
		}
		if d.Replace != nil {
			if d.Replace.Version == "" {
				return "(devel)"
			}
			return d.Replace.Version
		}
		return d.Version
	}
	return "unknown"
}

// Read returns the running binary's Info. mainVersion is the version
// stamped at link time (-ldflags "-X main.version=…"), "" when there is
// none.
func Read(mainVersion string) Info {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return FromBuildInfo(bi, mainVersion)
}

// FromBuildInfo returns the Info that bi describes; bi may be nil (a binary
// built without module support), in which case only the version, the
// toolchain and the platform are known. mainVersion is as for Read.
func FromBuildInfo(bi *debug.BuildInfo, mainVersion string) Info {
	info := Info{
		Version:   mainVersion,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	var deps []*debug.Module
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.CommitTime = s.Value
			case "vcs.modified":
				info.Dirty = s.Value == "true"
			}
		}
		deps = bi.Deps
	}
	if info.Version == "" {
		info.Version = Devel
	}
	for _, path := range Tracked() {
		m := Module{Path: path}
		i := slices.IndexFunc(deps, func(d *debug.Module) bool { return d.Path == path })
		if i >= 0 {
			m.Version, m.Sum = deps[i].Version, deps[i].Sum
			if r := deps[i].Replace; r != nil {
				m.Version, m.Sum, m.Replaced = r.Version, r.Sum, r.Path
				if r.Version == "" {
					m.Version = "(devel)"
				} else {
					m.Replaced += "@" + r.Version
				}
			}
		}
		info.Modules = append(info.Modules, m)
	}
	return info
}

// Module returns the tracked module with the given path, and whether the
// binary links it.
func (i Info) Module(path string) (Module, bool) {
	for _, m := range i.Modules {
		if m.Path == path {
			return m, m.Version != ""
		}
	}
	return Module{Path: path}, false
}
