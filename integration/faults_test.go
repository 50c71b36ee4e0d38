package integration

// Fault tests (DESIGN.md §2, promises 3 and 4): the built binary is killed
// mid-download and mid-refresh, runs out of disk, finds its cache
// read-only, shares its directories with other processes, runs under a
// skewed clock and loses its upstream. Each test checks that nothing half
// written is trusted or served and that the next run recovers.
//
// The helpers here (a repository server that can stall any response
// halfway, a runner for one tufpip process, checks of the metadata
// directory) are shared by every faults_*_test.go file.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
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

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufpip/tufpip/integration/repogen"
)

// ---- a repository server that can misbehave ------------------------------

// faultServer serves a generated repository like newRepo's server, except
// that a test can make it stall chosen responses halfway through the body.
type faultServer struct {
	inner http.Handler

	mu       sync.Mutex
	stalls   []*stall
	requests []string
}

// stall holds matching responses after half their bytes, until lifted or
// until the client goes away (which a SIGKILL makes it do).
type stall struct {
	match   func(path string) bool
	hit     chan struct{} // closed when the first response stalls
	hitOnce sync.Once
	release chan struct{}
	relOnce sync.Once
	fs      *faultServer
}

func (fs *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.requests = append(fs.requests, r.URL.Path)
	var st *stall
	for _, s := range fs.stalls {
		if s.match(r.URL.Path) {
			st = s
			break
		}
	}
	fs.mu.Unlock()
	if st == nil || r.Method != http.MethodGet {
		fs.inner.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	fs.inner.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body[:len(body)/2])
	http.NewResponseController(w).Flush()
	st.hitOnce.Do(func() { close(st.hit) })
	select {
	case <-st.release:
	case <-r.Context().Done():
	}
	// Returning short of Content-Length makes the server drop the
	// connection: the client sees a truncated body, never a complete one.
}

// stallOn makes responses for paths that match stall halfway.
func (fs *faultServer) stallOn(t *testing.T, match func(path string) bool) *stall {
	st := &stall{match: match, hit: make(chan struct{}), release: make(chan struct{}), fs: fs}
	fs.mu.Lock()
	fs.stalls = append(fs.stalls, st)
	fs.mu.Unlock()
	t.Cleanup(st.lift)
	return st
}

// stallPath stalls responses for exactly urlPath.
func (fs *faultServer) stallPath(t *testing.T, urlPath string) *stall {
	return fs.stallOn(t, func(p string) bool { return p == urlPath })
}

// lift stops stalling: held responses end (truncated), new ones are served.
func (st *stall) lift() {
	st.fs.mu.Lock()
	st.fs.stalls = slices.DeleteFunc(st.fs.stalls, func(s *stall) bool { return s == st })
	st.fs.mu.Unlock()
	st.relOnce.Do(func() { close(st.release) })
}

