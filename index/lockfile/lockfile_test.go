package lockfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// render is a Lock as text, one line per package and file, to compare.
func render(l *Lock) string {
	var b strings.Builder
	for _, p := range l.Packages {
		fmt.Fprintf(&b, "%s (%s) %q index=%q source=%q root=%v marker=%q\n", p.Name, p.Project, p.Version, p.Index, p.Source, p.Root, p.Marker)
		for _, f := range p.Files {
			var hs []string
			for a, d := range f.Hashes {
				hs = append(hs, a+":"+d[:4])
			}
			sort.Strings(hs)
			fmt.Fprintf(&b, "  %q %q %s\n", f.Filename, f.URL, strings.Join(hs, ","))
		}
	}
	return b.String()
}

func parseFixture(t *testing.T, name string, f Format) *Lock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse(f, data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return l
}

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
		want   string
	}{
		{"pylock.toml", PyLock, `Attrs (attrs) "25.1.0" index="https://pypi.org/simple/" source="" root=false marker=""
  "attrs-25.1.0-py3-none-any.whl" "https://files.pythonhosted.org/packages/attrs-25.1.0-py3-none-any.whl" sha256:aaaa
  "attrs-25.1.0.tar.gz" "https://files.pythonhosted.org/packages/attrs-25.1.0.tar.gz" sha256:bbbb
numpy (numpy) "2.2.3" index="https://internal.example/simple/" source="" root=false marker="python_version >= '3.10'"
  "numpy-2.2.3-cp312-cp312-win_amd64.whl" "https://internal.example/files/numpy-2.2.3-cp312-cp312-win_amd64.whl" blake2b-256:dddd,sha256:cccc
  "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" "https://internal.example/files/numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" sha256:dddd
mylib (mylib) "" index="" source="a VCS checkout (https://github.com/example/mylib.git)" root=false marker=""
`},
		{"uv.lock", UV, `demo (demo) "0.1.0" index="" source="" root=true marker=""
anyio (anyio) "4.3.0" index="https://pypi.org/simple" source="" root=false marker=""
  "anyio-4.3.0-py3-none-any.whl" "https://files.pythonhosted.org/packages/anyio-4.3.0-py3-none-any.whl" sha256:bbbb
  "anyio-4.3.0.tar.gz" "https://files.pythonhosted.org/packages/anyio-4.3.0.tar.gz" sha256:aaaa
cffi (cffi) "1.17.1" index="https://other.example/simple" source="" root=false marker=""
  "cffi-1.17.1-cp312-cp312-macosx_11_0_arm64.whl" "https://other.example/files/cffi-1.17.1-cp312-cp312-macosx_11_0_arm64.whl" sha256:dddd
  "cffi-1.17.1-cp312-cp312-win_amd64.whl" "https://other.example/files/cffi-1.17.1-cp312-cp312-win_amd64.whl" sha256:aaaa
  "cffi-1.17.1.tar.gz" "https://other.example/files/cffi-1.17.1.tar.gz" sha256:cccc
tool (tool) "1.0" index="" source="git https://github.com/example/tool?rev=v1#0123abc" root=false marker=""
`},
		{"poetry.lock", Poetry, `app (app) "1.0" index="http://127.0.0.1:8458/simple" source="" root=false marker=""
  "app-1.0-py3-none-any.whl" "" sha256:aaaa
  "app-1.0.tar.gz" "" sha256:bbbb
colorama (colorama) "0.4.6" index="https://pypi.org/simple/" source="" root=false marker="sys_platform == \"win32\""
  "colorama-0.4.6-py2.py3-none-any.whl" "" sha256:cccc
mine (mine) "0.1" index="" source="git https://github.com/example/mine.git" root=false marker=""
`},
		{"poetry-1.1.lock", Poetry, `app (app) "1.0" index="https://pypi.org/simple/" source="" root=false marker=""
  "app-1.0-py3-none-any.whl" "" sha256:aaaa
`},
		{"pdm.lock", PDM, `app (app) "1.0" index="" source="" root=false marker=""
  "app-1.0-py3-none-any.whl" "http://127.0.0.1:8458/files/app/app-1.0-py3-none-any.whl" sha256:aaaa
Lib (lib) "1.1" index="" source="" root=false marker=""
  "lib-1.1-py3-none-any.whl" "http://127.0.0.1:8458/files/lib/lib-1.1-py3-none-any.whl" sha256:bbbb
  "lib-1.1.tar.gz" "" sha256:cccc
`},
		{"pdm-4.4.lock", PDM, `app (app) "1.0" index="" source="" root=false marker="python_version >= \"3.9\""
  "app-1.0-py3-none-any.whl" "" sha256:aaaa
`},
		{"Pipfile.lock", Pipenv, `app (app) "1.0" index="http://127.0.0.1:8458/simple/" source="" root=false marker=""
  "" "" sha256:aaaa
  "" "" sha256:bbbb
lib (lib) "1.1" index="http://127.0.0.1:8458/simple/" source="" root=false marker="python_version >= '3.9'"
  "" "" sha256:cccc
mine (mine) "" index="http://127.0.0.1:8458/simple/" source="path ." root=false marker=""
pytest (pytest) "8.0.0" index="https://other.example/simple/" source="" root=false marker=""
`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if got := render(parseFixture(t, tc.file, tc.format)); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{
		"pylock.toml": PyLock, "dir/pylock.dev.toml": PyLock, "uv.lock": UV,
		"a/poetry.lock": Poetry, "pdm.lock": PDM, "Pipfile.lock": Pipenv,
	} {
		if got, err := FormatOf(name); got != want || err != nil {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"requirements.txt", "pylock.a.b.toml", "pylock.toml.bak", "Cargo.lock"} {
		if _, err := FormatOf(name); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("FormatOf(%q): %v, want ErrUnknownFormat", name, err)
		}
	}
	if f, err := ParseFormat("Poetry"); f != Poetry || err != nil {
		t.Errorf("ParseFormat(Poetry) = %q, %v", f, err)
	}
	if _, err := ParseFormat("cargo"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseFormat(cargo): %v", err)
	}
}

// TestParseErrors: broken or foreign files are ParseErrors that say what
// is wrong, with the line where the parser knows it.
func TestParseErrors(t *testing.T) {
	h := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name   string
		format Format
		data   string
		want   string
		line   int
	}{
		{"toml syntax", Poetry, "[[package]]\nname = \"app\"\nversion = 1.0.0\n", "not valid TOML", 3},
		{"unclosed", UV, "version = 1\n[[package]\n", "not valid TOML", 3},
		{"json syntax", Pipenv, "{\n \"_meta\": {},\n \"default\": {,}\n}", "not valid JSON", 3},
		{"poetry without metadata", Poetry, "[[package]]\nname = \"app\"\nversion = \"1\"\n", "not a poetry.lock: no [metadata] lock-version", 0},
		{"pdm read as poetry", Poetry, "[metadata]\nlock_version = \"4.0\"\n", "not a poetry.lock", 0},
		{"uv without version", UV, "[[package]]\nname = \"a\"\n", "not a uv.lock: no version", 0},
		{"uv version 2", UV, "version = 2\n", "uv.lock version 2 is not supported", 0},
		{"pylock without lock-version", PyLock, "[[packages]]\nname = \"a\"\n", "not a PEP 751 lock: no lock-version", 0},
		{"pylock 2.0", PyLock, "lock-version = \"2.0\"\n", "lock-version \"2.0\" is not supported", 0},
		{"pipenv without _meta", Pipenv, `{"default": {}}`, "not a Pipfile.lock: no _meta", 0},
		{"pipenv range", Pipenv, `{"_meta": {}, "default": {"a": {"version": ">=1"}}}`, `package a: version ">=1" is not ==VERSION`, 0},
		{"pipenv unknown index", Pipenv, `{"_meta": {}, "default": {"a": {"version": "==1", "index": "x"}}}`, `index "x" is not one of _meta.sources`, 0},
		{"bad hash", Poetry, "[[package]]\nname = \"a\"\nversion = \"1\"\nfiles = [{file = \"a-1.tar.gz\", hash = \"sha256:xyz\"}]\n[metadata]\nlock-version = \"2.0\"\n", `package a: hash "sha256:xyz" is not ALGORITHM:HEXDIGEST`, 0},
		{"bad pylock hash", PyLock, "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n[[packages.wheels]]\nname = \"a-1-py3-none-any.whl\"\nhashes = {sha256 = \"nothex\"}\n", `hash sha256 = "nothex" is not a hex digest`, 0},
		{"no version", PDM, "[[package]]\nname = \"a\"\nfiles = [{file = \"a-1.tar.gz\", hash = \"sha256:" + h + "\"}]\n[metadata]\nlock_version = \"4.4\"\n", "package a has no version", 0},
		{"no name", UV, "version = 1\n[[package]]\nversion = \"1\"\nsource = { registry = \"x\" }\n", "package 1 has no name", 0},
		{"file without name", PDM, "[[package]]\nname = \"a\"\nversion = \"1\"\nfiles = [{hash = \"sha256:" + h + "\"}]\n[metadata]\nlock_version = \"4.4\"\n", "a file entry has neither file nor url", 0},
		{"wrong type", UV, "version = \"one\"\n", `unexpected value: (last key "version"): incompatible types`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.format, []byte(tc.data))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || pe.Line != tc.line || pe.Format != tc.format {
				t.Errorf("err = %q (line %d, format %s), want %q at line %d", err, pe.Line, pe.Format, tc.want, tc.line)
			}
		})
	}
	if _, err := Parse("cargo", nil); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Parse(cargo): %v", err)
	}
}

var lowerHex = regexp.MustCompile(`^[0-9a-f]+$`)

// FuzzParseLock: every format's parser, on any bytes, returns a lock or
// a ParseError, never panics; a lock's packages have a name, a version
// or a non-index source, and lower-case hex hashes.
func FuzzParseLock(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		for i := range Formats() {
			f.Add(uint8(i), data)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		formats := Formats()
		format := formats[int(which)%len(formats)]
		l, err := Parse(format, data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		for _, p := range l.Packages {
			if p.Project == "" || (p.Version == "" && p.Source == "" && !p.Root) {
				t.Fatalf("package %+v lacks a name or version", p)
			}
			for _, fl := range p.Files {
				for a, d := range fl.Hashes {
					if a != strings.ToLower(a) || !lowerHex.MatchString(d) {
						t.Fatalf("hash %s:%s not normalized", a, d)
					}
				}
			}
		}
	})
}
