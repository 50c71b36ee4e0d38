package integration

// The harness of the attack matrix (matrix_test.go): one generated
// repository per row behind a hostile server, a fresh --home per column,
// and one runner per column that asserts the exit status or pip failure,
// the words the user reads, and that no unverified byte reached pip's
// --target dir, the output file or directory, or the artifact cache.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// ---- the hostile server ------------------------------------------------

// hostileRule is what the hostile server does instead of serving a path.
type hostileRule struct {
	// body is served (200) instead of the file.
	body []byte
	// status is answered, with a short body (or body, if set), instead
	// of the file.
	status int
	// redirect answers 302 to this URL.
	redirect string
	// cutAfter > 0 announces the file's full length, sends this many
	// bytes of it and drops the connection: a reset mid-body.
	cutAfter int
	// stallAfter > 0 announces the file's full length, sends this many
	// bytes of it and then nothing, until the client gives up.
	stallAfter int
}

// hostileHandler wraps repogen's static handler: by default it serves the
// repository as is; rules, set once the clients trust it, answer chosen
// paths the way a hostile mirror, CDN or network would.
type hostileHandler struct {
	next http.Handler

	mu    sync.Mutex
	rules map[string]hostileRule
	// hits counts the requests each rule answered.
	hits map[string]int
	// meta, if set, serves every /metadata/ path instead of next: a
	// mirror frozen at an older state of the repository.
	meta http.Handler
}

func (h *hostileHandler) set(path string, r hostileRule) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rules == nil {
		h.rules = map[string]hostileRule{}
	}
	h.rules[path] = r
}

// answered is how many requests the rule for path answered.
func (h *hostileHandler) answered(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

func (h *hostileHandler) freezeMetadata(dir string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.meta = repogen.NewHandler(dir)
}

func (h *hostileHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.mu.Lock()
	key := req.URL.Path
	rule, ok := h.rules[key]
	if !ok {
		key = req.URL.EscapedPath()
		rule, ok = h.rules[key]
	}
	if ok {
		if h.hits == nil {
			h.hits = map[string]int{}
		}
		h.hits[key]++
	}
	next := h.next
	if h.meta != nil && strings.HasPrefix(req.URL.Path, "/metadata/") {
		next = h.meta
	}
	h.mu.Unlock()
	switch {
	case !ok:
		next.ServeHTTP(w, req)
	case rule.redirect != "":
		http.Redirect(w, req, rule.redirect, http.StatusFound)
	case rule.status != 0 && rule.body != nil:
		w.WriteHeader(rule.status)
		w.Write(rule.body)
	case rule.status != 0:
		http.Error(w, "hostile server", rule.status)
	case rule.stallAfter > 0:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", itoa(int64(len(body))))
		w.Write(body[:min(rule.stallAfter, max(len(body)-1, 0))])
		http.NewResponseController(w).Flush()
		select {
		case <-req.Context().Done():
		case <-time.After(3 * time.Minute):
		}
	case rule.cutAfter > 0:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:min(rule.cutAfter, max(len(body)-1, 0))])
		buf.Flush()
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", itoa(int64(len(rule.body))))
		w.Write(rule.body)
	}
}

// ---- one row's world -----------------------------------------------------

// matrixEnv is one row's repository, clients and what the columns run.
// Rows change the fields in their setup.
type matrixEnv struct {
	tr  *testRepo
	h   *hostileHandler
	row *matrixRow
	// other is a second server ("another host") serving the same
	// repository, for redirects.
	other string
	homes map[string]string
	proxy *proxyProc
	// wheel is lib 1.1's wheel, what the columns fetch by default.
	wheel repogen.FileInfo

	// getTarget (and getBase, if set, as --base-url) is what "tufpip
	// get" asks for.
	getTarget, getBase string
	// dlReq is what "tufpip download" and pip ask for; dlArgs, if set,
	// replace dlReq (download --lock FILE, say).
	dlReq, pipReq string
	dlArgs        []string
	// verifyArgs follow "tufpip verify": files, or -r FILE.
	verifyArgs []string
	// proxyFile is the file name under /files/<project>/ the proxy cell
	// checks when the row refuses a file rather than a page.
	proxyProject, proxyFile string
	// frozen is a copy of the repository taken by a row's before.
	frozen string

	// With row.multi: pub is the second repository, pubServers its
	// server for each column (the proxy's included), and mapFile the
	// map file every column runs with.
	pub        *testRepo
	pubServers map[string]*countedRepo
	mapFile    string
}

