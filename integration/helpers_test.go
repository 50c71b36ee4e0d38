package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
)

// ---- repositories ----------------------------------------------------

// testRepo is a generated repository served by a plain static server.
type testRepo struct {
	*repogen.Repo
	Layout string
	// URL is the static server's base, without a trailing slash.
	URL string

	mu sync.Mutex
	// legit maps the hex blake2b-256 of every byte string the repository
	// legitimately vouches for (signed targets, files of the signed page,
	// their core metadata) to its length.
	legit map[string]int64
}

// newRepo generates a repository with the given index layout into a temp
// dir and serves it on 127.0.0.1.
func newRepo(t *testing.T, layout string, specs []repogen.ProjectSpec) *testRepo {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), IndexLayout: layout}, specs)
	if err != nil {
		t.Fatalf("generating the %s repository: %v", layout, err)
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	t.Cleanup(srv.Close)
	tr := &testRepo{Repo: r, Layout: layout, URL: srv.URL}
	tr.recordLegit(t)
	return tr
}

// recordLegit adds what the repository now signs to the set the artifact
// cache may hold. Call it after every legitimate change (never after an
// attack): it reads core metadata files from disk.
func (tr *testRepo) recordLegit(t *testing.T) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.legit == nil {
		tr.legit = map[string]int64{}
	}
	for _, ts := range tr.Targets() {
		if b2 := ts.Hashes[repogen.HashBlake2b256]; b2 != "" {
			tr.legit[b2] = ts.Length
		}
	}
	for _, f := range tr.Files() {
		tr.legit[f.Hashes[repogen.HashBlake2b256]] = f.Length
		if f.MetadataPath != "" {
			data, err := os.ReadFile(tr.packagePath(f.MetadataPath))
			if err != nil {
				t.Fatalf("reading core metadata: %v", err)
			}
			tr.legit[hexB2(data)] = int64(len(data))
		}
	}
}

func (tr *testRepo) isLegit(data []byte) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n, ok := tr.legit[hexB2(data)]
	return ok && n == int64(len(data))
}

// packagePath is the file on disk of a path relative to packages/.
func (tr *testRepo) packagePath(rel string) string {
	return filepath.Join(tr.Dir(), "packages", filepath.FromSlash(rel))
}

// file returns the repository's file of project (normalized) version and
// kind ("wheel" or "sdist").
func (tr *testRepo) file(t *testing.T, project, version, kind string) repogen.FileInfo {
	t.Helper()
	for _, f := range tr.Files() {
		if f.Project == project && f.Version == version && f.Kind == kind {
			return f
		}
	}
	t.Fatalf("the repository has no %s of %s %s", kind, project, version)
	return repogen.FileInfo{}
}

func hexB2(data []byte) string {
	s := blake2b.Sum256(data)
	return hex.EncodeToString(s[:])
}

func hexSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ---- the proxy process -----------------------------------------------

// proxyProc is a running "tufpip proxy" process.
type proxyProc struct {
	// URL is the index URL pip uses: http://127.0.0.1:PORT/simple/.
	URL string
	// Base is http://127.0.0.1:PORT.
	Base string
	Home string

	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	stopped bool
}

type proxyOptions struct {
	// home is the --home; empty means a new temp dir.
	home string
	// freshness, if set, is passed as --freshness.
	freshness string
	// bin is the binary; empty means tufpipBin.
	bin string
	// globalsAfter puts the global flags after the subcommand, which
	// cobra accepts as well as before.
	globalsAfter bool
	// args are more proxy flags; env more environment variables.
	args, env []string
	// argv, if set, is the whole command line (after --home), for a
	// proxy that serves no single repository (a map file's).
	argv []string
}

// proxyArgs is the command line the tests run the proxy with: global
// flags before the subcommand, as in the README, unless o.globalsAfter.
func proxyArgs(tr *testRepo, o proxyOptions) []string {
	if o.argv != nil {
		return append([]string{"--home", o.home}, o.argv...)
	}
	globals := []string{
		"--home", o.home,
		"--metadata-url", tr.URL + "/metadata/",
		"--index-url", tr.URL + "/simple/",
		"--files-url", tr.URL + "/packages/",
		"--layout", tr.Layout,
		"--root", filepath.Join(tr.Dir(), "trusted-root.json"),
	}
	if o.freshness != "" {
		globals = append(globals, "--freshness", o.freshness)
	}
	cmd := append([]string{"proxy", "--listen", "127.0.0.1:0"}, o.args...)
	if o.globalsAfter {
		return append(cmd, globals...)
	}
	return append(globals, cmd...)
}

var servingLine = regexp.MustCompile(`serving verified files at (https?://\S+/simple/)`)

