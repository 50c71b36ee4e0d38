package cache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// Benchmarks compare tufpip's streaming verification with the system's own
// hashing tools on the same file in the same run, so the ratio is what
// matters, not the absolute numbers. Run with:
//
//	go test -run '^$' -bench . -benchtime 3x ./cache/

var (
	benchMu    sync.Mutex
	benchDir   string
	benchFiles = map[int64]benchFile{}
)

type benchFile struct {
	path string
	ti   updater.TargetInfo
}

func cleanupBenchFiles() {
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
}

// getBenchFile writes (once per run) a file of size bytes and its signed
// target info with all three hashes.
func getBenchFile(b *testing.B, size int64) benchFile {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if f, ok := benchFiles[size]; ok {
		return f
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "tufpip-cache-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	path := filepath.Join(benchDir, fmt.Sprintf("artifact-%d", size))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	hs := map[string]io.Writer{}
	ti := updater.TargetInfo{Path: filepath.Base(path), Length: size, Hashes: map[string]string{}}
	ws := []io.Writer{f}
	sums := map[string]interface{ Sum([]byte) []byte }{}
	for _, alg := range allAlgs {
		h := fixtureHash(alg)
		hs[alg] = h
		sums[alg] = h
		ws = append(ws, h)
	}
	w := bufio.NewWriterSize(io.MultiWriter(ws...), 1<<20)
	block := randomBytes(42, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(block)))
		w.Write(block[:n])
		left -= n
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	for alg, h := range sums {
		ti.Hashes[alg] = fmt.Sprintf("%x", h.Sum(nil))
	}
	bf := benchFile{path: path, ti: ti}
	benchFiles[size] = bf
	return bf
}

func only(ti updater.TargetInfo, algs ...string) updater.TargetInfo {
	out := ti
	out.Hashes = map[string]string{}
	for _, a := range algs {
		out.Hashes[a] = ti.Hashes[a]
	}
	return out
}

var benchHashSets = []struct {
	name string
	algs []string
}{
	{"blake2b-256", []string{updater.HashBLAKE2b256}},
	{"sha256", []string{updater.HashSHA256}},
	{"all3", allAlgs},
}

const benchBig = 256 << 20

// BenchmarkVerifyCopy is the hashing cost alone, from the page cache.
func BenchmarkVerifyCopy(b *testing.B) {
	bf := getBenchFile(b, benchBig)
	for _, hs := range benchHashSets {
		b.Run(hs.name, func(b *testing.B) {
			ti := only(bf.ti, hs.algs...)
			b.SetBytes(ti.Length)
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(bf.path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := updater.VerifyCopy(nil, f, ti); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkPut is the whole store path: hash, write, fsync, rename. B/op
// must not grow with the file size (memory stays flat).
func BenchmarkPut(b *testing.B) {
	for _, size := range []int64{1 << 20, benchBig} {
		bf := getBenchFile(b, size)
		for _, hs := range benchHashSets {
			b.Run(fmt.Sprintf("%s/%dMiB", hs.name, size>>20), func(b *testing.B) {
				s := openStore(b, b.TempDir(), StoreOptions{})
				ti := only(bf.ti, hs.algs...)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					f, err := os.Open(bf.path)
					if err != nil {
						b.Fatal(err)
					}
					e, err := s.Put(context.Background(), ti, f)
					if err != nil {
						b.Fatal(err)
					}
					f.Close()
					e.Close()
					os.Remove(e.Path) // next Put writes a new file
				}
			})
		}
	}
}

// BenchmarkGet measures a read of a stored artifact with the memo (as in a
// long-running proxy) and without it (first use after a restart).
func BenchmarkGet(b *testing.B) {
	bf := getBenchFile(b, benchBig)
	ti := only(bf.ti, updater.HashBLAKE2b256)
	dir := b.TempDir()
	s := openStore(b, dir, StoreOptions{})
	f, _ := os.Open(bf.path)
	e, err := s.Put(context.Background(), ti, f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	e.Close()
	for _, memo := range []bool{true, false} {
		b.Run(fmt.Sprintf("memo=%v", memo), func(b *testing.B) {
			b.SetBytes(ti.Length)
			b.ReportAllocs()
			for b.Loop() {
				if !memo {
					s.forget(e.Path)
				}
				g, err := s.Get(context.Background(), ti)
				if err != nil {
					b.Fatal(err)
				}
				g.Close()
			}
		})
	}
}

// BenchmarkTool runs the system's hashing tools on the same file, as the
// yardstick for the numbers above.
func BenchmarkTool(b *testing.B) {
	bf := getBenchFile(b, benchBig)
	for _, tool := range [][]string{{"sha256sum"}, {"b2sum", "-l", "256"}, {"sha512sum"}} {
		b.Run(tool[0], func(b *testing.B) {
			if _, err := exec.LookPath(tool[0]); err != nil {
				b.Skip(err)
			}
			b.SetBytes(benchBig)
			for b.Loop() {
				out, err := exec.Command(tool[0], append(tool[1:], bf.path)...).CombinedOutput()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}
