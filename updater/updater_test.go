package updater_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// testRepo generates a repository and serves it on 127.0.0.1.
func testRepo(t *testing.T, o repogen.Options, specs ...repogen.ProjectSpec) (*repogen.Repo, string) {
	t.Helper()
	o.Dir = filepath.Join(t.TempDir(), "repo")
	if len(specs) == 0 {
		specs = repogen.SyntheticProjects(3)
	}
	r, err := repogen.Generate(o, specs)
	if err != nil {
		t.Fatalf("generating repository: %v", err)
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	t.Cleanup(srv.Close)
	return r, srv.URL + "/"
}

func newUpdater(t *testing.T, base string, root []byte, dir string, mod ...func(*updater.Config)) *updater.Updater {
	t.Helper()
	cfg := updater.Config{
		MetadataURL:   base + "metadata/",
		MetadataDir:   dir,
		BootstrapRoot: root,
		HTTPClient:    httpx.NewClient(httpx.Options{RetryMax: 1}),
	}
	for _, m := range mod {
		m(&cfg)
	}
	u, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func firstWheel(t *testing.T, r *repogen.Repo) repogen.FileInfo {
	t.Helper()
	for _, f := range r.Files() {
		if f.Kind == "wheel" {
			return f
		}
	}
	t.Fatal("no wheel in repository")
	return repogen.FileInfo{}
}

func TestTargetLookupAllKeyTypes(t *testing.T) {
	for _, kt := range []string{repogen.KeyTypeEd25519, repogen.KeyTypeECDSA, repogen.KeyTypeRSA} {
		t.Run(kt, func(t *testing.T) {
			r, base := testRepo(t, repogen.Options{KeyType: kt, BitLength: 4, Hashes: []string{repogen.HashBlake2b256, repogen.HashSHA256}})
			u := newUpdater(t, base, r.TrustedRoot(), t.TempDir())
			ctx := context.Background()
			for path, want := range r.Targets() {
				ti, err := u.Target(ctx, path)
				if err != nil {
					t.Fatalf("Target(%s): %v", path, err)
				}
				if ti.Length != want.Length || ti.Hashes["blake2b-256"] != want.Hashes["blake2b-256"] || ti.Hashes["sha256"] != want.Hashes["sha256"] {
					t.Fatalf("Target(%s) = %+v, want %+v", path, ti, want)
				}
				if ti.Role != want.Bin {
					t.Fatalf("Target(%s).Role = %s, want %s", path, ti.Role, want.Bin)
				}
			}
			_, err := u.Target(ctx, "no/such/target.whl")
			if !errors.Is(err, updater.ErrNotSigned) {
				t.Fatalf("unknown target: err = %v, want ErrNotSigned", err)
			}
		})
	}
}

func TestPEP458TextLayout(t *testing.T) {
	r, base := testRepo(t, repogen.Options{TUFLayout: repogen.TUFLayoutPEP458Text, BitLength: 3})
	u := newUpdater(t, base, r.TrustedRoot(), t.TempDir())
	w := firstWheel(t, r)
	ti, err := u.Target(context.Background(), w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Length != w.Length {
		t.Fatalf("length %d, want %d", ti.Length, w.Length)
	}
}

// The python-tuf fixture: metadata tufpip did not produce.
func TestReferenceFixture(t *testing.T) {
	fixture := filepath.Join("..", "..", "shared", "fixtures", "pep458-python-tuf")
	if _, err := os.Stat(fixture); err != nil {
		t.Fatalf("reference fixture missing (%v): CI must provide ../shared", err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(fixture)))
	defer srv.Close()
	root, err := os.ReadFile(filepath.Join(fixture, "trusted-root.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Targets []struct {
			Target string            `json:"target"`
			Bin    string            `json:"bin"`
			Length int64             `json:"length"`
			Hashes map[string]string `json:"hashes"`
		} `json:"targets"`
	}
	raw, err := os.ReadFile(filepath.Join(fixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	u := newUpdater(t, srv.URL+"/", root, t.TempDir())
	ctx := context.Background()
	for _, e := range expected.Targets {
		ti, err := u.Target(ctx, e.Target)
		if err != nil {
			t.Fatalf("Target(%s): %v", e.Target, err)
		}
		if ti.Role != e.Bin || ti.Length != e.Length || ti.Hashes["blake2b-256"] != e.Hashes["blake2b-256"] {
			t.Fatalf("Target(%s) = %+v, want bin %s length %d hashes %v", e.Target, ti, e.Bin, e.Length, e.Hashes)
		}
	}
	st, err := u.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Roles["root"].Version != 2 {
		t.Fatalf("root version %d, want 2 (the fixture rotates root once)", st.Roles["root"].Version)
	}
	if len(expected.Targets) == 0 {
		t.Fatal("expected.json lists no targets")
	}
}

func TestRotationAndResignAreFollowed(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 4})
	dir := t.TempDir()
	ctx := context.Background()
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.RotateRoot(2, 2); err != nil {
		t.Fatal(err)
	}
	if err := r.RotateOnlineKey(); err != nil {
		t.Fatal(err)
	}
	if err := r.ResignOnline(); err != nil {
		t.Fatal(err)
	}
	// A new process: starts from the cached root, walks forward.
	u2 := newUpdater(t, base, r.TrustedRoot(), dir)
	if err := u2.Refresh(ctx); err != nil {
		t.Fatalf("refresh after rotation: %v", err)
	}
	st, _ := u2.Status(ctx)
	if st.Roles["root"].Version != r.RootVersion() || st.Roles["root"].Version < 2 {
		t.Fatalf("root v%d, want v%d", st.Roles["root"].Version, r.RootVersion())
	}
	if st.Roles["snapshot"].Version != r.RoleVersion("snapshot") {
		t.Fatalf("snapshot v%d, want v%d", st.Roles["snapshot"].Version, r.RoleVersion("snapshot"))
	}
	w := firstWheel(t, r)
	if _, err := u2.Target(ctx, w.Path); err != nil {
		t.Fatalf("lookup after rotation: %v", err)
	}
}

func TestAttacksAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		attack func(r *repogen.Repo, bin string) error
		check  func(error) bool
		want   string
	}{
		{"expired timestamp", func(r *repogen.Repo, _ string) error { return r.ExpireTimestamp() },
			func(err error) bool { return errors.Is(err, updater.ErrExpired) }, "expired"},
		{"rollback timestamp", func(r *repogen.Repo, _ string) error { return r.Rollback("timestamp") },
			isMetadataError, "timestamp"},
		{"rollback snapshot", func(r *repogen.Repo, _ string) error { return r.Rollback("snapshot") },
			isMetadataError, "snapshot"},
		{"wrong key on bin", func(r *repogen.Repo, bin string) error { return r.SignBinWithWrongKey(bin) },
			isMetadataError, ""},
		{"dropped bin", func(r *repogen.Repo, bin string) error { return r.DropBin(bin) },
			func(err error) bool { var ne *updater.NetworkError; return errors.As(err, &ne) }, "404"},
		{"endless timestamp", func(r *repogen.Repo, _ string) error { return r.EndlessFile("metadata/timestamp.json") },
			isMetadataError, "timestamp"},
		{"bad root: unsigned by old", func(r *repogen.Repo, _ string) error { return r.RotateRootBad(repogen.BadRootUnsignedByOld) },
			isMetadataError, "root"},
		{"bad root: wrong version", func(r *repogen.Repo, _ string) error { return r.RotateRootBad(repogen.BadRootWrongVersion) },
			isMetadataError, "root"},
		{"mix and match", func(r *repogen.Repo, bin string) error { return r.MixAndMatch(bin) },
			isMetadataError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, base := testRepo(t, repogen.Options{BitLength: 4})
			w := firstWheel(t, r)
			bin := r.BinFor(w.Path)
			dir := t.TempDir()
			ctx := context.Background()
			// Give every role a previous version to roll back to.
			if err := r.ResignOnline(); err != nil {
				t.Fatal(err)
			}
			// Trust an honest state first, as a long-lived client would.
			if tt.name != "wrong key on bin" && tt.name != "dropped bin" {
				if err := newUpdater(t, base, r.TrustedRoot(), dir).Refresh(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.attack(r, bin); err != nil {
				t.Fatalf("attack: %v", err)
			}
			u := newUpdater(t, base, r.TrustedRoot(), dir)
			_, err := u.Target(ctx, w.Path)
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (%T), want a refusal mentioning %q", err, err, tt.want)
			}
		})
	}
}

func isMetadataError(err error) bool {
	var me *updater.MetadataError
	return errors.As(err, &me)
}

func TestFreshnessWindowAnswersFromDisk(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 4})
	var requests atomic.Int64
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		http.Redirect(w, req, base+strings.TrimPrefix(req.URL.Path, "/"), http.StatusTemporaryRedirect)
	}))
	defer counting.Close()
	dir := t.TempDir()
	ctx := context.Background()
	w := firstWheel(t, r)
	window := func(c *updater.Config) {
		c.Window = time.Hour
		c.HTTPClient = httpx.NewClient(httpx.Options{RetryMax: 1, AllowCrossHostRedirects: true})
	}
	u := newUpdater(t, counting.URL+"/", r.TrustedRoot(), dir, window)
	want, err := u.Target(ctx, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	cold := requests.Load()
	if cold == 0 {
		t.Fatal("cold lookup made no requests")
	}
	// A new process inside the window: no network at all.
	u2 := newUpdater(t, counting.URL+"/", r.TrustedRoot(), dir, window)
	got, err := u2.Target(ctx, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if requests.Load() != cold {
		t.Fatalf("warm lookup made %d requests, want 0", requests.Load()-cold)
	}
	if got.Length != want.Length || got.Hashes["blake2b-256"] != want.Hashes["blake2b-256"] || got.Role != want.Role {
		t.Fatalf("warm %+v != cold %+v", got, want)
	}
	st, _ := u2.Status(ctx)
	if st.Source != "cache" {
		t.Fatalf("status source %q, want cache", st.Source)
	}
	// A target in a bin not cached yet: falls back to the network once.
	var other string
	for p, ts := range r.Targets() {
		if ts.Bin != want.Role {
			other = p
			break
		}
	}
	if _, err := u2.Target(ctx, other); err != nil {
		t.Fatalf("lookup in an uncached bin: %v", err)
	}
	if requests.Load() == cold {
		t.Fatal("uncached bin answered without fetching it")
	}
	// A cached bin file that was tampered with is not trusted.
	binFile := filepath.Join(dir, "delegated", want.Role+".json")
	data, err := os.ReadFile(binFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(binFile, []byte(strings.Replace(string(data), `"length": `, `"length": 1`, 1)), 0o644)
	u3 := newUpdater(t, counting.URL+"/", r.TrustedRoot(), dir, window)
	got, err = u3.Target(ctx, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Length != want.Length {
		t.Fatalf("tampered cached bin was trusted: length %d, want %d", got.Length, want.Length)
	}
}

func TestOfflineRefusesExpired(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 4})
	dir := t.TempDir()
	ctx := context.Background()
	w := firstWheel(t, r)
	if _, err := newUpdater(t, base, r.TrustedRoot(), dir).Target(ctx, w.Path); err != nil {
		t.Fatal(err)
	}
	offline := func(c *updater.Config) { c.Offline = true; c.MetadataURL = "http://127.0.0.1:1/metadata/" }
	if _, err := newUpdater(t, base, r.TrustedRoot(), dir, offline).Target(ctx, w.Path); err != nil {
		t.Fatalf("offline with fresh cache: %v", err)
	}
	later := func(c *updater.Config) {
		offline(c)
		c.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	}
	_, err := newUpdater(t, base, r.TrustedRoot(), dir, later).Target(ctx, w.Path)
	if !errors.Is(err, updater.ErrExpired) {
		t.Fatalf("offline with expired cache: err = %v, want ErrExpired", err)
	}
}

func TestConcurrentLookups(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 6}, repogen.SyntheticProjects(20)...)
	u := newUpdater(t, base, r.TrustedRoot(), t.TempDir(), func(c *updater.Config) { c.Window = time.Minute })
	targets := r.Targets()
	var wg sync.WaitGroup
	errs := make(chan error, 64*len(targets))
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for p, want := range targets {
				ti, err := u.Target(context.Background(), p)
				if err != nil {
					errs <- err
					return
				}
				if ti.Length != want.Length {
					errs <- fmt.Errorf("%s: length %d want %d", p, ti.Length, want.Length)
				}
				if g%16 == 0 && p == firstWheel(t, r).Path {
					if err := u.Refresh(context.Background()); err != nil {
						errs <- err
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNoTrustedRoot(t *testing.T) {
	_, base := testRepo(t, repogen.Options{BitLength: 1})
	u := newUpdater(t, base, nil, t.TempDir())
	if _, err := u.Target(context.Background(), "a/b"); !errors.Is(err, updater.ErrNoTrustedRoot) {
		t.Fatalf("err = %v, want ErrNoTrustedRoot", err)
	}
}

func TestSixteenThousandBins(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 16,384-bin repository")
	}
	r, base := testRepo(t, repogen.Options{BitLength: 14}, repogen.SyntheticProjects(5)...)
	u := newUpdater(t, base, r.TrustedRoot(), t.TempDir())
	st, err := u.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Bins != 16384 {
		t.Fatalf("bins = %d, want 16384", st.Bins)
	}
	for p, want := range r.Targets() {
		ti, err := u.Target(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if ti.Role != want.Bin || !strings.HasPrefix(ti.Role, "bins-") || len(ti.Role) != len("bins-0000") {
			t.Fatalf("%s: role %s, want %s", p, ti.Role, want.Bin)
		}
	}
}

// An expired role is named in the error: go-tuf finds an expired root
// while loading the timestamp, and the error still names root.
func TestExpiredRoleNamed(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 2})
	for _, tc := range []struct {
		after time.Duration
		role  string
	}{
		{2 * 24 * time.Hour, "timestamp"},
		{400 * 24 * time.Hour, "root"},
	} {
		t.Run(tc.role, func(t *testing.T) {
			u := newUpdater(t, base, r.TrustedRoot(), t.TempDir(), func(c *updater.Config) {
				c.Now = func() time.Time { return time.Now().Add(tc.after) }
			})
			err := u.Refresh(context.Background())
			var me *updater.MetadataError
			if !errors.As(err, &me) || me.Role != tc.role || !errors.Is(err, updater.ErrExpired) {
				t.Fatalf("Refresh: %v; want an expired %s", err, tc.role)
			}
		})
	}
}
