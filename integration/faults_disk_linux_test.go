package integration

// Full disks and read-only caches, for real: each case runs the built
// binary in a private mount namespace over a small (or read-only) tmpfs.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
)

var (
	nsOnce   sync.Once
	nsPrefix []string
	nsErr    error
)

// mountNS returns the command prefix that runs a program in a private
// mount namespace, where it may mount a tmpfs: "unshare -m" as root, else
// "unshare -rm" (a user namespace too). Where neither works the test is
// skipped, except in CI, where these tests must run.
func mountNS(t *testing.T) []string {
	t.Helper()
	nsOnce.Do(func() {
		candidates := [][]string{{"unshare", "-rm"}}
		if os.Geteuid() == 0 {
			candidates = [][]string{{"unshare", "-m"}, {"unshare", "-rm"}}
		}
		var errs []string
		for _, c := range candidates {
			dir, err := os.MkdirTemp("", "tufpip-ns-probe-")
			if err != nil {
				nsErr = err
				return
			}
			args := append(cloneArgs(c), "sh", "-c", `mount -t tmpfs -o size=64k tufpip-probe "$1"`, "sh", dir)
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			os.Remove(dir)
			if err == nil {
				nsPrefix = c
				return
			}
			errs = append(errs, fmt.Sprintf("%s: %v %s", strings.Join(c, " "), err, out))
		}
		nsErr = fmt.Errorf("no private mount namespace with tmpfs: %s", strings.Join(errs, "; "))
	})
	if nsErr != nil {
		testenv.MissingPrerequisite(t, "the disk fault tests need a private mount namespace: %v", nsErr)
	}
	return nsPrefix
}

func cloneArgs(s []string) []string { return append([]string(nil), s...) }

// tmpfsScript mounts a tmpfs of the size given as $2 on $1, runs the
// rest of the arguments, then lists every file under $1 (size and path)
// after a marker line, and exits with the program's status.
const tmpfsScript = `
set -u
mnt=$1; size=$2; shift 2
mount -t tmpfs -o "size=$size" tufpip-fault "$mnt" || exit 97
"$@"
rc=$?
echo "==files=="
find "$mnt" -type f -printf '%s %P\n' | sort -k2
exit $rc
`

// onTmpfs runs argv in a mount namespace with a tmpfs of size on mnt.
// It returns the result and the files left on the tmpfs (path → size).
func onTmpfs(t *testing.T, mnt, size string, argv ...string) (cmdResult, map[string]int64) {
	t.Helper()
	args := append(cloneArgs(mountNS(t)[1:]), "sh", "-c", tmpfsScript, "sh", mnt, size)
	res := runCommand(t, nil, mountNS(t)[0], append(args, argv...)...)
	if res.Code == 97 {
		t.Fatalf("mounting the tmpfs failed: %s", res)
	}
	out, listing, ok := strings.Cut(res.Stdout, "==files==\n")
	if !ok {
		t.Fatalf("the script did not list files: %s", res)
	}
	res.Stdout = out
	files := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(listing))
	for sc.Scan() {
		var n int64
		var p string
		if _, err := fmt.Sscanf(sc.Text(), "%d %s", &n, &p); err == nil {
			files[p] = n
		}
	}
	return res, files
}

// withoutLocks drops lock files, which are empty and expected.
func withoutLocks(files map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for p, n := range files {
		if !strings.HasSuffix(p, ".lock") {
			out[p] = n
		}
	}
	return out
}

// assertNoSpaceError checks that a run failed and said which directory
// is full and why.
func assertNoSpaceError(t *testing.T, res cmdResult, dir string) {
	t.Helper()
	t.Logf("on a full disk: exit %d: %s", res.Code, strings.TrimSpace(res.Stderr))
	if res.Code == 0 {
		t.Fatalf("succeeded on a full disk: %s", res)
	}
	if !strings.Contains(res.Stderr, "no space left on device") || !strings.Contains(res.Stderr, dir) {
		t.Errorf("the error does not name %s and \"no space left\": %s", dir, res)
	}
	if strings.Contains(res.Stderr, "failed verification") || strings.Contains(res.Stderr, "attack") {
		t.Errorf("a full disk is reported as a verification failure: %s", res)
	}
}

