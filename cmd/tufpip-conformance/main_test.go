package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tufpip-conformance-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tufpip-conformance")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// recorder serves a generated repository and records request paths.
type recorder struct {
	mu    sync.Mutex
	paths []string
	h     http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths
	r.paths = nil
	return p
}

func setup(t *testing.T) (*repogen.Repo, *recorder, string) {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 2}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{h: repogen.NewHandler(r.Dir())}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return r, rec, srv.URL + "/"
}

func client(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func jsonFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	return names
}

func TestInitRefreshDownload(t *testing.T) {
	r, rec, base := setup(t)
	md := filepath.Join(t.TempDir(), "metadata")
	rootFile := filepath.Join(t.TempDir(), "root.json")
	os.WriteFile(rootFile, r.TrustedRoot(), 0o644)

	if out, code := client(t, nil, "--metadata-dir", md, "init", rootFile); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("init made requests: %v", got)
	}
	if out, code := client(t, nil, "--metadata-url", base+"metadata/", "--metadata-dir", md, "refresh"); code != 0 {
		t.Fatalf("refresh: exit %d: %s", code, out)
	}
	// The root probe and timestamp.json are requested together (the
	// timestamp is verified after the root update), so they may arrive in
	// either order; then the snapshot, then targets.
	want := []string{"/metadata/2.root.json", "/metadata/timestamp.json", "/metadata/1.snapshot.json", "/metadata/1.targets.json"}
	got := rec.take()
	if len(got) == len(want) {
		slices.Sort(got[:2])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("refresh requests:\n got %v\nwant %v (the first two in either order)", got, want)
	}
	if got := jsonFiles(t, md); strings.Join(got, " ") != "root.json snapshot.json targets.json timestamp.json" {
		t.Fatalf("metadata dir holds %v", got)
	}

	// download: hash-prefixed target names, as generic TUF with
	// consistent snapshots requires.
	var wheel repogen.FileInfo
	for _, f := range r.Files() {
		if f.Kind == "wheel" {
			wheel = f
			break
		}
	}
	dirPart, file := path.Split(wheel.Path)
	prefixed := filepath.Join(r.Dir(), "packages", dirPart, wheel.Hashes["blake2b-256"]+"."+file)
	data, err := os.ReadFile(filepath.Join(r.Dir(), "packages", wheel.Path))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prefixed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	td := t.TempDir()
	args := []string{"--metadata-url", base + "metadata/", "--metadata-dir", md, "--target-name", wheel.Path, "--target-dir", td, "--target-base-url", base + "packages/", "download"}
	if out, code := client(t, nil, args...); code != 0 {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	got = rec.take()
	if last := got[len(got)-1]; last != "/packages/"+dirPart+wheel.Hashes["blake2b-256"]+"."+file {
		t.Fatalf("target fetched as %s", last)
	}
	saved, err := os.ReadFile(filepath.Join(td, strings.ReplaceAll(wheel.Path, "/", "%2F")))
	if err != nil || string(saved) != string(data) {
		t.Fatalf("downloaded target wrong: %v", err)
	}
	// Again: already there with matching hashes, not downloaded again.
	if out, code := client(t, nil, args...); code != 0 {
		t.Fatalf("second download: exit %d: %s", code, out)
	}
	for _, p := range rec.take() {
		if strings.HasPrefix(p, "/packages/") {
			t.Fatalf("target downloaded again: %s", p)
		}
	}
	// A target that does not exist: exit exactly 1.
	bad := append([]string{"--target-name", "no/such.whl"}, args...)
	if _, code := client(t, nil, bad...); code != 1 {
		t.Fatalf("unknown target: exit %d, want 1", code)
	}
	// A tampered target: exit 1, nothing written.
	os.WriteFile(prefixed, append(data, 'x'), 0o644)
	td2 := t.TempDir()
	args[7] = td2
	if _, code := client(t, nil, args...); code != 1 {
		t.Fatalf("tampered target: exit %d, want 1", code)
	}
	if ents, _ := os.ReadDir(td2); len(ents) != 0 {
		t.Fatalf("tampered target left %d files", len(ents))
	}
}

