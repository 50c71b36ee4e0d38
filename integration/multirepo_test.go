package integration

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// countedRepo is a generated repository behind its own 127.0.0.1 server
// that records every request path, so tests can show what a repository
// was never asked.
type countedRepo struct {
	*repogen.Repo
	Name string
	URL  string

	mu    sync.Mutex
	paths []string
	// down makes the server answer every request with 503.
	down bool
}

func newCountedRepo(t *testing.T, name string, specs []repogen.ProjectSpec) *countedRepo {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), name), IndexLayout: repogen.IndexLayoutPEP458}, specs)
	if err != nil {
		t.Fatalf("generating repository %s: %v", name, err)
	}
	return serveCounted(t, name, r)
}

// serveCounted serves r on a new 127.0.0.1 server of its own that
// records every request path: several servers of one repository count
// separately.
func serveCounted(t *testing.T, name string, r *repogen.Repo) *countedRepo {
	t.Helper()
	cr := &countedRepo{Repo: r, Name: name}
	files := repogen.NewHandler(r.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cr.mu.Lock()
		cr.paths = append(cr.paths, req.URL.Path)
		down := cr.down
		cr.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	cr.URL = srv.URL
	return cr
}

// asked lists the request paths that mention any of words.
func (cr *countedRepo) asked(words ...string) []string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	var out []string
	for _, p := range cr.paths {
		for _, w := range words {
			if strings.Contains(strings.ToLower(p), w) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func (cr *countedRepo) setDown(down bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.down = down
}

func (cr *countedRepo) requests() int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return len(cr.paths)
}

// register runs "tufpip init" for each repository into home.
func register(t *testing.T, home string, repos ...*countedRepo) {
	t.Helper()
	for _, cr := range repos {
		mustTufpip(t, "--home", home, "--metadata-url", cr.URL+"/metadata/", "--index-url", cr.URL+"/simple/",
			"--files-url", cr.URL+"/packages/", "--layout", "pep458", "--root", filepath.Join(cr.Dir(), "trusted-root.json"),
			"init", cr.Name)
	}
}

// writeMap writes a map file and returns its path.
func writeMap(t *testing.T, m any) string {
	t.Helper()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "map.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type mapping struct {
	Paths        []string `json:"paths"`
	Repositories []string `json:"repositories"`
	Threshold    int      `json:"threshold"`
	Terminating  bool     `json:"terminating"`
}

func mapOf(repos []string, ms ...mapping) map[string]any {
	r := map[string][]string{}
	for _, n := range repos {
		r[n] = []string{}
	}
	return map[string]any{"repositories": r, "mapping": ms}
}

func startMapProxy(t *testing.T, home, mapPath string, extra ...string) *proxyProc {
	t.Helper()
	return startProxy(t, nil, proxyOptions{home: home, argv: append([]string{"proxy", "--listen", "127.0.0.1:0", "--map", mapPath}, extra...)})
}

func release(name string, versions ...string) repogen.ProjectSpec {
	p := repogen.ProjectSpec{Name: name}
	for _, v := range versions {
		p.Releases = append(p.Releases, repogen.ReleaseSpec{Version: v})
	}
	return p
}

// TestMultiRepoDependencyConfusion: corp-* is mapped, terminating, to
// the internal repository; the public one publishes corp-auth 99.0,
// validly signed by its own keys. pip installs corp's 1.2, and the
// public server never received a request naming corp-auth.
func TestMultiRepoDependencyConfusion(t *testing.T) {
	py := requirePython(t)
	corp := newCountedRepo(t, "corp", []repogen.ProjectSpec{release("corp-auth", "1.2")})
	public := newCountedRepo(t, "public", []repogen.ProjectSpec{release("corp-auth", "99.0"), release("corp-billing", "99.0"), release("pubtool", "3.0")})
	home := t.TempDir()
	register(t, home, corp, public)
	m := writeMap(t, mapOf([]string{"corp", "public"},
		mapping{Paths: []string{"corp-*"}, Repositories: []string{"corp"}, Threshold: 1, Terminating: true},
		mapping{Paths: []string{"*"}, Repositories: []string{"public"}, Threshold: 1}))
	p := startMapProxy(t, home, m)

	target, out, err := pipInstall(t, py, p.URL, "corp-auth")
	t.Logf("pip install corp-auth through the proxy:\n%s", out)
	if err != nil {
		t.Fatalf("pip install corp-auth: %v\n%s", err, out)
	}
	assertInstalled(t, py, target, map[string]string{"corp_auth": "1.2"})
	if _, out, err := pipInstall(t, py, p.URL, "corp-auth==99.0"); err == nil {
		t.Fatalf("pip installed the public corp-auth 99.0:\n%s", out)
	}
	// A corp-* name corp does not have (yet) is not taken from public:
	// the mapping is terminating.
	if _, out, err := pipInstall(t, py, p.URL, "corp-billing"); err == nil {
		t.Fatalf("pip installed the public corp-billing:\n%s", out)
	}
	if r := get(t, "GET", p.URL+"corp-billing/"); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "mapping 1 is terminating, so no other repository is asked") {
		t.Fatalf("corp-billing: status %d, body %q; want 404 saying mapping 1 is terminating", r.Status, r.Body)
	}
	// The public repository works, and is asked, for what it is mapped.
	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "pubtool"), map[string]string{"pubtool": "3.0"})
	if len(public.asked("pubtool")) == 0 {
		t.Fatalf("the public server's counter saw no request for pubtool: it counts nothing")
	}
	// Nothing the public repository publishes is served under corp's name.
	pubWheel := public.Files()
	for _, f := range pubWheel {
		if r := get(t, "GET", p.Base+"/files/corp-auth/"+f.Filename); r.Status != http.StatusNotFound {
			t.Errorf("/files/corp-auth/%s: status %d, want 404", f.Filename, r.Status)
		}
		if f.Project == "pubtool" {
			if r := get(t, "GET", p.Base+"/files/corp-auth/"+f.Filename); r.Status == http.StatusOK {
				t.Errorf("the public pubtool file was served under corp-auth")
			}
		}
	}
	if asked := public.asked("corp-auth", "corp_auth", "corp-billing", "corp_billing"); len(asked) > 0 {
		t.Fatalf("the public repository was asked for a corp-* name: %q", asked)
	}
	log := p.Log()
	if !strings.Contains(log, `msg="verified page" project=corp-auth mapping=1 repositories=corp`) {
		t.Errorf("the proxy log does not say corp vouched for corp-auth:\n%s", log)
	}
	if !strings.Contains(log, "repositories=corp from=corp") {
		t.Errorf("the served-file line does not name the repository:\n%s", log)
	}
	var st struct {
		Pages []struct {
			Project      string
			Repositories []string
			Files        map[string][]string
		}
	}
	if err := json.Unmarshal(get(t, "GET", p.Base+"/-/status").Body, &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pg := range st.Pages {
		if pg.Project == "corp-auth" {
			found = true
			if strings.Join(pg.Repositories, ",") != "corp" || strings.Join(pg.Files["corp_auth-1.2-py3-none-any.whl"], ",") != "corp" {
				t.Errorf("/-/status vouchers for corp-auth: %+v", pg)
			}
		}
	}
	if !found {
		t.Errorf("/-/status lists no vouchers for corp-auth: %+v", st)
	}
}

