package cache

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// FuzzAddress: the content address derived from (hostile) signed target
// info is always <store>/artifacts/<alg>/<hex[0:2]>/<hex> for a known
// algorithm and lower-case hex of its length, never anything that leaves
// the store, whatever the hash values hold.
func FuzzAddress(f *testing.F) {
	hex64 := strings.Repeat("ab", 32)
	for _, c := range [][4]string{
		{"blake2b-256", hex64, "", ""},
		{"sha256", strings.ToUpper(hex64), "", ""},
		{"sha512", hex64 + hex64, "sha256", hex64},
		{"blake2b-256", "../../../../etc/passwd", "sha256", hex64},
		{"sha256", "ab/" + hex64[3:], "", ""},
		{"sha256", hex64[:62] + "\x00a", "", ""},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", "", ""},
		{"blake2b-256", "", "sha512", ".."},
	} {
		f.Add(c[0], c[1], c[2], c[3])
	}
	s, err := OpenStore(f.TempDir(), StoreOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, alg1, h1, alg2, h2 string) {
		ti := updater.TargetInfo{Path: "x.whl", Length: 1, Hashes: map[string]string{alg1: h1}}
		if alg2 != "" {
			ti.Hashes[alg2] = h2
		}
		a, err := s.address(ti)
		if err != nil {
			return
		}
		var hexLen int
		for _, p := range addressPreference {
			if p.alg == a.alg {
				hexLen = p.hexLen
			}
		}
		if hexLen == 0 || len(a.sum) != hexLen || strings.Trim(a.sum, "0123456789abcdef") != "" {
			t.Fatalf("address %+v from %v: not a known algorithm with lower-case hex of its length", a, ti.Hashes)
		}
		if !strings.EqualFold(ti.Hashes[a.alg], a.sum) {
			t.Fatalf("address %+v does not come from the signed %s %q", a, a.alg, ti.Hashes[a.alg])
		}
		rel, err := filepath.Rel(s.artifacts, a.path)
		if err != nil || !filepath.IsLocal(rel) || rel != filepath.Join(a.alg, a.sum[:2], a.sum) {
			t.Fatalf("address %s of %v is not <store>/artifacts/%s/%s/%s", a.path, ti.Hashes, a.alg, a.sum[:2], a.sum)
		}
	})
}

// FuzzPutGet stores fuzzed bytes under fuzzed target info: nothing is ever
// written outside the store, Put accepts only bytes that match every
// known hash and the length, and Get gives back exactly those bytes.
func FuzzPutGet(f *testing.F) {
	data := []byte("wheel bytes")
	ti := targetFor("a.whl", data, allAlgs...)
	f.Add(data, ti.Hashes["blake2b-256"], ti.Hashes["sha256"], int64(len(data)))
	f.Add(data, "", ti.Hashes["sha256"], int64(len(data)))
	f.Add(data, ti.Hashes["blake2b-256"], strings.Repeat("0", 64), int64(len(data)))
	f.Add(data, "../"+ti.Hashes["blake2b-256"][3:], "", int64(len(data)))
	f.Add(data, ti.Hashes["blake2b-256"], "", int64(-1))
	f.Add(data, ti.Hashes["blake2b-256"], "", int64(3))
	f.Add([]byte{}, "", "", int64(0))
	parent := f.TempDir()
	s, err := OpenStore(filepath.Join(parent, "store"), StoreOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, b2, s256 string, length int64) {
		ti := updater.TargetInfo{Path: "f.whl", Length: length, Hashes: map[string]string{}}
		if b2 != "" {
			ti.Hashes[updater.HashBLAKE2b256] = b2
		}
		if s256 != "" {
			ti.Hashes[updater.HashSHA256] = s256
		}
		ent, err := s.Put(context.Background(), ti, bytes.NewReader(data))
		if err == nil {
			ent.Close()
			if _, verr := updater.VerifyCopy(nil, bytes.NewReader(data), ti); verr != nil {
				t.Fatalf("Put stored bytes that do not verify against %+v: %v", ti, verr)
			}
			got, err := s.Get(context.Background(), ti)
			if err != nil {
				t.Fatalf("Get after Put: %v", err)
			}
			b := make([]byte, len(data)+1)
			n, _ := got.File().Read(b)
			got.Close()
			if !bytes.Equal(b[:n], data) {
				t.Fatalf("Get returned %q, Put stored %q", b[:n], data)
			}
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 || ents[0].Name() != "store" {
			t.Fatalf("something was written beside the store: %v", ents)
		}
		filepath.WalkDir(s.tmp, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Fatalf("Put left %s behind", p)
			}
			return nil
		})
	})
}

// FuzzRepoKey: a metadata URL, whatever it holds, names one safe path
// element that MetadataDir accepts and that stays under the root.
func FuzzRepoKey(f *testing.F) {
	for _, s := range []string{
		"https://pypi.org/metadata/", "HTTPS://PyPI.org:443/metadata", "http://[::1]:8080/m/", "http://h/../../etc",
		"file:///etc/passwd", "", "-rf", "http://" + strings.Repeat("a", 300) + "/", "http://h\x00/", "http://..:80/",
	} {
		f.Add(s)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, raw string) {
		key := RepoKey(raw)
		if key == "" || len(key) > repoKeyHostMax+17 || strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" ||
			strings.HasPrefix(key, "-") || strings.HasPrefix(key, ".") || !filepath.IsLocal(key) || filepath.Base(key) != key {
			t.Fatalf("RepoKey(%q) = %q: not one safe path element", raw, key)
		}
		if RepoKey(raw) != key {
			t.Fatalf("RepoKey(%q) is not deterministic", raw)
		}
		dir, err := MetadataDir(root, key)
		if err != nil {
			t.Fatalf("MetadataDir(%q): %v", key, err)
		}
		if filepath.Dir(dir) != filepath.Join(root, "metadata") {
			t.Fatalf("MetadataDir(%q) = %s, outside %s/metadata", key, dir, root)
		}
	})
}

// FuzzLockHolder: whatever a lock file holds, the "held by" text quoted
// in error messages is one short line of printable ASCII, or nothing.
func FuzzLockHolder(f *testing.F) {
	for _, s := range []string{"pid 42 tufpip\n", "", "pid \x1b[31mred\n", "garbage", "pid " + strings.Repeat("9", 300), "pid 1\r\nfake line\n"} {
		f.Add([]byte(s))
	}
	lp := filepath.Join(f.TempDir(), "x.lock")
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(lp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		h := lockHolder(lp)
		if h == "" {
			return
		}
		inner, ok := strings.CutPrefix(h, " (held by pid ")
		if !ok || !strings.HasSuffix(inner, ")") || len(h) > 160 {
			t.Fatalf("lockHolder = %q", h)
		}
		for _, r := range h {
			if r < ' ' || r > '~' {
				t.Fatalf("lockHolder = %q holds %q", h, r)
			}
		}
	})
}
