package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
)

// fakeTUF signs what its map says, under one snapshot version.
type fakeTUF struct {
	mu      sync.Mutex
	snap    int64
	targets map[string]updater.TargetInfo
	// down: Target fails as if the repository's metadata were
	// unreachable; TrustedTarget still answers from what is trusted.
	down bool
}

func (f *fakeTUF) Target(ctx context.Context, path string) (updater.TargetInfo, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return updater.TargetInfo{}, &updater.NetworkError{URL: "http://repo/metadata/timestamp.json", Err: errors.New("connection refused")}
	}
	ti, _, err := f.TrustedTarget(ctx, path)
	return ti, err
}

func (f *fakeTUF) TrustedTarget(_ context.Context, path string) (updater.TargetInfo, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ti, ok := f.targets[path]
	if !ok {
		return updater.TargetInfo{}, f.snap, fmt.Errorf("%s: %w", path, updater.ErrNotSigned)
	}
	ti.Path, ti.SnapshotVersion, ti.Expires = path, f.snap, time.Now().Add(time.Hour)
	return ti, f.snap, nil
}

// sign sets (or, with data nil, removes) a target and moves the snapshot.
func (f *fakeTUF) sign(path string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.targets == nil {
		f.targets = map[string]updater.TargetInfo{}
	}
	f.snap++
	if data == nil {
		delete(f.targets, path)
		return
	}
	sum := sha256.Sum256(data)
	f.targets[path] = updater.TargetInfo{Length: int64(len(data)), Hashes: map[string]string{updater.HashSHA256: hex.EncodeToString(sum[:])}}
}

// upstreamServer serves fixed bodies, or status for everything, and
// counts requests by path.
type upstreamServer struct {
	mu     sync.Mutex
	bodies map[string][]byte
	status int
	hits   map[string]int
}

func (u *upstreamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.hits == nil {
		u.hits = map[string]int{}
	}
	u.hits[r.URL.Path]++
	if u.status != 0 {
		http.Error(w, "upstream says no", u.status)
		return
	}
	b, ok := u.bodies[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func (u *upstreamServer) set(status int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.status = status
}

func (u *upstreamServer) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[path]
}

func libPage(files ...string) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><body>\n")
	for _, f := range files {
		sum := sha256.Sum256([]byte(f))
		fmt.Fprintf(&b, "<a href=\"../../packages/ab/cd/%s#sha256=%s\">%s</a><br>\n", f, hex.EncodeToString(sum[:]), f)
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

type proxyFixture struct {
	up    *upstreamServer
	tuf   *fakeTUF
	proxy *Handler
	now   time.Time
}

// newProxyFixture serves lib (1.0 and 1.1 wheels) in layout from a fake
// upstream, with the page memo off, so that every request asks upstream.
func newProxyFixture(t *testing.T, layout index.Layout, refusalTTL time.Duration) *proxyFixture {
	t.Helper()
	fx := &proxyFixture{up: &upstreamServer{bodies: map[string][]byte{}}, tuf: &fakeTUF{}, now: time.Now()}
	srv := httptest.NewServer(fx.up)
	t.Cleanup(srv.Close)
	files := []string{"lib-1.0-py3-none-any.whl", "lib-1.1-py3-none-any.whl"}
	page := libPage(files...)
	for _, f := range files {
		fx.tuf.sign("ab/cd/"+f, []byte(f))
	}
	site := index.Site{Layout: layout, IndexURL: mustURL(t, srv.URL+"/simple/"), FilesURL: mustURL(t, srv.URL+"/packages/")}
	if target, signed := site.PageTarget("lib"); signed {
		fx.tuf.sign(target, page)
		fx.up.bodies["/simple/lib/index.html"] = page
	} else {
		fx.up.bodies["/simple/lib/"] = page
	}
	fx.proxy = New(Config{
		Client:     &index.Client{Site: site, TUF: fx.tuf, HTTP: &http.Client{Timeout: 10 * time.Second}},
		Pages:      &index.PageCache{TTL: 0, Now: func() time.Time { return fx.now }},
		RefusalTTL: refusalTTL,
	})
	return fx
}

type served struct {
	status int
	header http.Header
	body   string
}

func (fx *proxyFixture) get(t *testing.T, host, path string) served {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	fx.proxy.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return served{res.StatusCode, res.Header, string(body)}
}

// TestProxyStaleSuperseded: with upstream failing, the last verified
// page is served only while the metadata trusted now still signs it.
func TestProxyStaleSuperseded(t *testing.T) {
	for _, layout := range []index.Layout{index.LayoutSimplePath, index.LayoutIndexOnly} {
		t.Run(string(layout), func(t *testing.T) {
			fx := newProxyFixture(t, layout, -1)
			target, _ := fx.proxy.cfg.Client.Site.PageTarget("lib")
			if layout == index.LayoutIndexOnly {
				fx.up.bodies["/simple/lib/"] = fx.up.bodies["/simple/lib/index.html"]
			}
			if r := fx.get(t, "127.0.0.1:8458", "/simple/lib/"); r.status != 200 || r.header.Get("X-Tufpip-Stale") != "" {
				t.Fatalf("upstream up: %d %q", r.status, r.body)
			}
			fx.up.set(http.StatusServiceUnavailable)
			// The legitimate case: newer metadata, same page.
			fx.tuf.sign("unrelated", []byte("x"))
			r := fx.get(t, "127.0.0.1:8458", "/simple/lib/")
			if r.status != 200 || r.header.Get("X-Tufpip-Stale") == "" || !strings.Contains(r.body, "lib-1.1-py3-none-any.whl") {
				t.Fatalf("upstream 503, page still signed: %d %q (stale: %q), want the last verified page", r.status, r.body, r.header.Get("X-Tufpip-Stale"))
			}
			// The repository yanks 1.1: it signs another page.
			fx.tuf.sign(target, libPage("lib-1.0-py3-none-any.whl"))
			snap := fx.tuf.snap
			r = fx.get(t, "127.0.0.1:8458", "/simple/lib/")
			want := fmt.Sprintf("tufpip: refused: project lib: the last verified page is no longer what the repository signs (snapshot version %d); not serving it stale (the repository is unreachable: ", snap)
			if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.body, want) || strings.Contains(r.body, "lib-1.1") && !strings.Contains(r.body, "unreachable") {
				t.Fatalf("page superseded: %d %q, want 503 %q", r.status, r.body, want)
			}
			if !strings.Contains(r.body, "503") {
				t.Errorf("the refusal does not say what upstream answered: %q", r.body)
			}
			if r := fx.get(t, "127.0.0.1:8458", "/files/lib/lib-1.1-py3-none-any.whl"); r.status != http.StatusServiceUnavailable {
				t.Errorf("a file of the superseded page: %d %q, want 503", r.status, r.body)
			}
			// The trusted metadata, refreshed before the repository went
			// away entirely, no longer signs the page.
			fx.tuf.sign(target, nil)
			fx.tuf.down = true
			r = fx.get(t, "127.0.0.1:8458", "/simple/lib/")
			want = fmt.Sprintf("tufpip: refused: project lib: the repository no longer signs the last verified page (snapshot version %d); not serving it stale", fx.tuf.snap)
			if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.body, want) {
				t.Fatalf("page no longer signed: %d %q, want 503 %q", r.status, r.body, want)
			}
		})
	}
}