// TestMultiRepoConsensus: threshold 2 of {corp-mirror, public}. A file
// both sign identically installs; one whose bytes differ is refused
// naming both; one only public has is left out.
func TestMultiRepoConsensus(t *testing.T) {
	py := requirePython(t)
	mirror := newCountedRepo(t, "corp-mirror", []repogen.ProjectSpec{{Name: "shared", Releases: []repogen.ReleaseSpec{
		{Version: "1.0"}, {Version: "2.0", Dependencies: []string{"evil>=1"}}}}})
	public := newCountedRepo(t, "public", []repogen.ProjectSpec{release("shared", "1.0", "2.0", "3.0")})
	var same, differ bool
	for _, a := range mirror.Files() {
		for _, b := range public.Files() {
			if a.Filename == b.Filename {
				eq := a.Hashes[repogen.HashBlake2b256] == b.Hashes[repogen.HashBlake2b256]
				same = same || a.Version == "1.0" && eq
				differ = differ || a.Version == "2.0" && !eq
			}
		}
	}
	if !same || !differ {
		t.Fatalf("precondition: shared 1.0 identical (%v) and 2.0 different (%v) in both repositories", same, differ)
	}
	home := t.TempDir()
	register(t, home, mirror, public)
	m := writeMap(t, mapOf([]string{"corp-mirror", "public"},
		mapping{Paths: []string{"*"}, Repositories: []string{"corp-mirror", "public"}, Threshold: 2, Terminating: true}))
	p := startMapProxy(t, home, m)

	target, out, err := pipInstall(t, py, p.URL, "shared")
	if err != nil {
		t.Fatalf("pip install shared: %v\n%s", err, out)
	}
	assertInstalled(t, py, target, map[string]string{"shared": "1.0"})
	for _, v := range []string{"2.0", "3.0"} {
		if _, out, err := pipInstall(t, py, p.URL, "shared=="+v); err == nil {
			t.Fatalf("pip installed shared %s:\n%s", v, out)
		}
	}
	page := string(get(t, "GET", p.URL+"shared/").Body)
	if !strings.Contains(page, "shared-1.0-py3-none-any.whl") || strings.Contains(page, "shared-2.0") || strings.Contains(page, "shared-3.0") {
		t.Fatalf("the page lists other than the agreed file:\n%s", page)
	}
	r := get(t, "GET", p.Base+"/files/shared/shared-2.0-py3-none-any.whl")
	body := string(r.Body)
	if r.Status != http.StatusNotFound || !strings.Contains(body, "disagree") || !strings.Contains(body, "corp-mirror") || !strings.Contains(body, "public") {
		t.Fatalf("the disputed file: status %d, body %q; want 404 naming corp-mirror and public", r.Status, body)
	}
	r = get(t, "GET", p.Base+"/files/shared/shared-3.0-py3-none-any.whl")
	if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "only public") {
		t.Fatalf("the file only public has: status %d, body %q", r.Status, r.Body)
	}
	if !strings.Contains(p.Log(), "repositories=corp-mirror,public") {
		t.Errorf("the log does not say both repositories vouched for shared 1.0:\n%s", p.Log())
	}
	status := string(get(t, "GET", p.Base+"/-/status").Body)
	if !strings.Contains(status, `"shared-1.0-py3-none-any.whl": [`) || !strings.Contains(status, "shared-2.0-py3-none-any.whl") {
		t.Errorf("/-/status does not say who vouched for shared's files:\n%s", status)
	}
}