// await waits until a response stalled, failing the test if p exits first.
func (st *stall) await(t *testing.T, p *bgProc) {
	t.Helper()
	select {
	case <-st.hit:
	case <-p.done:
		t.Fatalf("tufpip exited (%v) before the server stalled; stderr:\n%s", p.err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no stalled request within 60s; stderr:\n%s", p.stderr.String())
	}
}

// newFaultRepo generates a repository and serves it through a faultServer.
func newFaultRepo(t *testing.T, layout string, specs []repogen.ProjectSpec) (*testRepo, *faultServer) {
	t.Helper()
	return newFaultRepoOpts(t, repogen.Options{IndexLayout: layout, BitLength: 4}, specs)
}

// newFaultRepoOpts is newFaultRepo with generator options (Dir is set).
func newFaultRepoOpts(t *testing.T, o repogen.Options, specs []repogen.ProjectSpec) (*testRepo, *faultServer) {
	t.Helper()
	o.Dir = filepath.Join(t.TempDir(), "repo")
	layout := o.IndexLayout
	r, err := repogen.Generate(o, specs)
	if err != nil {
		t.Fatalf("generating the %s repository: %v", layout, err)
	}
	fs := &faultServer{inner: repogen.NewHandler(r.Dir())}
	srv := httptest.NewServer(fs)
	t.Cleanup(func() {
		fs.mu.Lock()
		for _, st := range fs.stalls {
			st.relOnce.Do(func() { close(st.release) })
		}
		fs.mu.Unlock()
		srv.Close()
	})
	tr := &testRepo{Repo: r, Layout: layout, URL: srv.URL}
	tr.recordLegit(t)
	return tr, fs
}

// randomData returns n random bytes.
func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// addBigTarget signs a target of n random bytes at targetPath (served
// under /packages/) and returns its bytes.
func addBigTarget(t *testing.T, tr *testRepo, targetPath string, n int) []byte {
	t.Helper()
	data := randomData(t, n)
	if err := tr.AddTarget(targetPath, data); err != nil {
		t.Fatal(err)
	}
	tr.recordLegit(t)
	return data
}

// addBigWheel uploads project==version as a wheel that carries n random
// bytes, and returns the repository's record of it.
func addBigWheel(t *testing.T, tr *testRepo, project, version string, n int) repogen.FileInfo {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	dist := project + "-" + version + ".dist-info/"
	add(project+"/__init__.py", []byte("__version__ = \""+version+"\"\n"))
	add(project+"/blob.bin", randomData(t, n))
	add(dist+"METADATA", []byte("Metadata-Version: 2.1\nName: "+project+"\nVersion: "+version+"\n"))
	add(dist+"WHEEL", []byte("Wheel-Version: 1.0\nGenerator: tufpip-faults\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
	add(dist+"RECORD", nil)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), project+"-"+version+"-py3-none-any.whl")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddDistFiles(p); err != nil {
		t.Fatal(err)
	}
	tr.recordLegit(t)
	return tr.file(t, project, version, "wheel")
}

// ---- running tufpip ----------------------------------------------------------

// repoFlags are the global flags that point tufpip at tr with home.
func repoFlags(tr *testRepo, home string) []string {
	return []string{
		"--home", home,
		"--metadata-url", tr.URL + "/metadata/",
		"--index-url", tr.URL + "/simple/",
		"--files-url", tr.URL + "/packages/",
		"--layout", tr.Layout,
		"--root", filepath.Join(tr.Dir(), "trusted-root.json"),
	}
}

// cmdResult is how one tufpip process ended.
type cmdResult struct {
	Code           int
	Stdout, Stderr string
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// tufpipTimeout bounds one short tufpip command.
const tufpipTimeout = 2 * time.Minute

// runTufpip runs the binary with args (and extra environment) to the end.
func runTufpip(t *testing.T, env []string, args ...string) cmdResult {
	t.Helper()
	return runCommand(t, env, tufpipBin, args...)
}

// runCommand runs name with args to the end, with the tests' environment.
func runCommand(t *testing.T, env []string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tufpipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(proxyEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cmdResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out after %v\n%s", filepath.Base(name), strings.Join(args, " "), tufpipTimeout, res)
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", name, err)
	}
	if strings.Contains(res.Stderr, "panic:") || strings.Contains(res.Stderr, "DATA RACE") {
		t.Errorf("%s %s panicked or raced:\n%s", filepath.Base(name), strings.Join(args, " "), res.Stderr)
	}
	return res
}

// mustTufpip runs tufpip and fails the test unless it exits 0.
func mustTufpip(t *testing.T, args ...string) cmdResult {
	t.Helper()
	res := runTufpip(t, nil, args...)
	if res.Code != 0 {
		t.Fatalf("tufpip %s: %s", strings.Join(args, " "), res)
	}
	return res
}

// bgProc is a tufpip process running in the background, to be killed.
type bgProc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

// startTufpip starts tufpip with args; the test's end kills it if needed.
func startTufpip(t *testing.T, args ...string) *bgProc {
	t.Helper()
	p := &bgProc{cmd: exec.Command(tufpipBin, args...), done: make(chan struct{})}
	p.cmd.Env = proxyEnv()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(t) })
	return p
}

// kill sends SIGKILL, which nothing can catch or clean up after, and
// waits for the process to be gone.
func (p *bgProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Logf("SIGKILL: %v", err)
	}
	<-p.done
}

// killed asserts that the process died of SIGKILL, not of its own accord.
func (p *bgProc) killed(t *testing.T) {
	t.Helper()
	p.kill(t)
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		t.Fatalf("tufpip ended with %v before it was killed; stderr:\n%s", p.err, p.stderr.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("tufpip ended with %v, not by SIGKILL; stderr:\n%s", p.err, p.stderr.String())
	}
}

// waitUntil polls cond for up to 30s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- what is on disk ---------------------------------------------------------

// isTempName says whether name is a temporary file of tufpip's or go-tuf's.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".tufpip-tmp-") || strings.HasPrefix(name, "tuf_tmp")
}

