package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ToolsDir is where .ci/tools.sh puts the external tools it builds:
// $SC_TOOLS_DIR/bin, by default ~/.cache/sc-tools/bin.
func ToolsDir() string {
	dir := os.Getenv("SC_TOOLS_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".cache", "sc-tools")
	}
	return filepath.Join(dir, "bin")
}

// Tool returns the path of the executable name that .ci/tools.sh builds,
// from ToolsDir or else PATH. When there is none, the test is skipped with
// the command that installs it, or fails under CI=true: CI runs
// .ci/tools.sh first, so a missing tool there is a broken set-up, not a
// reason to pass.
func Tool(t testing.TB, name string) string {
	t.Helper()
	return ToolInstalledBy(t, name, ".ci/tools.sh")
}

// ToolInstalledBy is Tool for an executable that script (a command run
// from the repository's root) installs into ToolsDir.
func ToolInstalledBy(t testing.TB, name, script string) string {
	t.Helper()
	if dir := ToolsDir(); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " is not installed: run " + script + " (builds it into " + ToolsDir() + ", minutes, once per machine)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
