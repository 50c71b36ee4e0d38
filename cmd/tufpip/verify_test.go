package main

import (
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/integration/repogen"
)

func verifyProjects() []repogen.ProjectSpec {
	return []repogen.ProjectSpec{
		{Name: "alpha", Releases: []repogen.ReleaseSpec{{Version: "1.0.0", Dists: repogen.Wheel | repogen.Sdist}, {Version: "1.1.0"}}},
		{Name: "beta", Releases: []repogen.ReleaseSpec{{Version: "2.0.0"}}},
	}
}

const (
	alphaWheel = "alpha-1.0.0-py3-none-any.whl"
	alphaSdist = "alpha-1.0.0.tar.gz"
	betaWheel  = "beta-2.0.0-py3-none-any.whl"
)

func TestVerifyLayouts(t *testing.T) {
	for _, layout := range []string{repogen.IndexLayoutPEP458, repogen.IndexLayoutSimplePath, repogen.IndexLayoutDistsOnly, repogen.IndexLayoutIndexOnly} {
		t.Run(layout, func(t *testing.T) {
			tr := newTestRepo(t, repogen.Options{IndexLayout: layout, BitLength: 4}, verifyProjects()...)
			dir := t.TempDir()
			for _, f := range []string{alphaWheel, alphaSdist, betaWheel} {
				tr.copyFile(f, dir)
			}
			code, out, errOut := tr.run("verify", dir)
			wantCode(t, code, 0, out, errOut)
			wantContains(t, "stdout", out, "ok      "+alphaSdist+"\n", "ok      "+alphaWheel+"\n", "ok      "+betaWheel+"\n", "3 verified, 0 failed\n")
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, verifyProjects()...)
	dir := t.TempDir()
	good := tr.copyFile(betaWheel, dir)
	tampered := tr.copyFile(alphaWheel, dir)
	data, _ := os.ReadFile(tampered)
	data[len(data)/2] ^= 0xff
	writeFile(t, tampered, string(data))
	longer := tr.copyFile(alphaSdist, dir)
	data, _ = os.ReadFile(longer)
	writeFile(t, longer, string(data)+"extra")
	writeFile(t, filepath.Join(dir, "alpha-9.9.9-py3-none-any.whl"), "not a release")
	writeFile(t, filepath.Join(dir, "zzz-1.0-py3-none-any.whl"), "unknown project")
	writeFile(t, filepath.Join(dir, "notes.zip"), "not a distribution")
	writeFile(t, filepath.Join(dir, "README.txt"), "ignored: not a distribution extension")

	code, out, errOut := tr.run("verify", dir)
	wantCode(t, code, exitFailed, out, errOut)
	wantContains(t, "stdout", out,
		"ok      "+filepath.Base(good)+"\n",
		"FAILED  "+alphaWheel+": does not match what the repository signed: blake2b-256 mismatch: signed ",
		"FAILED  "+alphaSdist+": does not match what the repository signed: length mismatch: signed ",
		"FAILED  alpha-9.9.9-py3-none-any.whl: not signed by the repository: unknown file: alpha has no signed file of this name\n",
		"FAILED  zzz-1.0-py3-none-any.whl: not signed by the repository: unknown file: the repository has no project \"zzz\"\n",
		"FAILED  notes.zip: not a wheel or sdist file name",
		"1 verified, 5 failed\n",
	)
	if strings.Contains(out, "README") {
		t.Errorf("README.txt was verified:\n%s", out)
	}
	// One file named explicitly.
	code, out, errOut = tr.run("verify", good)
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stdout", out, "1 verified, 0 failed")
}

func TestVerifyJSONAndJUnit(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{Hashes: []string{repogen.HashBlake2b256, repogen.HashSHA256}}, verifyProjects()...)
	dir := t.TempDir()
	tr.copyFile(alphaWheel, dir)
	writeFile(t, filepath.Join(dir, "alpha-9.9.9-py3-none-any.whl"), "x")
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, out, errOut := tr.run("verify", "--json", "--junit", junit, dir)
	wantCode(t, code, exitFailed, out, errOut)
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Verified != 1 || rep.Failed != 1 || len(rep.Files) != 2 || rep.Layout != "pep458" {
		t.Fatalf("report: %+v", rep)
	}
	ok, bad := rep.Files[0], rep.Files[1]
	f := tr.file(alphaWheel)
	if ok.Name != alphaWheel || ok.Status != "verified" || ok.Target != f.Path || ok.Length != f.Length ||
		ok.Hashes["sha256"] != f.Hashes["sha256"] || ok.Hashes["blake2b-256"] != f.Hashes["blake2b-256"] ||
		!strings.HasPrefix(ok.Role, "bins-") || ok.SnapshotVersion < 1 || ok.Path != filepath.Join(dir, alphaWheel) {
		t.Errorf("verified entry: %+v", ok)
	}
	if bad.Status != "failed" || bad.Check != "not-signed" || !strings.Contains(bad.Error, "not signed") {
		t.Errorf("failed entry: %+v", bad)
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 2 {
		t.Fatalf("junit: %+v", doc)
	}
	c := doc.Suites[0].Cases[1]
	if c.Failure == nil || c.Failure.Type != "not-signed" || c.Name != "alpha-9.9.9-py3-none-any.whl" || doc.Suites[0].Cases[0].Failure != nil {
		t.Errorf("junit cases: %+v", doc.Suites[0].Cases)
	}
}

func TestVerifyRequirements(t *testing.T) {
	for _, layout := range []string{repogen.IndexLayoutPEP458, repogen.IndexLayoutDistsOnly} {
		t.Run(layout, func(t *testing.T) {
			// dists-only signs only blake2b-256 and lists no verified
			// sha256: tufpip computes it over verified bytes.
			tr := newTestRepo(t, repogen.Options{IndexLayout: layout}, verifyProjects()...)
			w, s := tr.file(alphaWheel), tr.file(alphaSdist)
			dir := t.TempDir()
			req := writeFile(t, filepath.Join(dir, "requirements.txt"),
				"# pinned\nalpha==1.0.0 \\\n    --hash=sha256:"+w.Hashes["sha256"]+" \\\n    --hash=sha256:"+s.Hashes["sha256"]+"\n    # via app\n"+
					"beta==2.0.0 --hash=sha256:"+tr.file(betaWheel).Hashes["sha256"]+"\n")
			code, out, errOut := tr.run("verify", "-r", req)
			wantCode(t, code, 0, out, errOut)
			wantContains(t, "stdout", out, "ok      alpha==1.0.0 (2 signed files, 2 hashes match)\n", "ok      beta==2.0.0 (1 signed file, 1 hash matches)\n", "2 verified, 0 failed\n")

			bad := writeFile(t, filepath.Join(dir, "bad.txt"),
				"alpha==1.0.0 --hash=sha256:"+w.Hashes["sha256"]+" --hash=sha256:"+strings.Repeat("0", 64)+"\n"+
					"beta==3.0.0 --hash=sha256:"+strings.Repeat("1", 64)+"\n"+
					"gone==1.0 --hash=sha256:"+strings.Repeat("2", 64)+"\n")
			code, out, errOut = tr.run("verify", "-r", bad)
			wantCode(t, code, exitFailed, out, errOut)
			wantContains(t, "stdout", out,
				"FAILED  alpha==1.0.0: --hash=sha256:0000000000000000… match no file the repository signed for this release (2 signed files: ",
				"FAILED  beta==3.0.0: the repository signed no file of this release\n",
				"FAILED  gone==1.0: the repository has no project \"gone\"\n",
				"0 verified, 3 failed\n")
			if layout == repogen.IndexLayoutPEP458 {
				if _, err := os.Stat(filepath.Join(tr.home, "cache", "artifacts", "artifacts")); err == nil {
					if n := countFiles(filepath.Join(tr.home, "cache", "artifacts", "artifacts")); n != 0 {
						t.Errorf("pep458: verify -r downloaded %d files; the verified page's sha256 should do", n)
					}
				}
			}
		})
	}
}

func TestVerifyRequirementsUnsignedRelease(t *testing.T) {
	// In dists-only the page is not signed: a mirror can add a release,
	// but not sign it.
	tr := newTestRepo(t, repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly}, verifyProjects()...)
	if err := tr.repo.TamperPage("alpha"); err != nil {
		t.Fatal(err)
	}
	req := writeFile(t, filepath.Join(t.TempDir(), "r.txt"), "alpha==666.0.0\n")
	code, out, errOut := tr.run("verify", "-r", req)
	wantCode(t, code, exitFailed, out, errOut)
	wantContains(t, "stdout", out, "FAILED  alpha==666.0.0: the index lists alpha-666.0.0-py3-none-any.whl, but it is not signed by the repository")
}

func TestVerifyExpired(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, verifyProjects()...)
	dir := t.TempDir()
	tr.copyFile(alphaWheel, dir)
	if err := tr.repo.ExpireTimestamp(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := tr.run("--refresh", "verify", dir)
	wantCode(t, code, exitUsage, out, errOut)
	wantContains(t, "stderr", errOut, "expired", "hint: ")
	if out != "" {
		t.Errorf("stdout: %q", out)
	}
}

func TestVerifyOffline(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, verifyProjects()...)
	// Re-sign so that timestamp, snapshot and bins expire in an hour;
	// the last run moves the client's clock past that (no sleeping).
	const life = time.Hour
	expires := time.Now().Add(life)
	tr.repo.SetClock(func() time.Time { return time.Now().Add(life - 24*time.Hour) })
	if err := tr.repo.ResignOnline(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr.copyFile(alphaWheel, dir)
	tr.copyFile(betaWheel, dir)

	code, out, errOut := tr.run("--offline", "verify", dir)
	wantCode(t, code, exitUsage, out, errOut) // nothing cached yet
	wantContains(t, "stderr", errOut, "offline")

	code, out, errOut = tr.run("verify", dir) // online: caches what is needed
	wantCode(t, code, 0, out, errOut)
	code, out, errOut = tr.run("--offline", "verify", dir)
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stdout", out, "2 verified, 0 failed")

	// A file whose bin was never fetched cannot be decided offline...
	const unknownName = "alpha-9.9.9-py3-none-any.whl"
	cached := map[string]bool{tr.repo.BinFor(tr.file(alphaWheel).Path): true, tr.repo.BinFor(tr.file(betaWheel).Path): true}
	var inCached, inOther string
	for i := 0; inCached == "" || inOther == ""; i++ {
		content := fmt.Sprint("not a release ", i)
		b2 := blake2b.Sum256([]byte(content))
		if cached[tr.repo.BinFor(index.WarehouseTarget(hex.EncodeToString(b2[:]), unknownName))] {
			inCached = content
		} else {
			inOther = content
		}
	}
	unknown := writeFile(t, filepath.Join(t.TempDir(), unknownName), inOther)
	code, out, errOut = tr.run("--offline", "verify", unknown)
	wantCode(t, code, exitUsage, out, errOut)
	wantContains(t, "stdout", out, "FAILED  "+unknownName+": not checked: offline: cached metadata cannot answer: bins-")
	// ... one whose bin is cached is refused.
	writeFile(t, unknown, inCached)
	code, out, errOut = tr.run("--offline", "verify", unknown)
	wantCode(t, code, exitFailed, out, errOut)
	wantContains(t, "stdout", out, "not signed by the repository: no signed file has this name and content (offline")

	afterExpiry := func() time.Time { return expires.Add(time.Minute) }
	code, out, errOut = tr.runAt(afterExpiry, "--offline", "verify", dir)
	wantCode(t, code, exitUsage, out, errOut)
	wantContains(t, "stderr", errOut, "offline: the cached metadata has expired", "hint: run without --offline")
}

func TestVerifyUsage(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, verifyProjects()...)
	dir := t.TempDir()
	unpinned := writeFile(t, filepath.Join(dir, "r.txt"), "alpha>=1\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "nothing to verify"},
		{[]string{"verify", filepath.Join(dir, "missing.whl")}, "no such file"},
		{[]string{"verify", dir}, "has no distribution files"},
		{[]string{"verify", "-r", unpinned}, "line 1: alpha>=1 is not pinned"},
		{[]string{"--offline", "verify", "-r", unpinned}, "not pinned"},
		{[]string{"verify", "--jobs", "0", dir}, "invalid --jobs"},
	} {
		code, out, errOut := tr.run(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q (stdout %q)", tc.args, code, errOut, tc.want, out)
		}
	}
	pinned := writeFile(t, filepath.Join(dir, "p.txt"), "alpha==1.0.0\n")
	code, _, errOut := tr.run("--offline", "verify", "-r", pinned)
	if code != exitUsage || !strings.Contains(errOut, "cannot fetch") {
		t.Errorf("offline -r: %d %q", code, errOut)
	}
}