// storeDir is the artifact store of home.
func storeDir(home string) string { return filepath.Join(home, "cache", "artifacts") }

// storeTemps lists the temporary files (downloads in progress or left by
// a crash) in home's artifact store, with their sizes.
func storeTemps(t *testing.T, home string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	ents, err := os.ReadDir(filepath.Join(storeDir(home), "tmp"))
	if errors.Is(err, fs.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			out[e.Name()] = fi.Size()
		}
	}
	return out
}

// assertStoreArtifactsVerified checks every non-temporary artifact in
// home's store (temporary files are allowed: this is for the moment right
// after a kill) and returns how many there are.
func assertStoreArtifactsVerified(t *testing.T, home string, tr *testRepo) int {
	t.Helper()
	root := filepath.Join(storeDir(home), "artifacts")
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if !tr.isLegit(data) || len(parts) != 3 || hashHex(parts[0], data) != parts[2] {
			t.Errorf("artifact cache: %s (%d bytes) is not a verified artifact under its own hash", rel, len(data))
		}
		n++
		return nil
	})
	return n
}

// assertDirEmpty checks that dir holds no file at all (a missing dir is
// empty).
func assertDirEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s holds %s, want nothing", dir, e.Name())
	}
}

// metadataDir is the (one) repository metadata directory under home.
func metadataDir(t *testing.T, home string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(home, "state", "repositories", "*", "metadata"))
	if len(m) != 1 {
		t.Fatalf("want one metadata directory under %s, found %v", home, m)
	}
	return m[0]
}

// diskVersions are the versions of the role files in a metadata directory.
type diskVersions map[string]int64

// assertMetadataDirVerified checks that every *.json file in dir is
// metadata signed by the keys that its delegator (on disk) assigns it,
// under its own role's name, and that the only other files are tufpip's
// freshness records and, if allowTemps, temporary files. It returns the
// version of each role file.
func assertMetadataDirVerified(t *testing.T, dir string, allowTemps bool) diskVersions {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("metadata directory: %v", err)
		}
		return b
	}
	root, err := metadata.Root().FromBytes(read("root.json"))
	if err != nil {
		t.Fatalf("metadata directory: root.json: %v", err)
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		t.Errorf("metadata directory: root.json is not signed by its own keys: %v", err)
	}
	vers := diskVersions{"root": root.Signed.Version}
	var top *metadata.Metadata[metadata.TargetsType]
	if b, err := os.ReadFile(filepath.Join(dir, "targets.json")); err == nil {
		if top, err = metadata.Targets().FromBytes(b); err != nil {
			t.Errorf("metadata directory: targets.json: %v", err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Delegated roles (bins) are kept in the delegated subdirectory, where
	// only role files belong.
	type entry struct {
		name      string
		isDir     bool
		delegated bool
	}
	var all []entry
	for _, e := range ents {
		all = append(all, entry{name: e.Name(), isDir: e.IsDir()})
	}
	if dents, err := os.ReadDir(filepath.Join(dir, "delegated")); err == nil {
		for _, e := range dents {
			all = append(all, entry{name: filepath.Join("delegated", e.Name()), isDir: e.IsDir(), delegated: true})
		}
	}
	for _, e := range all {
		name := e.name
		role, isJSON := strings.CutSuffix(filepath.Base(name), ".json")
		switch {
		case name == "delegated" && e.isDir:
			continue
		case e.delegated && (!isJSON || e.isDir):
			t.Errorf("metadata directory: unexpected %s", name)
			continue
		case e.delegated && (role == metadata.ROOT || role == metadata.TIMESTAMP || role == metadata.SNAPSHOT || role == metadata.TARGETS):
			t.Errorf("metadata directory: a delegated role file named like a top-level role: %s", name)
			continue
		case name == ".tufpip-state" || name == ".tufpip-snapshot-versions":
			continue
		case isTempName(name):
			if !allowTemps {
				t.Errorf("metadata directory: temporary file %s left behind", name)
			}
			continue
		case !isJSON || e.isDir:
			t.Errorf("metadata directory: unexpected %s", name)
			continue
		case role == metadata.ROOT:
			continue
		}
		if r, err := url.PathUnescape(role); err == nil {
			role = r
		}
		data := read(name)
		var ver int64
		switch {
		case e.delegated:
			md, err := metadata.Targets().FromBytes(data)
			if err == nil && top == nil {
				err = errors.New("no targets.json to check it against")
			}
			if err == nil {
				err, ver = top.VerifyDelegate(role, md), md.Signed.Version
			}
			if err != nil {
				t.Errorf("metadata directory: %s does not verify: %v", name, err)
			}
		case role == metadata.TIMESTAMP:
			md, err := metadata.Timestamp().FromBytes(data)
			if err == nil {
				err, ver = root.VerifyDelegate(role, md), md.Signed.Version
			}
			if err != nil {
				t.Errorf("metadata directory: %s does not verify: %v", name, err)
			}
		case role == metadata.SNAPSHOT:
			md, err := metadata.Snapshot().FromBytes(data)
			if err == nil {
				err, ver = root.VerifyDelegate(role, md), md.Signed.Version
			}
			if err != nil {
				t.Errorf("metadata directory: %s does not verify: %v", name, err)
			}
		case role == metadata.TARGETS:
			err := errors.New("unreadable")
			if top != nil {
				err, ver = root.VerifyDelegate(role, top), top.Signed.Version
			}
			if err != nil {
				t.Errorf("metadata directory: %s does not verify: %v", name, err)
			}
		default:
			md, err := metadata.Targets().FromBytes(data)
			if err == nil && top == nil {
				err = errors.New("no targets.json to check it against")
			}
			if err == nil {
				err, ver = top.VerifyDelegate(role, md), md.Signed.Version
			}
			if err != nil {
				t.Errorf("metadata directory: %s does not verify: %v", name, err)
			}
		}
		vers[role] = ver
	}
	return vers
}

// assertNotBackwards checks that no role in before has a lower version
// in after (a role may be missing from after only if it was a bin that
// the later state has not loaded).
func assertNotBackwards(t *testing.T, what string, before, after diskVersions) {
	t.Helper()
	for role, v := range before {
		if w, ok := after[role]; ok && w < v {
			t.Errorf("%s: trusted %s went back from version %d to %d", what, role, v, w)
		} else if !ok && (role == "root" || role == "timestamp" || role == "snapshot" || role == "targets") {
			t.Errorf("%s: trusted %s (version %d) disappeared", what, role, v)
		}
	}
}

var refreshLine = regexp.MustCompile(`root v(\d+), timestamp v(\d+), snapshot v(\d+), targets v(\d+)`)

// refreshed parses "tufpip refresh"'s report.
func refreshed(t *testing.T, res cmdResult) diskVersions {
	t.Helper()
	m := refreshLine.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("refresh printed no versions: %s", res)
	}
	v := diskVersions{}
	for i, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		v[role], _ = strconv.ParseInt(m[i+1], 10, 64)
	}
	return v
}

