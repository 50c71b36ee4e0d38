package integration

// Upstream down (DESIGN.md §2 and §3): the proxy keeps serving what it
// has verified and what has not expired, refuses the rest with an error
// status that says the repository is unreachable, and recovers when the
// repository is back. A page that fails verification is never replaced
// by the last good one.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// switchableServer serves a handler on a loopback address it keeps for
// the whole test, and can be switched down and up again. Down, it
// accepts each connection and closes it unanswered, which clients see as
// a network error, as with a server that went away; the port is never
// given back, so no other test can take it in between.
type switchableServer struct {
	h    http.Handler
	addr string

	once sync.Once
	srv  *httptest.Server
	down atomic.Bool
}

// start serves (the first time, on a new port; then on the same one).
func (s *switchableServer) start(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
		s.addr = s.srv.Listener.Addr().String()
		t.Cleanup(s.srv.Close)
	})
	s.down.Store(false)
}

// stop makes every request fail as if nothing listened: open connections
// included, since each request is checked.
func (s *switchableServer) stop() { s.down.Store(true) }

func (s *switchableServer) serve(w http.ResponseWriter, r *http.Request) {
	if !s.down.Load() {
		s.h.ServeHTTP(w, r)
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // closes the connection without a response
}

// TestFaultUpstreamDown stops the repository's server under a running
// proxy whose freshness window and page memo have run out: the window is
// off (--freshness 0), so every page asks the repository again, with no
// waiting on the wall clock.
func TestFaultUpstreamDown(t *testing.T) {
	t.Parallel()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, appAndLib())
	if err != nil {
		t.Fatal(err)
	}
	up := &switchableServer{h: repogen.NewHandler(r.Dir())}
	up.start(t)
	t.Cleanup(up.stop)
	tr := &testRepo{Repo: r, Layout: repogen.IndexLayoutPEP458, URL: "http://" + up.addr}
	tr.recordLegit(t)
	// Refusals are not remembered, so that the proxy asks again as soon
	// as the repository is back (TestProxyRefusalMemoPip tests the memo).
	p := startProxy(t, tr, proxyOptions{freshness: "0", args: []string{"--remember-refusals", "0"}})
	cached, uncached := tr.file(t, "lib", "1.1", "wheel"), tr.file(t, "lib", "1.0", "wheel")
	fileURL := func(f repogen.FileInfo) string { return p.Base + "/files/" + f.Project + "/" + f.Filename }
	wantFile := func(f repogen.FileInfo, when string) {
		t.Helper()
		res := get(t, "GET", fileURL(f))
		if res.Status != 200 || hexB2(res.Body) != f.Hashes[repogen.HashBlake2b256] {
			t.Errorf("%s: GET %s: %d %.200q, want 200 with the signed bytes", when, f.Filename, res.Status, res.Body)
		}
	}
	wantPage := func(project, when string, stale bool) {
		t.Helper()
		res := get(t, "GET", p.URL+project+"/")
		if res.Status != 200 || !strings.Contains(string(res.Body), project) {
			t.Errorf("%s: page %s: %d %.300q, want 200", when, project, res.Status, res.Body)
		}
		if got := res.Header.Get("X-Tufpip-Stale") != ""; got != stale {
			t.Errorf("%s: page %s marked stale: %v, want %v (%q)", when, project, got, stale, res.Header.Get("X-Tufpip-Stale"))
		}
	}
	wantUnreachable := func(url, when string) {
		t.Helper()
		res := get(t, "GET", url)
		if (res.Status != http.StatusBadGateway && res.Status != http.StatusServiceUnavailable) ||
			!strings.Contains(string(res.Body), "tufpip: refused") || !strings.Contains(string(res.Body), "unreachable") {
			t.Errorf("%s: GET %s: %d %.300q, want 502/503 saying the repository is unreachable", when, url, res.Status, res.Body)
		}
	}
	wantPage("lib", "upstream up", false)
	wantFile(cached, "upstream up")

	up.stop()
	wantPage("lib", "upstream down", true)
	wantFile(cached, "upstream down")
	wantUnreachable(fileURL(uncached), "upstream down, file not cached")
	wantUnreachable(p.URL+"app/", "upstream down, page never verified")
	if !logHasLine(p.Log(), "serving the last verified page", "project=lib") {
		t.Errorf("the proxy did not log that it served a stale page")
	}

	up.start(t)
	wantPage("lib", "upstream back", false)
	wantFile(uncached, "upstream back")
	wantPage("app", "upstream back", false)

	// A page that fails verification is refused, not replaced by the last
	// verified one.
	if err := tr.TamperPage("lib"); err != nil {
		t.Fatal(err)
	}
	res := get(t, "GET", p.URL+"lib/")
	if res.Status != http.StatusBadGateway || res.Header.Get("X-Tufpip-Stale") != "" || strings.Contains(string(res.Body), "unreachable") {
		t.Errorf("tampered page: %d %.300q (stale: %q), want a 502 verification refusal", res.Status, res.Body, res.Header.Get("X-Tufpip-Stale"))
	}
	if err := tr.Heal(); err != nil {
		t.Fatal(err)
	}
	wantPage("lib", "healed", false)
	assertCacheVerified(t, p.Home, tr)
}

