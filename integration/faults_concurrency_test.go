package integration

// Sharing (DESIGN.md §2, promise 3): processes and goroutines that share
// one artifact cache and one metadata directory while the repository
// re-signs and rotates its root under them.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// TestFaultSharedHomeProcesses runs, in each of three rounds, four tufpip
// processes (get and download, some forcing a refresh) against one
// --home while a fifth runs "tufpip refresh --refresh" in a loop and the
// repository re-signs its online roles; between rounds the root rotates.
// Every process must succeed with the signed bytes, and the shared
// directories must hold only verified files and no leftovers.
func TestFaultSharedHomeProcesses(t *testing.T) {
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, append(appAndLib(), repogen.SyntheticProjects(4)...))
	home := t.TempDir()
	flags := repoFlags(tr, home)
	mustTufpip(t, append(flags, "refresh")...)
	outDir := t.TempDir()

	type job struct {
		name string
		args []string
		// check inspects the result after the round.
		check func(t *testing.T)
	}
	for round := range 3 {
		if round == 2 {
			if err := tr.RotateRoot(2, 1); err != nil {
				t.Fatal(err)
			}
		}
		var jobs []job
		for i := range 4 {
			f := tr.file(t, fmt.Sprintf("synthetic-pkg-%d", i), "1.1.0", "wheel")
			shared := tr.file(t, "lib", "1.1", "wheel")
			out := filepath.Join(outDir, fmt.Sprintf("r%d-get%d.whl", round, i))
			dest := filepath.Join(outDir, fmt.Sprintf("r%d-dl%d", round, i))
			get := append(slices.Clone(flags), "get", f.Path, "-o", out)
			if i%2 == 0 {
				get = append(get, "--refresh")
			}
			jobs = append(jobs,
				job{"get " + f.Filename, get, func(t *testing.T) {
					if b, err := os.ReadFile(out); err != nil || hexB2(b) != f.Hashes[repogen.HashBlake2b256] {
						t.Errorf("round %d: %s is not the signed wheel (%v)", round, out, err)
					}
				}},
				job{"download lib and " + f.Project, append(slices.Clone(flags), "download", "lib==1.1", f.Project+"==1.1.0", "-d", dest), func(t *testing.T) {
					ents, _ := os.ReadDir(dest)
					var names []string
					for _, e := range ents {
						names = append(names, e.Name())
					}
					sort.Strings(names)
					want := []string{shared.Filename, f.Filename}
					sort.Strings(want)
					if !slices.Equal(names, want) {
						t.Errorf("round %d: %s holds %v, want %v", round, dest, names, want)
					}
					for _, w := range []repogen.FileInfo{shared, f} {
						if b, err := os.ReadFile(filepath.Join(dest, w.Filename)); err != nil || hexB2(b) != w.Hashes[repogen.HashBlake2b256] {
							t.Errorf("round %d: %s is not the signed wheel (%v)", round, w.Filename, err)
						}
					}
				}})
		}

		var stop atomic.Bool
		var wg sync.WaitGroup
		refreshes := 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if res := runTufpip(t, nil, append(flags, "--refresh", "refresh")...); res.Code != 0 {
					t.Errorf("round %d: refresh: %s", round, res)
					return
				}
				refreshes++
			}
		}()
		wg.Add(1)
		go func() { // the repository moves while they run
			defer wg.Done()
			time.Sleep(30 * time.Millisecond)
			if err := tr.ResignOnline(); err != nil {
				t.Error(err)
			}
		}()
		var jobs4 sync.WaitGroup
		for _, j := range jobs {
			jobs4.Add(1)
			go func() {
				defer jobs4.Done()
				if res := runTufpip(t, nil, j.args...); res.Code != 0 {
					t.Errorf("round %d: %s: %s", round, j.name, res)
				}
			}()
		}
		jobs4.Wait()
		stop.Store(true)
		wg.Wait()
		for _, j := range jobs {
			j.check(t)
		}
		t.Logf("round %d: %d processes and %d refreshes alongside", round, len(jobs), refreshes)
		if err := tr.ResignOnline(); err != nil {
			t.Fatal(err)
		}
	}
	res := mustTufpip(t, append(flags, "--refresh", "refresh")...)
	if v := refreshed(t, res); v["root"] != tr.RootVersion() || v["timestamp"] != tr.RoleVersion("timestamp") {
		t.Errorf("final refresh trusts %v; the repository is at root v%d, timestamp v%d", v, tr.RootVersion(), tr.RoleVersion("timestamp"))
	}
	assertMetadataDirVerified(t, metadataDir(t, home), false)
	assertCacheVerified(t, home, tr)
	filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && isTempName(d.Name()) {
			t.Errorf("temporary file left in an output directory: %s", p)
		}
		return nil
	})
}