// ---- 1. killed mid-download --------------------------------------------------

// TestFaultKillMidDownload kills "tufpip get" and "tufpip download" with
// SIGKILL while the artifact is half downloaded: no output file, nothing
// unverified under a final name in the cache, and the next run succeeds
// and sweeps the dead download's temporary file.
func TestFaultKillMidDownload(t *testing.T) {
	t.Parallel()
	tr, srv := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())

	t.Run("get", func(t *testing.T) {
		const target = "blobs/big-1.0.bin"
		data := addBigTarget(t, tr, target, 8<<20)
		home, outDir := t.TempDir(), t.TempDir()
		out := filepath.Join(outDir, "big.bin")
		args := append(repoFlags(tr, home), "get", target, "-o", out)

		st := srv.stallPath(t, "/packages/"+target)
		p := startTufpip(t, args...)
		st.await(t, p)
		// Kill only once the half-received bytes are in the store's
		// temporary file: mid-write, the worst moment.
		waitUntil(t, "half the artifact is in a temporary file", func() bool {
			for _, n := range storeTemps(t, home) {
				if n >= int64(len(data)/2) {
					return true
				}
			}
			return false
		})
		p.killed(t)

		assertDirEmpty(t, outDir)
		if n := assertStoreArtifactsVerified(t, home, tr); n != 0 {
			t.Errorf("the cache holds %d artifacts after a killed download, want none", n)
		}
		if len(storeTemps(t, home)) == 0 {
			t.Fatal("no temporary file after the kill: the test did not kill mid-download")
		}

		st.lift()
		res := mustTufpip(t, args...)
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after recovery, -o holds %d bytes (%v), want the %d signed bytes", len(got), err, len(data))
		}
		if !strings.Contains(res.Stderr, "verified "+target) {
			t.Errorf("get did not report verification: %s", res)
		}
		if temps := storeTemps(t, home); len(temps) != 0 {
			t.Errorf("the dead download's temporary files were not swept: %v", temps)
		}
		if n := assertCacheVerified(t, home, tr); n != 1 {
			t.Errorf("the cache holds %d artifacts, want 1", n)
		}
		assertMetadataDirVerified(t, metadataDir(t, home), false)
	})

	t.Run("download", func(t *testing.T) {
		wheel := addBigWheel(t, tr, "bigpkg", "1.0", 4<<20)
		home, dest := t.TempDir(), t.TempDir()
		args := append(repoFlags(tr, home), "download", "bigpkg==1.0", "-d", dest)

		st := srv.stallPath(t, "/packages/"+wheel.Path)
		p := startTufpip(t, args...)
		st.await(t, p)
		// The server has sent half the wheel; the cache writes in
		// buffers (cache/overlap.go) while it hashes, so what is on disk
		// may trail what arrived by a buffer: a quarter is mid-write.
		waitUntil(t, "a quarter of the wheel is in a temporary file", func() bool {
			for _, n := range storeTemps(t, home) {
				if n >= wheel.Length/4 {
					return true
				}
			}
			return false
		})
		p.killed(t)

		assertDirEmpty(t, dest)
		if n := assertStoreArtifactsVerified(t, home, tr); n != 0 {
			t.Errorf("the cache holds %d artifacts after a killed download, want none", n)
		}

		st.lift()
		res := mustTufpip(t, args...)
		got, err := os.ReadFile(filepath.Join(dest, wheel.Filename))
		if err != nil || hexB2(got) != wheel.Hashes[repogen.HashBlake2b256] {
			t.Fatalf("after recovery, %s is not the signed wheel (%v)", wheel.Filename, err)
		}
		if !strings.Contains(res.Stdout, "verified "+wheel.Filename) {
			t.Errorf("download did not report verification: %s", res)
		}
		ents, _ := os.ReadDir(dest)
		if len(ents) != 1 {
			t.Errorf("the destination holds %d entries, want just the wheel", len(ents))
		}
		if temps := storeTemps(t, home); len(temps) != 0 {
			t.Errorf("the dead download's temporary files were not swept: %v", temps)
		}
		assertCacheVerified(t, home, tr)
	})
}