// TestFaultUpstreamDownPip: pip installs through the proxy what it
// installed before, after the repository went away.
func TestFaultUpstreamDownPip(t *testing.T) {
	py := requirePython(t)
	t.Parallel()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, appAndLib())
	if err != nil {
		t.Fatal(err)
	}
	up := &switchableServer{h: repogen.NewHandler(r.Dir())}
	up.start(t)
	t.Cleanup(up.stop)
	tr := &testRepo{Repo: r, Layout: repogen.IndexLayoutPEP458, URL: "http://" + up.addr}
	tr.recordLegit(t)
	// No freshness window: after the stop, every page asks the
	// repository (no sleeping past a window).
	p := startProxy(t, tr, proxyOptions{freshness: "0"})
	want := map[string]string{"app": "1.0", "lib": "1.1"}
	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "app"), want)
	up.stop()
	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "app"), want)
	// Something never fetched fails, fast and clearly.
	target, out, err := pipInstall(t, py, p.URL, append([]string{"lib==1.0"}, attackPipArgs...)...)
	if err == nil || !strings.Contains(out, "502") {
		t.Errorf("pip install of a file never cached, upstream down: %v\n%s", err, out)
	}
	assertNothingInstalled(t, target)
}

// TestFaultStalePageExpires: the last verified page is offered only while
// the metadata that vouched for it is unexpired, and never when any of
// its target infos does not say when that is.
func TestFaultStalePageExpires(t *testing.T) {
	t0 := time.Now()
	now := t0
	pc := &index.PageCache{TTL: time.Second, Now: func() time.Time { return now }}
	ti := func(exp time.Time) updater.TargetInfo {
		return updater.TargetInfo{Path: "x", Length: 1, Hashes: map[string]string{"sha256": strings.Repeat("0", 64)}, Expires: exp}
	}
	page := ti(t0.Add(2 * time.Hour))
	pc.Put(&index.VerifiedPage{Name: "a", PageTarget: &page, Files: []index.VerifiedFile{{Target: ti(t0.Add(time.Hour))}}})
	pc.Put(&index.VerifiedPage{Name: "b", PageTarget: &page, Files: []index.VerifiedFile{{Target: ti(time.Time{})}}})
	now = t0.Add(30 * time.Minute)
	if _, ok := pc.Get("a"); ok {
		t.Error("Get returned a page older than the TTL")
	}
	if _, ok := pc.Stale("a"); !ok {
		t.Error("Stale refused a page whose metadata is unexpired")
	}
	if _, ok := pc.Stale("b"); ok {
		t.Error("Stale offered a page with a file whose expiry is unknown")
	}
	now = t0.Add(time.Hour)
	if _, ok := pc.Stale("a"); ok {
		t.Error("Stale offered a page after a file's metadata expired")
	}
	if !index.UpstreamUnreachable(&updater.NetworkError{URL: "u", Err: errors.New("connection refused")}) ||
		!index.UpstreamUnreachable(&updater.NetworkError{URL: "u", Err: &httpx.StatusError{StatusCode: 503}}) ||
		index.UpstreamUnreachable(&updater.NetworkError{URL: "u", Err: &httpx.StatusError{StatusCode: 404}}) ||
		index.UpstreamUnreachable(&updater.MetadataError{Role: "timestamp", Err: &updater.NetworkError{URL: "u", Err: errors.New("x")}}) ||
		index.UpstreamUnreachable(&updater.MismatchError{Path: "x", Check: "length"}) {
		t.Error("UpstreamUnreachable misclassifies")
	}
}