// TestMultiRepoRouting: the first matching mapping decides even when a
// later one offers a higher version; a non-terminating mapping that
// finds nothing falls through; a name no mapping matches is 404 with a
// reason, and no repository is asked.
func TestMultiRepoRouting(t *testing.T) {
	py := requirePython(t)
	corp := newCountedRepo(t, "corp", []repogen.ProjectSpec{release("app", "1.0")})
	public := newCountedRepo(t, "public", []repogen.ProjectSpec{release("app", "5.0"), release("alpha", "2.0"), release("zzz", "1.0")})
	home := t.TempDir()
	register(t, home, corp, public)
	m := writeMap(t, mapOf([]string{"corp", "public"},
		mapping{Paths: []string{"app", "a*"}, Repositories: []string{"corp"}, Threshold: 1},
		mapping{Paths: []string{"a*"}, Repositories: []string{"public"}, Threshold: 1}))
	p := startMapProxy(t, home, m)

	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "app"), map[string]string{"app": "1.0"})
	if asked := public.asked("/app"); len(asked) > 0 {
		t.Errorf("public was asked for app, which mapping 1 decided: %q", asked)
	}
	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "alpha"), map[string]string{"alpha": "2.0"})
	// corp signs no page for alpha (its bins say so: no page request);
	// mapping 1 is not terminating, so mapping 2 asks public.
	if !strings.Contains(p.Log(), `msg="mapping did not reach its threshold" project=alpha mapping=1`) || len(public.asked("alpha")) == 0 {
		t.Errorf("alpha should be tried in corp (mapping 1), then public (mapping 2): public asked %q\n%s", public.asked("alpha"), p.Log())
	}
	before := corp.requests() + public.requests()
	r := get(t, "GET", p.URL+"zzz/")
	if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "no mapping of the map file matches it") {
		t.Fatalf("unmapped zzz: status %d, body %q", r.Status, r.Body)
	}
	if after := corp.requests() + public.requests(); after != before {
		t.Errorf("an unmapped name was looked up upstream (%d requests)", after-before)
	}
	if _, out, err := pipInstall(t, py, p.URL, "zzz"); err == nil {
		t.Fatalf("pip installed unmapped zzz:\n%s", out)
	}
}

