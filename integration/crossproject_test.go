package integration

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// TestCrossProjectSdistEveryPip: in the dists-only layout a mirror lists
// lib-9-9.tar.gz, the genuinely signed sdist of project lib-9 (version
// 9), on lib's unsigned page. pip reads it as lib 9.post9, newer than
// anything lib has: pip 18 installed it and pip 22 ran its build backend.
// Through the proxy, every pip here (18, 22 and the default) installs
// lib 1.1 and nothing else (had pip built the foreign sdist, lib-9 would
// be installed too), and pip never sees the file (its output does not name
// it); the proxy's page (HTML and JSON) does not list it, and its log says
// why.
func TestCrossProjectSdistEveryPip(t *testing.T) {
	requirePython(t)
	tr := newRepo(t, repogen.IndexLayoutDistsOnly, appAndLib())
	if err := tr.AddRelease(repogen.ProjectSpec{Name: "lib-9", Releases: []repogen.ReleaseSpec{{Version: "9", Dists: repogen.Sdist, SdistStem: "lib-9-9"}}}); err != nil {
		t.Fatal(err)
	}
	tr.recordLegit(t)
	foreign := tr.file(t, "lib-9", "9", "sdist")
	if err := tr.ListOnPage("lib", foreign); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, tr, proxyOptions{})

	for _, accept := range []string{"text/html", "application/vnd.pypi.simple.v1+json"} {
		pg := get(t, "GET", p.URL+"lib/", "Accept", accept)
		if pg.Status != 200 || bytes.Contains(pg.Body, []byte(foreign.Filename)) || !bytes.Contains(pg.Body, []byte("lib-1.1-py3-none-any.whl")) {
			t.Errorf("the proxy's %s page (status %d) lists %s, or not lib 1.1:\n%s", accept, pg.Status, foreign.Filename, pg.Body)
		}
	}
	if !logHasLine(p.Log(), "file left out of page", "project=lib ", foreign.Filename, "belongs to project lib-9, not lib") {
		t.Errorf("the proxy's log does not say why it left %s out:\n%s", foreign.Filename, p.Log())
	}

	var pips []interpreter
	for _, in := range discoverInterpreters(t) {
		if in.pip != "" && (in.pipMajor() == 18 || in.pipMajor() == 22 || in.source == "PATH") &&
			!slices.ContainsFunc(pips, func(o interpreter) bool { return o.pipMajor() == in.pipMajor() }) {
			pips = append(pips, in)
		}
	}
	for _, in := range pips {
		t.Run(in.name(), func(t *testing.T) {
			t.Parallel()
			target, out, err := pipInstall(t, in.path, p.URL, "lib")
			if err != nil {
				t.Fatalf("pip install lib: %v\n%s", err, out)
			}
			assertInstalled(t, in.path, target, map[string]string{"lib": "1.1"})
			if strings.Contains(out, foreign.Filename) {
				t.Errorf("pip saw %s:\n%s", foreign.Filename, out)
			}
			pinned, out, err := pipInstall(t, in.path, p.URL, "lib==9.post9")
			if err == nil || !strings.Contains(out, "No matching distribution found for lib==9.post9") {
				t.Errorf("pip install lib==9.post9: %v\n%s", err, out)
			}
			assertNothingInstalled(t, pinned)
		})
	}
	assertCacheVerified(t, p.Home, tr)
}
