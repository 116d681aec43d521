package version_test

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sc-project/sc/pkg/version"
)

func TestTracked(t *testing.T) {
	want := []string{
		"github.com/anchore/syft",
		"github.com/anchore/grype",
		"github.com/sigstore/cosign/v3",
		"github.com/sigstore/sigstore-go",
		"github.com/sigstore/sigstore",
		"github.com/google/go-containerregistry",
	}
	if diff := cmp.Diff(want, version.Tracked()); diff != "" {
		t.Errorf("Tracked() (-want +got):\n%s", diff)
	}
	// a caller changing the slice it got does not change the next answer
	version.Tracked()[0] = "changed"
	if version.Tracked()[0] != want[0] {
		t.Error("Tracked returns a shared slice")
	}
}

// modules returns the Modules of an Info whose tracked modules are all
// unlinked except those given.
func modules(linked ...version.Module) []version.Module {
	var ms []version.Module
	for _, p := range version.Tracked() {
		m := version.Module{Path: p}
		for _, l := range linked {
			if l.Path == p {
				m = l
			}
		}
		ms = append(ms, m)
	}
	return ms
}

func TestFromBuildInfo(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := []debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-20T06:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	deps := []*debug.Module{
		{Path: "golang.org/x/mod", Version: "v0.30.0", Sum: "h1:mod"},
		{Path: "github.com/anchore/grype", Version: "v0.121.2", Sum: "h1:grype"},
		// replaced by another version: the replacement is what is linked
		{Path: "github.com/sigstore/sigstore", Version: "v1.10.0", Sum: "h1:old",
			Replace: &debug.Module{Path: "github.com/example/sigstore-fork", Version: "v1.10.11-fork", Sum: "h1:fork"}},
		// replaced by a local directory: no version, no sum
		{Path: "github.com/google/go-containerregistry", Version: "v0.22.1",
			Replace: &debug.Module{Path: "../go-containerregistry"}},
		// a path that only starts like a tracked one
		{Path: "github.com/anchore/syft-extra", Version: "v9.9.9"},
	}
	for _, tc := range []struct {
		name        string
		bi          *debug.BuildInfo
		mainVersion string
		want        version.Info
	}{
		{
			name: "no build information",
			want: version.Info{Version: version.Devel, GoVersion: runtime.Version(), Platform: platform, Modules: modules()},
		},
		{
			name:        "no build information, stamped",
			mainVersion: "v1.2.3",
			want:        version.Info{Version: "v1.2.3", GoVersion: runtime.Version(), Platform: platform, Modules: modules()},
		},
		{
			name: "go build in a checkout: (devel), vcs settings",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sc-project/sc", Version: "(devel)"}, Settings: vcs, Deps: deps},
			want: version.Info{
				Version: version.Devel, Commit: "0123456789abcdef0123456789abcdef01234567", Dirty: true, CommitTime: "2026-11-20T06:00:00Z",
				GoVersion: "go1.26.8", Platform: platform,
				Modules: modules(
					version.Module{Path: "github.com/anchore/grype", Version: "v0.121.2", Sum: "h1:grype"},
					version.Module{Path: "github.com/sigstore/sigstore", Version: "v1.10.11-fork", Sum: "h1:fork",
						Replaced: "github.com/example/sigstore-fork@v1.10.11-fork"},
					version.Module{Path: "github.com/google/go-containerregistry", Version: "(devel)", Replaced: "../go-containerregistry"},
				),
			},
		},
		{
			name: "go install module@version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sc-project/sc", Version: "v1.4.0"}},
			want: version.Info{Version: "v1.4.0", GoVersion: "go1.26.8", Platform: platform, Modules: modules()},
		},
		{
			name:        "the stamped version wins over the module's",
			bi:          &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sc-project/sc", Version: "v1.4.0"}},
			mainVersion: "v1.4.1-rc.1",
			want:        version.Info{Version: "v1.4.1-rc.1", GoVersion: "go1.26.8", Platform: platform, Modules: modules()},
		},
		{
			name: "a clean work tree",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"},
			}},
			want: version.Info{Version: version.Devel, Commit: "abc", GoVersion: "go1.26.8", Platform: platform, Modules: modules()},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, version.FromBuildInfo(tc.bi, tc.mainVersion)); diff != "" {
				t.Errorf("FromBuildInfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInfoJSON(t *testing.T) {
	info := version.FromBuildInfo(&debug.BuildInfo{
		GoVersion: "go1.26.8",
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.time", Value: "2026-11-20T06:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		},
		Deps: []*debug.Module{{Path: "github.com/anchore/syft", Version: "v1.57.1", Sum: "h1:syft"}},
	}, "v1.2.3")
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "dirty", "commitTime", "goVersion", "platform", "modules"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON %s lacks %q", data, k)
		}
	}
	ms, _ := got["modules"].([]any)
	if len(ms) != len(version.Tracked()) {
		t.Fatalf("JSON modules = %v, want one per tracked module", got["modules"])
	}
	if m, _ := ms[0].(map[string]any); m["path"] != "github.com/anchore/syft" || m["version"] != "v1.57.1" || m["sum"] != "h1:syft" {
		t.Errorf("JSON module = %v", m)
	}
}

func TestInfoModule(t *testing.T) {
	info := version.FromBuildInfo(&debug.BuildInfo{Deps: []*debug.Module{{Path: "github.com/anchore/grype", Version: "v0.121.2"}}}, "")
	if m, ok := info.Module("github.com/anchore/grype"); !ok || m.Version != "v0.121.2" {
		t.Errorf("Module(grype) = %+v, %v", m, ok)
	}
	if m, ok := info.Module("github.com/anchore/syft"); ok || m.Path != "github.com/anchore/syft" {
		t.Errorf("Module(syft), not linked = %+v, %v", m, ok)
	}
	if _, ok := info.Module("github.com/not/tracked"); ok {
		t.Error("Module(untracked) reports it linked")
	}
}

// TestRead reads the test binary's own build information: a test binary's
// main module is "(devel)" and records no VCS settings.
func TestRead(t *testing.T) {
	info := version.Read("")
	if info.Version != version.Devel || info.GoVersion != runtime.Version() || info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Read(\"\") = %+v", info)
	}
	if got := version.Read("v9.8.7").Version; got != "v9.8.7" {
		t.Errorf("Read(v9.8.7).Version = %q", got)
	}
	if len(info.Modules) != len(version.Tracked()) {
		t.Errorf("Read lists %d modules, want %d", len(info.Modules), len(version.Tracked()))
	}
}

func TestLinkedUnknown(t *testing.T) {
	// a test binary records no dependencies, and nothing links this path
	if got := version.Linked("example.com/not/linked"); got != "unknown" {
		t.Errorf("Linked of a module not linked = %q, want unknown", got)
	}
}
