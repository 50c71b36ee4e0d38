package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// TestInstallEveryLayout installs app, which depends on lib>=1.0, with
// real pip through the proxy, for every index layout the proxy supports.
func TestInstallEveryLayout(t *testing.T) {
	py := requirePython(t)
	for _, c := range []struct {
		layout string
		// globalsAfter: "tufpip proxy --home ..." works as well as
		// "tufpip --home ... proxy"; check it on half the layouts.
		globalsAfter bool
	}{
		{repogen.IndexLayoutPEP458, false},
		{repogen.IndexLayoutIndexOnly, true},
		{repogen.IndexLayoutSimplePath, false},
		{repogen.IndexLayoutDistsOnly, true},
	} {
		t.Run(c.layout, func(t *testing.T) {
			t.Parallel()
			tr := newRepo(t, c.layout, appAndLib())
			p := startProxy(t, tr, proxyOptions{globalsAfter: c.globalsAfter})
			if !strings.Contains(p.Log(), "("+c.layout+" layout)") {
				t.Errorf("the proxy does not announce the %s layout", c.layout)
			}
			target := mustPipInstall(t, py, p.URL, "app")
			assertInstalled(t, py, target, map[string]string{"app": "1.0", "lib": "1.1"})
			for _, f := range []repogen.FileInfo{tr.file(t, "app", "1.0", "wheel"), tr.file(t, "lib", "1.1", "wheel")} {
				if !strings.Contains(p.Log(), "served verified file") || !strings.Contains(p.Log(), "file="+f.Filename+" ") {
					t.Errorf("the proxy log has no line for serving %s", f.Filename)
				}
			}
			if n := assertCacheVerified(t, p.Home, tr); n < 2 {
				t.Errorf("the artifact cache holds %d files, want at least the 2 wheels", n)
			}
		})
	}
}

// pipSpecs exercise what pip decides from the page: sdists, requires-python,
// yanked releases, name normalization.
func pipSpecs() []repogen.ProjectSpec {
	return append(appAndLib(),
		repogen.ProjectSpec{Name: "sdist-only", Releases: []repogen.ReleaseSpec{{Version: "1.0", Dists: repogen.Sdist}}},
		repogen.ProjectSpec{Name: "pyreq", Releases: []repogen.ReleaseSpec{
			repogen.Release("1.0"),
			{Version: "2.0", RequiresPython: ">=4"},
		}},
		repogen.ProjectSpec{Name: "yanky", Releases: []repogen.ReleaseSpec{
			repogen.Release("1.0"),
			{Version: "2.0", Yanked: true, YankedReason: "broken build"},
		}},
		repogen.ProjectSpec{Name: "App_Name", Releases: []repogen.ReleaseSpec{repogen.Release("1.0")}},
	)
}

