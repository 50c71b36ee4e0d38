package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// Dependency prefetch (issue #15): when the proxy has verified a file's
// core metadata, it verifies the pages of the projects it requires in
// the background, so pip's next page request finds them ready.

// countingRepo is a generated repository behind a static server that
// counts requests by path and can hold answers back.
type countingRepo struct {
	*testRepo
	mu   sync.Mutex
	hits map[string]int
	// hold, if set, is waited for before answering a path it matches.
	hold func(path string) time.Duration
}

func newCountingRepo(t *testing.T, layout string, specs []repogen.ProjectSpec) *countingRepo {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), IndexLayout: layout}, specs)
	if err != nil {
		t.Fatalf("generating the %s repository: %v", layout, err)
	}
	cr := &countingRepo{hits: map[string]int{}}
	files := repogen.NewHandler(r.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cr.mu.Lock()
		cr.hits[req.URL.Path]++
		hold := cr.hold
		cr.mu.Unlock()
		if hold != nil {
			time.Sleep(hold(req.URL.Path))
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	cr.testRepo = &testRepo{Repo: r, Layout: layout, URL: srv.URL}
	cr.recordLegit(t)
	return cr
}

// pageHits is how often upstream was asked for any form of project's
// page (under /simple/<project>/).
func (cr *countingRepo) pageHits(project string) int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	n := 0
	for p, c := range cr.hits {
		if strings.HasPrefix(p, "/simple/"+project+"/") {
			n += c
		}
	}
	return n
}

type prefetchStatus struct {
	PageHits   int64 `json:"page_cache_hits"`
	PageMisses int64 `json:"page_cache_misses"`
	Prefetch   *struct {
		Queued   int64 `json:"queued"`
		Verified int64 `json:"verified"`
		Failed   int64 `json:"failed"`
		Running  int   `json:"running"`
	} `json:"prefetch"`
}

func proxyStatus(t *testing.T, p *proxyProc) prefetchStatus {
	t.Helper()
	res := get(t, "GET", p.Base+"/-/status")
	var st prefetchStatus
	if err := json.Unmarshal(res.Body, &st); err != nil {
		t.Fatalf("/-/status: %v: %s", err, res.Body)
	}
	return st
}

// waitPrefetch waits until the proxy's prefetches have settled (none
// queued or running) with at least n finished, and returns the status.
func waitPrefetch(t *testing.T, p *proxyProc, n int64) prefetchStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := proxyStatus(t, p)
		if st.Prefetch == nil {
			t.Fatalf("/-/status reports no prefetch; is it on?")
		}
		if done := st.Prefetch.Verified + st.Prefetch.Failed; done >= n && st.Prefetch.Running == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("prefetch did not settle: %+v", *st.Prefetch)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appMetadataURL(t *testing.T, tr *testRepo, p *proxyProc) string {
	t.Helper()
	return p.Base + "/files/app/" + tr.file(t, "app", "1.0", "wheel").Filename + ".metadata"
}

// After the proxy serves app's .metadata (which requires lib), lib's page
// is verified into the page cache before anyone asks: the request for it
// is a page-cache hit and upstream is not asked again.
func TestProxyPrefetchVerifiesDependencyPageBeforePipAsks(t *testing.T) {
	for _, layout := range []string{repogen.IndexLayoutPEP458, repogen.IndexLayoutSimplePath} {
		t.Run(layout, func(t *testing.T) {
			cr := newCountingRepo(t, layout, appAndLib())
			p := startProxy(t, cr.testRepo, proxyOptions{})
			if res := get(t, "GET", p.URL+"app/"); res.Status != 200 {
				t.Fatalf("app's page: %d %s", res.Status, res.Body)
			}
			if res := get(t, "GET", appMetadataURL(t, cr.testRepo, p)); res.Status != 200 || !strings.Contains(string(res.Body), "Requires-Dist: lib") {
				t.Fatalf("app's .metadata: %d %s", res.Status, res.Body)
			}
			st := waitPrefetch(t, p, 1)
			if st.Prefetch.Verified != 1 || st.Prefetch.Failed != 0 {
				t.Fatalf("prefetch: %+v, want lib verified", *st.Prefetch)
			}
			upstream := cr.pageHits("lib")
			if upstream == 0 {
				t.Fatalf("the prefetch never fetched lib's page upstream")
			}
			res := get(t, "GET", p.URL+"lib/")
			if res.Status != 200 || res.Header.Get("X-Tufpip-Verified") != "true" || !strings.Contains(string(res.Body), "lib-1.1") {
				t.Fatalf("lib's page: %d %s", res.Status, res.Body)
			}
			after := proxyStatus(t, p)
			if after.PageHits != st.PageHits+1 || after.PageMisses != st.PageMisses {
				t.Errorf("lib's page was not answered from the page cache: hits %d→%d, misses %d→%d", st.PageHits, after.PageHits, st.PageMisses, after.PageMisses)
			}
			if n := cr.pageHits("lib"); n != upstream {
				t.Errorf("upstream was asked for lib's page again (%d → %d requests)", upstream, n)
			}
			// The prefetched page's files are served, verified.
			w := cr.file(t, "lib", "1.1", "wheel")
			if res := get(t, "GET", p.Base+"/files/lib/"+w.Filename); res.Status != 200 || !cr.isLegit(res.Body) {
				t.Errorf("lib's wheel: %d", res.Status)
			}
		})
	}
}

