package outfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
	"github.com/sc-project/sc/pkg/outcome"
)

func TestWritable(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.sarif")
	if err := os.WriteFile(existing, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    outfile.Output
		want string // "" for writable
	}{
		{"nothing asked", outfile.Output{Flag: "--sarif"}, ""},
		{"new file", outfile.Output{Flag: "--sarif", Path: filepath.Join(dir, "new.sarif")}, ""},
		{"existing file", outfile.Output{Flag: "--sarif", Path: existing}, ""},
		{"device", outfile.Output{Flag: "--output", Path: os.DevNull}, ""},
		{"missing directory", outfile.Output{Flag: "--sarif", Path: filepath.Join(dir, "nonexistent", "x.sarif")},
			"--sarif " + filepath.Join(dir, "nonexistent", "x.sarif") + ": directory " + filepath.Join(dir, "nonexistent") + " does not exist"},
		{"a directory", outfile.Output{Flag: "--summary", Path: dir}, "--summary " + dir + ": is a directory"},
		{"parent is a file", outfile.Output{Flag: "--pr-comment", Path: filepath.Join(file, "c.md")}, file + " is not a directory"},
		{"directories created by the writer", outfile.Output{Flag: "sbom.output", Path: filepath.Join(dir, "out", "sboms", "api.json"), MkdirAll: true}, ""},
		{"directories created under a file", outfile.Output{Flag: "sbom.output", Path: filepath.Join(file, "sboms", "api.json"), MkdirAll: true},
			"sbom.output " + filepath.Join(file, "sboms", "api.json") + ": " + file + " is not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := outfile.Writable(tt.o)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Writable = %v, want ok", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || outcome.Code(err) != outcome.ExitInvalid):
				t.Errorf("Writable = %v, want a usage error with %q", err, tt.want)
			}
		})
	}
	// the probes leave the file system as they found it
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "a-file,old.sarif" {
		t.Errorf("the directory holds %v after the checks, want only what was there", names)
	}
	if b, _ := os.ReadFile(existing); string(b) != "kept" {
		t.Errorf("an existing file was changed: %q", b)
	}
}

func TestWritableRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	roFile := filepath.Join(dir, "ro.sarif")
	if err := os.WriteFile(roFile, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, o := range []outfile.Output{
		{Flag: "--sarif", Path: filepath.Join(ro, "x.sarif")},
		{Flag: "--sarif", Path: roFile},
		{Flag: "sbom.output", Path: filepath.Join(ro, "sub", "x.json"), MkdirAll: true},
	} {
		err := outfile.Writable(o)
		if outcome.Code(err) != outcome.ExitInvalid || !strings.Contains(err.Error(), o.Flag+" "+o.Path+": cannot be written") ||
			!strings.Contains(err.Error(), "permission denied") {
			t.Errorf("Writable(%s) = %v, want a usage error naming the flag and path", o.Path, err)
		}
	}
}

// A named pipe is accepted without opening it: opening it for writing
// would wait for a reader.
func TestWritablePipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- outfile.Writable(outfile.Output{Flag: "--output", Path: path}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Writable(fifo) = %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing check
		t.Fatal("Writable opened the pipe and waits for a reader")
	}
}

func TestCheckFirstError(t *testing.T) {
	dir := t.TempDir()
	err := outfile.Check(
		outfile.Output{Flag: "--sarif", Path: filepath.Join(dir, "ok.sarif")},
		outfile.Output{Flag: "--pr-comment", Path: filepath.Join(dir, "missing", "c.md")},
		outfile.Output{Flag: "--summary", Path: filepath.Join(dir, "missing", "s.md")},
	)
	if err == nil || !strings.HasPrefix(err.Error(), "--pr-comment ") {
		t.Errorf("Check = %v, want the --pr-comment error", err)
	}
}