// startProxy starts the proxy and waits until it listens. It is stopped
// with SIGTERM when the test ends, and must then exit 0.
func startProxy(t *testing.T, tr *testRepo, o proxyOptions) *proxyProc {
	t.Helper()
	p, err := launchProxy(t, tr, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchProxy starts the proxy; the error says why it did not come up
// (its exit status and stderr), for tests that expect it to refuse.
func launchProxy(t *testing.T, tr *testRepo, o proxyOptions) (*proxyProc, error) {
	t.Helper()
	if o.home == "" {
		o.home = t.TempDir()
	}
	if o.bin == "" {
		o.bin = tufpipBin
	}
	p := &proxyProc{Home: o.home, log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(o.bin, proxyArgs(tr, o)...)
	p.cmd.Env = append(proxyEnv(), o.env...)
	p.cmd.Stdout = p.log
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.bin, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.log.WriteString(line + "\n")
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		io.Copy(p.log, stderr)
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case u := <-ready:
		p.URL = u
		p.Base = strings.TrimSuffix(u, "/simple/")
	case <-p.done:
		return nil, &proxyStartError{Err: p.waitErr, Log: p.log.String()}
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("the proxy did not say it was serving within 60s; its output:\n%s", p.log)
	}
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("proxy log (%s):\n%s", p.Base, p.log)
		}
	})
	return p, nil
}

// proxyStartError is a proxy that exited before serving.
type proxyStartError struct {
	Err error
	Log string
}

func (e *proxyStartError) Error() string {
	return fmt.Sprintf("the proxy exited before serving (%v); its output:\n%s", e.Err, e.Log)
}

// stop sends SIGTERM and asserts a graceful exit with status 0 and no
// data race report.
func (p *proxyProc) stop(t *testing.T) {
	t.Helper()
	if p.stopped {
		return
	}
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-p.done:
		default:
			t.Errorf("signalling the proxy: %v", err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("the proxy did not stop within 40s of SIGTERM")
	}
	if p.waitErr != nil {
		t.Errorf("the proxy did not exit cleanly after SIGTERM: %v", p.waitErr)
	}
	log := p.log.String()
	if !strings.Contains(log, "tufpip proxy stopped") {
		t.Errorf("the proxy did not report a graceful stop")
	}
	if strings.Contains(log, "DATA RACE") {
		t.Errorf("the race detector reported a data race in the proxy")
	}
	if strings.Contains(log, "panic:") {
		t.Errorf("the proxy panicked")
	}
}

// Log is everything the proxy wrote so far.
func (p *proxyProc) Log() string { return p.log.String() }

// proxyEnv is the environment without TUFPIP_* settings, which would
// override or add to the flags the tests pass.
func proxyEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TUFPIP_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(str string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(str)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- HTTP -------------------------------------------------------------

type httpResult struct {
	Status int
	Header http.Header
	Body   []byte
}

var noRedirects = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get does one request without following redirects.
func get(t *testing.T, method, url string, header ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return httpResult{resp.StatusCode, resp.Header, body}
}

// ---- pip ----------------------------------------------------------------

// requirePython returns python3 with a working pip. Without one the test
// is skipped locally and fails in CI, where these tests must run.
func requirePython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		// Resolve shims (pyenv's rehash step races between concurrent
		// pips) to the interpreter itself.
		var out []byte
		cmd := exec.Command(py, "-c", "import sys; print(sys.executable)")
		cmd.Env = pipEnv()
		if out, err = cmd.Output(); err == nil && strings.TrimSpace(string(out)) != "" {
			py = strings.TrimSpace(string(out))
		}
		cmd = exec.Command(py, "-m", "pip", "--version")
		cmd.Env = pipEnv()
		if out, err = cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
	}
	if err != nil {
		testenv.MissingPrerequisite(t, "python3 with pip not available: %v", err)
	}
	return py
}

// pipEnv is the environment without the machine's pip settings: an extra
// index or find-links (this machine sets PIP_FIND_LINKS) would let pip
// fetch around the proxy, and the tests would prove nothing.
func pipEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		// requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override
		// pip's --cert: the TLS tests need --cert to count.
		if strings.HasPrefix(kv, "PIP_") || strings.HasPrefix(kv, "PYTHONPATH=") ||
			strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") || strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_PYTHON_VERSION_WARNING=1",
		"PIP_ROOT_USER_ACTION=ignore",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONNOUSERSITE=1",
	)
	return append(env, extra...)
}

// pipTimeout bounds one pip run; a hang is a failure, not a stuck suite.
const pipTimeout = 3 * time.Minute