// A dependency page that fails verification is never kept: the prefetch
// fails (and is only logged), and pip's later request for the page is
// verified again, upstream, and refused by that real check.
func TestProxyPrefetchNeverKeepsWhatFailsVerification(t *testing.T) {
	cr := newCountingRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	if err := cr.TamperPage("lib"); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, cr.testRepo, proxyOptions{args: []string{"--remember-refusals", "0"}})
	if res := get(t, "GET", appMetadataURL(t, cr.testRepo, p)); res.Status != 200 {
		t.Fatalf("app's .metadata: %d %s", res.Status, res.Body)
	}
	st := waitPrefetch(t, p, 1)
	if st.Prefetch.Failed != 1 || st.Prefetch.Verified != 0 {
		t.Fatalf("prefetch of the tampered page: %+v, want one failure", *st.Prefetch)
	}
	before := cr.pageHits("lib")
	res := get(t, "GET", p.URL+"lib/")
	if res.Status != http.StatusBadGateway || !strings.Contains(string(res.Body), "index page of lib") || !strings.Contains(string(res.Body), "mismatch") {
		t.Fatalf("lib's tampered page: %d %s, want 502 naming the hash mismatch", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), "lib-1.1") {
		t.Errorf("the refusal carries the tampered page's content")
	}
	after := proxyStatus(t, p)
	if after.PageMisses != st.PageMisses+1 {
		t.Errorf("the request for lib's page was not a page-cache miss (misses %d→%d): a failed prefetch left something behind", st.PageMisses, after.PageMisses)
	}
	if cr.pageHits("lib") <= before {
		t.Errorf("the refusal did not come from checking the page upstream again")
	}
	// Nothing of lib is served.
	w := cr.file(t, "lib", "1.1", "wheel")
	if res := get(t, "GET", p.Base+"/files/lib/"+w.Filename); res.Status == 200 {
		t.Errorf("lib's wheel served behind a tampered page")
	}
}

// The prefetch runs detached from the request that started it: a client
// that hangs up right after the .metadata does not cancel it, even when
// the dependency's page takes longer than the whole request.
func TestProxyPrefetchOutlivesTheClient(t *testing.T) {
	cr := newCountingRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	p := startProxy(t, cr.testRepo, proxyOptions{})
	get(t, "GET", p.URL+"app/")
	cr.mu.Lock()
	cr.hold = func(path string) time.Duration {
		if strings.HasPrefix(path, "/simple/lib/") {
			return 700 * time.Millisecond
		}
		return 0
	}
	cr.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", appMetadataURL(t, cr.testRepo, p), nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cancel() // pip goes away; the connection is closed
	client.CloseIdleConnections()
	st := waitPrefetch(t, p, 1)
	if st.Prefetch.Verified != 1 || st.Prefetch.Failed != 0 {
		t.Fatalf("prefetch after the client left: %+v, want lib verified", *st.Prefetch)
	}
	res := get(t, "GET", p.URL+"lib/")
	if after := proxyStatus(t, p); res.Status != 200 || after.PageHits != st.PageHits+1 {
		t.Errorf("lib's page: %d, hits %d→%d; want a page-cache hit", res.Status, st.PageHits, after.PageHits)
	}
}

// Real pip through the proxy: the install works, the prefetch verified
// lib, and lib's page was verified once: pip's request found the
// prefetched page or joined its verification, never a second one.
func TestProxyPrefetchPipInstall(t *testing.T) {
	py := requirePython(t)
	cr := newCountingRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	p := startProxy(t, cr.testRepo, proxyOptions{})
	target := mustPipInstall(t, py, p.URL, "app")
	assertInstalled(t, py, target, map[string]string{"app": "1.0", "lib": "1.1"})
	st := waitPrefetch(t, p, 1)
	if st.Prefetch.Verified < 1 || st.Prefetch.Failed != 0 {
		t.Errorf("prefetch during pip install: %+v", *st.Prefetch)
	}
	// pep458: one speculative fetch of the plain page, which verifies.
	if n := cr.pageHits("lib"); n != 1 {
		t.Errorf("upstream was asked for lib's page %d times, want 1 (one shared verification)", n)
	}
}

// --prefetch=false: nothing is verified ahead; lib's page waits for pip.
func TestProxyPrefetchOff(t *testing.T) {
	cr := newCountingRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	p := startProxy(t, cr.testRepo, proxyOptions{args: []string{"--prefetch=false"}})
	if res := get(t, "GET", appMetadataURL(t, cr.testRepo, p)); res.Status != 200 {
		t.Fatalf("app's .metadata: %d", res.Status)
	}
	time.Sleep(300 * time.Millisecond)
	if st := proxyStatus(t, p); st.Prefetch != nil {
		t.Errorf("/-/status reports a prefetch with --prefetch=false: %+v", *st.Prefetch)
	}
	if n := cr.pageHits("lib"); n != 0 {
		t.Errorf("lib's page was fetched %d times before anyone asked", n)
	}
}
