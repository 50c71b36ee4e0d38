package integration

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// lockedFixture is a package as a fixture lock pins it.
type lockedFixture struct {
	name, version string
	files         []lockedFixtureFile
}

// lockedFixtureFile is a pinned file; an empty sha256 pins no hash.
type lockedFixtureFile struct{ filename, sha256 string }

// lockRenderers write a lock of each format from the PEP 751 text, uv's
// documented format, and what Poetry 1.3, PDM 2 and Pipenv write, with
// every package from index.
var lockRenderers = map[string]func(index string, pkgs []lockedFixture) string{
	"pylock.toml": func(index string, pkgs []lockedFixture) string {
		var b strings.Builder
		b.WriteString("lock-version = \"1.0\"\ncreated-by = \"tufpip tests\"\n")
		for _, p := range pkgs {
			fmt.Fprintf(&b, "\n[[packages]]\nname = %q\nversion = %q\nindex = %q\n", p.name, p.version, index)
			for _, f := range p.files {
				if strings.HasSuffix(f.filename, ".whl") {
					b.WriteString("\n[[packages.wheels]]\n")
				} else {
					b.WriteString("\n[packages.sdist]\n")
				}
				fmt.Fprintf(&b, "name = %q\nurl = %q\n", f.filename, index+"files/"+f.filename)
				if f.sha256 != "" {
					fmt.Fprintf(&b, "hashes = {sha256 = %q}\n", f.sha256)
				}
			}
		}
		return b.String()
	},
	"uv.lock": func(index string, pkgs []lockedFixture) string {
		var b strings.Builder
		b.WriteString("version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n")
		for _, p := range pkgs {
			fmt.Fprintf(&b, "\n[[package]]\nname = %q\nversion = %q\nsource = { registry = %q }\n", p.name, p.version, index)
			ref := func(f lockedFixtureFile) string {
				s := fmt.Sprintf("{ url = %q", index+"files/"+f.filename)
				if f.sha256 != "" {
					s += fmt.Sprintf(", hash = \"sha256:%s\"", f.sha256)
				}
				return s + ", size = 1000 }"
			}
			var wheels []string
			for _, f := range p.files {
				if strings.HasSuffix(f.filename, ".whl") {
					wheels = append(wheels, "    "+ref(f)+",\n")
				} else {
					fmt.Fprintf(&b, "sdist = %s\n", ref(f))
				}
			}
			fmt.Fprintf(&b, "wheels = [\n%s]\n", strings.Join(wheels, ""))
		}
		return b.String()
	},
	"poetry.lock": func(index string, pkgs []lockedFixture) string {
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "[[package]]\nname = %q\nversion = %q\ndescription = \"\"\ncategory = \"main\"\noptional = false\npython-versions = \"*\"\nfiles = [\n", p.name, p.version)
			for _, f := range p.files {
				if f.sha256 == "" {
					fmt.Fprintf(&b, "    {file = %q},\n", f.filename)
				} else {
					fmt.Fprintf(&b, "    {file = %q, hash = \"sha256:%s\"},\n", f.filename, f.sha256)
				}
			}
			fmt.Fprintf(&b, "]\n\n[package.source]\ntype = \"legacy\"\nurl = %q\nreference = \"tufpip\"\n\n", strings.TrimSuffix(index, "/"))
		}
		b.WriteString("[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.9\"\ncontent-hash = \"00\"\n")
		return b.String()
	},
	"pdm.lock": func(index string, pkgs []lockedFixture) string {
		var b strings.Builder
		b.WriteString("[metadata]\ngroups = [\"default\"]\nlock_version = \"4.4\"\ncontent_hash = \"sha256:00\"\n")
		for _, p := range pkgs {
			fmt.Fprintf(&b, "\n[[package]]\nname = %q\nversion = %q\nfiles = [\n", p.name, p.version)
			for _, f := range p.files {
				if f.sha256 == "" {
					fmt.Fprintf(&b, "    {file = %q},\n", f.filename)
				} else {
					fmt.Fprintf(&b, "    {file = %q, hash = \"sha256:%s\"},\n", f.filename, f.sha256)
				}
			}
			b.WriteString("]\n")
		}
		return b.String()
	},
	"Pipfile.lock": func(index string, pkgs []lockedFixture) string {
		type entry struct {
			Hashes  []string `json:"hashes"`
			Index   string   `json:"index"`
			Version string   `json:"version"`
		}
		def := map[string]entry{}
		for _, p := range pkgs {
			e := entry{Hashes: []string{}, Index: "tufpip", Version: "==" + p.version}
			for _, f := range p.files {
				if f.sha256 != "" {
					e.Hashes = append(e.Hashes, "sha256:"+f.sha256)
				}
			}
			def[p.name] = e
		}
		doc := map[string]any{
			"_meta":   map[string]any{"pipfile-spec": 6, "requires": map[string]any{}, "sources": []any{map[string]any{"name": "tufpip", "url": index, "verify_ssl": false}}},
			"default": def, "develop": map[string]any{},
		}
		data, _ := json.MarshalIndent(doc, "", "    ")
		return string(data)
	},
}

