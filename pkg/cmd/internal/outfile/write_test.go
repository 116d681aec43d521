package outfile_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sc-project/sc/pkg/cmd/internal/outfile"
)

// An output that is a device or a named pipe (-o /dev/null, -o /dev/stdout)
// must be written to, not replaced by a regular file through a rename.
func TestWriteKeepsNonRegularFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	doc := []byte(`{"bomFormat":"CycloneDX"}`)
	if err := outfile.Write(path, "the SBOM", doc); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, doc) {
			t.Errorf("reader got %q, want %q", b, doc)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing check
		t.Fatal("nothing was written to the pipe: it was replaced instead")
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is now %v, want a named pipe", path, fi.Mode())
	}
}

func TestWriteRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sbom.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := outfile.Write(path, "the SBOM", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content = %q", b)
	}
}
