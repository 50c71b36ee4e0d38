package integration

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// attackPipArgs make pip's refusal fast and visible: no retries of a 503
// (pip retries 500/503 with back-off), and -vv because pip reports a
// failed index page only at debug level ("Could not fetch URL ...: 502
// Server Error ... - skipping").
var attackPipArgs = []string{"--retries", "0", "-vv"}

// refusal is what an attack run must show.
type refusal struct {
	// status is the HTTP status the proxy answers, which pip must report.
	status int
	// url is fetched directly to see the proxy's refusal body.
	url string
	// body is a phrase the refusal body must contain.
	body string
}

// assertRefused checks one attack run: pip failed and reported the
// proxy's status, the proxy refused (in its answer and its log), nothing
// was installed, and the artifact cache holds only signed bytes.
func assertRefused(t *testing.T, tr *testRepo, p *proxyProc, target, out string, pipErr error, want refusal) {
	t.Helper()
	if pipErr == nil {
		t.Fatalf("pip succeeded through an attack:\n%s", out)
	}
	code := strconv.Itoa(want.status)
	if !pipReported(out, code, want.url) {
		t.Errorf("pip's output has no line with the proxy's HTTP status %s for %s:\n%s", code, want.url, out)
	}
	res := get(t, "GET", want.url)
	t.Logf("GET %s: %d %.300q", want.url, res.Status, bytes.TrimSpace(res.Body))
	if res.Status != want.status || !bytes.Contains(res.Body, []byte("tufpip: refused")) || !bytes.Contains(res.Body, []byte(want.body)) {
		t.Errorf("GET %s: %d %q, want %d with a refusal mentioning %q", want.url, res.Status, res.Body, want.status, want.body)
	}
	u, err := url.Parse(want.url)
	if err != nil {
		t.Fatal(err)
	}
	if !logHasLine(p.Log(), "msg=refused", "path="+u.Path+" ", "status="+code) {
		t.Errorf("the proxy's log has no refusal of %s with status %s", u.Path, code)
	}
	assertNothingInstalled(t, target)
	assertCacheVerified(t, p.Home, tr)
}

// exitRepositoryError is tufpip's exit status for repository metadata
// that failed verification or has expired (see "tufpip --help").
const exitRepositoryError = 2

func assertExitCode(t *testing.T, se *proxyStartError, want int) {
	t.Helper()
	var ee interface{ ExitCode() int }
	if !errors.As(se.Err, &ee) || ee.ExitCode() != want {
		t.Errorf("the proxy exited with %v, want exit status %d", se.Err, want)
	}
}

// logHasLine says whether one line of log contains every word.
func logHasLine(log string, words ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

// pipReported says whether one line of pip's output names link (exactly:
// not a longer URL that starts with it, such as its .metadata) together
// with the HTTP status code, so that a pip failing for another reason
// does not pass for a refusal.
func pipReported(out, code, link string) bool {
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, code) {
			continue
		}
		for rest := line; ; {
			i := strings.Index(rest, link)
			if i < 0 {
				break
			}
			rest = rest[i+len(link):]
			if rest == "" || !strings.ContainsAny(rest[:1], "./-_?#%abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") {
				return true
			}
		}
	}
	return false
}

func TestAttackTamperedFile(t *testing.T) {
	py := requirePython(t)
	for _, c := range []struct {
		layout     string
		keepLength bool
		body       string
	}{
		{repogen.IndexLayoutPEP458, true, "blake2b-256"},
		{repogen.IndexLayoutPEP458, false, "length"},
		{repogen.IndexLayoutIndexOnly, true, "sha256"},
		{repogen.IndexLayoutDistsOnly, false, "length"},
	} {
		name := c.layout + "/same-length"
		if !c.keepLength {
			name = c.layout + "/longer"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr := newRepo(t, c.layout, appAndLib())
			p := startProxy(t, tr, proxyOptions{})
			lib := tr.file(t, "lib", "1.1", "wheel")
			if err := tr.TamperFile(lib.Path, c.keepLength); err != nil {
				t.Fatal(err)
			}
			target, out, err := pipInstall(t, py, p.URL, append(attackPipArgs, "app")...)
			assertRefused(t, tr, p, target, out, err, refusal{502, p.Base + "/files/lib/" + lib.Filename, c.body})
		})
	}
}

func TestAttackTamperedPage(t *testing.T) {
	py := requirePython(t)
	for _, layout := range []string{repogen.IndexLayoutPEP458, repogen.IndexLayoutIndexOnly, repogen.IndexLayoutSimplePath} {
		t.Run(layout, func(t *testing.T) {
			t.Parallel()
			tr := newRepo(t, layout, appAndLib())
			p := startProxy(t, tr, proxyOptions{})
			if err := tr.TamperPage("lib"); err != nil {
				t.Fatal(err)
			}
			target, out, err := pipInstall(t, py, p.URL, append(attackPipArgs, "lib")...)
			assertRefused(t, tr, p, target, out, err, refusal{502, p.URL + "lib/", "index page of lib"})
			if strings.Contains(out, "666.0.0") {
				t.Errorf("pip saw the release the tampered page added:\n%s", out)
			}
		})
	}
}