// lockSpecs: app 1.0 (a wheel) needs lib; lib 1.1 has a wheel and an
// sdist.
func lockSpecs() []repogen.ProjectSpec {
	return []repogen.ProjectSpec{
		{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("1.0"), {Version: "1.1", Dists: repogen.Wheel | repogen.Sdist}}},
		{Name: "app", Releases: []repogen.ReleaseSpec{repogen.Release("1.0", "lib>=1.0")}},
	}
}

// TestVerifyLockFormats: for every format, a lock of signed files with
// their hashes verifies (--json and --junit report each package), and a
// wrong hash, a file the repository never signed, an unsigned version,
// missing hashes, another index and broken syntax each fail with their
// message and exit code.
func TestVerifyLockFormats(t *testing.T) {
	tr := newRepo(t, "pep458", lockSpecs())
	const proxyURL = "http://127.0.0.1:8458/simple/"
	appW := tr.file(t, "app", "1.0", "wheel")
	libW, libS := tr.file(t, "lib", "1.1", "wheel"), tr.file(t, "lib", "1.1", "sdist")
	file := func(f repogen.FileInfo) lockedFixtureFile {
		return lockedFixtureFile{f.Filename, f.Hashes["sha256"]}
	}
	good := []lockedFixture{
		{"app", "1.0", []lockedFixtureFile{file(appW)}},
		{"lib", "1.1", []lockedFixtureFile{file(libW), file(libS)}},
	}
	wrong := strings.Repeat("e", 64)
	home := t.TempDir()
	for _, format := range []string{"pylock.toml", "uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock"} {
		render := lockRenderers[format]
		t.Run(format, func(t *testing.T) {
			verify := func(text string, extra ...string) (cmdResult, string) {
				t.Helper()
				path := filepath.Join(t.TempDir(), format)
				writeFile(t, path, text)
				args := append(repoFlags(tr, home), "verify", "--lock", path)
				return runTufpip(t, nil, append(args, extra...)...), path
			}

			junit := filepath.Join(t.TempDir(), "report.xml")
			res, path := verify(render(proxyURL, good), "--json", "--junit", junit)
			var rep struct {
				Verified, Failed int
				Locked           []struct{ Name, Status string }
			}
			if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || res.Code != 0 || rep.Verified != 2 || rep.Failed != 0 || len(rep.Locked) != 2 {
				t.Fatalf("good lock: %v\n%s", err, res)
			}
			for _, l := range rep.Locked {
				if l.Status != "verified" || !strings.HasSuffix(l.Name, "("+path+")") {
					t.Errorf("good lock: %+v", l)
				}
			}
			var doc struct {
				Tests int `xml:"tests,attr"`
			}
			if data, err := os.ReadFile(junit); err != nil || xml.Unmarshal(data, &doc) != nil || doc.Tests != 2 {
				t.Errorf("JUnit report: %v tests=%d", err, doc.Tests)
			}
			res, _ = verify(render(proxyURL, good))
			if res.Code != 0 || !strings.Contains(res.Stdout, "ok      lib==1.1 (") || !strings.Contains(res.Stdout, "2 verified, 0 failed") {
				t.Fatalf("good lock, text: %s", res)
			}

			type bad struct {
				name string
				pkgs []lockedFixture
				want string
			}
			cases := []bad{
				{"wrong hash", []lockedFixture{{"lib", "1.1", []lockedFixtureFile{{libW.Filename, wrong}}}},
					"FAILED  lib==1.1 (PATH): " + libW.Filename + ": pinned sha256:eeeeeeeeeeeeeeee…, but the repository signed sha256:" + libW.Hashes["sha256"][:16] + "…"},
				{"version not signed", []lockedFixture{{"lib", "9.9", []lockedFixtureFile{{"lib-9.9-py3-none-any.whl", wrong}}}},
					"FAILED  lib==9.9 (PATH): version 9.9 is not signed by the repository"},
				{"unknown project", []lockedFixture{{"evil", "1.0", []lockedFixtureFile{{"evil-1.0-py3-none-any.whl", wrong}}}},
					"FAILED  evil==1.0 (PATH): the repository has no project \"evil\""},
				{"missing hashes", []lockedFixture{{"lib", "1.1", []lockedFixtureFile{{libW.Filename, ""}}}},
					"FAILED  lib==1.1 (PATH): pins "},
			}
			if format == "Pipfile.lock" {
				cases[0].want = "FAILED  lib==1.1 (PATH): pinned sha256:eeeeeeeeeeeeeeee… matches no file the repository signed for lib 1.1 (2 signed files: "
			} else {
				cases = append(cases, bad{"unknown file", []lockedFixture{{"lib", "1.1", []lockedFixtureFile{{"lib-1.1-cp312-cp312-win_amd64.whl", wrong}}}},
					"FAILED  lib==1.1 (PATH): lib-1.1-cp312-cp312-win_amd64.whl is not a file the repository signed for lib 1.1 (signed: "})
			}
			if format != "pdm.lock" {
				cases = append(cases, bad{"another index", good[:1],
					"FAILED  app==1.0 (PATH): locked from https://other.example/simple"})
			}
			for _, c := range cases {
				index := proxyURL
				if c.name == "another index" {
					index = "https://other.example/simple/"
				}
				res, path := verify(render(index, c.pkgs))
				want := strings.ReplaceAll(c.want, "PATH", path)
				if res.Code != 1 || !strings.Contains(res.Stdout, want) || !strings.Contains(res.Stdout, "0 verified, 1 failed") {
					t.Errorf("%s: want exit 1 and %q\n%s", c.name, want, res)
				}
			}

			// --allow-unhashed accepts a file pinned without a hash, if it
			// is signed; --allow-unverified-sources another index, with a
			// warning, if the hashes verify.
			res, _ = verify(render(proxyURL, []lockedFixture{{"lib", "1.1", []lockedFixtureFile{{libW.Filename, ""}}}}), "--allow-unhashed")
			if res.Code != 0 {
				t.Errorf("--allow-unhashed: %s", res)
			}
			if format != "pdm.lock" {
				res, _ = verify(render("https://other.example/simple/", good), "--allow-unverified-sources")
				if res.Code != 0 || !strings.Contains(res.Stderr, "tufpip: warning: app==1.0 (") || !strings.Contains(res.Stderr, "(allowed by --allow-unverified-sources; not verified)") {
					t.Errorf("--allow-unverified-sources: %s", res)
				}
				res, _ = verify(render("https://other.example/simple/", good), "--proxy-url", "https://other.example/simple")
				if res.Code != 0 {
					t.Errorf("--proxy-url naming the lock's index: %s", res)
				}
			}

			// Broken syntax: exit 2, the file and the line.
			text := render(proxyURL, good)
			broken := text[:len(text)/2] + "\n[[[ {\n" + text[len(text)/2:]
			res, path = verify(broken)
			if res.Code != 2 || !strings.Contains(res.Stderr, "tufpip: "+path+": not a readable ") || !strings.Contains(res.Stderr, ": line ") || res.Stdout != "" {
				t.Errorf("broken syntax: %s", res)
			}
		})
	}
}