// runPip runs "py -m pip ARGS" and returns its combined output.
func runPip(t *testing.T, py string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-m", "pip"}, args...)...)
	cmd.Env = pipEnv()
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("pip %s: timed out after %v", strings.Join(args, " "), pipTimeout)
	}
	return string(out), err
}

// pipInstall installs reqs into a new --target dir through indexURL and
// returns the dir and pip's output.
func pipInstall(t *testing.T, py, indexURL string, args ...string) (target, out string, err error) {
	t.Helper()
	target = filepath.Join(t.TempDir(), "site")
	all := []string{"install", "--no-input", "--no-cache-dir", "--progress-bar", "off", "--index-url", indexURL, "--target", target}
	out, err = runPip(t, py, append(all, args...)...)
	return target, out, err
}

// mustPipInstall is pipInstall that fails the test if pip fails.
func mustPipInstall(t *testing.T, py, indexURL string, args ...string) string {
	t.Helper()
	target, out, err := pipInstall(t, py, indexURL, args...)
	if err != nil {
		t.Fatalf("pip install %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return target
}

// installed lists the distributions in a --target dir by their dist-info
// directories: normalized import-style name → version.
func installed(t *testing.T, target string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(target)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".dist-info")
		if !ok || !e.IsDir() {
			continue
		}
		name, version, ok := strings.Cut(base, "-")
		if !ok {
			t.Errorf("odd dist-info directory %s", e.Name())
			continue
		}
		got[strings.ToLower(name)] = version
	}
	return got
}

// assertInstalled checks that exactly want (dist name → version) was
// installed into target, and, with a python, that each imports with the
// right __version__.
func assertInstalled(t *testing.T, py, target string, want map[string]string) {
	t.Helper()
	got := installed(t, target)
	if !mapsEqual(got, want) {
		t.Errorf("installed %v, want %v", got, want)
		return
	}
	if py == "" {
		return
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	var code strings.Builder
	for _, n := range names {
		fmt.Fprintf(&code, "import %s; print(%q, %s.__version__)\n", n, n, n)
	}
	cmd := exec.Command(py, "-c", code.String())
	cmd.Env = pipEnv("PYTHONPATH=" + target)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("importing %v from %s: %v\n%s", names, target, err, out)
		return
	}
	for _, n := range names {
		if line := n + " " + want[n]; !strings.Contains(string(out), line+"\n") {
			t.Errorf("import check printed %q, want a line %q", out, line)
		}
	}
}

// assertNothingInstalled checks that target holds no file at all: a
// refused download must not leave a partial install.
func assertNothingInstalled(t *testing.T, target string) {
	t.Helper()
	var files []string
	filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) > 0 {
		t.Errorf("%d files reached the --target dir after a refusal, e.g. %s", len(files), files[0])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ---- the artifact cache -----------------------------------------------

// assertCacheVerified walks the proxy's artifact cache and checks that
// every stored file's bytes are something the repository signed, under
// the name of their own hash, and that no download was left behind in
// the temp dir. It returns how many artifacts the cache holds.
func assertCacheVerified(t *testing.T, home string, tr *testRepo) int {
	t.Helper()
	root := filepath.Join(home, "cache", "artifacts")
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if parts[0] == "tmp" {
			t.Errorf("artifact cache: unverified download left behind: %s", rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !tr.isLegit(data) {
			t.Errorf("artifact cache: %s (%d bytes, blake2b-256 %s) is not anything the repository signed", rel, len(data), hexB2(data))
		}
		if len(parts) == 4 && parts[0] == "artifacts" {
			if sum := hashHex(parts[1], data); sum != parts[3] {
				t.Errorf("artifact cache: %s holds bytes whose %s is %s", rel, parts[1], sum)
			}
		} else {
			t.Errorf("artifact cache: unexpected file %s", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Errorf("walking the artifact cache: %v", err)
	}
	return n
}

func hashHex(alg string, data []byte) string {
	switch alg {
	case "blake2b-256":
		return hexB2(data)
	case "sha256":
		return hexSHA256(data)
	case "sha512":
		s := sha512.Sum512(data)
		return hex.EncodeToString(s[:])
	}
	return "unknown algorithm " + alg
}

// ---- specs ----------------------------------------------------------------

// appAndLib is the core case: app depends on lib>=1.0; lib has an older
// release that must not be picked.
func appAndLib() []repogen.ProjectSpec {
	return []repogen.ProjectSpec{
		{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("0.9"), repogen.Release("1.0"), repogen.Release("1.1")}},
		{Name: "app", Releases: []repogen.ReleaseSpec{repogen.Release("1.0", "lib>=1.0")}},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
