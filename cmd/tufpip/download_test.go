package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

func downloadProjects() []repogen.ProjectSpec {
	return []repogen.ProjectSpec{
		{Name: "alpha", Releases: []repogen.ReleaseSpec{
			{Version: "1.0.0", Dists: repogen.Wheel | repogen.Sdist},
			{Version: "1.1.0"},
			{Version: "1.2.0", Yanked: true, YankedReason: "broken build"},
			{Version: "2.0.0rc1"},
		}},
		{Name: "gamma", Releases: []repogen.ReleaseSpec{
			{Version: "1.0.0", RequiresPython: ">=3.8"},
			{Version: "2.0.0", RequiresPython: ">=3.13"},
		}},
	}
}

// dl runs "tufpip download ... -d dir" for a Python 3.11 target.
func (tr *testRepo) dl(dir string, args ...string) (int, string, string) {
	tr.t.Helper()
	return tr.run(append([]string{"download", "-d", dir, "--python-version", "3.11"}, args...)...)
}

func TestDownloadSelection(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"latest skips yanked and pre-releases", []string{"alpha"}, []string{"alpha-1.1.0-py3-none-any.whl"}},
		{"pinned", []string{"alpha==1.0.0"}, []string{"alpha-1.0.0-py3-none-any.whl"}},
		{"no-binary takes the sdist", []string{"alpha==1.0.0", "--no-binary", ":all:"}, []string{"alpha-1.0.0.tar.gz"}},
		{"all files of the release", []string{"alpha==1.0.0", "--all"}, []string{"alpha-1.0.0-py3-none-any.whl", "alpha-1.0.0.tar.gz"}},
		{"pre", []string{"alpha", "--pre"}, []string{"alpha-2.0.0rc1-py3-none-any.whl"}},
		{"range", []string{"alpha<1.1"}, []string{"alpha-1.0.0-py3-none-any.whl"}},
		{"requires-python", []string{"gamma"}, []string{"gamma-1.0.0-py3-none-any.whl"}},
		{"several", []string{"gamma==1.0.0", "Alpha==1.1.0"}, []string{"alpha-1.1.0-py3-none-any.whl", "gamma-1.0.0-py3-none-any.whl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "wheelhouse") // created by download
			code, out, errOut := tr.dl(dir, tt.args...)
			wantCode(t, code, 0, out, errOut)
			if got := listDir(t, dir); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("downloaded %v, want %v", got, tt.want)
			}
			for _, name := range tt.want {
				f := tr.file(name)
				wantContains(t, "stdout", out, fmt.Sprintf("verified %s (%d bytes, sha256 %s)\n", name, f.Length, f.Hashes["sha256"]))
				if got := sha256Hex(t, filepath.Join(dir, name)); got != f.Hashes["sha256"] {
					t.Errorf("%s on disk has sha256 %s", name, got)
				}
			}
			// Not a terminal: no progress bar, no carriage returns.
			if strings.Contains(errOut, "\r") || strings.Contains(errOut, "downloading") {
				t.Errorf("progress output on a non-terminal stderr: %q", errOut)
			}
		})
	}
	t.Run("newer python reaches the newer release", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := tr.run("download", "-d", dir, "--python-version", "3.13", "gamma")
		wantCode(t, code, 0, out, errOut)
		wantContains(t, "stdout", out, "verified gamma-2.0.0-py3-none-any.whl")
	})
}

func TestDownloadYankedPinned(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	dir := t.TempDir()
	code, out, errOut := tr.dl(dir, "alpha==1.2.0")
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stderr", errOut, "warning: alpha==1.2.0 is yanked (broken build)")
	wantContains(t, "stdout", out, "verified alpha-1.2.0-py3-none-any.whl")
}

func TestDownloadNoMatch(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gamma==2.0.0"}, "2.0.0: requires Python >=3.13, target is 3.11"},
		{[]string{"alpha==9.0"}, "no verified file matches alpha==9.0"},
		{[]string{"nosuch"}, "tufpip: nosuch: the repository has no project \"nosuch\""},
		{[]string{"alpha", "gamma==2.0.0"}, "nothing was written"},
	} {
		code, out, errOut := tr.dl(dir, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("%v: stdout %q", tc.args, out)
		}
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("files written after failures: %v", got)
	}
}

