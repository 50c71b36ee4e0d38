package repogen

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// fixtureRepo is a small served repository with a go-tuf client that has
// already refreshed once (so it holds cached, trusted metadata).
type fixtureRepo struct {
	r    *Repo
	base string
	c    *client
}

func newServedRepo(t *testing.T, opts Options) *fixtureRepo {
	t.Helper()
	if opts.BitLength == 0 {
		opts.BitLength = 4
	}
	r := mustGenerate(t, opts, append(SyntheticProjects(2), demoSpecs()...))
	f := &fixtureRepo{r: r, base: serve(t, r.Dir())}
	f.c = newClient(t, f.base, r.TrustedRoot())
	f.mustRefresh(t)
	return f
}

func (f *fixtureRepo) mustRefresh(t *testing.T) *updater.Updater {
	t.Helper()
	up, err := f.c.refresh(t)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return up
}

// aTarget is some distribution target of the repository.
func (f *fixtureRepo) aTarget(t *testing.T) string {
	t.Helper()
	return f.r.Files()[0].Path
}

func wantErr[E error](t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: go-tuf accepted it", what)
	}
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %T %v, want %T", what, err, err, e)
	}
}

func rootVersion(up *updater.Updater) int64 {
	return up.GetTrustedMetadataSet().Root.Signed.Version
}

func TestRotateRootFollowed(t *testing.T) {
	f := newServedRepo(t, Options{RootKeys: 2, RootThreshold: 2})
	if err := f.r.RotateRoot(3, 2); err != nil {
		t.Fatal(err)
	}
	up := f.mustRefresh(t)
	if v := rootVersion(up); v != 2 {
		t.Fatalf("client ends on root v%d, want 2", v)
	}
	// A client starting from the shipped root walks 1 → 2 → 3.
	if err := f.r.RotateOnlineKey(); err != nil {
		t.Fatal(err)
	}
	fresh := newClient(t, f.base, f.r.TrustedRoot())
	up, err := fresh.refresh(t)
	if err != nil {
		t.Fatalf("fresh client after rotations: %v", err)
	}
	if v := rootVersion(up); v != 3 || f.r.RootVersion() != 3 {
		t.Fatalf("fresh client ends on root v%d, repository at v%d, want 3", v, f.r.RootVersion())
	}
	if _, err := up.GetTargetInfo(f.aTarget(t)); err != nil {
		t.Fatalf("target after online key rotation: %v", err)
	}
	up = f.mustRefresh(t)
	if _, err := up.GetTargetInfo(f.aTarget(t)); err != nil {
		t.Fatalf("cached client after online key rotation: %v", err)
	}
}

func TestResignOnlineFollowed(t *testing.T) {
	f := newServedRepo(t, Options{})
	target := f.aTarget(t)
	bin := f.r.BinFor(target)
	if err := f.r.ResignOnline(); err != nil {
		t.Fatal(err)
	}
	up := f.mustRefresh(t)
	tm := up.GetTrustedMetadataSet()
	if tm.Timestamp.Signed.Version != 2 || tm.Snapshot.Signed.Version != 2 || tm.Targets[RoleTargets].Signed.Version != 2 {
		t.Fatalf("versions after re-sign: ts %d snap %d targets %d", tm.Timestamp.Signed.Version, tm.Snapshot.Signed.Version, tm.Targets[RoleTargets].Signed.Version)
	}
	if _, err := up.GetTargetInfo(target); err != nil {
		t.Fatal(err)
	}
	if v := up.GetTrustedMetadataSet().Targets[bin].Signed.Version; v != 2 {
		t.Fatalf("%s version %d, want 2", bin, v)
	}
	if err := f.r.ResignOnline(bin); err != nil {
		t.Fatal(err)
	}
	if f.r.RoleVersion(bin) != 3 || f.r.RoleVersion(RoleTargets) != 2 || f.r.RoleVersion(RoleTimestamp) != 3 {
		t.Fatalf("after re-signing one bin: %s v%d targets v%d timestamp v%d", bin, f.r.RoleVersion(bin), f.r.RoleVersion(RoleTargets), f.r.RoleVersion(RoleTimestamp))
	}
	if err := f.r.ResignOnline("root"); err == nil {
		t.Error("ResignOnline(root) accepted")
	}
	f.mustRefresh(t)
}

