package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/integration/testenv"
	"github.com/tufpip/tufpip/updater"
)

// Environment variables that turn the test binary into a helper process.
const (
	helperEnv     = "TUFPIP_CACHE_TEST_HELPER"
	helperDirEnv  = "TUFPIP_CACHE_TEST_DIR"
	helperArgsEnv = "TUFPIP_CACHE_TEST_ARGS"
)

func TestMain(m *testing.M) {
	switch h := os.Getenv(helperEnv); h {
	case "":
		code := m.Run()
		cleanupBenchFiles()
		os.Exit(code)
	case "lock":
		os.Exit(helperLock())
	case "put":
		os.Exit(helperPut())
	default:
		// Namespace tests re-run a single test with helperEnv set; let
		// the testing package run it.
		if strings.HasPrefix(h, "test:") {
			os.Exit(m.Run())
		}
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", h)
		os.Exit(2)
	}
}

var allAlgs = []string{updater.HashBLAKE2b256, updater.HashSHA256, updater.HashSHA512}

// fixtureHash computes a digest to build signed target info for fixtures.
// Verification itself always goes through package updater.
func fixtureHash(alg string) hash.Hash {
	switch alg {
	case updater.HashSHA256:
		return sha256.New()
	case updater.HashSHA512:
		return sha512.New()
	case updater.HashBLAKE2b256:
		h, _ := blake2b.New256(nil)
		return h
	}
	panic("unknown alg " + alg)
}

// targetFor returns signed-looking target info for data with the given
// hashes.
func targetFor(name string, data []byte, algs ...string) updater.TargetInfo {
	ti := updater.TargetInfo{Path: name, Length: int64(len(data)), Hashes: map[string]string{}}
	for _, alg := range algs {
		h := fixtureHash(alg)
		h.Write(data)
		ti.Hashes[alg] = hex.EncodeToString(h.Sum(nil))
	}
	return ti
}

// randomBytes returns deterministic pseudo-random data for seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func openStore(t testing.TB, dir string, opts StoreOptions) *Store {
	t.Helper()
	s, err := OpenStore(dir, opts)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	return s
}

// readEntry reads all of e's file and closes e.
func readEntry(t testing.TB, e *Entry) []byte {
	t.Helper()
	defer e.Close()
	b, err := io.ReadAll(e.File())
	if err != nil {
		t.Fatalf("reading entry: %v", err)
	}
	return b
}

func put(t testing.TB, s *Store, ti updater.TargetInfo, data []byte) *Entry {
	t.Helper()
	e, err := s.Put(context.Background(), ti, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put %s: %v", ti.Path, err)
	}
	return e
}

// storeFiles lists every regular file under dir except lock files, which
// exist by design and hold no data.
func storeFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, lockSuffix) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return files
}

func assertNoFiles(t testing.TB, dir string) {
	t.Helper()
	if files := storeFiles(t, dir); len(files) > 0 {
		t.Errorf("store %s should hold no files, has %q", dir, files)
	}
}

// missingPrerequisite skips locally, but fails in CI (CI=true), where a
// missing prerequisite must never pass as a skipped test.
func missingPrerequisite(t *testing.T, format string, args ...any) {
	t.Helper()
	testenv.MissingPrerequisite(t, format, args...)
}
