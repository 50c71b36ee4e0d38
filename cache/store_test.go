package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tufpip/tufpip/updater"
)

func TestPutGet(t *testing.T) {
	data := randomBytes(1, 70_000)
	tests := []struct {
		name    string
		algs    []string
		wantAlg string
	}{
		{"blake2b-256 only", []string{updater.HashBLAKE2b256}, updater.HashBLAKE2b256},
		{"sha256 only", []string{updater.HashSHA256}, updater.HashSHA256},
		{"sha512 only", []string{updater.HashSHA512}, updater.HashSHA512},
		{"all three", allAlgs, updater.HashBLAKE2b256},
		{"sha256 and sha512", []string{updater.HashSHA256, updater.HashSHA512}, updater.HashSHA512},
		{"empty file", allAlgs, updater.HashBLAKE2b256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, StoreOptions{})
			data := data
			if tt.name == "empty file" {
				data = nil
			}
			ti := targetFor("demo-1.0-py3-none-any.whl", data, tt.algs...)
			// Upper-case hex in signed metadata must address the same file.
			ti.Hashes[tt.wantAlg] = strings.ToUpper(ti.Hashes[tt.wantAlg])
			sum := strings.ToLower(ti.Hashes[tt.wantAlg])
			wantPath := filepath.Join(dir, "artifacts", tt.wantAlg, sum[:2], sum)

			e := put(t, s, ti, data)
			if e.Path != wantPath {
				t.Errorf("Path = %s, want %s", e.Path, wantPath)
			}
			if e.Size != int64(len(data)) {
				t.Errorf("Size = %d, want %d", e.Size, len(data))
			}
			if e.ModTime.IsZero() {
				t.Error("ModTime is zero")
			}
			if got := readEntry(t, e); !bytes.Equal(got, data) {
				t.Fatal("Put entry bytes differ")
			}
			if err := e.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(wantPath)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o444 {
					t.Errorf("artifact mode %v, want read-only", fi.Mode().Perm())
				}
			}

			// A second store has no memo and must hash the file.
			for _, st := range []*Store{s, openStore(t, dir, StoreOptions{})} {
				g, err := st.Get(context.Background(), ti)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if off, _ := g.File().Seek(0, io.SeekCurrent); off != 0 {
					t.Errorf("Get file offset %d, want 0", off)
				}
				if got := readEntry(t, g); !bytes.Equal(got, data) {
					t.Fatal("Get entry bytes differ")
				}
			}
			assertOnlyArtifacts(t, dir, 1)
		})
	}
}

// assertOnlyArtifacts checks that dir holds exactly n files, all of them
// final artifacts (no temp files).
func assertOnlyArtifacts(t *testing.T, dir string, n int) {
	t.Helper()
	files := storeFiles(t, dir)
	for _, f := range files {
		if !strings.HasPrefix(f, filepath.Join(dir, "artifacts")+string(filepath.Separator)) {
			t.Errorf("unexpected file %s", f)
		}
	}
	if len(files) != n {
		t.Errorf("store holds %d files, want %d: %q", len(files), n, files)
	}
}

// endlessReader never ends: the endless-data attack.
type endlessReader struct{}