// TestAttackRollback lets a proxy trust newer metadata, then serves older
// metadata: a new proxy process on the same --home must refuse, both one
// started before the rollback (per request, freshness window off) and one
// started after it (at start-up).
func TestAttackRollback(t *testing.T) {
	py := requirePython(t)
	for _, role := range []string{repogen.RoleSnapshot, repogen.RoleTimestamp} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
			if err := tr.ResignOnline(repogen.RoleSnapshot); err != nil {
				t.Fatal(err)
			}
			tr.recordLegit(t)
			home := t.TempDir()

			first := startProxy(t, tr, proxyOptions{home: home})
			assertInstalled(t, py, mustPipInstall(t, py, first.URL, "lib==1.0"), map[string]string{"lib": "1.0"})
			first.stop(t)

			p := startProxy(t, tr, proxyOptions{home: home, freshness: "0"})
			if err := tr.Rollback(role); err != nil {
				t.Fatal(err)
			}
			target, out, err := pipInstall(t, py, p.URL, append(attackPipArgs, "lib")...)
			assertRefused(t, tr, p, target, out, err, refusal{502, p.URL + "lib/", role})
			p.stop(t)

			_, err = launchProxy(t, tr, proxyOptions{home: home, freshness: "0"})
			var se *proxyStartError
			if !errors.As(err, &se) {
				t.Fatalf("a proxy started after the rollback: %v", err)
			}
			t.Logf("a proxy started after the rollback refused to start:\n%s", se.Log)
			assertExitCode(t, se, exitRepositoryError)
			if !strings.Contains(se.Log, "tufpip: initial TUF refresh") || !strings.Contains(se.Log, role) || !strings.Contains(se.Log, "hint:") {
				t.Errorf("the refusal to start does not name the rolled-back role with a hint:\n%s", se.Log)
			}
			assertCacheVerified(t, home, tr)
		})
	}
}

func TestAttackExpiredTimestamp(t *testing.T) {
	t.Run("before-start", func(t *testing.T) {
		t.Parallel()
		tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
		if err := tr.ExpireTimestamp(); err != nil {
			t.Fatal(err)
		}
		_, err := launchProxy(t, tr, proxyOptions{})
		var se *proxyStartError
		if !errors.As(err, &se) {
			t.Fatalf("the proxy started with an expired timestamp: %v", err)
		}
		assertExitCode(t, se, exitRepositoryError)
		t.Logf("the proxy refused to start:\n%s", se.Log)
		if !strings.Contains(se.Log, "tufpip: ") || !strings.Contains(se.Log, "expired") || !strings.Contains(se.Log, "timestamp") {
			t.Errorf("the refusal does not say the timestamp expired:\n%s", se.Log)
		}
	})
	t.Run("while-running", func(t *testing.T) {
		t.Parallel()
		py := requirePython(t)
		tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
		p := startProxy(t, tr, proxyOptions{freshness: "0"})
		if err := tr.ExpireTimestamp(); err != nil {
			t.Fatal(err)
		}
		target, out, err := pipInstall(t, py, p.URL, append(attackPipArgs, "lib")...)
		assertRefused(t, tr, p, target, out, err, refusal{503, p.URL + "lib/", "expired"})
	})
}

// TestAttackUnsignedFile serves, in the dists-only layout (where the page
// only lists files), a wheel the repository never signed, linked from the
// page: the proxy must leave it out, so pip cannot even see it.
func TestAttackUnsignedFile(t *testing.T) {
	py := requirePython(t)
	tr := newRepo(t, repogen.IndexLayoutDistsOnly, appAndLib())
	p := startProxy(t, tr, proxyOptions{})

	// A real, installable lib 9.0 wheel, built by a second repository
	// and planted in the first one's file tree and page, unsigned.
	other, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "other")}, []repogen.ProjectSpec{
		{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("9.0")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	evil := other.Files()[0]
	data, err := os.ReadFile(filepath.Join(other.Dir(), "packages", filepath.FromSlash(evil.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(tr.packagePath(evil.Path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr.packagePath(evil.Path), data, 0o644); err != nil {
		t.Fatal(err)
	}
	pagePath := filepath.Join(tr.Dir(), "simple", "lib", "index.html")
	page, err := os.ReadFile(pagePath)
	if err != nil {
		t.Fatal(err)
	}
	link := `    <a href="../../packages/` + evil.Path + `#sha256=` + evil.Hashes["sha256"] + `">` + evil.Filename + "</a><br />\n"
	page = bytes.Replace(page, []byte("  </body>"), []byte(link+"  </body>"), 1)
	if err := os.WriteFile(pagePath, page, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("pinned", func(t *testing.T) {
		target, out, err := pipInstall(t, py, p.URL, append(attackPipArgs, "lib==9.0")...)
		if err == nil {
			t.Fatalf("pip installed an unsigned wheel:\n%s", out)
		}
		if !strings.Contains(out, "No matching distribution found for lib==9.0") {
			t.Errorf("pip did not report that no lib 9.0 exists:\n%s", out)
		}
		assertNothingInstalled(t, target)
		res := get(t, "GET", p.Base+"/files/lib/"+evil.Filename)
		if res.Status != 404 || !bytes.Contains(res.Body, []byte("not a verified file")) {
			t.Errorf("GET the unsigned file: %d %q", res.Status, res.Body)
		}
		if pg := get(t, "GET", p.URL+"lib/"); pg.Status != 200 || bytes.Contains(pg.Body, []byte("9.0")) {
			t.Errorf("the proxy's page lists the unsigned file (status %d):\n%s", pg.Status, pg.Body)
		}
		if !logHasLine(p.Log(), "file left out of page", evil.Filename, "not signed") {
			t.Errorf("the proxy's log does not say it left the unsigned file out")
		}
	})
	t.Run("unpinned-gets-newest-signed", func(t *testing.T) {
		target := mustPipInstall(t, py, p.URL, "lib")
		assertInstalled(t, py, target, map[string]string{"lib": "1.1"})
	})
	assertCacheVerified(t, p.Home, tr)
}
