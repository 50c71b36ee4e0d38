package integration

// The proxy's answers when the repository fails it (issue 10): a
// remembered page only while the trusted metadata still signs it, 5xx
// refusals remembered across pip's retries, and only requests addressed
// to the proxy by one of its names.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// hostileRepo is a generated repository behind a hostileHandler.
func hostileRepo(t *testing.T, layout string) (*testRepo, *hostileHandler) {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4, IndexLayout: layout}, appAndLib())
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileHandler{next: repogen.NewHandler(r.Dir())}
	up := &switchableServer{h: h}
	up.start(t)
	t.Cleanup(up.stop)
	tr := &testRepo{Repo: r, Layout: layout, URL: "http://" + up.addr}
	tr.recordLegit(t)
	return tr, h
}

// TestProxyStalePageSuperseded: upstream answers 503 for lib's page. The
// last verified page is served while the metadata the proxy trusts now
// still signs it (after a re-signed snapshot too), and refused, naming
// the snapshot version, once the repository has yanked a release.
func TestProxyStalePageSuperseded(t *testing.T) {
	t.Parallel()
	tr, h := hostileRepo(t, repogen.IndexLayoutPEP458)
	p := startProxy(t, tr, proxyOptions{freshness: "0"})
	page := func() httpResult { return get(t, "GET", p.URL+"lib/", "Accept", "application/vnd.pypi.simple.v1+json") }
	if res := page(); res.Status != 200 || res.Header.Get("X-Tufpip-Stale") != "" {
		t.Fatalf("upstream up: %d %.300q", res.Status, res.Body)
	}

	matrixMust(t, tr.ResignOnline(repogen.RoleSnapshot))
	tr.recordLegit(t)
	failPage(h, tr, "lib", hostileRule{status: http.StatusServiceUnavailable})
	res := page()
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("X-Tufpip-Stale"), "upstream unreachable; last verified page, valid until ") ||
		!strings.Contains(string(res.Body), "lib-1.1-py3-none-any.whl") {
		t.Fatalf("upstream 503, page unchanged: %d %.300q (stale %q), want the last verified page", res.Status, res.Body, res.Header.Get("X-Tufpip-Stale"))
	}

	matrixMust(t, tr.Yank("lib", "1.1", "broken build"))
	tr.recordLegit(t)
	failPage(h, tr, "lib", hostileRule{status: http.StatusServiceUnavailable})
	res = page()
	want := fmt.Sprintf("tufpip: refused: project lib: the last verified page is no longer what the repository signs (snapshot version %d); not serving it stale (the repository is unreachable: ",
		tr.RoleVersion(repogen.RoleSnapshot))
	if res.Status != http.StatusServiceUnavailable || !strings.HasPrefix(string(res.Body), want) || !strings.Contains(string(res.Body), "unexpected HTTP status 503") {
		t.Fatalf("yanked, upstream 503: %d %.400q, want 503 %q", res.Status, res.Body, want)
	}
	if res.Header.Get("X-Tufpip-Stale") != "" {
		t.Errorf("a refusal is marked stale")
	}
	words := []string{"msg=refused", "path=/simple/lib/ ", "status=503", "the last verified page is no longer what the repository signs"}
	for deadline := time.Now().Add(5 * time.Second); !logHasLine(p.Log(), words...) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !logHasLine(p.Log(), words...) {
		t.Errorf("the proxy's log has no refusal line for the superseded page")
	}
	assertCacheVerified(t, p.Home, tr)
}