func TestExpiryRefused(t *testing.T) {
	t.Run("timestamp", func(t *testing.T) {
		f := newServedRepo(t, Options{})
		if err := f.r.ExpireTimestamp(); err != nil {
			t.Fatal(err)
		}
		_, err := f.c.refresh(t)
		wantErr[*metadata.ErrExpiredMetadata](t, err, "expired timestamp")
		// Re-signing recovers.
		if err := f.r.ResignOnline(); err != nil {
			t.Fatal(err)
		}
		f.mustRefresh(t)
	})
	for _, role := range []string{RoleSnapshot, RoleTargets, RoleRoot} {
		t.Run(role, func(t *testing.T) {
			f := newServedRepo(t, Options{})
			if err := f.r.ExpireRole(role); err != nil {
				t.Fatal(err)
			}
			_, err := f.c.refresh(t)
			wantErr[*metadata.ErrExpiredMetadata](t, err, "expired "+role)
		})
	}
	t.Run("bin", func(t *testing.T) {
		f := newServedRepo(t, Options{})
		target := f.aTarget(t)
		if err := f.r.ExpireRole(f.r.BinFor(target)); err != nil {
			t.Fatal(err)
		}
		up := f.mustRefresh(t)
		_, err := up.GetTargetInfo(target)
		wantErr[*metadata.ErrExpiredMetadata](t, err, "expired bin")
	})
	t.Run("unknown", func(t *testing.T) {
		f := newServedRepo(t, Options{})
		if err := f.r.ExpireRole("bins-zz"); err == nil {
			t.Fatal("ExpireRole of an unknown role accepted")
		}
	})
}

func TestRollbackRefused(t *testing.T) {
	for _, role := range []string{RoleTimestamp, RoleSnapshot, RoleTargets, "bin"} {
		t.Run(role, func(t *testing.T) {
			f := newServedRepo(t, Options{})
			if role == "bin" {
				role = f.r.BinFor(f.aTarget(t))
			}
			if err := f.r.Rollback(role); err == nil {
				t.Fatal("Rollback with no older version accepted")
			}
			if err := f.r.ResignOnline(); err != nil {
				t.Fatal(err)
			}
			f.mustRefresh(t) // the client now trusts version 2 of everything
			if err := f.r.Rollback(role); err != nil {
				t.Fatal(err)
			}
			_, err := f.c.refresh(t)
			wantErr[*metadata.ErrBadVersionNumber](t, err, "rolled back "+role)
			if err := f.r.Heal(); err != nil {
				t.Fatal(err)
			}
			up := f.mustRefresh(t)
			if _, err := up.GetTargetInfo(f.aTarget(t)); err != nil {
				t.Fatalf("after Heal: %v", err)
			}
		})
	}
}

func TestMixAndMatchRefused(t *testing.T) {
	f := newServedRepo(t, Options{})
	target := f.aTarget(t)
	bin := f.r.BinFor(target)
	if err := f.r.MixAndMatch(bin); err == nil {
		t.Fatal("MixAndMatch with no older version accepted")
	}
	if err := f.r.ResignOnline(bin); err != nil {
		t.Fatal(err)
	}
	if err := f.r.MixAndMatch(""); err != nil {
		t.Fatal(err)
	}
	fresh := newClient(t, f.base, f.r.TrustedRoot())
	up, err := fresh.refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.GetTargetInfo(target)
	wantErr[*metadata.ErrBadVersionNumber](t, err, "bin from an older snapshot")
}

func TestWrongKeyRefused(t *testing.T) {
	f := newServedRepo(t, Options{KeyType: KeyTypeECDSA})
	target := f.aTarget(t)
	bin := f.r.BinFor(target)
	if err := f.r.SignBinWithWrongKey(bin); err != nil {
		t.Fatal(err)
	}
	fresh := newClient(t, f.base, f.r.TrustedRoot())
	up, err := fresh.refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.GetTargetInfo(target)
	wantErr[*metadata.ErrUnsignedMetadata](t, err, "bin signed with a wrong key")
	// Targets in other bins still resolve.
	for p, ts := range f.r.Targets() {
		if ts.Bin != bin {
			if _, err := up.GetTargetInfo(p); err != nil {
				t.Fatalf("%s in %s: %v", p, ts.Bin, err)
			}
			break
		}
	}
	if err := f.r.SignBinWithWrongKey(RoleTimestamp); err != nil {
		t.Fatal(err)
	}
	_, err = f.c.refresh(t)
	wantErr[*metadata.ErrUnsignedMetadata](t, err, "timestamp signed with a wrong key")
	if err := f.r.Heal(); err != nil {
		t.Fatal(err)
	}
	up = f.mustRefresh(t)
	if _, err := up.GetTargetInfo(target); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
}