// TestFaultSharedUpdaterGoroutines has 64 goroutines look targets up
// through one updater.Updater (with a tiny freshness window, so epochs
// turn over under them) and fetch them into the artifact cache through
// two cache.Stores on one directory (as two processes would), while a
// second Updater on the same metadata directory refreshes in a loop and
// the repository re-signs. Run with -race.
func TestFaultSharedUpdaterGoroutines(t *testing.T) {
	t.Parallel()
	tr, _ := newFaultRepo(t, repogen.IndexLayoutPEP458, append(appAndLib(), repogen.SyntheticProjects(6)...))
	home := t.TempDir()
	metaDir := filepath.Join(home, "state", "repositories", "r", "metadata")
	if err := os.MkdirAll(metaDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(home, "state", "repositories", "r", "refresh")
	hc := httpx.NewClient(httpx.Options{RetryMax: 1})
	newU := func(window time.Duration) *updater.Updater {
		u, err := updater.New(updater.Config{
			MetadataURL: tr.URL + "/metadata/", MetadataDir: metaDir, BootstrapRoot: tr.TrustedRoot(),
			HTTPClient: hc, Window: window,
			// As cmd/tufpip wires it.
			Lock: func(ctx context.Context) (func() error, error) {
				unlock, err := cache.Lock(ctx, lockPath)
				if err != nil {
					return nil, err
				}
				cache.CleanTemp(metaDir, time.Minute)
				return unlock, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u, other := newU(20*time.Millisecond), newU(0)
	var stores [2]*cache.Store
	for i := range stores {
		s, err := cache.OpenStore(storeDir(home), cache.StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	var wheels []repogen.FileInfo
	for _, f := range tr.Files() {
		if f.Kind == "wheel" {
			wheels = append(wheels, f)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var done atomic.Bool
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // another process refreshing the same metadata directory
		defer bg.Done()
		for !done.Load() {
			if err := other.Refresh(ctx); err != nil {
				t.Errorf("concurrent refresh: %v", err)
				return
			}
			// The refresh lock is polled, not queued: a holder that
			// re-locks at once would starve the other updater. A process
			// refreshing in a loop pauses at least this long to start.
			time.Sleep(5 * time.Millisecond)
		}
	}()
	go func() { // the repository re-signs under everyone
		defer bg.Done()
		for range 3 {
			time.Sleep(40 * time.Millisecond)
			if err := tr.ResignOnline(); err != nil {
				t.Error(err)
			}
		}
	}()

	const goroutines, perGoroutine = 64, 12
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perGoroutine {
				f := wheels[(g+k)%len(wheels)]
				ti, err := u.Target(ctx, f.Path)
				if err != nil {
					t.Errorf("goroutine %d: lookup %s: %v", g, f.Path, err)
					return
				}
				if g%16 == 0 && k == perGoroutine/2 {
					if err := u.Refresh(ctx); err != nil {
						t.Errorf("goroutine %d: refresh: %v", g, err)
						return
					}
				}
				ent, err := index.FetchVerified(ctx, hc, stores[g%2], ti, tr.URL+"/packages/"+f.Path)
				if err != nil {
					t.Errorf("goroutine %d: fetch %s: %v", g, f.Filename, err)
					return
				}
				b, err := io.ReadAll(ent.File())
				ent.Close()
				if err != nil || hexB2(b) != f.Hashes[repogen.HashBlake2b256] || !bytes.Equal(b[:2], []byte("PK")) {
					t.Errorf("goroutine %d: %s: wrong bytes (%v)", g, f.Filename, err)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	bg.Wait()
	if n := lookups.Load(); n != goroutines*perGoroutine {
		t.Fatalf("%d of %d lookups and fetches succeeded", n, goroutines*perGoroutine)
	}
	assertMetadataDirVerified(t, metaDir, false)
	if n := assertCacheVerified(t, home, tr); n != len(wheels) {
		t.Errorf("the cache holds %d artifacts, want the %d wheels", n, len(wheels))
	}
	if temps := storeTemps(t, home); len(temps) != 0 {
		t.Errorf("temporary files left in the store: %v", temps)
	}
	// Every answer came from an unexpired, signed bin: the final ones
	// carry the current snapshot.
	ti, err := u.Target(ctx, wheels[0].Path)
	if err != nil || ti.Expires.IsZero() || !strings.HasPrefix(ti.Role, "bins-") {
		t.Errorf("final lookup: %+v, %v", ti, err)
	}
}