func (endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

// failingReader yields some data, then fails, like a dropped connection.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestPutRejectsTamperedStream(t *testing.T) {
	data := randomBytes(2, 600_000) // several VerifyCopy buffers
	ti := targetFor("demo-1.0.tar.gz", data, allAlgs...)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x01
	errDropped := errors.New("connection reset")

	tests := []struct {
		name      string
		ti        updater.TargetInfo
		r         func() io.Reader
		mismatch  string // wanted MismatchError.Check, or ""
		wantErrIs error
	}{
		{name: "wrong byte", ti: ti, r: func() io.Reader { return bytes.NewReader(flipped) }, mismatch: updater.HashBLAKE2b256},
		{name: "short", ti: ti, r: func() io.Reader { return bytes.NewReader(data[:len(data)-1]) }, mismatch: "length"},
		{name: "empty", ti: ti, r: func() io.Reader { return bytes.NewReader(nil) }, mismatch: "length"},
		{name: "too long", ti: ti, r: func() io.Reader { return io.MultiReader(bytes.NewReader(data), strings.NewReader("x")) }, mismatch: "length"},
		{name: "endless", ti: ti, r: func() io.Reader { return endlessReader{} }, mismatch: "length"},
		{name: "one hash of three wrong", ti: func() updater.TargetInfo {
			bad := targetFor(ti.Path, data, allAlgs...)
			bad.Hashes[updater.HashSHA512] = strings.Repeat("0", 128)
			return bad
		}(), r: func() io.Reader { return bytes.NewReader(data) }, mismatch: updater.HashSHA512},
		{name: "download fails midway", ti: ti, r: func() io.Reader {
			return &failingReader{r: bytes.NewReader(data[:300_000]), err: errDropped}
		}, wantErrIs: errDropped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, StoreOptions{})
			e, err := s.Put(context.Background(), tt.ti, tt.r())
			if err == nil {
				e.Close()
				t.Fatal("Put accepted tampered data")
			}
			t.Logf("error: %v", err)
			if tt.mismatch != "" {
				var mm *updater.MismatchError
				if !errors.As(err, &mm) || mm.Check != tt.mismatch {
					t.Errorf("error %v, want %s mismatch", err, tt.mismatch)
				}
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("error %v, want %v", err, tt.wantErrIs)
			}
			assertNoFiles(t, dir)
			if _, err := s.Get(context.Background(), tt.ti); !errors.Is(err, ErrNotCached) {
				t.Errorf("Get after failed Put: %v, want ErrNotCached", err)
			}
		})
	}
}

func TestPutRejectsBadTargetInfo(t *testing.T) {
	data := []byte("hello")
	good := targetFor("x.whl", data, updater.HashSHA256)
	tests := []struct {
		name string
		ti   updater.TargetInfo
		want string
	}{
		{"no known hash", updater.TargetInfo{Path: "x.whl", Length: 5, Hashes: map[string]string{"md5": "5d41402abc4b2a76b9719d911017c592"}}, "no supported hash"},
		{"path traversal in hash", updater.TargetInfo{Path: "x.whl", Length: 5, Hashes: map[string]string{updater.HashSHA256: "../../../../../../etc/passwd" + strings.Repeat("0", 36)}}, "not 64 hex digits"},
		{"short hash", updater.TargetInfo{Path: "x.whl", Length: 5, Hashes: map[string]string{updater.HashBLAKE2b256: "abcd"}}, "not 64 hex digits"},
		{"negative length", updater.TargetInfo{Path: "x.whl", Length: -2, Hashes: good.Hashes}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, StoreOptions{})
			_, err := s.Put(context.Background(), tt.ti, bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put error %v, want it to mention %q", err, tt.want)
			}
			if _, err := s.Get(context.Background(), tt.ti); err == nil {
				t.Error("Get succeeded")
			}
			assertNoFiles(t, dir)
		})
	}
}

