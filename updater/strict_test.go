package updater_test

// Tests for the outside review's updater findings (issue 10, items 6, 7,
// 9, 10 and 11).

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
)

func wantErrText(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q\ndoes not say %q", err, p)
		}
	}
}

// Item 6: a delegated role named like a top-level role is refused, and
// nothing is written over the top-level role's file. (Exactly "targets"
// cannot be published at all: with consistent snapshots its N.targets.json
// is the top-level role's file on the server too; the refusal of it is in
// TestCheckDelegatedNames.)
func TestDelegatedRoleNamedTopLevelRefused(t *testing.T) {
	for _, name := range []string{"timestamp", "root", "snapshot", "Targets", "sNaPsHoT"} {
		t.Run(name, func(t *testing.T) {
			r, base := testRepo(t, repogen.Options{BitLength: 2})
			w := firstWheel(t, r)
			bin := r.BinFor(w.Path)
			if err := r.DelegateTargets(name, []string{w.Path}, false); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			u := newUpdater(t, base, r.TrustedRoot(), dir)
			_, err := u.Target(context.Background(), w.Path)
			if !isMetadataError(err) {
				t.Fatalf("err = %v, want a MetadataError", err)
			}
			wantErrText(t, err, "(role "+bin+")", `delegates to a role named "`+name+`": delegated roles may not take the name of a top-level role`)
			for _, top := range []string{"root", "timestamp", "snapshot", "targets"} {
				data, err := os.ReadFile(filepath.Join(dir, top+".json"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), `"_type": "`+top+`"`) {
					t.Fatalf("%s.json no longer holds the %s role", top, top)
				}
			}
		})
	}
}

// Item 6: with the default layout, delegated roles live in their own
// directory; a replayed old timestamp after the walk is still refused.
func TestDelegatedRolesKeptApart(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 2})
	w := firstWheel(t, r)
	dir := t.TempDir()
	ctx := context.Background()
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	ti, err := u.Target(ctx, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "delegated", ti.Role+".json")); err != nil {
		t.Fatalf("bin not kept in the delegated directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ti.Role+".json")); err == nil {
		t.Fatal("bin kept next to the top-level roles")
	}
}

// Item 7: metadata for another major version of the TUF specification is
// refused, for every role, online and from the metadata directory.
func TestUnsupportedSpecVersionRefused(t *testing.T) {
	ctx := context.Background()
	for _, role := range []string{"timestamp", "snapshot", "targets", "bin"} {
		t.Run(role, func(t *testing.T) {
			r, base := testRepo(t, repogen.Options{BitLength: 2})
			w := firstWheel(t, r)
			if role == "bin" {
				role = r.BinFor(w.Path)
			}
			if err := r.SetSpecVersion(role, "2.0.0"); err != nil {
				t.Fatal(err)
			}
			_, err := newUpdater(t, base, r.TrustedRoot(), t.TempDir()).Target(ctx, w.Path)
			if !isMetadataError(err) || !errors.Is(err, updater.ErrUnsupportedSpecVersion) {
				t.Fatalf("err = %v, want an unsupported spec_version MetadataError", err)
			}
			wantErrText(t, err, "(role "+role+`): unsupported spec_version "2.0.0": tufpip supports TUF specification 1.x`)
		})
	}
	t.Run("root", func(t *testing.T) {
		_, base := testRepo(t, repogen.Options{BitLength: 2})
		r, _ := testRepo(t, repogen.Options{BitLength: 2})
		root := strings.Replace(string(r.TrustedRoot()), `"spec_version": "1.0.31"`, `"spec_version": "0.9"`, 1)
		_, err := newUpdater(t, base, []byte(root), t.TempDir()).Target(ctx, firstWheel(t, r).Path)
		wantErrText(t, err, `(role root): unsupported spec_version "0.9": tufpip supports TUF specification 1.x`)
	})
	t.Run("local-bin", func(t *testing.T) {
		r, base := testRepo(t, repogen.Options{BitLength: 2})
		w := firstWheel(t, r)
		dir := t.TempDir()
		window := func(c *updater.Config) { c.Window = time.Hour }
		ti, err := newUpdater(t, base, r.TrustedRoot(), dir, window).Target(ctx, w.Path)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "delegated", ti.Role+".json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, []byte(strings.Replace(string(data), `"spec_version": "1.0.31"`, `"spec_version": "banana"`, 1)), 0o644)
		offline := func(c *updater.Config) { c.Offline = true }
		_, err = newUpdater(t, base, r.TrustedRoot(), dir, offline).Target(ctx, w.Path)
		wantErrText(t, err, "(role "+ti.Role+`): unsupported spec_version "banana": tufpip supports TUF specification 1.x`)
		// Online, the local copy is only a cache: the repository's
		// (supported) one is fetched again.
		if _, err := newUpdater(t, base, r.TrustedRoot(), dir).Target(ctx, w.Path); err != nil {
			t.Fatalf("online after a damaged local bin: %v", err)
		}
	})
}