// A requirements file whose every pin verifies still fails (exit 1) when
// a line makes pip, installing from it, fetch from outside the verified
// index; --allow-unverified-sources reports each as a warning and checks
// the rest. download -r refuses the same lines and writes nothing.
func TestRequirementsUnverifiedSources(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, verifyProjects()...)
	w := tr.file(alphaWheel)
	pin := "alpha==1.0.0 --hash=sha256:" + w.Hashes["sha256"] + "\n"
	const outside = ": pip would fetch from outside the verified index"
	tests := []struct {
		name, line string
		failed     string // the FAILED line, after "FAILED  <file>:2: "
	}{
		{"extra-index-url", "--extra-index-url https://evil.example/simple/", "--extra-index-url https://evil.example/simple/: an index other than the tufpip proxy (http://127.0.0.1:8458/simple/)" + outside},
		{"index-url elsewhere", "--index-url=https://mirror.example/simple/", "--index-url https://mirror.example/simple/: an index other than the tufpip proxy (http://127.0.0.1:8458/simple/)" + outside},
		{"find-links", "--find-links https://evil.example/links/", "--find-links https://evil.example/links/: a find-links location" + outside},
		{"-f", "-f ./wheels", "-f ./wheels: a find-links location" + outside},
		{"direct reference", "beta @ https://evil.example/beta-2.0.0-py3-none-any.whl", "beta @ https://evil.example/beta-2.0.0-py3-none-any.whl: a URL, path or direct reference instead of NAME==VERSION" + outside},
		{"bare URL", "https://evil.example/beta-2.0.0-py3-none-any.whl", "https://evil.example/beta-2.0.0-py3-none-any.whl: a URL, path or direct reference instead of NAME==VERSION" + outside},
		{"local path", "./beta-2.0.0-py3-none-any.whl", "./beta-2.0.0-py3-none-any.whl: a URL, path or direct reference instead of NAME==VERSION" + outside},
		{"editable", "-e git+https://evil.example/beta.git#egg=beta", "-e git+https://evil.example/beta.git#egg=beta: an editable install" + outside},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			req := writeFile(t, filepath.Join(dir, "requirements.txt"), pin+tt.line+"\n")
			where := req + ":2"

			code, out, errOut := tr.run("verify", "-r", req)
			wantCode(t, code, exitFailed, out, errOut)
			wantContains(t, "stdout", out, "ok      alpha==1.0.0 (2 signed files, 1 hash matches)\n", "FAILED  "+where+": "+tt.failed+"\n", "1 verified, 1 failed\n")
			wantContains(t, "stderr", errOut, "hint: tufpip verified only what the repository's index serves")

			code, out, errOut = tr.run("verify", "--json", "-r", req)
			wantCode(t, code, exitFailed, out, errOut)
			wantContains(t, "stdout", out, `"check": "source"`, `"line": 2`)

			code, out, errOut = tr.run("verify", "--allow-unverified-sources", "-r", req)
			wantCode(t, code, 0, out, errOut)
			wantContains(t, "stdout", out, "ok      alpha==1.0.0", "1 verified, 0 failed\n")
			wantContains(t, "stderr", errOut, "tufpip: warning: "+where+": "+tt.failed+" (allowed by --allow-unverified-sources; not verified)\n")

			dest := filepath.Join(dir, "wheelhouse")
			code, out, errOut = tr.dl(dest, "-r", req)
			wantCode(t, code, exitFailed, out, errOut)
			wantContains(t, "stderr", errOut, "tufpip: "+where+": "+tt.failed+"\n",
				"tufpip: nothing was written to "+dest+": 1 line of the requirements would make pip fetch from outside the verified index\n",
				"hint: tufpip verified only what the repository's index serves")
			if _, err := os.Stat(dest); err == nil {
				if got := listDir(t, dest); len(got) != 0 {
					t.Errorf("download -r wrote %v despite the refused line", got)
				}
			}

			code, out, errOut = tr.dl(dest, "--allow-unverified-sources", "-r", req)
			wantCode(t, code, 0, out, errOut)
			if got := listDir(t, dest); !reflect.DeepEqual(got, []string{alphaWheel}) {
				t.Errorf("download --allow-unverified-sources wrote %v, want only the verified %s", got, alphaWheel)
			}
		})
	}

	// The proxy's own URL, --no-index and --trusted-host for the proxy
	// are fine: pip stays on verified files.
	req := writeFile(t, filepath.Join(t.TempDir(), "r.txt"), "--index-url http://127.0.0.1:8458/simple/\n--no-index\n--trusted-host 127.0.0.1\n"+pin)
	code, out, errOut := tr.run("verify", "-r", req)
	wantCode(t, code, 0, out, errOut)
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing", errOut)
	}
}