func TestDropBinRefused(t *testing.T) {
	f := newServedRepo(t, Options{})
	target := f.aTarget(t)
	if err := f.r.DropBin(f.r.BinFor(target)); err != nil {
		t.Fatal(err)
	}
	up := f.mustRefresh(t)
	_, err := up.GetTargetInfo(target)
	var httpErr *metadata.ErrDownloadHTTP
	if !errors.As(err, &httpErr) || httpErr.StatusCode != 404 {
		t.Fatalf("target in a dropped bin: %v", err)
	}
}

func TestRotateRootBadRefused(t *testing.T) {
	for _, kind := range []string{BadRootUnsignedByOld, BadRootBelowThreshold, BadRootUnsignedByNew, BadRootWrongVersion} {
		t.Run(kind, func(t *testing.T) {
			f := newServedRepo(t, Options{RootKeys: 3, RootThreshold: 2})
			if err := f.r.RotateRootBad(kind); err != nil {
				t.Fatal(err)
			}
			_, err := f.c.refresh(t)
			if err == nil {
				t.Fatal("go-tuf accepted the bad root")
			}
			var unsigned *metadata.ErrUnsignedMetadata
			var version *metadata.ErrBadVersionNumber
			if !errors.As(err, &unsigned) && !errors.As(err, &version) {
				t.Fatalf("error %T %v", err, err)
			}
			// A good rotation overwrites the bad file, and Heal must not
			// bring the attack back (nor delete the good root).
			if err := f.r.RotateRoot(1, 1); err != nil {
				t.Fatal(err)
			}
			if err := f.r.Heal(); err != nil {
				t.Fatal(err)
			}
			if v := rootVersion(f.mustRefresh(t)); v != 2 {
				t.Fatalf("root v%d after a good rotation", v)
			}
		})
	}
	f := newServedRepo(t, Options{})
	if err := f.r.RotateRootBad("nonsense"); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestTamperFileDetected(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepLength=%v", keep), func(t *testing.T) {
			f := newServedRepo(t, Options{})
			target := f.aTarget(t)
			if err := f.r.TamperFile(target, keep); err != nil {
				t.Fatal(err)
			}
			up := f.mustRefresh(t)
			info, err := up.GetTargetInfo(target)
			if err != nil {
				t.Fatal(err)
			}
			_, body := httpGet(t, f.base+"/packages/"+target)
			if (int64(len(body)) == info.Length) != keep {
				t.Errorf("length %d vs signed %d with keepLength=%v", len(body), info.Length, keep)
			}
			if b2hex(body) == hex.EncodeToString(info.Hashes[HashBlake2b256]) {
				t.Fatal("tampered bytes still match the signed blake2b")
			}
			if err := f.r.Heal(); err != nil {
				t.Fatal(err)
			}
			_, body = httpGet(t, f.base+"/packages/"+target)
			if b2hex(body) != hex.EncodeToString(info.Hashes[HashBlake2b256]) {
				t.Fatal("Heal did not restore the file")
			}
		})
	}
	f := newServedRepo(t, Options{})
	for _, bad := range []string{"../trusted-root.json", "/etc/passwd", "no/such/file"} {
		if err := f.r.TamperFile(bad, false); err == nil {
			t.Errorf("TamperFile(%q) accepted", bad)
		}
	}
}