// makeWritable lets a test tamper with a read-only artifact even when not
// running as root.
func tamper(t *testing.T, path string, fn func(f *os.File)) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fn(f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestGetDetectsTamperedCacheFile(t *testing.T) {
	data := randomBytes(3, 100_000)
	other := randomBytes(4, 100_000)
	tests := []struct {
		name     string
		algs     []string
		mismatch string
		tamper   func(t *testing.T, path string)
	}{
		{"bit flip", allAlgs, updater.HashBLAKE2b256, func(t *testing.T, p string) {
			tamper(t, p, func(f *os.File) {
				b := make([]byte, 1)
				f.ReadAt(b, 5000)
				b[0] ^= 0x10
				f.WriteAt(b, 5000)
			})
		}},
		{"bit flip, sha256 only", []string{updater.HashSHA256}, updater.HashSHA256, func(t *testing.T, p string) {
			tamper(t, p, func(f *os.File) { f.WriteAt([]byte{^data[99_999]}, 99_999) })
		}},
		{"truncated", allAlgs, "length", func(t *testing.T, p string) {
			tamper(t, p, func(f *os.File) { f.Truncate(50_000) })
		}},
		{"appended", allAlgs, "length", func(t *testing.T, p string) {
			tamper(t, p, func(f *os.File) { f.WriteAt([]byte("evil"), int64(len(data))) })
		}},
		{"replaced in place, mtime restored", allAlgs, updater.HashBLAKE2b256, func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			tamper(t, p, func(f *os.File) { f.WriteAt(other, 0) })
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by rename", allAlgs, updater.HashBLAKE2b256, func(t *testing.T, p string) {
			if err := WriteFileAtomic(p, other, 0o444); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by a directory", allAlgs, "", func(t *testing.T, p string) {
			os.Remove(p)
			os.Mkdir(p, 0o700)
		}},
	}
	for _, tt := range tests {
		for _, fresh := range []bool{false, true} {
			name := tt.name + "/same process"
			if fresh {
				name = tt.name + "/new process"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				s := openStore(t, dir, StoreOptions{})
				ti := targetFor("demo.whl", data, tt.algs...)
				e := put(t, s, ti, data)
				e.Close()
				// Verified once so the memo is warm, then tampered with.
				readEntry(t, mustGet(t, s, ti))
				tt.tamper(t, e.Path)
				if fresh {
					s = openStore(t, dir, StoreOptions{})
				}
				g, err := s.Get(context.Background(), ti)
				if err == nil {
					g.Close()
					t.Fatal("Get returned a tampered file")
				}
				t.Logf("error: %v", err)
				if !errors.Is(err, ErrNotCached) {
					t.Errorf("error %v, want ErrNotCached", err)
				}
				var mm *updater.MismatchError
				if tt.mismatch != "" && (!errors.As(err, &mm) || mm.Check != tt.mismatch) {
					t.Errorf("error %v, want %s mismatch", err, tt.mismatch)
				}
				if tt.mismatch != "" {
					if _, err := os.Lstat(e.Path); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("tampered file still present: %v", err)
					}
				}
				// The store recovers: a good copy can be stored again.
				readEntry(t, put(t, s, ti, data))
				readEntry(t, mustGet(t, s, ti))
			})
		}
	}
}

func mustGet(t testing.TB, s *Store, ti updater.TargetInfo) *Entry {
	t.Helper()
	e, err := s.Get(context.Background(), ti)
	if err != nil {
		t.Fatalf("Get %s: %v", ti.Path, err)
	}
	return e
}

func TestGetMemo(t *testing.T) {
	data := randomBytes(5, 50_000)
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	b2 := targetFor("m.whl", data, updater.HashBLAKE2b256)
	readEntry(t, put(t, s, b2, data))

	for range 3 {
		readEntry(t, mustGet(t, s, b2))
	}
	if n := s.verifications.Load(); n != 0 {
		t.Errorf("Gets after Put re-hashed %d times, want 0 (memo)", n)
	}

	// Target info naming a hash that was never checked must be checked.
	all := targetFor("m.whl", data, allAlgs...)
	readEntry(t, mustGet(t, s, all))
	if n := s.verifications.Load(); n != 1 {
		t.Errorf("verifications = %d, want 1 after new hashes appeared", n)
	}
	readEntry(t, mustGet(t, s, all))
	readEntry(t, mustGet(t, s, b2))
	if n := s.verifications.Load(); n != 1 {
		t.Errorf("verifications = %d, want still 1", n)
	}

	// Same address, but a second hash the file does not match: the memo
	// must not paper over it.
	bad := targetFor("m.whl", data, updater.HashBLAKE2b256, updater.HashSHA256)
	bad.Hashes[updater.HashSHA256] = strings.Repeat("ab", 32)
	if _, err := s.Get(context.Background(), bad); err == nil {
		t.Fatal("Get accepted target info whose sha256 does not match")
	}

	// A new process starts with an empty memo.
	readEntry(t, put(t, s, all, data))
	s2 := openStore(t, dir, StoreOptions{})
	readEntry(t, mustGet(t, s2, all))
	readEntry(t, mustGet(t, s2, all))
	if n := s2.verifications.Load(); n != 1 {
		t.Errorf("new store verifications = %d, want 1", n)
	}
}

// setLastUse back-dates an artifact's LRU clock.
func setLastUse(t *testing.T, path string, when time.Time) {
	t.Helper()
	mt := when
	if !lruFromMtime {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		mt = fi.ModTime()
	}
	if err := os.Chtimes(path, when, mt); err != nil {
		t.Fatal(err)
	}
}

