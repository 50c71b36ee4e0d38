//go:build linux

package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// These tests need a real full disk, a real read-only file system and a
// real permission error. They re-run themselves in a child process: in a
// private user and mount namespace (where an unprivileged user may mount a
// small tmpfs), or as user nobody (root ignores file permissions).

// inChild reports whether this is the re-run child of test t.
func inChild(t *testing.T) bool {
	return os.Getenv(helperEnv) == "test:"+t.Name()
}

// rerun runs test t again in a child process configured by attr and
// reports its result as t's.
func rerun(t *testing.T, bin string, attr *syscall.SysProcAttr, env ...string) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), helperEnv+"=test:"+t.Name()), env...)
	cmd.SysProcAttr = attr
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		missingPrerequisite(t, "cannot start child process (%v); namespaces or setuid unavailable", err)
	case err != nil:
		t.Fatalf("child failed: %v\n%s", err, out)
	case bytes.Contains(out, []byte("--- SKIP")):
		missingPrerequisite(t, "child skipped:\n%s", out)
	}
	t.Logf("child output:\n%s", out)
}

func rerunInNamespace(t *testing.T) {
	rerun(t, os.Args[0], &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	})
}

// mountTmpfs mounts a private tmpfs on dir for the rest of the test.
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		missingPrerequisite(t, "cannot make mounts private: %v", err)
	}
	if err := syscall.Mount("tufpip-test", dir, "tmpfs", 0, opts); err != nil {
		missingPrerequisite(t, "cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

func wantErr(t *testing.T, what string, err error, target error, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded", what)
		return
	}
	t.Logf("%s: %v", what, err)
	if !errors.Is(err, target) {
		t.Errorf("%s: %v does not wrap %v", what, err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: %q does not mention %q", what, err, m)
		}
	}
}

func TestRealDiskFull(t *testing.T) {
	if !inChild(t) {
		rerunInNamespace(t)
		return
	}
	dir := t.TempDir()
	mountTmpfs(t, dir, "size=256k")
	s := openStore(t, filepath.Join(dir, "store"), StoreOptions{})

	big := randomBytes(20, 1<<20)
	ti := targetFor("big.whl", big, updater.HashBLAKE2b256)
	_, err := s.Put(context.Background(), ti, bytes.NewReader(big))
	wantErr(t, "Put on a full disk", err, syscall.ENOSPC, s.Dir(), "no space left", "big.whl")
	assertNoFiles(t, s.Dir())

	// The space is given back: a small artifact still fits.
	small := randomBytes(21, 10_000)
	readEntry(t, put(t, s, targetFor("small.whl", small, updater.HashSHA256), small))

	err = WriteFileAtomic(filepath.Join(dir, "root.json"), big, 0o600)
	wantErr(t, "WriteFileAtomic on a full disk", err, syscall.ENOSPC, "root.json", "no space left")
	assertDirHolds(t, dir, "store")
}

func TestRealReadOnlyFS(t *testing.T) {
	if !inChild(t) {
		rerunInNamespace(t)
		return
	}
	dir := t.TempDir()
	mountTmpfs(t, dir, "size=16m")
	storeDir := filepath.Join(dir, "store")
	data := randomBytes(22, 100_000)
	ti := targetFor("ro.whl", data, allAlgs...)
	readEntry(t, put(t, openStore(t, storeDir, StoreOptions{}), ti, data))
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		missingPrerequisite(t, "cannot remount read-only: %v", err)
	}

	// A read-only store still serves what it holds, verified.
	s := openStore(t, storeDir, StoreOptions{MaxBytes: 1})
	if got := readEntry(t, mustGet(t, s, ti)); !bytes.Equal(got, data) {
		t.Fatal("wrong bytes from read-only store")
	}
	other := randomBytes(23, 1000)
	_, err := s.Put(context.Background(), targetFor("new.whl", other, updater.HashSHA256), bytes.NewReader(other))
	wantErr(t, "Put on a read-only file system", err, syscall.EROFS, storeDir, "read-only file system")

	_, err = s.Fetch(context.Background(), targetFor("new.whl", other, updater.HashSHA256),
		func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(other)), nil })
	wantErr(t, "Fetch on a read-only file system", err, syscall.EROFS, storeDir)

	_, err = OpenStore(filepath.Join(dir, "fresh"), StoreOptions{})
	wantErr(t, "OpenStore on a read-only file system", err, syscall.EROFS, "opening artifact cache")
	wantErr(t, "WriteFileAtomic on a read-only file system",
		WriteFileAtomic(filepath.Join(dir, "root.json"), []byte("{}"), 0o600), syscall.EROFS, "root.json")
	_, err = Lock(context.Background(), filepath.Join(dir, "repo"))
	wantErr(t, "Lock on a read-only file system", err, syscall.EROFS, "taking lock on")
	_, err = MetadataDir(dir, "repo")
	wantErr(t, "MetadataDir on a read-only file system", err, syscall.EROFS)
}

