package integration

// Clock skew. TUF checks only expiry, so metadata "from the future" (a
// client clock far behind) is fine; what must not happen is that a clock
// behind the time of the last refresh stretches the freshness window, or
// that a clock far ahead gets anything but a refusal that says "expired".

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// fakeClock is a settable clock for updater.Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// countingServer serves tr's directory and counts the requests.
func countingServer(t *testing.T, tr *testRepo) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	inner := repogen.NewHandler(tr.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// TestFaultClockSkewInProcess drives one updater's clock with
// updater.Config.Now.
func TestFaultClockSkewInProcess(t *testing.T) {
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	base, requests := countingServer(t, tr)
	wheel := tr.file(t, "lib", "1.1", "wheel")
	t0 := time.Now()
	newU := func(clock *fakeClock, dir string, mod ...func(*updater.Config)) *updater.Updater {
		cfg := updater.Config{
			MetadataURL:   base + "/metadata/",
			MetadataDir:   dir,
			BootstrapRoot: tr.TrustedRoot(),
			HTTPClient:    httpx.NewClient(httpx.Options{RetryMax: 1}),
			Window:        5 * time.Minute,
			Now:           clock.Now,
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
	ctx := context.Background()
	lookup := func(u *updater.Updater) (int64, error) {
		before := requests.Load()
		_, err := u.Target(ctx, wheel.Path)
		return requests.Load() - before, err
	}

	t.Run("behind", func(t *testing.T) {
		// Metadata signed "in the future" of a clock 30 days behind is
		// fine: TUF has no not-before.
		clock := &fakeClock{now: t0.Add(-30 * 24 * time.Hour)}
		if _, err := lookup(newU(clock, t.TempDir())); err != nil {
			t.Fatalf("lookup with the clock 30 days behind: %v", err)
		}

		// Refreshed at t0; then the clock goes back an hour. Neither this
		// updater's epoch nor a new process's reading of the metadata
		// directory may count the hour as inside the freshness window.
		dir := t.TempDir()
		clock.Set(t0)
		u := newU(clock, dir)
		if n, err := lookup(u); err != nil || n == 0 {
			t.Fatalf("first lookup: %d requests, %v", n, err)
		}
		if n, err := lookup(u); err != nil || n != 0 {
			t.Fatalf("lookup inside the window: %d requests, %v; want none", n, err)
		}
		clock.Set(t0.Add(-time.Hour))
		if n, err := lookup(newU(clock, dir)); err != nil || n == 0 {
			t.Errorf("a new updater whose clock is behind the recorded refresh answered from the cache (%d requests, %v): the window was stretched", n, err)
		}
		clock.Set(t0)
		u = newU(clock, t.TempDir())
		if _, err := lookup(u); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(-time.Hour))
		if n, err := lookup(u); err != nil || n == 0 {
			t.Errorf("an updater whose clock went back behind its last refresh kept using it (%d requests, %v): the window was stretched", n, err)
		}
		st, err := u.Status(ctx)
		if err != nil || st.RefreshedAt.After(clock.Now()) {
			t.Errorf("status after the clock went back: refreshed at %v (now %v), %v", st.RefreshedAt, clock.Now(), err)
		}
	})

	t.Run("ahead", func(t *testing.T) {
		// Timestamp, snapshot and bins expire after a day.
		clock := &fakeClock{now: t0.Add(3 * 24 * time.Hour)}
		_, err := lookup(newU(clock, t.TempDir()))
		var me *updater.MetadataError
		if !errors.Is(err, updater.ErrExpired) || !errors.As(err, &me) {
			t.Errorf("lookup with the clock 3 days ahead: %v, want an expiry MetadataError", err)
		}

		// An updater that refreshed at t0 and whose clock then jumps
		// ahead: its epoch, and the metadata directory offline, are
		// refused as expired too.
		dir := t.TempDir()
		clock.Set(t0)
		u := newU(clock, dir)
		if _, err := lookup(u); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(3 * 24 * time.Hour))
		if _, err := lookup(u); !errors.Is(err, updater.ErrExpired) {
			t.Errorf("lookup after the clock jumped 3 days ahead: %v, want ErrExpired", err)
		}
		off := newU(clock, dir, func(c *updater.Config) { c.Offline = true })
		if _, err := lookup(off); !errors.Is(err, updater.ErrExpired) {
			t.Errorf("offline lookup with the clock 3 days ahead: %v, want ErrExpired", err)
		}
	})
}

// TestFaultBinExpiresFirst: a bin that expires before the timestamp is
// refused once expired, by a long-lived epoch (which checked it when it
// loaded it) and by a new process inside the freshness window (which
// finds it on disk), and found again once the repository re-signs it.
func TestFaultBinExpiresFirst(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		window time.Duration
		// newUpdater: a second process answers after the bin expired.
		newUpdater bool
	}{
		{"long-lived epoch", 0, false},
		{"new process in the window", 5 * time.Minute, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr, _ := newFaultRepoOpts(t, repogen.Options{IndexLayout: repogen.IndexLayoutPEP458, BitLength: 4,
				Expiry: map[string]time.Duration{"bins": 2 * time.Minute}, Now: func() time.Time { return t0 }}, appAndLib())
			wheel := tr.file(t, "lib", "1.1", "wheel")
			clock := &fakeClock{now: t0}
			dir := t.TempDir()
			newU := func() *updater.Updater {
				u, err := updater.New(updater.Config{
					MetadataURL: tr.URL + "/metadata/", MetadataDir: dir, BootstrapRoot: tr.TrustedRoot(),
					HTTPClient: httpx.NewClient(httpx.Options{RetryMax: 1}), Window: c.window, Now: clock.Now,
				})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			u := newU()
			ti, err := u.Target(ctx, wheel.Path)
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(2 * time.Minute); !ti.Expires.Equal(want.Truncate(time.Second)) && !ti.Expires.Equal(want) {
				t.Errorf("target info expires %v, want the bin's expiry %v", ti.Expires, want)
			}
			clock.Set(t0.Add(3 * time.Minute))
			if c.newUpdater {
				u = newU()
			}
			if _, err := u.Target(ctx, wheel.Path); !errors.Is(err, updater.ErrExpired) {
				t.Errorf("lookup after the bin expired: %v, want ErrExpired", err)
			}
			// The repository re-signs: the same updater recovers.
			tr.SetClock(func() time.Time { return t0.Add(3 * time.Minute) })
			if err := tr.ResignOnline(); err != nil {
				t.Fatal(err)
			}
			if _, err := u.Target(ctx, wheel.Path); err != nil {
				t.Errorf("lookup after the repository re-signed the bin: %v", err)
			}
		})
	}
}