// publicRepo is the name the second repository of a multi row is
// registered under.
const publicRepo = "public"

// multiSetup makes a row run with a TAP 4 map file over two
// repositories: the row's own (e.tr), registered as internal, and a
// second one, public, served to each column by a server of its own that
// records the requests it gets. Every column's home (the proxy's too)
// registers both with "tufpip init", and every command runs with --map
// instead of the single repository's flags.
type multiSetup struct {
	internal string
	// public are the projects the second repository publishes (the
	// row's setup may add more).
	public []repogen.ProjectSpec
	// mapping is the map file's "mapping" list; its "repositories" are
	// internal and public.
	mapping []mapping
	// neverAsked: no column's public server may receive a request whose
	// path contains one of these (lower case).
	neverAsked []string
}

// setupMulti generates the public repository, registers both in every
// column's home and writes the map file.
func (e *matrixEnv) setupMulti(t *testing.T, ms *multiSetup) {
	t.Helper()
	if e.tr.Layout != repogen.IndexLayoutPEP458 || e.row.prime {
		t.Fatal("a multi-repository row uses the pep458 layout (register's) and cannot prime")
	}
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), publicRepo), IndexLayout: repogen.IndexLayoutPEP458, BitLength: 6}, ms.public)
	if err != nil {
		t.Fatalf("generating the public repository: %v", err)
	}
	e.pub = &testRepo{Repo: r, Layout: repogen.IndexLayoutPEP458}
	e.pub.recordLegit(t)
	e.pubServers = map[string]*countedRepo{}
	internal := &countedRepo{Repo: e.tr.Repo, Name: ms.internal, URL: e.tr.URL}
	for _, c := range matrixColumns {
		e.pubServers[c] = serveCounted(t, publicRepo, r)
		register(t, e.homes[c], internal, e.pubServers[c])
	}
	e.mapFile = writeMap(t, mapOf([]string{ms.internal, publicRepo}, ms.mapping...))
}

// checkNeverAsked fails the cell if its public server received a
// request the row forbids, and the proxy's if its server received no
// request at all (the proxy refreshes every repository at start-up, so
// a server that saw nothing counts nothing).
func (e *matrixEnv) checkNeverAsked(t *testing.T, col string) {
	t.Helper()
	ms := e.row.multi
	if ms == nil || len(ms.neverAsked) == 0 {
		return
	}
	srv := e.pubServers[col]
	if asked := srv.asked(ms.neverAsked...); len(asked) > 0 {
		t.Errorf("the public repository was asked %q, which the map gives to %s only", asked, ms.internal)
	}
	if col == colProxy && srv.requests() == 0 {
		t.Errorf("the proxy's public server saw no request at all: it counts nothing")
	}
}

// newMatrixEnv generates the row's repository behind a hostile server.
func newMatrixEnv(t *testing.T, row *matrixRow) *matrixEnv {
	t.Helper()
	opts := row.opts
	opts.Dir = filepath.Join(t.TempDir(), "repo")
	if opts.IndexLayout == "" {
		opts.IndexLayout = repogen.IndexLayoutPEP458
	}
	if opts.BitLength == 0 {
		opts.BitLength = 6
	}
	specs := appAndLib()
	r, err := repogen.Generate(opts, specs)
	if err != nil {
		t.Fatalf("generating the %s repository: %v", opts.IndexLayout, err)
	}
	h := &hostileHandler{next: repogen.NewHandler(r.Dir())}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	other := httptest.NewServer(repogen.NewHandler(r.Dir()))
	t.Cleanup(other.Close)
	e := &matrixEnv{
		tr:    &testRepo{Repo: r, Layout: opts.IndexLayout, URL: srv.URL},
		h:     h,
		row:   row,
		other: other.URL,
		homes: map[string]string{},
	}
	e.tr.recordLegit(t)
	e.wheel = e.tr.file(t, "lib", "1.1", "wheel")
	e.getTarget = e.wheel.Path
	e.dlReq, e.pipReq = "lib==1.1", "lib==1.1"
	e.proxyProject, e.proxyFile = "lib", e.wheel.Filename
	genuine, err := os.ReadFile(e.tr.packagePath(e.wheel.Path))
	if err != nil {
		t.Fatal(err)
	}
	e.verifyArgs = []string{e.saveLocal(t, e.wheel.Filename, genuine)}
	for _, c := range matrixColumns {
		e.homes[c] = t.TempDir()
	}
	if row.multi != nil {
		e.setupMulti(t, row.multi)
	}
	return e
}