func TestUsageExitsOne(t *testing.T) {
	if _, code := client(t, nil, "refresh"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if _, code := client(t, nil, "--metadata-dir", t.TempDir(), "--metadata-url", "http://127.0.0.1:1/", "refresh"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}

// The suite moves the clock with libfaketime; Go bypasses libc, so the
// client must read the time from date(1) when FAKETIME is set.
func TestFaketime(t *testing.T) {
	ft, err := exec.LookPath("faketime")
	if err != nil {
		testenv.MissingPrerequisite(t, "faketime not installed (.ci/run installs it)")
	}
	r, _, base := setup(t)
	md := filepath.Join(t.TempDir(), "metadata")
	rootFile := filepath.Join(t.TempDir(), "root.json")
	os.WriteFile(rootFile, r.TrustedRoot(), 0o644)
	client(t, nil, "--metadata-dir", md, "init", rootFile)
	run := func(offset string) int {
		cmd := exec.Command(ft, "-f", offset, binary, "--metadata-url", base+"metadata/", "--metadata-dir", md, "refresh")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Logf("faketime %s: %s", offset, out)
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := run("+1h"); code != 0 {
		t.Fatalf("refresh 1h later: exit %d, want 0", code)
	}
	// The timestamp expires after a day.
	if code := run("+3d"); code != 1 {
		t.Fatalf("refresh 3 days later: exit %d, want 1 (expired timestamp)", code)
	}
}

// A role delegated by two bins, each with its own key, and signed only
// by the first's key: the target reached through the second bin is
// refused (exit 1, not written), though the role was already verified
// (through the first bin) in the same run. Delegated roles stay under
// their own names in the metadata directory, as the suite expects.
func TestMultiDelegatorRoleRefused(t *testing.T) {
	r, _, base := setup(t)
	files := r.Files()
	var a, b repogen.FileInfo
	for _, f := range files {
		if r.BinFor(f.Path) != r.BinFor(files[0].Path) {
			a, b = files[0], f
			break
		}
	}
	if a.Path == "" {
		t.Fatal("every file is in one bin")
	}
	if err := r.DelegateTargets("shared", []string{a.Path, b.Path}, true); err != nil {
		t.Fatal(err)
	}
	for _, f := range []repogen.FileInfo{a, b} {
		dirPart, file := path.Split(f.Path)
		data, err := os.ReadFile(filepath.Join(r.Dir(), "packages", f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.Dir(), "packages", dirPart, f.Hashes["blake2b-256"]+"."+file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md := filepath.Join(t.TempDir(), "metadata")
	rootFile := filepath.Join(t.TempDir(), "root.json")
	os.WriteFile(rootFile, r.TrustedRoot(), 0o644)
	if out, code := client(t, nil, "--metadata-dir", md, "init", rootFile); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	td := t.TempDir()
	out, code := client(t, nil, "--metadata-url", base+"metadata/", "--metadata-dir", md,
		"--target-name", a.Path, "--target-name", b.Path, "--target-dir", td, "--target-base-url", base+"packages/", "download")
	if code != 1 {
		t.Fatalf("download: exit %d, want 1: %s", code, out)
	}
	if !strings.Contains(out, "(role shared): as delegated by "+r.BinFor(b.Path)+": ") {
		t.Fatalf("output does not name the delegation:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(td, url.PathEscape(a.Path))); err != nil {
		t.Fatalf("the target signed through its own delegation was not written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(td, url.PathEscape(b.Path))); err == nil {
		t.Fatal("the target signed by the other delegation's key was written")
	}
	got := strings.Join(jsonFiles(t, md), " ")
	for _, want := range []string{r.BinFor(a.Path) + ".json", r.BinFor(b.Path) + ".json", "shared.json", "root.json", "timestamp.json"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Fatalf("metadata dir holds %s, not %s", got, want)
		}
	}
}