// requireFaketime returns the faketime command; CI must have it (.ci/run
// installs it).
func requireFaketime(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("faketime")
	if err != nil {
		testenv.MissingPrerequisite(t, "faketime not installed: %v", err)
	}
	return p
}

// TestFaultClockSkewBinary runs the binary under libfaketime, which
// tufpip reads through `date +%s` (updater.ClockFromEnv).
func TestFaultClockSkewBinary(t *testing.T) {
	ft := requireFaketime(t)
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	wheel := tr.file(t, "lib", "1.1", "wheel")
	at := func(offset string, args ...string) cmdResult {
		return runCommand(t, nil, ft, append([]string{"-f", offset, tufpipBin}, args...)...)
	}
	status := func(res cmdResult) updater.Status {
		t.Helper()
		var st updater.Status
		if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &st) != nil {
			t.Fatalf("status --json: %s", res)
		}
		return st
	}

	// Far ahead: everything has expired; refused, and said so.
	home := t.TempDir()
	out := filepath.Join(t.TempDir(), "lib.whl")
	for _, args := range [][]string{
		{"refresh"},
		{"get", wheel.Path, "-o", out},
	} {
		res := at("+3d", append(repoFlags(tr, home), args...)...)
		if res.Code != exitRepositoryError || !strings.Contains(res.Stderr, "expired") {
			t.Errorf("tufpip %s with the clock 3 days ahead: %s\nwant exit %d and an expiry message", args[0], res, exitRepositoryError)
		}
	}
	assertDirEmpty(t, filepath.Dir(out))

	// Far behind: metadata from the future is fine.
	res := at("-30d", append(repoFlags(tr, t.TempDir()), "get", wheel.Path, "-o", out)...)
	if res.Code != 0 {
		t.Errorf("get with the clock 30 days behind: %s", res)
	}

	// Refreshed now, then run with the clock two hours behind: the
	// recorded refresh lies in that clock's future, so it is not taken as
	// fresh; the repository is asked again.
	home = t.TempDir()
	mustTufpip(t, append(repoFlags(tr, home), "refresh")...)
	if st := status(mustTufpip(t, append(repoFlags(tr, home), "status", "--json")...)); st.Source != "cache" {
		t.Fatalf("status right after a refresh came from %q, want the cache", st.Source)
	}
	if st := status(at("-2h", append(repoFlags(tr, home), "status", "--json")...)); st.Source != "network" {
		t.Errorf("with the clock 2h behind the last refresh, status came from %q, want the network", st.Source)
	}
	// ... and offline, with the clock far ahead, expired is expired.
	res = at("+3d", append(repoFlags(tr, home), "--offline", "get", wheel.Path, "-o", out)...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "expired") {
		t.Errorf("offline get with the clock 3 days ahead: %s\nwant an expiry refusal", res)
	}
}