// TestFaultDiskFull runs out of space in the artifact cache, in the
// download destination and in the metadata directory: each time a clear
// error naming the directory and "no space left", nothing partial left
// behind, and success once there is room.
func TestFaultDiskFull(t *testing.T) {
	mountNS(t)
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	const target = "blobs/big-2.0.bin"
	data := addBigTarget(t, tr, target, 4<<20)
	wheel := addBigWheel(t, tr, "bigpkg", "2.0", 2<<20)

	t.Run("cache", func(t *testing.T) {
		home, mnt, outDir := t.TempDir(), t.TempDir(), t.TempDir()
		out := filepath.Join(outDir, "big.bin")
		cacheDir := filepath.Join(mnt, "cache")
		get := append(repoFlags(tr, home), "--cache-dir", cacheDir, "get", target, "-o", out)
		res, files := onTmpfs(t, mnt, "1m", append([]string{tufpipBin}, get...)...)
		assertNoSpaceError(t, res, cacheDir)
		assertDirEmpty(t, outDir)
		if left := withoutLocks(files); len(left) != 0 {
			t.Errorf("a failed download left files in the cache: %v", left)
		}

		// With room, the same cache directory works.
		script := fmt.Sprintf(`"$@"; mount -o remount,size=32m %q && "$@"`, mnt)
		res, files = onTmpfs(t, mnt, "1m", append([]string{"sh", "-c", script, "sh", tufpipBin}, get...)...)
		if res.Code != 0 {
			t.Fatalf("get after making room: %s", res)
		}
		if got, _ := os.ReadFile(out); !strings.EqualFold(hexB2(got), hexB2(data)) {
			t.Errorf("-o does not hold the signed bytes")
		}
		left := withoutLocks(files)
		if len(left) != 1 || left["cache/artifacts/blake2b-256/"+hexB2(data)[:2]+"/"+hexB2(data)] != int64(len(data)) {
			t.Errorf("after recovery the cache holds %v, want just the artifact", left)
		}
	})

	t.Run("dest", func(t *testing.T) {
		home, mnt := t.TempDir(), t.TempDir()
		dest := filepath.Join(mnt, "wheelhouse")
		dl := append(repoFlags(tr, home), "download", "bigpkg==2.0", "-d", dest)
		res, files := onTmpfs(t, mnt, "1m", append([]string{tufpipBin}, dl...)...)
		assertNoSpaceError(t, res, dest)
		if len(files) != 0 {
			t.Errorf("a failed download left files in the destination: %v", files)
		}
		assertCacheVerified(t, home, tr) // the verified wheel is cached

		script := fmt.Sprintf(`"$@"; mount -o remount,size=32m %q && "$@" && sha256sum %q`, mnt, filepath.Join(dest, wheel.Filename))
		res, files = onTmpfs(t, mnt, "1m", append([]string{"sh", "-c", script, "sh", tufpipBin}, dl...)...)
		if res.Code != 0 || !strings.Contains(res.Stdout, wheel.Hashes[repogen.HashSHA256]) {
			t.Fatalf("download after making room: %s", res)
		}
		if len(files) != 1 || files["wheelhouse/"+wheel.Filename] != wheel.Length {
			t.Errorf("after recovery the destination holds %v, want just the wheel", files)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		// The whole --home on the tmpfs: refresh once, fill the disk, let
		// the repository move on, and refresh again.
		mnt, side := t.TempDir(), t.TempDir()
		home := filepath.Join(mnt, "home")
		flags := repoFlags(tr, home)
		ready, goOn := filepath.Join(side, "ready"), filepath.Join(side, "go")
		script := fmt.Sprintf(`
			"$@" refresh || exit 98
			dd if=/dev/zero of=%[1]q bs=4k 2>/dev/null
			"$@" --refresh refresh || exit 96
			touch %[2]q
			while [ ! -e %[3]q ]; do sleep 0.02; done
			"$@" --refresh refresh
			rc=$?
			rm %[1]q
			"$@" --refresh refresh || exit 99
			exit $rc`, filepath.Join(mnt, "filler"), ready, goOn)
		done := make(chan struct{})
		var res cmdResult
		var files map[string]int64
		go func() {
			defer close(done)
			res, files = onTmpfs(t, mnt, "1m", append([]string{"sh", "-c", script, "sh", tufpipBin}, flags...)...)
		}()
		deadline := time.After(time.Minute)
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			select {
			case <-done:
				t.Fatalf("the script ended early: %s", res)
			case <-deadline:
				t.Fatal("the script did not fill the disk within a minute")
			case <-time.After(10 * time.Millisecond):
			}
		}
		if err := tr.ResignOnline(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goOn, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		<-done
		switch res.Code {
		case 96:
			t.Fatalf("a refresh that has nothing to write failed on a full disk: %s", res)
		case 98, 99:
			t.Fatalf("refresh with room failed: %s", res)
		}
		assertNoSpaceError(t, res, filepath.Join(home, "state"))
		for p := range files {
			if isTempName(filepath.Base(p)) {
				t.Errorf("a refresh on a full disk left %s", p)
			}
		}
		if !strings.Contains(res.Stdout, fmt.Sprintf("timestamp v%d", tr.RoleVersion("timestamp"))) {
			t.Errorf("the refresh after making room does not trust the new timestamp: %s", res)
		}
	})
}

// serveFrom starts a proxy with an arbitrary command line (which must end
// by exec'ing "tufpip proxy") and waits until it listens.
func serveFrom(t *testing.T, home string, argv ...string) *proxyProc {
	t.Helper()
	p := &proxyProc{Home: home, log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = proxyEnv()
	p.cmd.Stdout = p.log
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.log.WriteString(sc.Text() + "\n")
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
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
		p.URL, p.Base = u, strings.TrimSuffix(u, "/simple/")
	case <-p.done:
		t.Fatalf("the proxy exited before serving (%v):\n%s", p.waitErr, p.log)
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the proxy did not serve within 60s:\n%s", p.log)
	}
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("proxy log:\n%s", p.log)
		}
	})
	return p
}

