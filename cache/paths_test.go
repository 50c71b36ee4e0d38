package cache

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/adrg/xdg"
)

var repoKeyRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9._-]{0,63}-[0-9a-f]{16}$`)

func TestRepoKey(t *testing.T) {
	same := [][2]string{
		{"https://pypi.org/metadata/", "https://pypi.org/metadata"},
		{"https://pypi.org/metadata/", "HTTPS://PyPI.org/metadata/"},
		{"https://pypi.org/metadata/", "https://pypi.org:443/metadata/"},
		{"http://localhost/m/", "http://localhost:80/m"},
		{"https://pypi.org/metadata/", "https://pypi.org/metadata/#frag"},
	}
	for _, p := range same {
		if a, b := RepoKey(p[0]), RepoKey(p[1]); a != b {
			t.Errorf("RepoKey(%q) = %s, RepoKey(%q) = %s; want equal", p[0], a, p[1], b)
		}
	}
	different := [][2]string{
		{"https://pypi.org/metadata/", "https://test.pypi.org/metadata/"},
		{"https://pypi.org/metadata/", "https://pypi.org/Metadata/"},
		{"https://pypi.org/metadata/", "http://pypi.org/metadata/"},
		{"https://pypi.org/metadata/", "https://pypi.org:8443/metadata/"},
		{"https://pypi.org/metadata/", "https://pypi.org/metadata/?x=1"},
		{"https://pypi.org/a/", "https://pypi.org/b/"},
	}
	for _, p := range different {
		if a, b := RepoKey(p[0]), RepoKey(p[1]); a == b {
			t.Errorf("RepoKey(%q) == RepoKey(%q) = %s; repositories must not share state", p[0], p[1], a)
		}
	}
	for _, u := range []string{
		"https://pypi.org/metadata/",
		"http://127.0.0.1:8458/metadata/",
		"http://[::1]:8080/m/",
		"https://" + strings.Repeat("a", 300) + ".example/m/",
		"https://evil..//../../etc/",
		"https://-rf.example/m/",
		"::not a url::",
		"",
		"file:///srv/repo/metadata/",
		"https://ünïcode.example/m/",
	} {
		k := RepoKey(u)
		if !repoKeyRE.MatchString(k) {
			t.Errorf("RepoKey(%q) = %q is not a safe directory name", u, k)
		}
		if k != RepoKey(u) {
			t.Errorf("RepoKey(%q) not stable", u)
		}
	}
	if k := RepoKey("http://127.0.0.1:8458/metadata/"); !strings.HasPrefix(k, "127.0.0.1_8458-") {
		t.Errorf("RepoKey should start with the host for humans: %s", k)
	}
}

func TestMetadataDir(t *testing.T) {
	root := t.TempDir()
	key := RepoKey("https://pypi.org/metadata/")
	dir, err := MetadataDir(root, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "metadata", key); dir != want {
		t.Errorf("MetadataDir = %s, want %s", dir, want)
	}
	check := func() {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
			t.Errorf("mode %v, want 0700", fi.Mode().Perm())
		}
	}
	check()
	// Idempotent, and tightens a directory someone else opened up.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := MetadataDir(root, key); err != nil {
		t.Fatal(err)
	}
	check()

	for _, bad := range []string{"", ".", "..", "a/b", "../escape", `a\b`, "a\x00b"} {
		if _, err := MetadataDir(root, bad); err == nil {
			t.Errorf("MetadataDir(%q) succeeded", bad)
		}
	}
}

func TestRoots(t *testing.T) {
	t.Cleanup(xdg.Reload) // runs after t.Setenv restores the environment
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(base, "cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(base, "state"))
	xdg.Reload()
	if got, want := DefaultRoot(), filepath.Join(base, "cache", "tufpip"); got != want {
		t.Errorf("DefaultRoot = %s, want %s", got, want)
	}
	if got, want := StateRoot(), filepath.Join(base, "state", "tufpip"); got != want {
		t.Errorf("StateRoot = %s, want %s", got, want)
	}
}