// TestMultiRepoBrokenMap: every broken map stops the proxy at start-up
// with exit 2 and a message saying what is wrong; nothing is served.
func TestMultiRepoBrokenMap(t *testing.T) {
	corp := newCountedRepo(t, "corp", []repogen.ProjectSpec{release("app", "1.0")})
	home := t.TempDir()
	register(t, home, corp)
	ok := mapping{Paths: []string{"*"}, Repositories: []string{"corp"}, Threshold: 1}
	bad := func(f func(m *mapping)) map[string]any { m := ok; f(&m); return mapOf([]string{"corp"}, m) }
	cases := []struct {
		name string
		m    any
		want string
	}{
		{"unknown repository", mapOf([]string{"corp", "nope"}, ok), `unknown repository "nope": it is not registered`},
		{"mapping names unlisted", bad(func(m *mapping) { m.Repositories = []string{"corp", "other"} }), `unknown repository "other": not in the map's "repositories"`},
		{"threshold above", bad(func(m *mapping) { m.Threshold = 2 }), "mapping[0].threshold: 2: want 1 to 1"},
		{"threshold zero", bad(func(m *mapping) { m.Threshold = 0 }), "mapping[0].threshold: 0: want 1 to 1"},
		{"empty paths", bad(func(m *mapping) { m.Paths = nil }), "mapping[0].paths: empty"},
		{"bad glob", bad(func(m *mapping) { m.Paths = []string{"corp-["} }), `bad pattern "corp-["`},
		{"unknown field", map[string]any{"repositories": map[string][]string{"corp": {}}, "mapping": []any{map[string]any{"paths": []string{"*"}, "repositories": []string{"corp"}, "threshold": 1, "treshold": 1}}}, `unknown field "treshold"`},
		{"wrong URL", map[string]any{"repositories": map[string][]string{"corp": {"http://127.0.0.1:1/metadata/"}}, "mapping": []mapping{ok}}, "is not the metadata URL"},
		{"no mapping", mapOf([]string{"corp"}), "mapping: empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := corp.requests()
			res := runTufpip(t, nil, "--home", home, "proxy", "--listen", "127.0.0.1:0", "--map", writeMap(t, tc.m))
			if res.Code != 2 || !strings.Contains(res.Stderr, tc.want) || !strings.Contains(res.Stderr, "hint: fix the map file") {
				t.Fatalf("want exit 2 with %q and a hint:\n%s", tc.want, res)
			}
			if strings.Contains(res.Stderr, "serving") || corp.requests() != before {
				t.Fatalf("a broken map served or asked the repository:\n%s", res)
			}
		})
	}
}

// TestMultiRepoOneExpired: the public repository's timestamp expires;
// its projects are refused with the expiry, while corp's keep
// installing.
func TestMultiRepoOneExpired(t *testing.T) {
	py := requirePython(t)
	corp := newCountedRepo(t, "corp", []repogen.ProjectSpec{release("corp-auth", "1.2")})
	public := newCountedRepo(t, "public", []repogen.ProjectSpec{release("pubtool", "3.0")})
	home := t.TempDir()
	register(t, home, corp, public)
	m := writeMap(t, mapOf([]string{"corp", "public"},
		mapping{Paths: []string{"corp-*"}, Repositories: []string{"corp"}, Threshold: 1, Terminating: true},
		mapping{Paths: []string{"*"}, Repositories: []string{"public"}, Threshold: 1}))
	p := startMapProxy(t, home, m, "--freshness", "0")
	if err := public.ExpireTimestamp(); err != nil {
		t.Fatal(err)
	}
	r := get(t, "GET", p.URL+"pubtool/")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "public") || !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("pubtool from the expired repository: status %d, body %q; want 503 naming public and the expiry", r.Status, r.Body)
	}
	if _, out, err := pipInstall(t, py, p.URL, "pubtool"); err == nil {
		t.Fatalf("pip installed from an expired repository:\n%s", out)
	}
	assertInstalled(t, py, mustPipInstall(t, py, p.URL, "corp-auth"), map[string]string{"corp_auth": "1.2"})
}

// TestMultiRepoNoStaleFallback: with a map file the proxy never serves a
// page it verified earlier in place of one a repository cannot deliver
// now (the single repository's stale fallback, stale rows of the attack
// matrix): corp goes down after corp-auth's page was served, and the
// page is refused, not served stale.
func TestMultiRepoNoStaleFallback(t *testing.T) {
	corp, _, home, m := confusionRepos(t)
	p := startMapProxy(t, home, m, "--freshness", "0")
	if r := get(t, "GET", p.URL+"corp-auth/"); r.Status != http.StatusOK {
		t.Fatalf("corp-auth before corp goes down: %d %q", r.Status, r.Body)
	}
	corp.setDown(true)
	before := corp.requests()
	r := get(t, "GET", p.URL+"corp-auth/")
	if r.Status < 500 || !strings.Contains(string(r.Body), "tufpip: refused") || !strings.Contains(string(r.Body), "503") {
		t.Fatalf("corp-auth with corp down: %d %q; want a 5xx refusal naming corp's 503", r.Status, r.Body)
	}
	t.Logf("corp-auth with corp down: %d %q", r.Status, r.Body)
	if h := r.Header.Get("X-Tufpip-Stale"); h != "" {
		t.Fatalf("served stale with a map file: X-Tufpip-Stale %q", h)
	}
	if corp.requests() == before {
		t.Fatalf("the proxy did not ask corp again (freshness 0): the refusal proves nothing")
	}
}
