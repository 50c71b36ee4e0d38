package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "root.json")
	for i, content := range [][]byte{[]byte(`{"v":1}`), []byte(`{"version":2,"longer":true}`), nil} {
		perm := os.FileMode(0o600)
		if i == 1 {
			perm = 0o640
		}
		if err := WriteFileAtomic(p, content, perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("content %q, %v; want %q", got, err, content)
		}
		if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
		}
	}
	assertDirHolds(t, dir, "root.json")
}

func TestWriteFileAtomicFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: everything works until the
	// rename, which must fail and leave nothing behind.
	target := filepath.Join(dir, "timestamp.json")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(target, []byte("x"), 0o600)
	if err == nil {
		t.Fatal("WriteFileAtomic over a directory succeeded")
	}
	t.Logf("error: %v", err)
	assertDirHolds(t, dir, "timestamp.json")

	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x.json"), []byte("x"), 0o600); err == nil {
		t.Error("WriteFileAtomic into a missing directory succeeded")
	}
}

func assertDirHolds(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestCleanTemp(t *testing.T) {
	old := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name    string
		dir     bool
		symlink bool
		old     bool
		removed bool
	}{
		{name: tempPrefix + "123", old: true, removed: true},
		{name: "tuf_tmp456789", old: true, removed: true},
		{name: tempPrefix + "fresh", old: false, removed: false},
		{name: "tuf_tmp-fresh", old: false, removed: false},
		{name: "root.json", old: true},
		{name: "2.root.json", old: true},
		{name: "x" + tempPrefix + "1", old: true},
		{name: "tuf_tm", old: true},
		{name: tempPrefix + "dir", dir: true, old: true},
		{name: "tuf_tmp-link", symlink: true, old: true},
	}
	dir := t.TempDir()
	var keep []string
	wantRemoved := 0
	for _, f := range tests {
		p := filepath.Join(dir, f.name)
		switch {
		case f.dir:
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case f.symlink:
			if err := os.Symlink("root.json", p); err != nil {
				missingPrerequisite(t, "no symlinks: %v", err)
			}
		default:
			if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if f.old && !f.symlink {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		if f.removed {
			wantRemoved++
		} else {
			keep = append(keep, f.name)
		}
	}
	n, err := CleanTemp(dir, time.Hour)
	if err != nil || n != wantRemoved {
		t.Fatalf("CleanTemp = %d, %v; want %d", n, err, wantRemoved)
	}
	assertDirHolds(t, dir, keep...)

	// Under the lock, callers pass 0: every temp file goes.
	n, err = CleanTemp(dir, 0)
	if err != nil || n != 2 {
		t.Fatalf("CleanTemp(0) = %d, %v; want 2", n, err)
	}
	if _, err := CleanTemp(filepath.Join(dir, "missing"), 0); err == nil {
		t.Error("CleanTemp of a missing directory succeeded")
	}
}
