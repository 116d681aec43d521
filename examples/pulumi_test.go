package examples_test

import (
	"bytes"
	"testing"
)

// The README's Pulumi program is examples/pulumi/main.go, which go vet
// compiles: the copy a user takes from the README builds.
func TestReadmePulumiProgram(t *testing.T) {
	readme := read(t, "README.md")
	program := read(t, "examples/pulumi/main.go")
	_, section, ok := bytes.Cut(readme, []byte("\n## In a Pulumi program\n"))
	if !ok {
		t.Fatal("README has no section \"In a Pulumi program\"")
	}
	_, block, ok := bytes.Cut(section, []byte("\n```go\n"))
	if !ok {
		t.Fatal("the README's Pulumi section has no go block")
	}
	block, _, ok = bytes.Cut(block, []byte("\n```\n"))
	if !ok {
		t.Fatal("the README's go block does not end")
	}
	if !bytes.Equal(append(block, '\n'), program) {
		t.Errorf("the README's Pulumi program is not examples/pulumi/main.go: copy the file into the README")
	}
}