// saveLocal writes data as name into a new directory, as a user would
// keep a downloaded file, and returns its path.
func (e *matrixEnv) saveLocal(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// served reads what the repository now serves for a path relative to
// packages/.
func (e *matrixEnv) served(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(e.tr.packagePath(rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// expand fills the placeholders of an expected text: {bin} is the bin
// that signs lib 1.1's wheel, {wheel} its file name, {target} its target
// path, {page} lib's page target and {pagebin} the bin that signs it.
func (e *matrixEnv) expand(s string) string {
	return strings.NewReplacer(
		"{bin}", e.tr.BinFor(e.wheel.Path),
		"{wheel}", e.wheel.Filename,
		"{target}", e.wheel.Path,
		"{page}", e.tr.PageTarget("lib"),
		"{pagebin}", e.tr.BinFor(e.tr.PageTarget("lib")),
	).Replace(s)
}

// globals are the flags every command of the matrix gets: the ad-hoc
// repository, the shipped root and no freshness window, so that every
// command asks the repository. With a map file the repositories are
// those registered in home (mapArgs).
func (e *matrixEnv) globals(home string) []string {
	if e.mapFile != "" {
		return []string{"--home", home, "--freshness", "0"}
	}
	return []string{
		"--home", home,
		"--metadata-url", e.tr.URL + "/metadata/",
		"--index-url", e.tr.URL + "/simple/",
		"--files-url", e.tr.URL + "/packages/",
		"--layout", e.tr.Layout,
		"--root", filepath.Join(e.tr.Dir(), "trusted-root.json"),
		"--freshness", "0",
	}
}

// mapArgs are the flags of get, download and verify for a row's map
// file, if it has one.
func (e *matrixEnv) mapArgs() []string {
	if e.mapFile == "" {
		return nil
	}
	return []string{"--map", e.mapFile}
}

type matrixResult struct {
	code           int
	stdout, stderr string
}

func (r matrixResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// tufpip runs the built binary with the row's globals.
func (e *matrixEnv) tufpip(t *testing.T, home string, args ...string) matrixResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tufpipBin, append(e.globals(home), args...)...)
	cmd.Env = proxyEnv()
	cmd.Dir = t.TempDir()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	res := matrixResult{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("tufpip %s: timed out\n%s", strings.Join(args, " "), res)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("tufpip %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(res.stderr, "panic:") || strings.Contains(res.stderr, "goroutine ") {
		t.Errorf("tufpip %s panicked:\n%s", strings.Join(args, " "), res)
	}
	return res
}

// prime lets the command columns' homes trust the repository as it is
// now, the way a user who ran tufpip yesterday does.
func (e *matrixEnv) prime(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, len(matrixColumns))
	for i, c := range matrixColumns {
		if c == colProxy {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := e.tufpip(t, e.homes[c], "refresh"); res.code != 0 {
				errs[i] = fmt.Sprintf("priming the %s home: %s", c, res)
			}
		}()
	}
	wg.Wait()
	for _, msg := range errs {
		if msg != "" {
			t.Fatal(msg)
		}
	}
}

// ---- the columns ---------------------------------------------------------

// checkCLI asserts a command's exit status and words.
func (e *matrixEnv) checkCLI(t *testing.T, res matrixResult, want cellWant) {
	t.Helper()
	code := want.exit
	if want.ok {
		code = 0
	}
	bad := res.code != code
	out := res.stdout + res.stderr
	// Whatever the attack, nothing from the network reaches the
	// terminal raw (issue 10, item 5).
	if i := rawControl(out); i >= 0 {
		t.Errorf("the output has a raw control character at byte %d: %q", i, out[max(0, i-40):min(len(out), i+40)])
		bad = true
	}
	for _, s := range want.text {
		if !strings.Contains(out, e.expand(s)) {
			t.Errorf("the output does not say %q", e.expand(s))
			bad = true
		}
	}
	if res.code != code {
		t.Errorf("exit status %d, want %d", res.code, code)
	}
	if bad || os.Getenv("TUFPIP_MATRIX_LOG") != "" {
		t.Logf("tufpip said:\n%s", res)
	}
}

// matrixFiles lists every file below dir (none if dir does not exist).
func matrixFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// assertLegitFiles checks that every file below dir holds bytes the
// repository signed, and that there are want of them.
func (e *matrixEnv) assertLegitFiles(t *testing.T, dir string, want int) {
	t.Helper()
	files := matrixFiles(t, dir)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !e.tr.isLegit(data) {
			t.Errorf("%s (%d bytes) is not anything the repository signed", f, len(data))
		}
	}
	if len(files) != want {
		t.Errorf("%s holds %d files, want %d: %v", dir, len(files), want, files)
	}
}

func (e *matrixEnv) runGet(t *testing.T, want cellWant) {
	home := e.homes[colGet]
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append([]string{"get", e.getTarget, "-o", out}, e.mapArgs()...)
	if e.getBase != "" {
		args = append(args, "--base-url", e.getBase)
	}
	e.checkCLI(t, e.tufpip(t, home, args...), want)
	if want.ok {
		e.assertLegitFiles(t, dir, 1)
	} else {
		e.assertLegitFiles(t, dir, 0)
	}
	assertCacheVerified(t, home, e.tr)
}

func (e *matrixEnv) runDownload(t *testing.T, want cellWant) {
	home := e.homes[colDownload]
	parent := t.TempDir()
	dir := filepath.Join(parent, "dl")
	args := []string{e.dlReq}
	if e.dlArgs != nil {
		args = e.dlArgs
	}
	args = append(append(append([]string{"download"}, args...), "-d", dir), e.mapArgs()...)
	e.checkCLI(t, e.tufpip(t, home, args...), want)
	if want.ok {
		e.assertLegitFiles(t, parent, 1)
	} else {
		e.assertLegitFiles(t, parent, 0)
	}
	assertCacheVerified(t, home, e.tr)
}

func (e *matrixEnv) runVerify(t *testing.T, want cellWant) {
	home := e.homes[colVerify]
	before := map[string][]string{}
	for _, a := range e.verifyArgs {
		if a != "-r" {
			before[filepath.Dir(a)] = matrixFiles(t, filepath.Dir(a))
		}
	}
	e.checkCLI(t, e.tufpip(t, home, append(append([]string{"verify"}, e.mapArgs()...), e.verifyArgs...)...), want)
	for dir, files := range before {
		if after := matrixFiles(t, dir); len(after) != len(files) {
			t.Errorf("verify wrote next to the files it checked: %v", after)
		}
	}
	assertCacheVerified(t, home, e.tr)
}

// matrixPipArgs are attackPipArgs plus a socket timeout longer than the
// proxy's slow-retrieval guards, so that pip reports the proxy's refusal
// instead of giving up first.
var matrixPipArgs = append([]string{"--timeout", "120"}, attackPipArgs...)

func (e *matrixEnv) runProxy(t *testing.T, want cellWant) {
	if want.request != nil {
		e.runProxyRequest(t, want)
		return
	}
	py := requirePython(t)
	p := e.proxy
	target, out, err := pipInstall(t, py, p.URL, append(matrixPipArgs, e.pipReq)...)
	switch {
	case want.ok:
		if err != nil {
			t.Fatalf("pip failed:\n%s", out)
		}
		assertInstalled(t, py, target, map[string]string{"lib": "1.1"})
		if os.Getenv("TUFPIP_MATRIX_LOG") != "" {
			t.Logf("pip said:\n%s", out)
		}
		for _, s := range want.text {
			if !strings.Contains(out, e.expand(s)) {
				t.Errorf("pip's output does not say %q:\n%s", e.expand(s), out)
			}
		}
		if len(want.text) > 0 {
			if i := rawControl(out); i >= 0 {
				t.Errorf("pip's output has a raw control character at byte %d:\n%q", i, out)
			}
		}
		if n := assertCacheVerified(t, p.Home, e.tr); n == 0 {
			t.Errorf("the proxy's cache holds nothing after an install")
		}
		return
	case err == nil:
		t.Fatalf("pip succeeded through an attack:\n%s", out)
	}
	var u string
	switch want.at {
	case "page":
		u = p.URL + e.proxyProject + "/"
	case "file":
		u = p.Base + "/files/" + e.proxyProject + "/" + url.PathEscape(e.proxyFile)
	default:
		t.Fatalf("proxy expectation with no URL to check (at %q)", want.at)
	}
	if want.nomatch {
		if !strings.Contains(out, "No matching distribution found") {
			t.Errorf("pip does not say it found no matching distribution:\n%s", out)
		}
	} else if !pipReported(out, itoa(int64(want.status)), u) {
		t.Errorf("pip's output has no line with the proxy's HTTP status %d for %s:\n%s", want.status, u, out)
	}
	// What the proxy answered pip is in its log (and, but for the rows
	// whose every request takes half a minute, asked again here).
	if !e.row.slow || want.nomatch {
		res := get(t, "GET", u)
		body := string(res.Body)
		if res.Status != want.status || !strings.Contains(body, "tufpip: refused") {
			t.Errorf("GET %s: %d %q, want %d with a refusal", u, res.Status, body, want.status)
		}
		if i := rawControl(body); i >= 0 {
			t.Errorf("GET %s: the refusal has a raw control character at byte %d: %q", u, i, body)
		}
		for _, s := range want.text {
			if !strings.Contains(body, e.expand(s)) {
				t.Errorf("GET %s: the refusal %q does not say %q", u, body, e.expand(s))
			}
		}
		if os.Getenv("TUFPIP_MATRIX_LOG") != "" {
			t.Logf("GET %s: %d %q", u, res.Status, body)
		}
	}
	pu, _ := url.Parse(u)
	words := []string{"msg=refused", "path=" + pu.EscapedPath() + " ", "status=" + itoa(int64(want.status))}
	for _, s := range want.text {
		// slog quotes the reason, escaping its quotes.
		words = append(words, strings.ReplaceAll(e.expand(s), `"`, `\"`))
	}
	// The proxy's stderr is read by another goroutine: give the line of
	// the refusal just answered a moment to arrive.
	for deadline := time.Now().Add(5 * time.Second); !logHasLine(p.Log(), words...) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !logHasLine(p.Log(), words...) {
		t.Errorf("the proxy's log has no refusal of %s with status %d saying %q", pu.EscapedPath(), want.status, want.text)
	}
	if i := rawControl(p.Log()); i >= 0 {
		t.Errorf("the proxy's log has a raw control character at byte %d", i)
	}
	assertNothingInstalled(t, target)
	assertCacheVerified(t, p.Home, e.tr)
}

// runProxyRequest sends the row's own request to the proxy (an attack
// that is not made through pip) and checks the answer: the status, the
// refusal's words, no raw control characters, and that none of what the
// proxy would show its own clients (status page JSON, index pages) is in
// the answer.
func (e *matrixEnv) runProxyRequest(t *testing.T, want cellWant) {
	rq := want.request
	req, err := http.NewRequest(rq.method, e.proxy.Base+rq.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rq.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want.status || !strings.Contains(string(body), "tufpip: refused") {
		t.Fatalf("%s %s: %d %q, want %d with a refusal", rq.method, rq.path, resp.StatusCode, body, want.status)
	}
	for _, s := range want.text {
		if !strings.Contains(string(body), e.expand(s)) {
			t.Errorf("%s %s: the refusal %q does not say %q", rq.method, rq.path, body, e.expand(s))
		}
	}
	for _, leak := range []string{`"metadata_url"`, `"roles"`, "<a href", e.proxyFile} {
		if leak != "" && strings.Contains(string(body), leak) {
			t.Errorf("%s %s: the answer leaks %q: %q", rq.method, rq.path, leak, body)
		}
	}
	if i := rawControl(string(body)); i >= 0 {
		t.Errorf("the refusal has a raw control character at byte %d: %q", i, body)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
}
