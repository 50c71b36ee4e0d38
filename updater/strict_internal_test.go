package updater

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/tufpip/tufpip/integration/repogen"
)

func TestCheckSpecVersion(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want string // "" accepted, else the error's end
	}{
		{`{"signed":{"spec_version":"1.0.31"}}`, ""},
		{`{"signed":{"spec_version":"1.0"}}`, ""},
		{`{"signed":{"spec_version":"1.20.0"}}`, ""},
		{`{"signed":{"spec_version":"2.0.0"}}`, `unsupported spec_version "2.0.0": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"0.9"}}`, `unsupported spec_version "0.9": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"banana"}}`, `unsupported spec_version "banana": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"1"}}`, `unsupported spec_version "1": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"1.0.0.0"}}`, `unsupported spec_version "1.0.0.0": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"1..0"}}`, `unsupported spec_version "1..0": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"1.0-rc1"}}`, `unsupported spec_version "1.0-rc1": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":" 1.0"}}`, `unsupported spec_version " 1.0": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":""}}`, `unsupported spec_version "": tufpip supports TUF specification 1.x`},
		{`{"signed":{"spec_version":"1.0","spec_version":"2.0"}}`, `unsupported spec_version "2.0": tufpip supports TUF specification 1.x`},
		{`{"signed":{"version":1}}`, `unsupported spec_version: none given: tufpip supports TUF specification 1.x`},
	} {
		err := checkSpecVersion("timestamp", []byte(c.doc))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.doc, err)
		case c.want != "" && (err == nil || !strings.HasSuffix(err.Error(), c.want) || !errors.Is(err, ErrUnsupportedSpecVersion)):
			t.Errorf("%s: err = %v, want one ending %q", c.doc, err, c.want)
		case c.want != "" && !strings.HasPrefix(err.Error(), "repository metadata failed verification (role timestamp): "):
			t.Errorf("%s: err = %v does not name the role", c.doc, err)
		}
	}
}

func TestCheckDelegatedNames(t *testing.T) {
	for _, name := range []string{"root", "timestamp", "snapshot", "targets", "ROOT", "Targets", "ſnapshot", ""} {
		md := metadata.Targets()
		md.Signed.Delegations = &metadata.Delegations{Roles: []metadata.DelegatedRole{{Name: "fine"}, {Name: name}}}
		err := checkDelegatedNames("bins-1", md)
		var me *MetadataError
		if !errors.As(err, &me) || me.Role != "bins-1" {
			t.Errorf("%q: err = %v, want a MetadataError for bins-1", name, err)
		}
	}
	md := metadata.Targets()
	md.Signed.Delegations = &metadata.Delegations{Roles: []metadata.DelegatedRole{{Name: "bins-1"}, {Name: "root-ca"}, {Name: ".."}}}
	if err := checkDelegatedNames("targets", md); err != nil {
		t.Errorf("ordinary names refused: %v", err)
	}
}

// No role name puts its file outside the delegated directory or onto a
// top-level role's or tufpip's own file.
func TestDelegatedPathStaysInItsDirectory(t *testing.T) {
	cfg := Config{MetadataDir: "/m", DelegatedDir: "/m/delegated"}
	for _, name := range []string{"bins-1", "..", ".", "../root", "../../etc/passwd", "a/b", ".tufpip-state", "root", "x\x00y", "%2e%2e"} {
		p := delegatedPath(cfg, name)
		if filepath.Dir(p) != cfg.DelegatedDir || !strings.HasSuffix(p, ".json") || filepath.Base(p) == "..json" && name != "." {
			t.Errorf("%q is kept at %s", name, p)
		}
	}
	if p := delegatedPath(cfg, "targets"); p != "/m/targets.json" {
		t.Errorf("top-level targets kept at %s", p)
	}
}