// TestProxyRefusalMemoPip: pip retries a 503 five times (with its
// default --retries), backing off 7.5 s in all. The proxy verifies
// against the repository once and answers the retries from memory, with
// the same refusal; pip's -vv output names the status and the URL.
func TestProxyRefusalMemoPip(t *testing.T) {
	py := requirePython(t)
	t.Parallel()
	tr, h := hostileRepo(t, repogen.IndexLayoutPEP458)
	p := startProxy(t, tr, proxyOptions{freshness: "0"})
	if res := get(t, "GET", p.URL+"lib/"); res.Status != 200 {
		t.Fatalf("upstream up: %d %.300q", res.Status, res.Body)
	}
	// A 503 refusal: the repository yanked 1.1, and the mirror will not
	// serve the new page.
	matrixMust(t, tr.Yank("lib", "1.1", "broken build"))
	tr.recordLegit(t)
	pagePath := servedPagePath(tr, "lib")
	failPage(h, tr, "lib", hostileRule{status: http.StatusServiceUnavailable})

	target, out, err := pipInstall(t, py, p.URL, "--retries", "5", "-vv", "lib")
	if err == nil {
		t.Fatalf("pip installed through a refused page:\n%s", out)
	}
	assertNothingInstalled(t, target)
	if !pipReported(out, "503", p.URL+"lib/") {
		t.Errorf("pip -vv does not report the 503 for lib's page:\n%s", out)
	}
	refusals := strings.Count(p.Log(), "path=/simple/lib/ status=503")
	if refusals < 2 {
		t.Errorf("the proxy refused lib's page %d times; pip should have retried", refusals)
	}
	// One verification: the first request and tufpip's own 3 retries.
	if n := h.answered(pagePath); n != 4 {
		t.Errorf("upstream was asked %d times for lib's page over %d refusals, want 4 (1 verification and its 3 retries)", n, refusals)
	}
	t.Logf("pip -vv said:\n%s", out)
	assertCacheVerified(t, p.Home, tr)
}

// TestProxyHostHeader: the built proxy answers loopback names and the
// names from TUFPIP_HOSTNAME, and refuses others with 421 and a hint;
// every response says nosniff.
func TestProxyHostHeader(t *testing.T) {
	t.Parallel()
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	p := startProxy(t, tr, proxyOptions{env: []string{"TUFPIP_HOSTNAME=tufpip.test,10.9.8.7"}})
	port := p.Base[strings.LastIndex(p.Base, ":")+1:]
	do := func(host, path string) httpResult {
		t.Helper()
		req, err := http.NewRequest("GET", p.Base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, err = io.Copy(&b, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return httpResult{resp.StatusCode, resp.Header, []byte(b.String())}
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "tufpip.test:" + port, "10.9.8.7"} {
		res := do(host, "/simple/lib/")
		if res.Status != 200 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("Host %s: %d %.200q (nosniff %q), want 200 with nosniff", host, res.Status, res.Body, res.Header.Get("X-Content-Type-Options"))
		}
	}
	// A page of attacker.example that rebound its name to 127.0.0.1.
	res := do("attacker.example:"+port, "/-/status")
	want := `tufpip: refused: Host "attacker.example:` + port + `" is not a name this proxy answers to (it answers to localhost, 127.0.0.1, [::1] and its --hostname list)` +
		"\nhint: if clients reach the proxy as attacker.example, start it with --hostname attacker.example\n"
	if res.Status != http.StatusMisdirectedRequest || string(res.Body) != want || strings.Contains(string(res.Body), "snapshot") {
		t.Errorf("rebinding Host: %d %q, want 421 %q", res.Status, res.Body, want)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the refusal has no nosniff")
	}
	// The proxy's stderr is read by another goroutine: give the line a
	// moment to arrive.
	words := []string{"msg=refused", "path=/-/status ", "status=421", "attacker.example"}
	for deadline := time.Now().Add(5 * time.Second); !logHasLine(p.Log(), words...) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !logHasLine(p.Log(), words...) {
		t.Errorf("the proxy's log has no line for the refused Host")
	}
}

// TestProxyHostnameFlag: a malformed --hostname stops the proxy before
// it starts, with a hint.
func TestProxyHostnameFlag(t *testing.T) {
	t.Parallel()
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	_, err := launchProxy(t, tr, proxyOptions{args: []string{"--hostname", "tufpip.test:8458"}})
	var se *proxyStartError
	if !errors.As(err, &se) {
		t.Fatalf("the proxy started with --hostname tufpip.test:8458: %v", err)
	}
	assertExitCode(t, se, 2)
	if !strings.Contains(se.Log, `tufpip: invalid --hostname: "tufpip.test:8458" is not a host name or IP address (without a port)`) ||
		!strings.Contains(se.Log, "hint: give a name such as tufpip.internal or an address such as 10.0.0.5, without a port") {
		t.Errorf("the refusal to start does not explain --hostname:\n%s", se.Log)
	}
}