// TestVerifyLockUsage: a file name that is no known lock, and
// --lock-format overriding it.
func TestVerifyLockUsage(t *testing.T) {
	tr := newRepo(t, "pep458", lockSpecs())
	appW := tr.file(t, "app", "1.0", "wheel")
	text := lockRenderers["poetry.lock"]("http://127.0.0.1:8458/simple/", []lockedFixture{{"app", "1.0", []lockedFixtureFile{{appW.Filename, appW.Hashes["sha256"]}}}})
	path := filepath.Join(t.TempDir(), "deps.lock")
	writeFile(t, path, text)
	home := t.TempDir()
	res := runTufpip(t, nil, append(repoFlags(tr, home), "verify", "--lock", path)...)
	if res.Code != 2 || !strings.Contains(res.Stderr, `tufpip: `+path+`: unknown lock-file format: cannot tell the format of "deps.lock" from its name`) || !strings.Contains(res.Stderr, "--lock-format") {
		t.Errorf("unknown name: %s", res)
	}
	res = runTufpip(t, nil, append(repoFlags(tr, home), "verify", "--lock", path, "--lock-format", "poetry")...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "ok      app==1.0 (") {
		t.Errorf("--lock-format poetry: %s", res)
	}
	res = runTufpip(t, nil, append(repoFlags(tr, home), "verify", "--lock", path, "--lock-format", "pdm")...)
	if res.Code != 2 || !strings.Contains(res.Stderr, "not a readable pdm lock: not a pdm.lock: no [metadata] lock_version") {
		t.Errorf("--lock-format pdm on a poetry lock: %s", res)
	}
	// An expired timestamp: nothing can be decided about the lock (exit
	// 2), not a package-by-package failure.
	if err := tr.ExpireTimestamp(); err != nil {
		t.Fatal(err)
	}
	res = runTufpip(t, nil, append(repoFlags(tr, home), "--refresh", "verify", "--lock", path, "--lock-format", "poetry")...)
	if res.Code != 2 || !strings.Contains(res.Stderr, "expired") || strings.Contains(res.Stdout, "ok ") {
		t.Errorf("expired repository: %s", res)
	}
}