// TestProxyPEP458 runs pip's decisions and the Simple API's HTTP contract
// against one repository in the default layout and one proxy.
func TestProxyPEP458(t *testing.T) {
	tr := newRepo(t, repogen.IndexLayoutPEP458, pipSpecs())
	p := startProxy(t, tr, proxyOptions{})
	t.Cleanup(func() { assertCacheVerified(t, p.Home, tr) })

	t.Run("pip", func(t *testing.T) {
		py := requirePython(t)
		t.Run("sdist-only", func(t *testing.T) {
			t.Parallel()
			// repogen's sdists build with an in-tree backend and no build
			// requirements, so pip needs nothing but the proxy.
			target := mustPipInstall(t, py, p.URL, "sdist-only")
			assertInstalled(t, py, target, map[string]string{"sdist_only": "1.0"})
		})
		t.Run("requires-python", func(t *testing.T) {
			t.Parallel()
			target := mustPipInstall(t, py, p.URL, "pyreq")
			assertInstalled(t, py, target, map[string]string{"pyreq": "1.0"})
		})
		t.Run("yanked-newest-skipped", func(t *testing.T) {
			t.Parallel()
			target := mustPipInstall(t, py, p.URL, "yanky")
			assertInstalled(t, py, target, map[string]string{"yanky": "1.0"})
		})
		t.Run("yanked-pinned", func(t *testing.T) {
			t.Parallel()
			// PEP 592: an exact pin may still select a yanked release,
			// and pip warns with the reason.
			target, out, err := pipInstall(t, py, p.URL, "yanky==2.0")
			if err != nil {
				t.Fatalf("pip install yanky==2.0: %v\n%s", err, out)
			}
			assertInstalled(t, py, target, map[string]string{"yanky": "2.0"})
			if !strings.Contains(out, "yanked") || !strings.Contains(out, "broken build") {
				t.Errorf("pip did not warn about the yanked release and its reason:\n%s", out)
			}
		})
		t.Run("download", func(t *testing.T) {
			t.Parallel()
			dest := t.TempDir()
			out, err := runPip(t, py, "download", "--no-input", "--no-cache-dir", "--progress-bar", "off", "--index-url", p.URL, "--no-deps", "-d", dest, "lib==1.0")
			if err != nil {
				t.Fatalf("pip download: %v\n%s", err, out)
			}
			want := tr.file(t, "lib", "1.0", "wheel")
			ents, _ := os.ReadDir(dest)
			if len(ents) != 1 || ents[0].Name() != want.Filename {
				t.Fatalf("pip downloaded %v, want just %s", ents, want.Filename)
			}
			data, err := os.ReadFile(filepath.Join(dest, want.Filename))
			if err != nil {
				t.Fatal(err)
			}
			if got := hexSHA256(data); got != want.Hashes["sha256"] || int64(len(data)) != want.Length {
				t.Errorf("downloaded %s: %d bytes sha256 %s, want %d bytes %s", want.Filename, len(data), got, want.Length, want.Hashes["sha256"])
			}
		})
		t.Run("require-hashes", func(t *testing.T) {
			t.Parallel()
			good := tr.file(t, "lib", "1.0", "wheel").Hashes["sha256"]
			bad := strings.Repeat("0", 64)
			for _, c := range []struct {
				name, hash string
				ok         bool
			}{{"right-hash", good, true}, {"wrong-hash", bad, false}} {
				t.Run(c.name, func(t *testing.T) {
					req := filepath.Join(t.TempDir(), "requirements.txt")
					if err := os.WriteFile(req, []byte("lib==1.0 --hash=sha256:"+c.hash+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					target, out, err := pipInstall(t, py, p.URL, "--require-hashes", "-r", req)
					switch {
					case c.ok && err != nil:
						t.Fatalf("pip install --require-hashes with the right hash: %v\n%s", err, out)
					case c.ok:
						assertInstalled(t, py, target, map[string]string{"lib": "1.0"})
					case err == nil:
						t.Fatalf("pip installed with a wrong --hash:\n%s", out)
					default:
						if !strings.Contains(out, "DO NOT MATCH THE HASHES") || !strings.Contains(out, good) {
							t.Errorf("pip failed, but not with a hash mismatch naming the served file's sha256:\n%s", out)
						}
						assertNothingInstalled(t, target)
					}
				})
			}
		})
	})

	t.Run("http", func(t *testing.T) {
		t.Run("pep691-json", func(t *testing.T) {
			t.Parallel()
			res := get(t, "GET", p.URL+"lib/", "Accept", "application/vnd.pypi.simple.v1+json")
			if res.Status != http.StatusOK {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/vnd.pypi.simple.v1+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !headerHas(res.Header, "Vary", "Accept") {
				t.Errorf("Vary %q, want Accept", res.Header.Values("Vary"))
			}
			var page struct {
				Meta struct {
					APIVersion string `json:"api-version"`
				} `json:"meta"`
				Name  string `json:"name"`
				Files []struct {
					Filename string            `json:"filename"`
					URL      string            `json:"url"`
					Hashes   map[string]string `json:"hashes"`
					Size     int64             `json:"size"`
				} `json:"files"`
			}
			if err := json.Unmarshal(res.Body, &page); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, res.Body)
			}
			if page.Name != "lib" || page.Meta.APIVersion == "" || len(page.Files) != 3 {
				t.Fatalf("page %+v", page)
			}
			pageURL, _ := url.Parse(p.URL + "lib/")
			for _, f := range page.Files {
				var want repogen.FileInfo
				for _, rf := range tr.Files() {
					if rf.Filename == f.Filename {
						want = rf
					}
				}
				if f.Hashes["sha256"] != want.Hashes["sha256"] || f.Size != want.Length {
					t.Errorf("%s: sha256 %s size %d, want %s %d", f.Filename, f.Hashes["sha256"], f.Size, want.Hashes["sha256"], want.Length)
				}
				u, err := pageURL.Parse(f.URL)
				if err != nil || !strings.HasPrefix(u.String(), p.Base+"/") {
					t.Errorf("%s: URL %q does not point back at the proxy", f.Filename, f.URL)
				}
			}
			html := get(t, "GET", p.URL+"lib/", "Accept", "text/html")
			if ct := html.Header.Get("Content-Type"); html.Status != http.StatusOK || !strings.HasPrefix(ct, "text/html") || !headerHas(html.Header, "Vary", "Accept") {
				t.Errorf("Accept: text/html: status %d, Content-Type %q, Vary %q", html.Status, ct, html.Header.Values("Vary"))
			}
		})
		t.Run("redirect-to-normalized-name", func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"App_Name", "App_Name/", "app.name/"} {
				res := get(t, "GET", p.URL+path)
				if res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != "/simple/app-name/" {
					t.Errorf("GET /simple/%s: %d Location %q, want 301 to /simple/app-name/", path, res.Status, res.Header.Get("Location"))
				}
			}
			if res := get(t, "GET", p.URL+"app-name/"); res.Status != http.StatusOK || !bytes.Contains(res.Body, []byte("app_name-1.0-py3-none-any.whl")) {
				t.Errorf("GET /simple/app-name/: %d\n%s", res.Status, res.Body)
			}
		})
		t.Run("file-head-and-range", func(t *testing.T) {
			t.Parallel()
			f := tr.file(t, "lib", "1.0", "wheel")
			data, err := os.ReadFile(tr.packagePath(f.Path))
			if err != nil {
				t.Fatal(err)
			}
			fileURL := p.Base + "/files/lib/" + f.Filename
			head := get(t, "HEAD", fileURL)
			if head.Status != http.StatusOK || head.Header.Get("Content-Length") != itoa(f.Length) || len(head.Body) != 0 {
				t.Errorf("HEAD: %d, Content-Length %q (want %d), %d body bytes", head.Status, head.Header.Get("Content-Length"), f.Length, len(head.Body))
			}
			if head.Header.Get("Accept-Ranges") != "bytes" {
				t.Errorf("HEAD: Accept-Ranges %q", head.Header.Get("Accept-Ranges"))
			}
			rng := get(t, "GET", fileURL, "Range", "bytes=10-29")
			if rng.Status != http.StatusPartialContent || !bytes.Equal(rng.Body, data[10:30]) {
				t.Errorf("Range: %d with %d bytes, want 206 with bytes 10-29", rng.Status, len(rng.Body))
			}
			if cr := rng.Header.Get("Content-Range"); cr != "bytes 10-29/"+itoa(f.Length) {
				t.Errorf("Content-Range %q", cr)
			}
			full := get(t, "GET", fileURL)
			if full.Status != http.StatusOK || !bytes.Equal(full.Body, data) {
				t.Errorf("GET: %d with %d bytes, want the %d verified bytes", full.Status, len(full.Body), len(data))
			}
		})
		t.Run("status", func(t *testing.T) {
			t.Parallel()
			res := get(t, "GET", p.Base+"/-/status")
			var st struct {
				TUF *struct {
					Roles map[string]struct {
						Version int64  `json:"version"`
						Expires string `json:"expires"`
					} `json:"roles"`
					Bins int `json:"bins"`
				} `json:"tuf"`
				TUFError string `json:"tuf_error"`
				Layout   string `json:"layout"`
			}
			if err := json.Unmarshal(res.Body, &st); err != nil || res.Status != http.StatusOK {
				t.Fatalf("status %d, %v:\n%s", res.Status, err, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if st.TUF == nil {
				t.Fatalf("no tuf section (tuf_error %q):\n%s", st.TUFError, res.Body)
			}
			for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
				rs, ok := st.TUF.Roles[role]
				if !ok || rs.Version != tr.RoleVersion(role) || rs.Expires == "" {
					t.Errorf("role %s: %+v, want version %d with an expiry", role, rs, tr.RoleVersion(role))
				}
			}
			if st.TUF.Bins != len(tr.Bins()) || st.Layout != "pep458" {
				t.Errorf("bins %d layout %q, want %d pep458", st.TUF.Bins, st.Layout, len(tr.Bins()))
			}
		})
		t.Run("healthz", func(t *testing.T) {
			t.Parallel()
			res := get(t, "GET", p.Base+"/-/healthz")
			if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != "ok" {
				t.Errorf("healthz: %d %q", res.Status, res.Body)
			}
		})
		t.Run("unknown-project", func(t *testing.T) {
			t.Parallel()
			res := get(t, "GET", p.URL+"no-such-project/")
			if res.Status != http.StatusNotFound || !bytes.Contains(res.Body, []byte("tufpip: refused")) {
				t.Errorf("unknown project: %d %q", res.Status, res.Body)
			}
		})
	})
}

func headerHas(h http.Header, key, value string) bool {
	for _, v := range h.Values(key) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), value) {
				return true
			}
		}
	}
	return false
}
