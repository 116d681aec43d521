// Package outfile checks, before a command starts its work, that the files
// it will write can be written, so that a typo in --sarif or --output is a
// usage error at once instead of an operational failure after minutes of
// scanning and signing (and, worse, one that hides the verdict).
//
// Write writes one document to a file, whole or not at all; the reports
// are written through pkg/cmd/internal/reportflags. A check is a probe, not
// a promise: a disk that fills up, or a directory removed in between, still
// fails the write later, and the command must keep the verdict visible
// then too.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sc-project/sc/pkg/outcome"
)

// Output is one file a command will write: the flag (or variable, or
// configuration key) that named it, and its path.
type Output struct {
	// Flag names where the path came from, as the user wrote it:
	// "--sarif", "$GITHUB_STEP_SUMMARY", "sbom.output".
	Flag string
	// Path is the file; an empty path is not written and not checked.
	Path string
	// MkdirAll says the writer creates missing parent directories, so
	// that only the nearest existing one needs to be writable.
	MkdirAll bool
}

// Check probes each output in turn and returns the first that cannot be
// written; see Writable.
func Check(outs ...Output) error {
	for _, o := range outs {
		if err := Writable(o); err != nil {
			return err
		}
	}
	return nil
}

// Writable reports whether o.Path can be written, leaving the file system
// as it found it:
//
//   - an existing regular file is opened for writing (not truncated);
//   - an existing device or named pipe (/dev/null, /dev/stdout, a FIFO) is
//     accepted as it is: opening a pipe for writing would wait for a reader;
//   - a missing file is created exclusively and removed again, or, with
//     MkdirAll, a probe file is created in the nearest existing ancestor
//     directory and removed.
//
// A directory, a missing parent directory (without MkdirAll), a parent that
// is not a directory and a permission refusal are usage errors (exit code
// 2) that name the flag and the path.
func Writable(o Output) error {
	if o.Path == "" {
		return nil
	}
	fi, err := os.Stat(o.Path)
	switch {
	case err == nil && fi.IsDir():
		return outcome.Invalidf("%s %s: is a directory, want a file", o.Flag, o.Path)
	case err == nil && !fi.Mode().IsRegular():
		return nil
	case err == nil:
		f, err := os.OpenFile(o.Path, os.O_WRONLY, 0)
		if err != nil {
			return cannot(o, err)
		}
		_ = f.Close()
		return nil
	case !missing(err):
		return cannot(o, err)
	}
	if o.MkdirAll {
		return probeAncestor(o)
	}
	dir := filepath.Dir(o.Path)
	if err := isDir(o, dir); err != nil {
		return err
	}
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil // created in between: it exists, and is the writer's to replace
	}
	if err != nil {
		return cannot(o, err)
	}
	_ = f.Close()
	_ = os.Remove(o.Path)
	return nil
}

// missing reports whether a stat error says the path is not there: it does
// not exist, or one of its parents is a file (ENOTDIR), which isDir then
// names.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// isDir checks that the parent directory dir of o exists and is one.
func isDir(o Output, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case missing(err):
		return outcome.Invalidf("%s %s: directory %s does not exist", o.Flag, o.Path, dir)
	case err != nil:
		return cannot(o, err)
	case !fi.IsDir():
		return outcome.Invalidf("%s %s: %s is not a directory", o.Flag, o.Path, dir)
	}
	return nil
}

// probeAncestor checks that the nearest existing ancestor of o.Path is a
// directory new files can be created in.
func probeAncestor(o Output) error {
	dir := filepath.Dir(o.Path)
	for {
		_, err := os.Stat(dir)
		if err == nil {
			break
		}
		if !missing(err) {
			return cannot(o, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if err := isDir(o, dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".sc-probe-*")
	if err != nil {
		return cannot(o, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return nil
}

// cannot is the error of an output that cannot be written.
func cannot(o Output, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err) // the path is said once, before
	}
	return outcome.Invalidf("%s %s: cannot be written: %w", o.Flag, o.Path, err)
}

// Write writes doc, which is what ("the SBOM", for messages), to path
// through a temporary file in the same directory, so that path holds
// either the whole document or what it held before, never a part. A path
// that exists and is not a regular file (a device such as /dev/null or
// /dev/stdout, a named pipe) is written to directly: renaming over it would
// replace the device with a file. Errors are operational.
func Write(path, what string, doc []byte) error {
	if err := write(path, doc); err != nil {
		return outcome.Operationalf("writing %s to %s: %w", what, path, err)
	}
	return nil
}

func write(path string, doc []byte) (err error) {
	if fi, statErr := os.Stat(path); statErr == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(doc); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(doc); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