// Item 9: the disk epoch checks a delegated role's expiry at the time of
// each lookup, not when the epoch was loaded.
func TestDiskEpochChecksExpiryAtLookup(t *testing.T) {
	r, base := testRepo(t, repogen.Options{BitLength: 2, Expiry: map[string]time.Duration{repogen.RoleBins: time.Hour}})
	dir := t.TempDir()
	ctx := context.Background()
	targets := r.Targets()
	var a, b string // two targets in different bins
	for p := range targets {
		if a == "" {
			a = p
		} else if targets[p].Bin != targets[a].Bin {
			b = p
			break
		}
	}
	if _, err := newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) { c.Window = time.Hour }).Target(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) { c.Window = time.Hour }).Target(ctx, b); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	u := newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) {
		c.Offline = true
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	if _, err := u.Target(ctx, a); err != nil {
		t.Fatalf("offline lookup before the bins expire: %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour) // bins expired, timestamp and snapshot not
	mu.Unlock()
	for _, p := range []string{a, b} { // a's bin was read before, b's was not
		_, err := u.Target(ctx, p)
		if !errors.Is(err, updater.ErrExpired) {
			t.Fatalf("%s: err = %v, want ErrExpired", p, err)
		}
		wantErrText(t, err, "(role "+targets[p].Bin+"): metadata expired: "+targets[p].Bin+" version 1 expired at ")
	}
}

// Item 9: a damaged local timestamp.json or snapshot.json does not lower
// the rollback floor: the versions the last refresh trusted still hold.
func TestDamagedLocalFileKeepsRollbackFloor(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, garble string
		attack       func(r *repogen.Repo, bin string) error
		want         string
	}{
		{"timestamp", "timestamp.json", func(r *repogen.Repo, _ string) error { return r.Rollback(repogen.RoleTimestamp) },
			"(role timestamp): bad version number error: new timestamp version 1 must be >= 2"},
		{"bin", "snapshot.json", func(r *repogen.Repo, bin string) error { return r.Rollback(bin) },
			"(role snapshot): bad version number error: new snapshot lists {bin}.json version 1, older than the trusted version 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, base := testRepo(t, repogen.Options{BitLength: 2})
			w := firstWheel(t, r)
			bin := r.BinFor(w.Path)
			dir := t.TempDir()
			if _, err := newUpdater(t, base, r.TrustedRoot(), dir).Target(ctx, w.Path); err != nil {
				t.Fatal(err)
			}
			if err := r.ResignOnline(); err != nil {
				t.Fatal(err)
			}
			if _, err := newUpdater(t, base, r.TrustedRoot(), dir).Target(ctx, w.Path); err != nil {
				t.Fatal(err)
			}
			if err := c.attack(r, bin); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, c.garble), []byte("{garbled"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := newUpdater(t, base, r.TrustedRoot(), dir).Refresh(ctx)
			if !isMetadataError(err) {
				t.Fatalf("err = %v, want a MetadataError", err)
			}
			wantErrText(t, err, strings.ReplaceAll(c.want, "{bin}", bin))
		})
	}
}