func TestEviction(t *testing.T) {
	mk := func(i int, n int) (updater.TargetInfo, []byte) {
		d := randomBytes(uint64(100+i), n)
		return targetFor("e"+string(rune('a'+i))+".whl", d, updater.HashSHA256), d
	}
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{MaxBytes: 300})
	var tis []updater.TargetInfo
	var paths []string
	base := time.Now().Add(-time.Hour)
	for i := range 3 {
		ti, d := mk(i, 100)
		e := put(t, s, ti, d)
		e.Close()
		tis, paths = append(tis, ti), append(paths, e.Path)
		setLastUse(t, e.Path, base.Add(time.Duration(i)*time.Minute))
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }

	// a is the oldest, but using it makes b the least recently used.
	readEntry(t, mustGet(t, s, tis[0]))
	tiD, dD := mk(3, 100)
	readEntry(t, put(t, s, tiD, dD))
	if exists(paths[1]) {
		t.Error("b (least recently used) was not evicted")
	}
	if !exists(paths[0]) || !exists(paths[2]) {
		t.Error("a recently used entry was evicted")
	}
	if n, err := s.Size(); err != nil || n != 300 {
		t.Errorf("Size = %d, %v; want 300", n, err)
	}

	// An open entry is never evicted, even when it is the oldest.
	setLastUse(t, paths[2], base) // c now oldest
	held := mustGet(t, s, tis[2])
	setLastUse(t, paths[2], base)
	tiE, dE := mk(4, 100)
	readEntry(t, put(t, s, tiE, dE))
	if !exists(paths[2]) {
		t.Error("open entry was evicted")
	}
	if got := readEntry(t, held); len(got) != 100 {
		t.Error("held entry unreadable")
	}

	// An artifact bigger than the limit is refused before a byte is
	// read, though the store evicts what it can trying to make room.
	tiBig, dBig := mk(5, 500)
	r := &countingReader{r: bytes.NewReader(dBig)}
	if _, err := s.Put(context.Background(), tiBig, r); !errors.Is(err, ErrCacheFull) || r.n != 0 {
		t.Errorf("oversize Put: %v after reading %d bytes, want ErrCacheFull before reading", err, r.n)
	}
	if _, err := s.Get(context.Background(), tiBig); !errors.Is(err, ErrNotCached) {
		t.Errorf("oversize artifact stored: %v", err)
	}
	// Evicted entries are simply not cached any more.
	if _, err := s.Get(context.Background(), tis[0]); !errors.Is(err, ErrNotCached) {
		t.Errorf("Get evicted: %v, want ErrNotCached", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// cancellingReader cancels its context after the first read, as a client
// disconnecting mid-download would.
type cancellingReader struct {
	r      io.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == 2 {
		c.cancel()
	}
	return c.r.Read(p)
}

func TestPutContextCancelledMidCopy(t *testing.T) {
	data := randomBytes(6, 2<<20)
	ti := targetFor("big.whl", data, allAlgs...)
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cr := &cancellingReader{r: bytes.NewReader(data), cancel: cancel}
	_, err := s.Put(ctx, ti, cr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put error %v, want context.Canceled", err)
	}
	if cr.reads > 3 {
		t.Errorf("Put kept reading after cancel: %d reads", cr.reads)
	}
	assertNoFiles(t, dir)

	_, err = s.Put(ctx, ti, bytes.NewReader(data))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with done context: %v", err)
	}
	assertNoFiles(t, dir)
}

// fullDisk fails writes with ENOSPC once limit bytes are written.
type fullDisk struct {
	w     io.Writer
	limit int
	name  string
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if len(p) > d.limit {
		n, _ := d.w.Write(p[:d.limit])
		d.limit = 0
		return n, &os.PathError{Op: "write", Path: d.name, Err: syscall.ENOSPC}
	}
	d.limit -= len(p)
	return d.w.Write(p)
}

func TestPutDiskFull(t *testing.T) {
	data := randomBytes(7, 1<<20)
	ti := targetFor("big.whl", data, updater.HashBLAKE2b256)
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	s.wrapTemp = func(w io.Writer) io.Writer {
		return &fullDisk{w: w, limit: 300_000, name: filepath.Join(s.tmp, tempPrefix+"x")}
	}
	_, err := s.Put(context.Background(), ti, bytes.NewReader(data))
	if err == nil {
		t.Fatal("Put succeeded on a full disk")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not wrap ENOSPC", err)
	}
	for _, want := range []string{dir, "no space left", ti.Path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	assertNoFiles(t, dir)
}

func TestSizeAndClean(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	var total int64
	var tis []updater.TargetInfo
	for i := range 5 {
		d := randomBytes(uint64(200+i), 1000*(i+1))
		ti := targetFor("s.whl", d, updater.HashSHA256)
		readEntry(t, put(t, s, ti, d))
		tis = append(tis, ti)
		total += int64(len(d))
	}
	if n, err := s.Size(); err != nil || n != total {
		t.Fatalf("Size = %d, %v; want %d", n, err, total)
	}
	held := mustGet(t, s, tis[0])
	defer held.Close()
	leftover := filepath.Join(s.tmp, tempPrefix+"crashed")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Clean(); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Error("Clean left a crash leftover")
	}
	if n, _ := s.Size(); n != 1000 {
		t.Errorf("Size after Clean = %d, want 1000 (the open entry)", n)
	}
	// The store stays usable.
	readEntry(t, put(t, s, tis[1], randomBytes(201, 2000)))
}

// blockingReader hands out data only when told to.
type blockingReader struct {
	data    []byte
	release chan struct{}
	started chan struct{}
	once    bool
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.once {
		b.once = true
		close(b.started)
		<-b.release
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestOpenStoreSweepsOnlyDeadTemps(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	leftover := filepath.Join(s.tmp, tempPrefix+"from-a-crash")
	if err := os.WriteFile(leftover, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir, StoreOptions{})
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("OpenStore kept a leftover temp file")
	}

	// A Put in progress (here in this process, but the lock is the same
	// across processes) keeps its temp file when another store opens.
	data := randomBytes(8, 10_000)
	ti := targetFor("slow.whl", data, updater.HashSHA256)
	br := &blockingReader{data: data, release: make(chan struct{}), started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		e, err := s.Put(context.Background(), ti, br)
		if err == nil {
			e.Close()
		}
		done <- err
	}()
	<-br.started
	openStore(t, dir, StoreOptions{})
	if err := openStore(t, dir, StoreOptions{}).Clean(); err != nil {
		t.Fatal(err)
	}
	close(br.release)
	if err := <-done; err != nil {
		t.Fatalf("Put lost its temp file to a concurrent open: %v", err)
	}
	readEntry(t, mustGet(t, s, ti))
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(filepath.Join(file, "store"), StoreOptions{}); err == nil ||
		!strings.Contains(err.Error(), "opening artifact cache") {
		t.Errorf("OpenStore under a file: %v", err)
	}
	if _, err := OpenStore("", StoreOptions{}); err == nil {
		t.Error("OpenStore(\"\") succeeded")
	}
	if _, err := OpenStore(dir, StoreOptions{MaxBytes: -1}); err == nil {
		t.Error("negative MaxBytes accepted")
	}
}

// In the index-only layout nobody signs a file's length: only the sha256
// from a TUF-verified page is known.
func TestPutUnknownLength(t *testing.T) {
	s, err := OpenStore(t.TempDir(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("wheel bytes whose length was never signed")
	sum := sha256.Sum256(data)
	ti := updater.TargetInfo{Path: "x.whl", Length: updater.UnknownLength, Hashes: map[string]string{updater.HashSHA256: hex.EncodeToString(sum[:])}}
	ctx := context.Background()
	if _, err := s.Put(ctx, ti, bytes.NewReader(append(bytes.Clone(data), '!'))); err == nil {
		t.Fatal("tampered bytes with unknown length were cached")
	}
	e, err := s.Put(ctx, ti, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	e, err = s.Get(ctx, ti)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Size != int64(len(data)) {
		t.Fatalf("size %d, want %d", e.Size, len(data))
	}
}