// ---- 2. killed mid-refresh ---------------------------------------------------

// TestFaultKillMidRefresh kills "tufpip refresh" while the snapshot is
// half downloaded (the new timestamp already verified and saved), and
// "tufpip get" while a bin is: the metadata directory holds only verified
// files, trust did not go backwards (a rollback to the timestamp trusted
// before the kill is refused), crash leftovers are swept, and the next
// runs succeed.
func TestFaultKillMidRefresh(t *testing.T) {
	t.Parallel()
	tr, srv := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	home := t.TempDir()
	flags := repoFlags(tr, home)
	wheel := tr.file(t, "lib", "1.1", "wheel")
	get := append(slices.Clone(flags), "get", wheel.Path, "-o", filepath.Join(t.TempDir(), "lib.whl"))

	first := refreshed(t, mustTufpip(t, append(flags, "refresh")...))
	mustTufpip(t, get...) // the wheel's bin is now on disk too
	dir := metadataDir(t, home)
	before := assertMetadataDirVerified(t, dir, false)
	if before["timestamp"] != first["timestamp"] {
		t.Fatalf("refresh reported timestamp v%d, the directory holds v%d", first["timestamp"], before["timestamp"])
	}

	// The repository moves on; the refresh that would follow it is
	// killed with the snapshot half received.
	if err := tr.ResignOnline(); err != nil {
		t.Fatal(err)
	}
	newTS, newSnap := tr.RoleVersion("timestamp"), tr.RoleVersion("snapshot")
	st := srv.stallPath(t, fmt.Sprintf("/metadata/%d.snapshot.json", newSnap))
	p := startTufpip(t, append(flags, "--refresh", "refresh")...)
	st.await(t, p)
	p.killed(t)
	st.lift()

	mid := assertMetadataDirVerified(t, dir, true)
	assertNotBackwards(t, "after the kill", before, mid)
	if mid["timestamp"] != newTS {
		t.Errorf("the timestamp verified before the kill (v%d) was not kept: the directory holds v%d", newTS, mid["timestamp"])
	}

	// A crash between go-tuf's or our temp-file write and its rename
	// leaves files like these; the next refresh (holding the lock) sweeps
	// those old enough not to belong to a live writer.
	old := time.Now().Add(-2 * time.Minute)
	for _, name := range []string{"tuf_tmp4242", ".tufpip-tmp-4242"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(`{"signed": {"_type": "timestamp", "version": 9999`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}

	// Trust only moves forward: the timestamp from before the kill is now
	// a rollback.
	if err := tr.Rollback("timestamp"); err != nil {
		t.Fatal(err)
	}
	res := runTufpip(t, nil, append(flags, "--refresh", "refresh")...)
	if res.Code != exitRepositoryError || !strings.Contains(res.Stderr, "timestamp") {
		t.Errorf("a rollback to the timestamp trusted before the kill was not refused: %s", res)
	}
	if err := tr.Heal(); err != nil {
		t.Fatal(err)
	}

	after := refreshed(t, mustTufpip(t, append(flags, "--refresh", "refresh")...))
	if after["timestamp"] != tr.RoleVersion("timestamp") || after["snapshot"] != tr.RoleVersion("snapshot") {
		t.Errorf("recovered refresh trusts %v, the repository is at timestamp v%d snapshot v%d", after, tr.RoleVersion("timestamp"), tr.RoleVersion("snapshot"))
	}
	final := assertMetadataDirVerified(t, dir, false)
	assertNotBackwards(t, "after recovery", mid, final)

	// Killed while a bin is half downloaded, during a lookup.
	if err := tr.ResignOnline(); err != nil {
		t.Fatal(err)
	}
	bin := tr.Targets()[wheel.Path].Bin
	st = srv.stallPath(t, fmt.Sprintf("/metadata/%d.%s.json", tr.RoleVersion(bin), bin))
	p = startTufpip(t, append(slices.Clone(get), "--refresh")...)
	st.await(t, p)
	p.killed(t)
	st.lift()
	midBin := assertMetadataDirVerified(t, dir, true)
	assertNotBackwards(t, "after the kill mid-bin", final, midBin)
	mustTufpip(t, get...)
	afterBin := assertMetadataDirVerified(t, dir, true)
	assertNotBackwards(t, "after the kill mid-bin", midBin, afterBin)
	if afterBin[bin] != tr.RoleVersion(bin) {
		t.Errorf("after recovery %s is v%d, the repository signs v%d", bin, afterBin[bin], tr.RoleVersion(bin))
	}
	assertCacheVerified(t, home, tr)
}

// TestFaultTornMetadataFile damages one file of the metadata directory
// the way a power loss can (a write that never reached the disk leaves
// the file empty or cut short) and checks that the next runs neither
// trust it nor get stuck on it: they fetch what is needed again.
func TestFaultTornMetadataFile(t *testing.T) {
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	wheel := tr.file(t, "lib", "1.1", "wheel")
	bin := tr.Targets()[wheel.Path].Bin
	for _, name := range []string{"root.json", "timestamp.json", "snapshot.json", "targets.json", "delegated/" + bin + ".json", ".tufpip-state", ".tufpip-snapshot-versions"} {
		for _, keep := range []string{"empty", "half"} {
			t.Run(name+"/"+keep, func(t *testing.T) {
				t.Parallel()
				home := t.TempDir()
				flags := repoFlags(tr, home)
				out := filepath.Join(t.TempDir(), "lib.whl")
				get := append(slices.Clone(flags), "get", wheel.Path, "-o", out)
				mustTufpip(t, get...)
				dir := metadataDir(t, home)
				before := assertMetadataDirVerified(t, dir, false)
				path := filepath.Join(dir, name)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				if keep == "half" {
					n = len(data) / 2
				}
				if err := os.WriteFile(path, data[:n], 0o600); err != nil {
					t.Fatal(err)
				}
				os.Remove(out)
				// Inside the freshness window, then a full refresh.
				mustTufpip(t, get...)
				if got, err := os.ReadFile(out); err != nil || hexB2(got) != wheel.Hashes[repogen.HashBlake2b256] {
					t.Fatalf("get with a torn %s wrote the wrong bytes (%v)", name, err)
				}
				mustTufpip(t, append(flags, "--refresh", "refresh")...)
				after := assertMetadataDirVerified(t, dir, false)
				assertNotBackwards(t, "after recovery", before, after)
			})
		}
	}
}