func TestDownloadTamperedWritesNothing(t *testing.T) {
	for _, keepLength := range []bool{true, false} {
		t.Run(fmt.Sprint("keepLength=", keepLength), func(t *testing.T) {
			tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
			if err := tr.repo.TamperFile(tr.file("alpha-1.1.0-py3-none-any.whl").Path, keepLength); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			// gamma is fine, alpha is tampered: all or nothing.
			code, out, errOut := tr.dl(dir, "gamma", "alpha")
			wantCode(t, code, exitFailed, out, errOut)
			want := "blake2b-256 mismatch"
			if !keepLength {
				want = "length mismatch"
			}
			wantContains(t, "stderr", errOut, "tufpip: alpha-1.1.0-py3-none-any.whl: ", want, "nothing was written to "+dir+": 1 of 2 failed", "hint: ")
			if out != "" {
				t.Errorf("stdout: %q", out)
			}
			if got := listDir(t, dir); len(got) != 0 {
				t.Errorf("files written despite a failure: %v", got)
			}
		})
	}
}

func TestDownloadAlreadyPresent(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	dir := t.TempDir()
	code, out, errOut := tr.dl(dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	code, out, errOut = tr.dl(dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stdout", out, "already verified in "+dir)
	// A damaged copy in DIR is replaced by the verified one.
	p := filepath.Join(dir, "alpha-1.0.0-py3-none-any.whl")
	writeFile(t, p, "damaged")
	code, out, errOut = tr.dl(dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	if strings.Contains(out, "already") || sha256Hex(t, p) != tr.file("alpha-1.0.0-py3-none-any.whl").Hashes["sha256"] {
		t.Errorf("damaged file not replaced: %s", out)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("leftovers in DIR: %v", got)
	}
}

func TestDownloadRequirementsHashes(t *testing.T) {
	for _, layout := range []string{repogen.IndexLayoutPEP458, repogen.IndexLayoutDistsOnly} {
		t.Run(layout, func(t *testing.T) {
			// dists-only: blake2b-256 is all that is signed; tufpip computes
			// sha256 over the verified bytes to compare.
			tr := newTestRepo(t, repogen.Options{IndexLayout: layout}, downloadProjects()...)
			w, s := tr.file("alpha-1.0.0-py3-none-any.whl"), tr.file("alpha-1.0.0.tar.gz")
			g := tr.file("gamma-1.0.0-py3-none-any.whl")
			tmp := t.TempDir()
			good := writeFile(t, filepath.Join(tmp, "good.txt"), "--index-url http://127.0.0.1:8458/simple/\n"+
				"alpha==1.0.0 \\\n    --hash=sha256:"+w.Hashes["sha256"]+" \\\n    --hash=sha256:"+s.Hashes["sha256"]+"\n"+
				"gamma==1.0.0 ; python_version >= '3.8' --hash=sha256:"+g.Hashes["sha256"]+"\n"+
				"alpha-win==1.0 ; sys_platform == 'win32' --hash=sha256:"+strings.Repeat("0", 64)+"\n")
			dir := t.TempDir()
			code, out, errOut := tr.dl(dir, "--platform", "manylinux_2_17_x86_64", "-r", good)
			wantCode(t, code, 0, out, errOut)
			if got := listDir(t, dir); !reflect.DeepEqual(got, []string{w.Filename, g.Filename}) {
				t.Errorf("downloaded %v", got)
			}
			wantContains(t, "stderr", errOut, "skipping alpha-win==1.0 (line 6): marker")

			bad := writeFile(t, filepath.Join(tmp, "bad.txt"),
				"alpha==1.0.0 --hash=sha256:"+s.Hashes["sha256"]+"\n"+
					"gamma==1.0.0 --hash=sha256:"+strings.Repeat("a", 64)+"\n")
			dir = t.TempDir()
			code, out, errOut = tr.dl(dir, "-r", bad)
			wantCode(t, code, exitFailed, out, errOut)
			// alpha: the sdist is the file whose hash is listed, so pip
			// (and tufpip) take it; gamma's only file is not listed.
			wantContains(t, "stderr", errOut, "tufpip: gamma-1.0.0-py3-none-any.whl: the signed file's digest (sha256:"+g.Hashes["sha256"]+") is not among the --hash values of gamma==1.0.0 (line 2)", "nothing was written")
			if got := listDir(t, dir); len(got) != 0 {
				t.Errorf("files written despite a hash mismatch: %v", got)
			}
			bad2 := writeFile(t, filepath.Join(tmp, "bad2.txt"), "alpha==1.0.0 --hash=sha256:"+s.Hashes["sha256"]+"\n")
			code, out, errOut = tr.dl(dir, "-r", bad2)
			wantCode(t, code, 0, out, errOut)
			wantContains(t, "stdout", out, "verified alpha-1.0.0.tar.gz")
		})
	}
}

func TestDownloadUnsignedRelease(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly}, downloadProjects()...)
	if err := tr.repo.TamperPage("alpha"); err != nil { // lists an unsigned alpha 666.0.0
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := tr.dl(dir, "alpha==666.0.0")
	wantCode(t, code, exitFailed, out, errOut)
	wantContains(t, "stderr", errOut, "alpha==666.0.0: the repository lists matching files but has not signed them", "not signed by the repository")
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("files written: %v", got)
	}
	// The newest signed release is still chosen.
	code, out, errOut = tr.dl(dir, "alpha")
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stdout", out, "verified alpha-1.1.0-py3-none-any.whl")
}

func TestDownloadExpired(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	if err := tr.repo.ExpireTimestamp(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := tr.dl(dir, "--refresh", "alpha")
	wantCode(t, code, exitUsage, out, errOut)
	wantContains(t, "stderr", errOut, "expired")
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("files written: %v", got)
	}
}

func TestDownloadUsage(t *testing.T) {
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	dir := t.TempDir()
	unpinned := writeFile(t, filepath.Join(dir, "r.txt"), "alpha==1.0.0\ngamma~=1.0\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"download"}, "nothing to download"},
		{[]string{"download", "-r", unpinned}, "line 2: gamma~=1.0 is not pinned"},
		{[]string{"download", "alpha", "Alpha==1.0.0"}, "double requirement given"},
		{[]string{"download", "https://example.com/alpha-1.0.0-py3-none-any.whl"}, "URLs and paths"},
		{[]string{"download", "--python-version", "3", "alpha"}, "invalid --python-version"},
		{[]string{"download", "--jobs", "0", "alpha"}, "invalid --jobs"},
		{[]string{"--offline", "download", "alpha"}, "--offline"},
	} {
		code, out, errOut := tr.run(append(tc.args, "-d", dir)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q (stdout %q)", tc.args, code, errOut, tc.want, out)
		}
	}
	if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"r.txt"}) {
		t.Errorf("dir: %v", got)
	}
	// A marker that does not hold for the target skips the requirement.
	code, out, errOut := tr.run("download", "-d", dir, "--platform", "manylinux_2_17_x86_64", "alpha==1.0.0; os_name=='nt'")
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stderr", errOut, "skipping alpha==1.0.0: marker `os_name == \"nt\"` does not hold for Python ")
}

func TestProgressBarOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &byteProgress{}
	p.start(&buf, 1000, 2)
	fp := &fileProgress{p: p, length: 600}
	fp.add(400)
	fp.add(400) // capped at the file's length
	p.add(400)
	p.finish()
	if !strings.Contains(buf.String(), "downloading 2 files") {
		t.Errorf("progress output: %q", buf.String())
	}
	if fp.seen.Load() != 600 {
		t.Errorf("file progress %d, want 600", fp.seen.Load())
	}
	var nothing byteProgress // not started: a no-op
	nothing.add(10)
	nothing.finish()
}

func TestDownloadDefaultTarget(t *testing.T) {
	// Without --python-version the python3 on PATH (or 3.12) is the
	// target; repogen's wheels are py3-none-any, so any works.
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	dir := t.TempDir()
	code, out, errOut := tr.run("download", "-d", dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	if _, err := os.Stat(filepath.Join(dir, "alpha-1.0.0-py3-none-any.whl")); err != nil {
		t.Error(err)
	}
}

func TestDownloadIndexOnly(t *testing.T) {
	// index-only: files are checked against the verified page's sha256;
	// no signed length, so the size printed is the verified file's.
	tr := newTestRepo(t, repogen.Options{IndexLayout: repogen.IndexLayoutIndexOnly}, downloadProjects()...)
	dir := t.TempDir()
	code, out, errOut := tr.dl(dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	f := tr.file("alpha-1.0.0-py3-none-any.whl")
	wantContains(t, "stdout", out, fmt.Sprintf("verified %s (%d bytes, sha256 %s)\n", f.Filename, f.Length, f.Hashes["sha256"]))
	code, out, errOut = tr.dl(dir, "alpha==1.0.0")
	wantCode(t, code, 0, out, errOut)
	wantContains(t, "stdout", out, fmt.Sprintf("(%d bytes, sha256 %s, already verified in %s)", f.Length, f.Hashes["sha256"], dir))
}