// Warm verify reads the bins and the snapshot's versions from the
// metadata directory (concurrently, and only the entries it needs): a
// tampered copy of either is still refused, naming what is wrong, and
// offline (no refresh to repair it) the file is not passed.
func TestVerifyTamperedLocalMetadata(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{BitLength: 4}, verifyProjects()...)
	dir := t.TempDir()
	for _, f := range []string{alphaWheel, alphaSdist, betaWheel} {
		tr.copyFile(f, dir)
	}
	code, out, errOut := tr.run("verify", dir) // caches the bins
	wantCode(t, code, 0, out, errOut)
	metas, err := filepath.Glob(filepath.Join(tr.home, "state", "repositories", "*", "metadata"))
	if err != nil || len(metas) != 1 {
		t.Fatalf("metadata directory: %v, %v", metas, err)
	}
	meta := metas[0]
	bin := tr.repo.BinFor(tr.file(betaWheel).Path)
	binPath := filepath.Join(meta, "delegated", bin+".json")
	versionsPath := filepath.Join(meta, ".tufpip-snapshot-versions")
	origBin, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	origVersions, err := os.ReadFile(versionsPath)
	if err != nil {
		t.Fatal(err)
	}
	target := tr.file(betaWheel)
	for _, c := range []struct {
		name           string
		binData, vData []byte
		want           string
	}{
		{"bin: signed length changed",
			[]byte(strings.Replace(string(origBin), fmt.Sprintf(`"length": %d`, target.Length), fmt.Sprintf(`"length": %d`, target.Length+1), 1)),
			origVersions, "cached metadata cannot answer: cached " + bin + " does not verify"},
		{"bin: cut short", origBin[:len(origBin)/2], origVersions, "cached metadata cannot answer: cached " + bin + " unreadable"},
		{"versions: another version for the bin", nil,
			[]byte(strings.Replace(string(origVersions), "\n"+bin+" 1\n", "\n"+bin+" 2\n", 1)),
			"cached " + bin + " is version 1, snapshot lists 2"},
		{"versions: the bin's line damaged", nil,
			[]byte(strings.Replace(string(origVersions), "\n"+bin+" 1\n", "\n"+bin+" 01\n", 1)),
			"cached snapshot versions are corrupt: line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, v := c.binData, c.vData
			if b == nil {
				b = origBin
			}
			if v == nil {
				v = origVersions
			}
			if string(b) == string(origBin) && string(v) == string(origVersions) {
				t.Fatal("the edit changed nothing")
			}
			if err := os.WriteFile(binPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(versionsPath, v, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				os.WriteFile(binPath, origBin, 0o600)
				os.WriteFile(versionsPath, origVersions, 0o600)
			})
			code, out, errOut := tr.run("--offline", "verify", dir)
			wantCode(t, code, exitUsage, out, errOut)
			wantContains(t, "stdout", out, "ok      "+alphaWheel+"\n", "FAILED  "+betaWheel+": not checked: offline: ", c.want)
		})
	}
	// Restored, it verifies again.
	code, out, errOut = tr.run("--offline", "verify", dir)
	wantCode(t, code, 0, out, errOut)
}