// TestProxyStaleDistsOnly: the unsigned page of dists-only is served
// stale with only the files the trusted metadata still signs as they
// were; with none left it is refused.
func TestProxyStaleDistsOnly(t *testing.T) {
	fx := newProxyFixture(t, index.LayoutDistsOnly, -1)
	if r := fx.get(t, "localhost", "/simple/lib/"); r.status != 200 || !strings.Contains(r.body, "lib-1.1-py3-none-any.whl") {
		t.Fatalf("upstream up: %d %q", r.status, r.body)
	}
	fx.up.set(http.StatusBadGateway)
	if r := fx.get(t, "localhost", "/simple/lib/"); r.status != 200 || r.header.Get("X-Tufpip-Stale") == "" || !strings.Contains(r.body, "lib-1.1-py3-none-any.whl") {
		t.Fatalf("upstream 502, files still signed: %d %q, want the last verified page", r.status, r.body)
	}
	// The repository removes 1.1 and re-signs 1.0 with other bytes.
	fx.tuf.sign("ab/cd/lib-1.1-py3-none-any.whl", nil)
	r := fx.get(t, "localhost", "/simple/lib/")
	if r.status != 200 || r.header.Get("X-Tufpip-Stale") == "" || strings.Contains(r.body, "lib-1.1") || !strings.Contains(r.body, "lib-1.0-py3-none-any.whl") {
		t.Fatalf("1.1 removed: %d %q, want the last verified page without 1.1", r.status, r.body)
	}
	if r := fx.get(t, "localhost", "/files/lib/lib-1.1-py3-none-any.whl"); r.status != 404 || !strings.Contains(r.body, "lib-1.1-py3-none-any.whl is not a verified file of lib") {
		t.Errorf("removed file: %d %q, want 404", r.status, r.body)
	}
	fx.tuf.sign("ab/cd/lib-1.0-py3-none-any.whl", []byte("other bytes"))
	r = fx.get(t, "localhost", "/simple/lib/")
	want := fmt.Sprintf("tufpip: refused: project lib: no file of the last verified page is still signed as it was (snapshot version %d); not serving it stale", fx.tuf.snap)
	if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(r.body, want) {
		t.Fatalf("no file left: %d %q, want 503 %q", r.status, r.body, want)
	}
}