func TestTamperPageDetected(t *testing.T) {
	f := newServedRepo(t, Options{})
	up := f.mustRefresh(t)
	info, err := up.GetTargetInfo(f.r.PageTarget("app"))
	if err != nil {
		t.Fatal(err)
	}
	signed := hex.EncodeToString(info.Hashes[HashBlake2b256])
	hashedURL := servedURLOfPage(f.r, f.base, "app")
	if _, body := httpGet(t, hashedURL); b2hex(body) != signed {
		t.Fatal("untampered page does not match")
	}
	if err := f.r.TamperPage("app"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{hashedURL, f.base + "/simple/app/", f.base + "/simple/app/index.json"} {
		_, body := httpGet(t, u)
		if !strings.Contains(string(body), "666.0.0") {
			t.Errorf("%s not tampered", u)
		}
		if b2hex(body) == signed {
			t.Errorf("%s still matches the signed hash", u)
		}
	}
	// A release re-renders the page legitimately; Heal afterwards must not
	// put the pre-release page back.
	if err := f.r.AddRelease(ProjectSpec{Name: "app", Releases: []ReleaseSpec{Release("2.0")}}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Heal(); err != nil {
		t.Fatal(err)
	}
	up = f.mustRefresh(t)
	info, err = up.GetTargetInfo(f.r.PageTarget("app"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{servedURLOfPage(f.r, f.base, "app"), f.base + "/simple/app/"} {
		_, body := httpGet(t, u)
		if b2hex(body) != hex.EncodeToString(info.Hashes[HashBlake2b256]) || !strings.Contains(string(body), "app-2.0-py3") || strings.Contains(string(body), "666") {
			t.Errorf("%s after release and Heal:\n%s", u, body)
		}
	}
	// The old hashed page, tampered, is restored by Heal too.
	if _, body := httpGet(t, hashedURL); b2hex(body) != signed {
		t.Error("old hashed page not restored")
	}
}

func TestAddReleaseAndYank(t *testing.T) {
	f := newServedRepo(t, Options{BitLength: 8})
	before := map[string]int64{}
	for _, b := range f.r.Bins() {
		before[b] = f.r.RoleVersion(b)
	}
	spec := ProjectSpec{Name: "app2", Releases: []ReleaseSpec{Release("1.0", "lib>=1.0")}}
	if err := f.r.AddRelease(spec); err != nil {
		t.Fatal(err)
	}
	if err := f.r.AddRelease(spec); err == nil {
		t.Fatal("re-uploading the same file accepted")
	}
	up := f.mustRefresh(t)
	targets := f.r.Targets()
	touched := map[string]bool{}
	for _, fi := range f.r.Files() {
		if fi.Project != "app2" {
			continue
		}
		for _, p := range []string{fi.Path, fi.MetadataPath, f.r.PageTarget("app2")} {
			touched[f.r.BinFor(p)] = true
			info, err := up.GetTargetInfo(p)
			if err != nil {
				t.Fatalf("new target %s: %v", p, err)
			}
			if info.Length != targets[p].Length {
				t.Errorf("%s: length %d, want %d", p, info.Length, targets[p].Length)
			}
		}
	}
	for _, b := range f.r.Bins() {
		want := before[b]
		if touched[b] {
			want++
		}
		if got := f.r.RoleVersion(b); got != want {
			t.Errorf("%s at v%d, want v%d", b, got, want)
		}
	}

	page := f.r.PageTarget("lib")
	if err := f.r.Yank("lib", "1.0", "bad"); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Yank("lib", "9.9", ""); err == nil {
		t.Error("yanking a missing version accepted")
	}
	up = f.mustRefresh(t)
	info, err := up.GetTargetInfo(page)
	if err != nil {
		t.Fatal(err)
	}
	_, body := httpGet(t, servedURLOfPage(f.r, f.base, "lib"))
	if b2hex(body) != hex.EncodeToString(info.Hashes[HashBlake2b256]) || !strings.Contains(string(body), `data-yanked="bad"`) {
		t.Fatalf("yanked page not signed or not yanked:\n%s", body)
	}
}

func TestOpenInAnotherProcess(t *testing.T) {
	f := newServedRepo(t, Options{BitLength: 5, KeyType: KeyTypeRSA, PhantomTargets: 100, Hashes: []string{HashBlake2b256, HashSHA256}})
	r2, err := Open(f.r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.r.Targets(), r2.Targets()
	if len(a) != len(b) || len(a) < 100 {
		t.Fatalf("reopened repository has %d targets, original %d", len(b), len(a))
	}
	for p, ts := range a {
		if got := b[p]; got.Length != ts.Length || got.Bin != ts.Bin || got.Hashes[HashSHA256] != ts.Hashes[HashSHA256] {
			t.Fatalf("%s differs after Open", p)
		}
	}
	if err := r2.AddRelease(ProjectSpec{Name: "later", Releases: []ReleaseSpec{{Version: "3.0", Dists: Wheel | Sdist}}}); err != nil {
		t.Fatal(err)
	}
	if err := r2.RotateRoot(2, 1); err != nil {
		t.Fatal(err)
	}
	up := f.mustRefresh(t)
	if rootVersion(up) != 2 {
		t.Fatal("root rotation by the reopened repository not followed")
	}
	for _, fi := range r2.Files() {
		if fi.Project == "later" {
			if _, err := up.GetTargetInfo(fi.Path); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open of an empty directory succeeded")
	}
	if _, err := Generate(Options{Dir: f.r.Dir()}, nil); err == nil {
		t.Error("Generate over an existing repository succeeded")
	}
}

func TestEndlessAndSlow(t *testing.T) {
	f := newServedRepo(t, Options{})
	if err := f.r.EndlessFile("metadata/timestamp.json"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.base + "/metadata/timestamp.json")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || n != 4<<20 {
		t.Fatalf("endless: %d, read %d", resp.StatusCode, n)
	}
	_, err = f.c.refresh(t)
	wantErr[*metadata.ErrDownloadLengthMismatch](t, err, "endless timestamp")
	if code, _ := httpGet(t, f.base+"/metadata/timestamp.json.endless"); code != 404 {
		t.Errorf("marker served: %d", code)
	}

	target := f.aTarget(t)
	if err := f.r.SlowFile("packages/"+target, 50); err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	resp, err = cl.Get(f.base + "/packages/" + target)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("slow file arrived within 300ms")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("timeout did not end the slow transfer")
	}
	if err := f.r.Heal(); err != nil {
		t.Fatal(err)
	}
	f.mustRefresh(t)
	if _, body := httpGet(t, f.base+"/packages/"+target); int64(len(body)) != f.r.Files()[0].Length {
		t.Fatal("file not served normally after Heal")
	}
}

func TestHostileTargetNames(t *testing.T) {
	f := newServedRepo(t, Options{BitLength: 3})
	names := []string{"../evil.whl", "/etc/passwd", "a\x00b.whl", strings.Repeat("n", 300), "dir/" + strings.Repeat("x", 200) + ".whl", "ünïcode/<tag>&.whl"}
	for i, n := range names {
		if err := f.r.AddTarget(n, []byte(fmt.Sprintf("payload %d", i))); err != nil {
			t.Fatalf("AddTarget(%q): %v", n, err)
		}
	}
	if err := f.r.AddTarget(names[0], []byte("again")); err == nil {
		t.Error("adding an existing target accepted")
	}
	up := f.mustRefresh(t)
	for i, n := range names {
		info, err := up.GetTargetInfo(n)
		if err != nil {
			t.Fatalf("GetTargetInfo(%q): %v", n, err)
		}
		if want := int64(len(fmt.Sprintf("payload %d", i))); info.Length != want {
			t.Errorf("%q: length %d, want %d", n, info.Length, want)
		}
	}
	if _, body := httpGet(t, f.base+"/packages/dir/"+strings.Repeat("x", 200)+".whl"); string(body) != "payload 4" {
		t.Errorf("safe custom target not served: %q", body)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.r.Dir()), "evil.whl")); err == nil {
		t.Error("../evil.whl was written outside the repository")
	}
}

// A legacy sdist name, listed on another project's unsigned page, is
// served there until Heal; the file itself stays signed for its owner.
func TestListOnPage(t *testing.T) {
	r := mustGenerate(t, Options{BitLength: 2, IndexLayout: IndexLayoutDistsOnly}, []ProjectSpec{
		{Name: "pkg-0", Releases: []ReleaseSpec{Release("1.0")}},
		{Name: "pkg-0-9", Releases: []ReleaseSpec{{Version: "9", Dists: Sdist, SdistStem: "pkg-0-9-9"}}},
	})
	base := serve(t, r.Dir())
	var foreign FileInfo
	for _, f := range r.Files() {
		if f.Project == "pkg-0-9" {
			foreign = f
		}
	}
	if foreign.Filename != "pkg-0-9-9.tar.gz" {
		t.Fatalf("legacy sdist named %q, want pkg-0-9-9.tar.gz", foreign.Filename)
	}
	if _, ok := r.Targets()[foreign.Path]; !ok {
		t.Fatal("the legacy sdist is not a signed target")
	}
	if err := r.ListOnPage("pkg-0", foreign); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{base + "/simple/pkg-0/", base + "/simple/pkg-0/index.json"} {
		if _, body := httpGet(t, u); !strings.Contains(string(body), foreign.Path) {
			t.Errorf("%s does not list %s", u, foreign.Filename)
		}
	}
	if err := r.ListOnPage("pkg-0", FileInfo{Project: "pkg-0-9", Filename: "x-1.tar.gz", Path: "x"}); err == nil {
		t.Error("listing a file the repository does not have succeeded")
	}
	if err := r.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, body := httpGet(t, base+"/simple/pkg-0/"); strings.Contains(string(body), foreign.Filename) {
		t.Error("Heal left the foreign file on the page")
	}
}