// Item 10: the shared refresh runs detached from any one caller: a caller
// that gives up does not fail the others.
func TestSharedRefreshSurvivesCancelledCaller(t *testing.T) {
	r, _ := testRepo(t, repogen.Options{BitLength: 2})
	files := repogen.NewHandler(r.Dir())
	hit := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/timestamp.json") {
			once.Do(func() { close(hit) })
			<-release
		}
		files.ServeHTTP(w, req)
	}))
	defer srv.Close()
	u := newUpdater(t, srv.URL+"/", r.TrustedRoot(), t.TempDir())
	waiting := make(chan struct{}, 2)
	updater.SetRefreshWaiting(u, func() { waiting <- struct{}{} })
	w := firstWheel(t, r)

	ctx1, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := u.Target(ctx1, w.Path); first <- err }()
	<-hit // the first caller's refresh is in flight, held at the timestamp
	<-waiting
	second := make(chan error, 1)
	go func() { _, err := u.Target(context.Background(), w.Path); second <- err }()
	// The refresh cannot end before release, so a second caller waiting
	// on it has joined the first one's refresh rather than started its own.
	<-waiting
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller failed with the first one: %v", err)
	}
}

// Item 10: the detached refresh has a timeout of its own.
func TestRefreshTimeout(t *testing.T) {
	r, _ := testRepo(t, repogen.Options{BitLength: 2})
	stop := make(chan struct{})
	defer close(stop)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-stop:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	u := newUpdater(t, srv.URL+"/", r.TrustedRoot(), t.TempDir(), func(c *updater.Config) { c.RefreshTimeout = 200 * time.Millisecond })
	start := time.Now()
	err := u.Refresh(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("refresh took %v", d)
	}
}

// twoBins returns two dist targets signed by different bins.
func twoBins(t *testing.T, r *repogen.Repo) (a, b repogen.FileInfo) {
	t.Helper()
	files := r.Files()
	for _, f := range files {
		for _, g := range files {
			if r.BinFor(f.Path) != r.BinFor(g.Path) {
				return f, g
			}
		}
	}
	t.Fatal("every file is in one bin")
	return
}

// Item 11: a role reachable through two delegators is verified against
// the delegation of the one it is reached through, online and from disk.
func TestMultiDelegatorRoleVerifiedPerDelegator(t *testing.T) {
	ctx := context.Background()
	r, base := testRepo(t, repogen.Options{BitLength: 2})
	a, b := twoBins(t, r)
	binB := r.BinFor(b.Path)
	// bin A delegates "shared" to key A, bin B to key B; key A signs it.
	if err := r.DelegateTargets("shared", []string{a.Path, b.Path}, true); err != nil {
		t.Fatal(err)
	}
	want := "(role shared): as delegated by " + binB + ": unsigned metadata error: Verifying shared failed, not enough signatures, got 0, want 1"

	t.Run("online", func(t *testing.T) {
		u := newUpdater(t, base, r.TrustedRoot(), t.TempDir())
		ti, err := u.Target(ctx, a.Path)
		if err != nil || ti.Role != "shared" {
			t.Fatalf("through its signer's delegation: %+v, %v", ti, err)
		}
		_, err = u.Target(ctx, b.Path)
		if !isMetadataError(err) {
			t.Fatalf("err = %v, want a MetadataError", err)
		}
		wantErrText(t, err, want)
	})
	t.Run("disk", func(t *testing.T) {
		dir := t.TempDir()
		// A first process leaves both bins and "shared" (as verified
		// through bin A) in the metadata directory.
		u0 := newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) { c.Window = time.Hour })
		if _, err := u0.Target(ctx, a.Path); err != nil {
			t.Fatal(err)
		}
		if _, err := u0.Target(ctx, b.Path); err == nil {
			t.Fatal("online lookup through bin B accepted")
		}
		u := newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) { c.Offline = true })
		if _, err := u.Target(ctx, a.Path); err != nil {
			t.Fatalf("offline, through its signer's delegation: %v", err)
		}
		_, err := u.Target(ctx, b.Path)
		if !isMetadataError(err) {
			t.Fatalf("err = %v, want a MetadataError", err)
		}
		wantErrText(t, err, want)
		// Inside the window (online), the disk epoch defers to a refresh,
		// which refuses it too.
		u = newUpdater(t, base, r.TrustedRoot(), dir, func(c *updater.Config) { c.Window = time.Hour })
		if _, err := u.Target(ctx, a.Path); err != nil {
			t.Fatal(err)
		}
		_, err = u.Target(ctx, b.Path)
		wantErrText(t, err, want)
	})
}