// assertRefusedNotTruncated checks that the proxy answered a file request
// with an error status and a refusal that says why, never a 200.
func assertRefusedNotTruncated(t *testing.T, url, why string) {
	t.Helper()
	res := get(t, "GET", url)
	if res.Status < 500 || !strings.Contains(string(res.Body), "tufpip: refused") || !strings.Contains(string(res.Body), why) {
		t.Errorf("GET %s: %d %q, want a 5xx refusal mentioning %q", url, res.Status, res.Body, why)
	}
}

// TestFaultReadOnlyCache serves from an artifact cache on a read-only
// file system: what it holds is still served, verified; anything else is
// refused with an error status (never a truncated 200) by the proxy and
// with a clear error by "tufpip get". Then the same with a full cache.
func TestFaultReadOnlyCache(t *testing.T) {
	mountNS(t)
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	cached, uncached := tr.file(t, "lib", "1.1", "wheel"), tr.file(t, "lib", "1.0", "wheel")

	t.Run("read-only", func(t *testing.T) {
		home, mnt, side := t.TempDir(), t.TempDir(), t.TempDir()
		cacheDir := filepath.Join(mnt, "cache")
		flags := append(repoFlags(tr, home), "--cache-dir", cacheDir)
		// Fill the cache, remount it read-only, try "get" both ways, then
		// become the proxy.
		script := fmt.Sprintf(`
			set -u
			mount -t tmpfs -o size=16m tufpip-fault %[1]q || exit 97
			"$@" get %[2]q -o - >/dev/null || exit 98
			mount -o remount,ro %[1]q || exit 97
			"$@" get %[2]q -o %[3]q 2>%[4]q; echo $? >%[5]q
			"$@" get %[6]q -o %[7]q 2>%[8]q; echo $? >%[9]q
			exec "$@" proxy --listen 127.0.0.1:0`,
			mnt, cached.Path, filepath.Join(side, "cached.whl"), filepath.Join(side, "cached.err"), filepath.Join(side, "cached.rc"),
			uncached.Path, filepath.Join(side, "uncached.whl"), filepath.Join(side, "uncached.err"), filepath.Join(side, "uncached.rc"))
		p := serveFrom(t, home, append(append(cloneArgs(mountNS(t)), "sh", "-c", script, "sh", tufpipBin), flags...)...)

		read := func(name string) string {
			b, _ := os.ReadFile(filepath.Join(side, name))
			return strings.TrimSpace(string(b))
		}
		if rc := read("cached.rc"); rc != "0" {
			t.Errorf("get of a cached file from a read-only cache: exit %s: %s", rc, read("cached.err"))
		} else if got, _ := os.ReadFile(filepath.Join(side, "cached.whl")); hexB2(got) != cached.Hashes[repogen.HashBlake2b256] {
			t.Errorf("get from a read-only cache wrote the wrong bytes")
		}
		if rc, msg := read("uncached.rc"), read("uncached.err"); rc == "0" || !strings.Contains(msg, "read-only file system") || !strings.Contains(msg, cacheDir) {
			t.Errorf("get of an uncached file into a read-only cache: exit %s, %q; want a failure naming %s and \"read-only file system\"", rc, msg, cacheDir)
		}
		if _, err := os.Stat(filepath.Join(side, "uncached.whl")); err == nil {
			t.Errorf("get wrote -o although the file could not be verified into the cache")
		}

		page := get(t, "GET", p.URL+"lib/")
		if page.Status != 200 {
			t.Fatalf("page from a proxy with a read-only cache: %d %s", page.Status, page.Body)
		}
		res := get(t, "GET", p.Base+"/files/lib/"+cached.Filename)
		if res.Status != 200 || hexB2(res.Body) != cached.Hashes[repogen.HashBlake2b256] {
			t.Errorf("a cached file from a read-only cache: %d, %d bytes; want 200 with the signed bytes", res.Status, len(res.Body))
		}
		assertRefusedNotTruncated(t, p.Base+"/files/lib/"+uncached.Filename, "read-only file system")
	})

	t.Run("full", func(t *testing.T) {
		home, mnt := t.TempDir(), t.TempDir()
		big := addBigWheel(t, tr, "bigro", "1.0", 2<<20)
		flags := append(repoFlags(tr, home), "--cache-dir", filepath.Join(mnt, "cache"))
		script := fmt.Sprintf(`mount -t tmpfs -o size=1m tufpip-fault %q || exit 97; exec "$@" proxy --listen 127.0.0.1:0`, mnt)
		p := serveFrom(t, home, append(append(cloneArgs(mountNS(t)), "sh", "-c", script, "sh", tufpipBin), flags...)...)
		assertRefusedNotTruncated(t, p.Base+"/files/bigro/"+big.Filename, "no space left on device")
		// The failed download gave its space back: a small file fits.
		res := get(t, "GET", p.Base+"/files/lib/"+cached.Filename)
		if res.Status != 200 || hexB2(res.Body) != cached.Hashes[repogen.HashBlake2b256] {
			t.Errorf("a small file after a full-disk refusal: %d, %d bytes; want 200 with the signed bytes", res.Status, len(res.Body))
		}
	})
}
