package integration

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// nativeTags are the platform wheels of native 2.0.
var nativeTags = []string{"cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64", "cp312-cp312-macosx_11_0_arm64"}

// addPlatformWheels uploads native 2.0 as a wheel per nativeTags, each
// with its own bytes, and returns them by tag.
func addPlatformWheels(t *testing.T, tr *testRepo) map[string]repogen.FileInfo {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, tag := range nativeTags {
		p := filepath.Join(dir, "native-2.0-"+tag+".whl")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for name, text := range map[string]string{
			"native-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: native\nVersion: 2.0\n",
			"native-2.0.dist-info/WHEEL":    "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: " + tag + "\n",
			"native/__init__.py":            "TAG = " + fmt.Sprintf("%q", tag) + "\n",
		} {
			w, err := zw.Create(name)
			if err == nil {
				_, err = w.Write([]byte(text))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if err := tr.AddDistFiles(paths...); err != nil {
		t.Fatal(err)
	}
	tr.recordLegit(t)
	out := map[string]repogen.FileInfo{}
	for _, f := range tr.Files() {
		for _, tag := range nativeTags {
			if f.Filename == "native-2.0-"+tag+".whl" {
				out[tag] = f
			}
		}
	}
	if len(out) != len(nativeTags) {
		t.Fatalf("uploaded %d platform wheels, want %d", len(out), len(nativeTags))
	}
	return out
}

// withLockMarker adds a PEP 508 marker to project's entry in a lock
// rendered by lockRenderers (uv.lock has no per-package markers).
func withLockMarker(t *testing.T, format, text, project, marker string) string {
	t.Helper()
	switch format {
	case "Pipfile.lock":
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			t.Fatal(err)
		}
		var def map[string]map[string]any
		if err := json.Unmarshal(raw["default"], &def); err != nil {
			t.Fatal(err)
		}
		def[project]["markers"] = marker
		b, _ := json.Marshal(def)
		raw["default"] = b
		out, _ := json.MarshalIndent(raw, "", "    ")
		return string(out)
	case "uv.lock":
		t.Fatal("uv.lock pins no per-package marker")
	}
	key := map[string]string{"pylock.toml": "marker", "poetry.lock": "markers", "pdm.lock": "marker"}[format]
	header := map[string]string{"pylock.toml": "[[packages]]\n", "poetry.lock": "[[package]]\n", "pdm.lock": "[[package]]\n"}[format]
	entry := header + fmt.Sprintf("name = %q\n", project)
	if !strings.Contains(text, entry) {
		t.Fatalf("%s: no entry for %s", format, project)
	}
	return strings.Replace(text, entry, entry+key+" = '"+marker+"'\n", 1)
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestDownloadLockFormats: for every format, download --lock writes
// exactly the locked files for the target: the wheel of the target's
// platform among a package's locked wheels (--platform chooses another),
// the sdist with --no-binary, nothing for a package whose marker does not
// hold; every byte is what the repository signed and the lock pinned. A
// wrong pinned hash, missing hashes, a file the repository never signed
// and another index each fail with nothing written.
func TestDownloadLockFormats(t *testing.T) {
	specs := append(lockSpecs(), repogen.ProjectSpec{Name: "wintool", Releases: []repogen.ReleaseSpec{repogen.Release("1.0")}})
	tr := newRepo(t, "pep458", specs)
	native := addPlatformWheels(t, tr)
	const proxyURL = "http://127.0.0.1:8458/simple/"
	appW, winW := tr.file(t, "app", "1.0", "wheel"), tr.file(t, "wintool", "1.0", "wheel")
	libW, libS := tr.file(t, "lib", "1.1", "wheel"), tr.file(t, "lib", "1.1", "sdist")
	file := func(f repogen.FileInfo) lockedFixtureFile { return lockedFixtureFile{f.Filename, f.Hashes["sha256"]} }
	nativeFiles := func(wrongFor string) []lockedFixtureFile {
		var out []lockedFixtureFile
		for _, tag := range nativeTags {
			f := file(native[tag])
			if tag == wrongFor {
				f.sha256 = strings.Repeat("e", 64)
			}
			out = append(out, f)
		}
		return out
	}
	good := []lockedFixture{
		{"app", "1.0", []lockedFixtureFile{file(appW)}},
		{"lib", "1.1", []lockedFixtureFile{file(libW), file(libS)}},
		{"native", "2.0", nativeFiles("")},
		{"wintool", "1.0", []lockedFixtureFile{file(winW)}},
	}
	const linux, windows = "manylinux_2_17_x86_64", "win_amd64"
	home := t.TempDir()
	for _, format := range []string{"pylock.toml", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock"} {
		render := lockRenderers[format]
		t.Run(format, func(t *testing.T) {
			lock := func(pkgs []lockedFixture) string {
				text := render(proxyURL, pkgs)
				if format != "uv.lock" && strings.Contains(text, "wintool") {
					text = withLockMarker(t, format, text, "wintool", `sys_platform == "win32"`)
				}
				return text
			}
			download := func(text, platform string, extra ...string) (cmdResult, string, string) {
				t.Helper()
				path := filepath.Join(t.TempDir(), format)
				writeFile(t, path, text)
				dir := filepath.Join(t.TempDir(), "wheelhouse")
				args := append(repoFlags(tr, home), "download", "--lock", path, "-d", dir, "--python-version", "3.12", "--platform", platform)
				return runTufpip(t, nil, append(args, extra...)...), path, dir
			}
			wantFiles := func(res cmdResult, dir string, want ...repogen.FileInfo) {
				t.Helper()
				if res.Code != 0 {
					t.Fatalf("want exit 0\n%s", res)
				}
				var names []string
				for _, f := range want {
					names = append(names, f.Filename)
					data, err := os.ReadFile(filepath.Join(dir, f.Filename))
					if err != nil || hexSHA256(data) != f.Hashes["sha256"] {
						t.Errorf("%s: %v, or not the signed bytes", f.Filename, err)
					}
					if line := fmt.Sprintf("verified %s (%d bytes, sha256 %s)\n", f.Filename, f.Length, f.Hashes["sha256"]); !strings.Contains(res.Stdout, line) {
						t.Errorf("stdout lacks %q\n%s", line, res)
					}
				}
				sort.Strings(names)
				if got := dirNames(t, dir); !reflect.DeepEqual(got, names) {
					t.Errorf("wrote %v, want %v\n%s", got, names, res)
				}
			}

			// Linux: the manylinux wheel of native; wintool skipped by
			// its marker (uv.lock has none: taken).
			res, path, dir := download(lock(good), linux)
			want := []repogen.FileInfo{appW, libW, native[nativeTags[0]]}
			if format == "uv.lock" {
				want = append(want, winW)
			} else if skip := "tufpip: skipping wintool==1.0 (" + path + "): marker `sys_platform == \"win32\"` does not hold for Python 3.12 (cp) on " + linux; !strings.Contains(res.Stderr, skip) {
				t.Errorf("want %q\n%s", skip, res)
			}
			wantFiles(res, dir, want...)

			// Windows: the win_amd64 wheel, and wintool.
			res, _, dir = download(lock(good), windows)
			wantFiles(res, dir, appW, libW, native[nativeTags[1]], winW)

			// --no-binary lib: lib's locked sdist.
			res, _, dir = download(lock(good), linux, "--no-binary", "lib")
			want = []repogen.FileInfo{appW, libS, native[nativeTags[0]]}
			if format == "uv.lock" {
				want = append(want, winW)
			}
			wantFiles(res, dir, want...)

			// A wrong hash pinned for the file the target takes: exit 1,
			// nothing written, the good packages included.
			res, path, dir = download(lock([]lockedFixture{good[0], good[1], {"native", "2.0", nativeFiles(nativeTags[0])}}), linux)
			wantMsg := "tufpip: native-2.0-" + nativeTags[0] + ".whl: native==2.0 (" + path + "): the lock pins sha256:eeeeeeeeeeeeeeee…, but the file the repository signed has sha256:" + native[nativeTags[0]].Hashes["sha256"][:16] + "…"
			if res.Code != 1 || !strings.Contains(res.Stderr, wantMsg) || !strings.Contains(res.Stderr, "nothing was written to "+dir+": 1 of 3 failed") || !strings.Contains(res.Stderr, "hint: the lock and the repository disagree") || strings.Contains(res.Stdout, "verified ") {
				t.Errorf("wrong hash: want exit 1 and %q\n%s", wantMsg, res)
			}
			assertDirEmpty(t, dir)

			// Missing hashes: refused unless --allow-unhashed.
			unhashed := []lockedFixture{good[0], {"lib", "1.1", []lockedFixtureFile{{libW.Filename, ""}}}}
			res, path, dir = download(lock(unhashed), linux)
			wantMsg = "tufpip: lib==1.1 (" + path + "): pins "
			if res.Code != 1 || !strings.Contains(res.Stderr, wantMsg) || !strings.Contains(res.Stderr, "(--allow-unhashed accepts this)") {
				t.Errorf("missing hashes: want exit 1 and %q\n%s", wantMsg, res)
			}
			assertDirEmpty(t, dir)
			res, _, dir = download(lock(unhashed), linux, "--allow-unhashed")
			wantFiles(res, dir, appW, libW)

			if format != "Pipfile.lock" {
				// A file the repository never signed, even one the target
				// would not take.
				res, path, dir = download(lock([]lockedFixture{good[0], {"lib", "1.1", []lockedFixtureFile{file(libW), {"lib-1.1-cp312-cp312-win_amd64.whl", strings.Repeat("e", 64)}}}}), linux)
				wantMsg = "tufpip: lib==1.1 (" + path + "): lib-1.1-cp312-cp312-win_amd64.whl is not a file the repository signed for lib 1.1"
				if res.Code != 1 || !strings.Contains(res.Stderr, wantMsg) {
					t.Errorf("unknown file: want exit 1 and %q\n%s", wantMsg, res)
				}
				assertDirEmpty(t, dir)
			}
			if format != "pdm.lock" {
				// Another index: nothing written; --allow-unverified-sources
				// leaves the package out with a warning.
				other := lockRenderers[format]("https://other.example/simple/", good[:1])
				res, path, dir = download(other, linux)
				wantMsg = "tufpip: app==1.0 (" + path + "): locked from https://other.example/simple"
				if res.Code != 1 || !strings.Contains(res.Stderr, wantMsg) || !strings.Contains(res.Stderr, "nothing was written to "+dir) {
					t.Errorf("another index: want exit 1 and %q\n%s", wantMsg, res)
				}
				assertDirEmpty(t, dir)
				res, _, _ = download(other, linux, "--allow-unverified-sources")
				if res.Code != 2 || !strings.Contains(res.Stderr, "(allowed by --allow-unverified-sources; not downloaded)") || !strings.Contains(res.Stderr, "the lock files lock no package for ") {
					t.Errorf("another index, allowed: %s", res)
				}
			}
		})
	}
}

// TestDownloadLockUsage: --lock with requirements, and an unreadable
// lock, are usage errors before anything is fetched.
func TestDownloadLockUsage(t *testing.T) {
	tr := newRepo(t, "pep458", lockSpecs())
	home := t.TempDir()
	path := filepath.Join(t.TempDir(), "poetry.lock")
	writeFile(t, path, "[[package]\n")
	dir := filepath.Join(t.TempDir(), "wheelhouse")
	res := runTufpip(t, nil, append(repoFlags(tr, home), "download", "--lock", path, "-d", dir, "app==1.0")...)
	if res.Code != 2 || !strings.Contains(res.Stderr, "tufpip: --lock cannot be combined with requirements or -r") {
		t.Errorf("--lock with a requirement: %s", res)
	}
	res = runTufpip(t, nil, append(repoFlags(tr, home), "download", "--lock", path, "-d", dir)...)
	if res.Code != 2 || !strings.Contains(res.Stderr, "tufpip: "+path+": not a readable poetry lock: line ") {
		t.Errorf("broken lock: %s", res)
	}
	assertDirEmpty(t, dir)
}