// Item 9: where the snapshot gives a role's length and hashes, the disk
// epoch checks the local file against them, as the online path does.
func TestDiskEpochChecksSnapshotLengthAndHashes(t *testing.T) {
	fx := loadDiskFixture(t)
	var path string
	var want TargetInfo
	for p, ti := range fx.truth {
		path, want = p, ti
		break
	}
	for _, c := range []struct {
		name string
		edit func(m *metadata.MetaFiles, data []byte)
		err  string
	}{
		{"matching", func(m *metadata.MetaFiles, data []byte) {
			sum := sha256.Sum256(data)
			m.Length, m.Hashes = int64(len(data)), metadata.Hashes{"sha256": sum[:]}
		}, ""},
		{"length", func(m *metadata.MetaFiles, data []byte) { m.Length = int64(len(data)) + 1 }, "does not match the snapshot: length/hash verification error: length verification failed"},
		{"hash", func(m *metadata.MetaFiles, data []byte) {
			sum := sha256.Sum256(append(data, 'x'))
			m.Hashes = metadata.Hashes{"sha256": sum[:]}
		}, "does not match the snapshot: length/hash verification error: hash verification failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "meta")
			if err := os.CopyFS(dir, os.DirFS(fx.dir)); err != nil {
				t.Fatal(err)
			}
			st, err := parseDiskState(fx.state)
			if err != nil {
				t.Fatal(err)
			}
			snap := st.Status.Roles["snapshot"].Version
			versions, err := parseSnapshotVersions(fx.vers, snap)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "delegated", want.Role+".json"))
			if err != nil {
				t.Fatal(err)
			}
			c.edit(versions[want.Role], data)
			meta := map[string]*metadata.MetaFiles{}
			for name, m := range versions {
				meta[name+".json"] = m
			}
			if err := os.WriteFile(filepath.Join(dir, versionsFile), encodeSnapshotVersions(snap, meta, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			u := offlineUpdater(t, dir, fx.now)
			got, err := u.Target(context.Background(), path)
			switch {
			case c.err == "" && (err != nil || got.Length != want.Length):
				t.Fatalf("lookup: %+v, %v", got, err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("err = %v, want one saying %q", err, c.err)
			}
		})
	}
}

// The names a snapshot's reader hands the versions record only spare a
// sort: wrong ones (unsorted, missing, extra, not in meta) change nothing.
func TestEncodeSnapshotVersionsNames(t *testing.T) {
	meta := map[string]*metadata.MetaFiles{
		"targets.json": {Version: 2}, "bins-0.json": {Version: 5}, "bins-1.json": {Version: 12, Length: 9},
	}
	want := encodeSnapshotVersions(3, meta, nil)
	if !strings.HasPrefix(string(want), "snapshot 3 3\nbins-0 5\nbins-1 12 length=9\ntargets 2\n") {
		t.Fatalf("record %q", want)
	}
	for _, names := range [][]string{
		{"bins-0.json", "bins-1.json", "targets.json"},
		{"bins-1.json", "bins-0.json", "targets.json"},
		{"bins-0.json", "targets.json"},
		{"bins-0.json", "bins-1.json", "bins-2.json"},
		{"bins-0.json", "bins-1.json", "targets.json", "zz.json"},
	} {
		if got := encodeSnapshotVersions(3, meta, names); string(got) != string(want) {
			t.Errorf("names %v: record %q, want %q", names, got, want)
		}
	}
}

