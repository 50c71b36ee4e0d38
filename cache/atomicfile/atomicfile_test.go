package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func names(t *testing.T, dir string) []string {
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
	return got
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, c := range []struct {
		data string
		perm os.FileMode
	}{{"one", 0o600}, {"two, longer", 0o644}, {"", 0o444}} {
		if err := WriteFile(p, []byte(c.data), c.perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != c.data {
			t.Fatalf("read %q, %v; want %q", got, err, c.data)
		}
		if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != c.perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), c.perm)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
		t.Errorf("dir holds %q", got)
	}
}

// A write that fails leaves the old content and no temporary file.
func TestWriteFailureLeavesOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("content %q, want old", got)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
		t.Errorf("dir holds %q", got)
	}
	// A rename onto a non-empty directory fails at Commit.
	if err := os.MkdirAll(filepath.Join(dir, "d", "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "d"), []byte("x"), 0o600); err == nil {
		t.Error("WriteFile over a directory succeeded")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"d", "f"}) {
		t.Errorf("dir holds %q", got)
	}
}

func TestWriteViaUsesTmpDir(t *testing.T) {
	tmp, dst := t.TempDir(), t.TempDir()
	var seen string
	err := WriteVia(tmp, filepath.Join(dst, "f"), 0o600, func(w io.Writer) error {
		seen = filepath.Dir(w.(*os.File).Name())
		_, err := io.WriteString(w, "x")
		return err
	})
	if err != nil || seen != tmp {
		t.Fatalf("err %v, temp file in %s; want it in %s", err, seen, tmp)
	}
	if got := names(t, tmp); len(got) != 0 {
		t.Errorf("tmp dir holds %q", got)
	}
}
