package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/integration/repogen"
)

// testRepo is a generated repository served on loopback plus a tufpip
// home directory that trusts it.
type testRepo struct {
	t      *testing.T
	repo   *repogen.Repo
	url    string
	home   string
	layout string
}

func newTestRepo(t *testing.T, opts repogen.Options, projects ...repogen.ProjectSpec) *testRepo {
	t.Helper()
	opts.Dir = filepath.Join(t.TempDir(), "repo")
	r, err := repogen.Generate(opts, projects)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	t.Cleanup(srv.Close)
	layout := opts.IndexLayout
	if layout == "" {
		layout = repogen.IndexLayoutPEP458
	}
	return &testRepo{t: t, repo: r, url: srv.URL, home: t.TempDir(), layout: layout}
}

// run runs tufpip in-process against the repository. The freshness window
// is off so every run sees the repository's latest state.
func (tr *testRepo) run(args ...string) (code int, stdout, stderr string) {
	tr.t.Helper()
	return tr.runAt(nil, args...)
}

// runAt is run with the TUF client's clock at now (nil: the system's).
func (tr *testRepo) runAt(now func() time.Time, args ...string) (code int, stdout, stderr string) {
	tr.t.Helper()
	full := append([]string{
		"--home", tr.home,
		"--metadata-url", tr.url + "/metadata/",
		"--index-url", tr.url + "/simple/",
		"--files-url", tr.url + "/packages/",
		"--root", filepath.Join(tr.repo.Dir(), "trusted-root.json"),
		"--layout", tr.layout,
		"--freshness", "0",
	}, args...)
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if now != nil {
		ctx = withClock(ctx, now)
	}
	code = Main(ctx, full, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// file returns the repository's file named filename.
func (tr *testRepo) file(filename string) repogen.FileInfo {
	tr.t.Helper()
	for _, f := range tr.repo.Files() {
		if f.Filename == filename {
			return f
		}
	}
	tr.t.Fatalf("no file %s in the repository", filename)
	return repogen.FileInfo{}
}

// copyFile copies the repository's legitimate file into dir.
func (tr *testRepo) copyFile(filename, dir string) string {
	tr.t.Helper()
	f := tr.file(filename)
	data, err := os.ReadFile(filepath.Join(tr.repo.Dir(), "packages", filepath.FromSlash(f.Path)))
	if err != nil {
		tr.t.Fatal(err)
	}
	p := filepath.Join(dir, filename)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
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

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantCode(t *testing.T, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
}

func wantContains(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s does not contain %q:\n%s", what, s, got)
		}
	}
}

// ---- unit tests of the shared pieces ----

func TestFormatControl(t *testing.T) {
	tests := []struct {
		sets           [][2]string // flag ("no"/"only"), value — in command-line order
		project        string
		binary, source bool
	}{
		{nil, "a", true, true},
		{[][2]string{{"only", ":all:"}}, "a", true, false},
		{[][2]string{{"no", ":all:"}}, "a", false, true},
		{[][2]string{{"only", ":all:"}, {"no", "A_b"}}, "a-b", false, true},
		{[][2]string{{"no", "a-b"}, {"only", ":all:"}}, "a-b", true, false},
		{[][2]string{{"only", ":all:"}, {"only", ":none:"}}, "a", true, true},
		{[][2]string{{"no", ":all:,:none:,x"}}, "x", false, true},
		{[][2]string{{"no", ":all:,:none:,x"}}, "y", true, true},
	}
	for _, tt := range tests {
		fc := newFormatControl()
		for _, s := range tt.sets {
			f := &formatFlag{fc: fc, noBin: s[0] == "no"}
			if err := f.Set(s[1]); err != nil {
				t.Fatal(err)
			}
		}
		b, s := fc.allowed(tt.project)
		if b != tt.binary || s != tt.source {
			t.Errorf("%v for %s: binary %v source %v, want %v %v", tt.sets, tt.project, b, s, tt.binary, tt.source)
		}
	}
	if err := (&formatFlag{fc: newFormatControl()}).Set("--pre"); err == nil {
		t.Error("option-looking value accepted")
	}
}

func TestTargetEnvironment(t *testing.T) {
	host := func(context.Context) *hostPython {
		return &hostPython{Version: "3.11.4", Impl: "cpython", Platform: "linux-x86_64", Libc: []string{"glibc", "2.31"}, Machine: "x86_64"}
	}
	none := func(context.Context) *hostPython { return nil }
	env, desc, err := targetOptions{}.environment(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	if env.PythonVersion != "3.11.4" || desc != "Python 3.11.4 (cp) on manylinux_2_31_x86_64" || env.Markers["sys_platform"] != "linux" || env.Markers["python_version"] != "3.11" {
		t.Errorf("host: %s %+v", desc, env.Markers)
	}
	if env.Tags[0].String() != "cp311-cp311-manylinux_2_31_x86_64" {
		t.Errorf("first tag %s", env.Tags[0])
	}
	env, desc, err = targetOptions{pythonVersion: "3.9", platforms: []string{"win_amd64"}}.environment(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	if desc != "Python 3.9 (cp) on win_amd64" || env.Markers["sys_platform"] != "win32" || env.Markers["os_name"] != "nt" || env.Markers["python_full_version"] != "3.9.0" || env.Markers["platform_machine"] != "AMD64" {
		t.Errorf("flags: %s %+v", desc, env.Markers)
	}
	env, _, err = targetOptions{}.environment(context.Background(), none)
	if err != nil || env.PythonVersion != defaultPythonVersion {
		t.Errorf("no python3: %v %v", env.PythonVersion, err)
	}
	if _, _, err := (targetOptions{pythonVersion: "three"}).environment(context.Background(), none); err == nil {
		t.Error("bad --python-version accepted")
	}
}

func TestReadRequirements(t *testing.T) {
	dir := t.TempDir()
	g := &globals{stderr: &bytes.Buffer{}, stdin: strings.NewReader("a==1\n")}
	reqs, _, err := readRequirements(g, []string{"-"})
	if err != nil || len(reqs) != 1 || reqs[0].Project != "a" {
		t.Fatalf("stdin: %v %v", reqs, err)
	}
	for _, tc := range []struct{ content, want string }{
		{"a>=1\n", "line 1: a>=1 is not pinned"},
		{"a==1.*\n", "not pinned"},
		{"-r other.txt\n", "hint: tufpip takes name==version"},
		{"a==1 --hash=sha256:00\n", "64 hex digits"},
	} {
		p := writeFile(t, filepath.Join(dir, "r.txt"), tc.content)
		_, _, err := readRequirements(g, []string{p})
		// What users read: the message, then the hint line.
		var out bytes.Buffer
		if err == nil || reportError(&out, err) != exitUsage || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: %v (%q), want usage error with %q", tc.content, err, out.String(), tc.want)
		}
	}
	p := writeFile(t, filepath.Join(dir, "r.txt"), "--index-url https://evil.example/simple\na==1\n")
	_, sources, err := readRequirements(g, []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0].where() != p+":1" || sources[0].text() != "--index-url https://evil.example/simple" {
		t.Errorf("sources = %+v", sources)
	}
}

// judgeSources decides, per line, whether pip could follow it without
// leaving the verified index.
func TestJudgeSources(t *testing.T) {
	const refused = ": pip would fetch from outside the verified index"
	tests := []struct {
		name    string
		src     packaging.Source
		proxy   string // --proxy-url; "" for the default
		config  string // [proxy] listen in the config file
		problem string // "" when accepted
		warning string // on stderr when accepted with a warning
	}{
		{name: "index-url elsewhere", src: packaging.Source{Line: 3, Option: "--index-url", Value: "https://evil.example/simple/"},
			problem: "r.txt:3: --index-url https://evil.example/simple/: an index other than the tufpip proxy (http://127.0.0.1:8458/simple/)" + refused},
		{name: "-i elsewhere", src: packaging.Source{Line: 1, Option: "-i", Value: "https://pypi.org/simple"},
			problem: "r.txt:1: -i https://pypi.org/simple: an index other than the tufpip proxy"},
		{name: "extra-index-url", src: packaging.Source{Line: 2, Option: "--extra-index-url", Value: "https://extra.example/simple/"},
			problem: "r.txt:2: --extra-index-url https://extra.example/simple/: an index other than the tufpip proxy"},
		{name: "index-url password masked", src: packaging.Source{Line: 2, Option: "--extra-index-url", Value: "https://me:s3cret@extra.example/simple/"},
			problem: "r.txt:2: --extra-index-url https://me:xxxxx@extra.example/simple/: an index"},
		{name: "password holding @ masked whole", src: packaging.Source{Line: 2, Option: "--extra-index-url", Value: "https://me:p@ss@extra.example/simple/"},
			problem: "r.txt:2: --extra-index-url https://me:xxxxx@extra.example/simple/: an index"},
		{name: "token as user name masked", src: packaging.Source{Line: 2, Option: "-f", Value: "https://t0ken@links.example/"},
			problem: "r.txt:2: -f https://xxxxx@links.example/: a find-links location"},
		{name: "find-links", src: packaging.Source{Line: 4, Option: "--find-links", Value: "./wheels"},
			problem: "r.txt:4: --find-links ./wheels: a find-links location" + refused},
		{name: "-f", src: packaging.Source{Line: 4, Option: "-f", Value: "https://example.com/links/"},
			problem: "r.txt:4: -f https://example.com/links/: a find-links location" + refused},
		{name: "editable", src: packaging.Source{Line: 5, Option: "-e", Value: "."},
			problem: "r.txt:5: -e .: an editable install" + refused},
		{name: "direct reference", src: packaging.Source{Line: 6, Value: "pkg @ https://example.com/pkg.whl"},
			problem: "r.txt:6: pkg @ https://example.com/pkg.whl: a URL, path or direct reference instead of NAME==VERSION" + refused},
		{name: "bare URL", src: packaging.Source{Line: 7, Value: "https://example.com/pkg-1.0-py3-none-any.whl"},
			problem: "r.txt:7: https://example.com/pkg-1.0-py3-none-any.whl: a URL, path or direct reference"},
		{name: "local path", src: packaging.Source{Line: 8, Value: "./dist/pkg-1.0.tar.gz"},
			problem: "r.txt:8: ./dist/pkg-1.0.tar.gz: a URL, path"},
		{name: "control characters quoted", src: packaging.Source{Line: 8, Value: "./x\x1b[2J.whl"},
			problem: `r.txt:8: "./x\x1b[2J.whl": a URL, path`},
		{name: "bidi override quoted", src: packaging.Source{Line: 8, Value: "./x\u202egpj.whl"},
			problem: `r.txt:8: "./x\u202egpj.whl": a URL, path`},
		{name: "invalid UTF-8 quoted", src: packaging.Source{Line: 8, Value: "./x\xff.whl"},
			problem: `r.txt:8: "./x\xff.whl": a URL, path`},
		{name: "index-url is the proxy", src: packaging.Source{Line: 1, Option: "--index-url", Value: "http://127.0.0.1:8458/simple/"}},
		{name: "proxy without slash, upper-case host", src: packaging.Source{Line: 1, Option: "-i", Value: "HTTP://127.0.0.1:8458/simple"}},
		{name: "extra-index-url is the proxy", src: packaging.Source{Line: 1, Option: "--extra-index-url", Value: "http://127.0.0.1:8458/simple/"}},
		{name: "proxy on another port is another index", src: packaging.Source{Line: 1, Option: "-i", Value: "http://127.0.0.1:9000/simple/"},
			problem: "r.txt:1: -i http://127.0.0.1:9000/simple/: an index other than the tufpip proxy"},
		{name: "proxy path prefix is not the proxy", src: packaging.Source{Line: 1, Option: "-i", Value: "http://127.0.0.1:8458/simple/evil/"},
			problem: "an index other than the tufpip proxy"},
		{name: "https is not the http proxy", src: packaging.Source{Line: 1, Option: "-i", Value: "https://127.0.0.1:8458/simple/"},
			problem: "an index other than the tufpip proxy"},
		{name: "--proxy-url", proxy: "http://localhost:9999/simple/", src: packaging.Source{Line: 1, Option: "-i", Value: "http://localhost:9999/simple/"}},
		{name: "--proxy-url makes the default port elsewhere", proxy: "http://localhost:9999/simple/", src: packaging.Source{Line: 1, Option: "-i", Value: "http://127.0.0.1:8458/simple/"},
			problem: "an index other than the tufpip proxy (http://localhost:9999/simple/)"},
		{name: "config [proxy] listen", config: "127.0.0.1:7777", src: packaging.Source{Line: 1, Option: "-i", Value: "http://127.0.0.1:7777/simple/"}},
		{name: "no-index", src: packaging.Source{Line: 1, Option: "--no-index"}},
		{name: "trusted-host proxy", src: packaging.Source{Line: 1, Option: "--trusted-host", Value: "127.0.0.1"}},
		{name: "trusted-host elsewhere warns", src: packaging.Source{Line: 9, Option: "--trusted-host", Value: "pypi.org"},
			warning: "tufpip: warning: r.txt:9: --trusted-host pypi.org: pip would skip TLS certificate checks for this host; it names no source, so it is not refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, allow := range []bool{false, true} {
				var stderr bytes.Buffer
				g := &globals{stderr: &stderr, configFile: map[string]any{}}
				if tt.config != "" {
					g.configFile["proxy"] = map[string]any{"listen": tt.config}
				}
				so := &sourceOptions{allowUnverified: allow, proxyURL: tt.proxy}
				problems := judgeSources(g, so, []fileSource{{file: "r.txt", Source: tt.src}})
				switch {
				case tt.problem == "" && len(problems) > 0:
					t.Errorf("allow=%v: refused: %v", allow, problems[0])
				case tt.problem != "" && !allow && (len(problems) != 1 || !strings.Contains(problems[0].Error(), tt.problem)):
					t.Errorf("problems = %v, want one containing %q", problems, tt.problem)
				case tt.problem != "" && allow && len(problems) != 0:
					t.Errorf("--allow-unverified-sources: still refused: %v", problems)
				}
				want := tt.warning
				if tt.problem != "" && allow {
					want = "tufpip: warning: " + problems0(t, g, tt.src, tt.proxy) + " (allowed by --allow-unverified-sources; not verified)\n"
				}
				if stderr.String() != want {
					t.Errorf("allow=%v: stderr = %q, want %q", allow, stderr.String(), want)
				}
			}
		})
	}
}

// problems0 is the refusal judgeSources gives src without the flag.
func problems0(t *testing.T, g *globals, src packaging.Source, proxy string) string {
	t.Helper()
	q := &globals{stderr: &bytes.Buffer{}, configFile: g.configFile}
	ps := judgeSources(q, &sourceOptions{proxyURL: proxy}, []fileSource{{file: "r.txt", Source: src}})
	if len(ps) != 1 {
		t.Fatalf("no refusal for %+v", src)
	}
	return ps[0].Error()
}