// TestPermissionDenied runs against a directory tree the test user cannot
// write: as root, by re-running as nobody; otherwise by chmod.
func TestPermissionDenied(t *testing.T) {
	data := randomBytes(24, 50_000)
	ti := targetFor("perm.whl", data, allAlgs...)
	if !inChild(t) {
		base := t.TempDir()
		readEntry(t, put(t, openStore(t, filepath.Join(base, "store"), StoreOptions{}), ti, data))
		if os.Geteuid() != 0 {
			lockDown(t, base, 0o555)
			checkPermissionDenied(t, base, ti, data)
			return
		}
		// Root ignores permissions; nobody (65534) may read and traverse
		// but not write. The test binary must be reachable for nobody.
		lockDown(t, base, 0o755)
		for p := base; p != filepath.Dir(p) && strings.HasPrefix(p, os.TempDir()+"/"); p = filepath.Dir(p) {
			os.Chmod(p, 0o755)
		}
		binDir := t.TempDir()
		bin := filepath.Join(binDir, "cache.test")
		copyFile(t, os.Args[0], bin)
		os.Chmod(binDir, 0o755)
		os.Chmod(filepath.Dir(binDir), 0o755)
		rerun(t, bin, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}},
			helperDirEnv+"="+base)
		return
	}
	checkPermissionDenied(t, os.Getenv(helperDirEnv), ti, data)
}

// lockDown sets every directory under base to mode (files stay as they
// are) and restores owner write access when the test ends.
func lockDown(t *testing.T, base string, mode os.FileMode) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range dirs {
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func checkPermissionDenied(t *testing.T, base string, ti updater.TargetInfo, data []byte) {
	storeDir := filepath.Join(base, "store")
	s, err := OpenStore(storeDir, StoreOptions{})
	if err != nil {
		t.Fatalf("OpenStore of a readable store: %v", err)
	}
	if got := readEntry(t, mustGet(t, s, ti)); !bytes.Equal(got, data) {
		t.Fatal("wrong bytes from unwritable store")
	}
	other := randomBytes(25, 1000)
	_, err = s.Put(context.Background(), targetFor("new.whl", other, updater.HashSHA256), bytes.NewReader(other))
	wantErr(t, "Put into an unwritable store", err, fs.ErrPermission, storeDir, "permission denied")

	_, err = OpenStore(filepath.Join(base, "fresh"), StoreOptions{})
	wantErr(t, "OpenStore in an unwritable directory", err, fs.ErrPermission, "opening artifact cache", "permission denied")
	wantErr(t, "WriteFileAtomic in an unwritable directory",
		WriteFileAtomic(filepath.Join(base, "root.json"), []byte("{}"), 0o600), fs.ErrPermission, "root.json")
	_, err = Lock(context.Background(), filepath.Join(base, "repo"))
	wantErr(t, "Lock in an unwritable directory", err, fs.ErrPermission, "taking lock on")
	_, err = MetadataDir(base, "repo")
	wantErr(t, "MetadataDir in an unwritable directory", err, fs.ErrPermission)
}