// The disk epoch verifies bins outside its lock (preload) when lookups
// run side by side: every answer is still the signed one, and a bin
// whose local copy was tampered with is refused by every lookup that
// needs it, the first (which loads targets under the lock) or any later
// one (preloaded), while the other bins answer. PyPI's layout: succinct
// hash bins delegated by the top-level targets, which preload covers.
func TestDiskEpochConcurrentLookups(t *testing.T) {
	fx, err := buildDiskFixture(repogen.Options{BitLength: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(fx.dir)) })
	dir := filepath.Join(t.TempDir(), "meta")
	if err := os.CopyFS(dir, os.DirFS(fx.dir)); err != nil {
		t.Fatal(err)
	}
	var bad string
	for _, ti := range fx.truth {
		if ti.Role != metadata.TARGETS {
			bad = ti.Role
			break
		}
	}
	if bad == "" {
		t.Fatal("no target in a bin")
	}
	path := filepath.Join(dir, "delegated", bad+".json")
	data, err := os.ReadFile(path)
	var mu sync.Mutex
	tried, passed := 0, 0
	preloaded = func(role string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if role == bad {
			tried++
			if err == nil {
				passed++
			}
		}
	}
	t.Cleanup(func() { preloaded = nil })
	if err != nil {
		t.Fatal(err)
	}
	// Still well-formed, so the fast reader reads it; the signature fails.
	tampered := strings.Replace(string(data), `"length": `, `"length": 1`, 1)
	if tampered == string(data) {
		t.Fatal("edit changed nothing")
	}
	if err := os.WriteFile(path, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		u := offlineUpdater(t, dir, fx.now)
		if round > 0 {
			// Load targets first, so that every lookup below preloads.
			for p, ti := range fx.truth {
				if ti.Role != bad {
					if _, err := u.Target(context.Background(), p); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
		}
		var wg sync.WaitGroup
		for p, want := range fx.truth {
			for range 2 {
				wg.Go(func() {
					got, err := u.Target(context.Background(), p)
					switch {
					case want.Role == bad && (err == nil || !strings.Contains(err.Error(), "cached "+bad+" does not verify")):
						t.Errorf("round %d: %s in tampered %s: %+v, %v", round, p, bad, got, err)
					case want.Role != bad && (err != nil || !reflect.DeepEqual(got, want)):
						t.Errorf("round %d: %s: %+v, %v; want %+v", round, p, got, err, want)
					}
				})
			}
		}
		wg.Wait()
	}
	if tried == 0 || passed != 0 {
		t.Errorf("tampered %s: preload verified it %d times, passed %d; want > 0, 0", bad, tried, passed)
	}
}

// A damaged line of the versions file that no lookup needs changes no
// answer; the damaged line of a bin a lookup needs refuses it.
func TestDiskEpochDamagedVersionsLine(t *testing.T) {
	fx := loadDiskFixture(t)
	var path string
	var want TargetInfo
	for p, ti := range fx.truth {
		if ti.Role != metadata.TARGETS {
			path, want = p, ti
			break
		}
	}
	var other string
	for _, line := range strings.Split(string(fx.vers), "\n")[1:] {
		if name, _, _ := strings.Cut(line, " "); name != "" && name != want.Role && name != metadata.TARGETS {
			other = name
			break
		}
	}
	for _, c := range []struct {
		role, err string
	}{{other, ""}, {want.Role, "cached snapshot versions are corrupt: line"}} {
		dir := filepath.Join(t.TempDir(), "meta")
		if err := os.CopyFS(dir, os.DirFS(fx.dir)); err != nil {
			t.Fatal(err)
		}
		vers := strings.Replace(string(fx.vers), "\n"+c.role+" ", "\n"+c.role+" 0", 1)
		if vers == string(fx.vers) {
			t.Fatal("edit changed nothing")
		}
		if _, err := parseSnapshotVersions([]byte(vers), 1); err == nil {
			t.Fatal("the full parser accepts the damaged file")
		}
		if err := os.WriteFile(filepath.Join(dir, versionsFile), []byte(vers), 0o600); err != nil {
			t.Fatal(err)
		}
		u := offlineUpdater(t, dir, fx.now)
		got, err := u.Target(context.Background(), path)
		switch {
		case c.err == "" && (err != nil || !reflect.DeepEqual(got, want)):
			t.Errorf("%s damaged: %+v, %v; want %+v", c.role, got, err, want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s damaged: err = %v, want one saying %q", c.role, err, c.err)
		}
	}
}

// offlineUpdater trusts only what dir holds, at now.
func offlineUpdater(t *testing.T, dir string, now time.Time) *Updater {
	t.Helper()
	u, err := New(Config{MetadataURL: "http://127.0.0.1:1/", MetadataDir: dir, Offline: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