// TestProxyRemembersRefusals: a 5xx refusal is answered again from
// memory, without upstream requests, for RefusalTTL; a 404 is not.
func TestProxyRemembersRefusals(t *testing.T) {
	fx := newProxyFixture(t, index.LayoutDistsOnly, 0)
	fx.up.set(http.StatusServiceUnavailable)
	first := fx.get(t, "127.0.0.1", "/simple/lib/")
	if first.status != http.StatusBadGateway || !strings.Contains(first.body, "the repository is unreachable") {
		t.Fatalf("upstream 503, page never verified: %d %q", first.status, first.body)
	}
	for i := range 4 {
		r := fx.get(t, "127.0.0.1", "/simple/lib/")
		if r.status != first.status || r.body != first.body {
			t.Errorf("retry %d: %d %q, want the same refusal %d %q", i, r.status, r.body, first.status, first.body)
		}
	}
	if n := fx.up.count("/simple/lib/"); n != 1 {
		t.Errorf("upstream was asked %d times for the page, want 1 (retries answered from memory)", n)
	}
	fx.now = fx.now.Add(DefaultRefusalTTL)
	fx.up.set(0)
	if r := fx.get(t, "127.0.0.1", "/simple/lib/"); r.status != 200 {
		t.Errorf("after the refusal memo: %d %q, want the page", r.status, r.body)
	}
	if n := fx.up.count("/simple/lib/"); n != 2 {
		t.Errorf("upstream was asked %d times, want 2", n)
	}
	// Success is not remembered by the refusal memo, and 404 is not
	// remembered at all.
	fx.up.set(http.StatusNotFound)
	for range 2 {
		if r := fx.get(t, "127.0.0.1", "/simple/nope/"); r.status != 404 {
			t.Errorf("unknown project: %d %q", r.status, r.body)
		}
	}
	if n := fx.up.count("/simple/nope/"); n != 2 {
		t.Errorf("upstream was asked %d times for an unknown project, want 2 (404 is not remembered)", n)
	}

	off := newProxyFixture(t, index.LayoutDistsOnly, -1)
	off.up.set(http.StatusServiceUnavailable)
	for range 3 {
		off.get(t, "127.0.0.1", "/simple/lib/")
	}
	if n := off.up.count("/simple/lib/"); n != 3 {
		t.Errorf("memo disabled: upstream was asked %d times, want 3", n)
	}
}

// TestProxyHostHeader: only loopback names and the configured hosts are
// answered; every response says nosniff.
func TestProxyHostHeader(t *testing.T) {
	p := New(Config{Client: &index.Client{Site: index.Site{Layout: index.LayoutPEP458}}, Hosts: []string{"Tufpip.Internal.", "10.0.0.5", "[fd00::5]"}})
	do := func(method, host, path string) served {
		req := httptest.NewRequest(method, path, nil)
		req.Host = host
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		return served{rec.Code, rec.Result().Header, string(body)}
	}
	for _, host := range []string{"127.0.0.1:8458", "127.0.0.1", "127.9.8.7:1", "localhost", "LocalHost.:8458", "[::1]:8458", "[::1]",
		"tufpip.internal", "tufpip.internal:8458", "10.0.0.5:8458", "[fd00::5]:8458"} {
		r := do("GET", host, "/-/healthz")
		if r.status != 200 || r.body != "ok\n" {
			t.Errorf("Host %q: %d %q, want 200", host, r.status, r.body)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("Host %q: no X-Content-Type-Options: nosniff", host)
		}
	}
	for _, c := range []struct{ host, name string }{
		{"evil.example:8458", "evil.example"},
		{"localhost.evil.example", "localhost.evil.example"},
		{"127.0.0.1.nip.io:8458", "127.0.0.1.nip.io"},
		{"10.0.0.6:8458", "10.0.0.6"},
		{"tufpip.internal.evil.example", "tufpip.internal.evil.example"},
	} {
		r := do("GET", c.host, "/-/status")
		want := fmt.Sprintf("tufpip: refused: Host %q is not a name this proxy answers to (it answers to localhost, 127.0.0.1, [::1] and its --hostname list)\nhint: if clients reach the proxy as %s, start it with --hostname %s\n", c.host, c.name, c.name)
		if r.status != http.StatusMisdirectedRequest || r.body != want {
			t.Errorf("Host %q: %d %q, want 421 %q", c.host, r.status, r.body, want)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("Host %q: headers %v", c.host, r.header)
		}
	}
	if r := do("GET", "", "/-/healthz"); r.status != http.StatusMisdirectedRequest || !strings.HasPrefix(r.body, `tufpip: refused: Host "" is not a name this proxy answers to`) {
		t.Errorf("no Host: %d %q, want 421", r.status, r.body)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/", 302}, {"POST", "/simple/", 405}, {"GET", "/simple/Lib/", 301}, {"GET", "/nope", 404}} {
		r := do(c.method, "127.0.0.1:8458", c.path)
		if r.status != c.status || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d, nosniff %q; want %d with nosniff", c.method, c.path, r.status, r.header.Get("X-Content-Type-Options"), c.status)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{"A.Example.": "a.example", "[::1]": "::1", "::FFFF:127.0.0.1": "127.0.0.1", "10.0.0.5": "10.0.0.5", "tufpip_proxy": "tufpip_proxy"} {
		if got, err := NormalizeHost(in); err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a.example:8458", "a..b", "-a.example", "a b", "[::1", "é.example", "http://a"} {
		if got, err := NormalizeHost(bad); err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want an error", bad, got)
		}
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
