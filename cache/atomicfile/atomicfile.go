package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// TempPrefix starts the name of every temporary file this package
// creates. The leading dot keeps them out of casual listings (and out of
// the conformance suite's "*.json" count).
const TempPrefix = ".tufpip-tmp-"

// WriteFile replaces path with data. perm is applied exactly (not
// filtered by the umask). On any error the temporary file is removed and
// path is untouched (or, if only the final directory sync failed, holds
// the new content with its durability in doubt).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
}

// Write is WriteFile for content that write streams into the temporary
// file. Nothing reaches path unless write returns nil.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	return WriteVia(filepath.Dir(path), path, perm, write)
}

// WriteVia is Write with the temporary file in tmpDir, which must be on
// path's file system: for a directory whose crash leftovers are looked
// for in another one.
func WriteVia(tmpDir, path string, perm os.FileMode, write func(io.Writer) error) error {
	p, err := CreateTemp(tmpDir, perm)
	if err != nil {
		return err
	}
	if err := write(p.File); err != nil {
		p.Abort()
		return err
	}
	if err := p.Finish(); err != nil {
		p.Abort()
		return err
	}
	if err := p.Commit(path); err != nil {
		p.Abort()
		return err
	}
	return nil
}

// Pending is a temporary file on its way to a final name, for callers
// that must act between the steps (the artifact store opens and locks
// the verified file before it gets its name). Write through File, then
// Finish, then Commit; Abort on any failure.
type Pending struct {
	File   *os.File
	closed bool
}

// CreateTemp creates an empty temporary file in dir with mode perm
// (applied exactly, except on Windows, which has no such modes).
func CreateTemp(dir string, perm os.FileMode) (*Pending, error) {
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return nil, err
	}
	p := &Pending{File: f}
	if runtime.GOOS != "windows" {
		if err := f.Chmod(perm); err != nil {
			p.Abort()
			return nil, err
		}
	}
	return p, nil
}

// Name is the temporary file's name.
func (p *Pending) Name() string { return p.File.Name() }

// Finish makes what was written durable and closes the file. Delayed
// allocation can report a full disk only here.
func (p *Pending) Finish() error {
	if err := p.File.Sync(); err != nil {
		return err
	}
	p.closed = true
	return p.File.Close()
}

// Commit renames the finished file to path and syncs path's directory,
// so that the rename survives a crash.
func (p *Pending) Commit(path string) error {
	if err := os.Rename(p.Name(), path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Abort closes the file if it is open and removes it (a no-op once it is
// committed). It returns the removal's error, if any but "not there".
func (p *Pending) Abort() error {
	if !p.closed {
		p.closed = true
		p.File.Close()
	}
	if err := os.Remove(p.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// SyncDir makes a rename or unlink in dir durable. Without it a crash can
// bring back the old directory entry even though the file's data was
// synced.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync; NTFS journals renames
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
