package updater

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufpip/tufpip/integration/repogen"
)

// FuzzValidTargetPath: whatever ValidTargetPath accepts is safe to build a
// file name from: a local, clean, relative path of bounded length without
// control characters or backslashes, that stays under any directory it
// is joined to.
func FuzzValidTargetPath(f *testing.F) {
	for _, s := range []string{
		"a/b.whl", "pkg/pkg.html", "4b/77/47b4fd31/pkg-1.0-py3-none-any.whl", "simple/x/index.html",
		"../x", "a/../b", "/etc/passwd", "a//b", "a/./b", "a\\b", "a\x00b", "a\nb", "\xff", "..", ".", "a/", "C:/x", "~/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := ValidTargetPath(p)
		if old := oldUpdaterValidTargetPath(p); old != nil && (err == nil || err.Error() != old.Error()) {
			t.Fatalf("ValidTargetPath(%q) = %v, the old rule said %v", p, err, old)
		}
		if err != nil {
			return
		}
		if oldIndexValidTargetPath(p) != nil {
			t.Fatalf("accepted %q, which index's old rule refused", p)
		}
		if p == "" || len(p) > 1024 || !utf8.ValidString(p) {
			t.Fatalf("accepted %q: empty, too long or not UTF-8", p)
		}
		if !filepath.IsLocal(p) || filepath.Clean(p) != p || strings.HasPrefix(p, "/") {
			t.Fatalf("accepted %q, which is not a clean local path", p)
		}
		for _, r := range p {
			if unicode.IsControl(r) && r < 0x80 || r == '\\' {
				t.Fatalf("accepted %q with %q", p, r)
			}
		}
		base := filepath.Join(string(filepath.Separator), "store")
		if j := filepath.Join(base, p); !strings.HasPrefix(j, base+string(filepath.Separator)) {
			t.Fatalf("accepted %q, which escapes %s as %s", p, base, j)
		}
	})
}

// FuzzRoleFromURL: roleFromURL never panics, and gives back the role name
// of every URL the fetcher is asked for: base + [version "."] +
// PathEscape(role) + ".json".
func FuzzRoleFromURL(f *testing.F) {
	for _, c := range []struct {
		role      string
		version   uint32
		versioned bool
	}{
		{"timestamp", 0, false}, {"bins-3f", 7, true}, {"root", 12, true}, {"../evil", 3, true},
		{"bins.sub", 2, true}, {"a.json", 1, true}, {"100%", 5, true}, {"x?y#z", 1, false}, {"", 1, true},
	} {
		f.Add(c.role, c.version, c.versioned, "http://h/m/"+c.role)
	}
	f.Fuzz(func(t *testing.T, role string, version uint32, versioned bool, raw string) {
		roleFromURL(raw) // anything at all: no panic
		name := url.PathEscape(role) + ".json"
		if versioned {
			name = strconv.FormatUint(uint64(version), 10) + "." + name
		} else if i := strings.IndexByte(role, '.'); i > 0 {
			if _, err := strconv.ParseInt(role[:i], 10, 64); err == nil {
				return // "12.x.json" unversioned reads as version 12 of x
			}
		}
		if got := roleFromURL("https://repo.example/metadata/" + name); got != role {
			t.Fatalf("roleFromURL(%q) = %q, want %q", name, got, role)
		}
	})
}

// FuzzParseDiskState: the state parser never panics, and what it accepts
// names a refresh time and, for every top-level role, a positive version
// and an expiry; and it survives a round trip unchanged.
func FuzzParseDiskState(f *testing.F) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	good := diskState{RefreshedAt: exp.Add(-time.Hour), Status: Status{Roles: map[string]RoleStatus{
		"root": {Version: 1, Expires: exp}, "timestamp": {Version: 3, Expires: exp},
		"snapshot": {Version: 3, Expires: exp}, "targets": {Version: 1, Expires: exp},
	}, Bins: 16, BinPrefix: "bins", BitLength: 4, Source: "cache"}}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"refreshed_at":"2030-01-01T00:00:00Z","status":{"roles":{"root":{"version":0}}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseDiskState(data)
		if err != nil {
			return
		}
		if st.RefreshedAt.IsZero() {
			t.Fatal("accepted a state without a refresh time")
		}
		for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
			if rs := st.Status.Roles[role]; rs.Version < 1 || rs.Expires.IsZero() {
				t.Fatalf("accepted a state with %s %+v", role, rs)
			}
		}
		again, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := parseDiskState(again)
		if err != nil || !reflect.DeepEqual(roleVersions(st), roleVersions(st2)) || !st.RefreshedAt.Equal(st2.RefreshedAt) {
			t.Fatalf("round trip changed %+v into %+v (%v)", st, st2, err)
		}
	})
}

func roleVersions(st diskState) map[string]int64 {
	m := map[string]int64{}
	for k, v := range st.Status.Roles {
		m[k] = v.Version
	}
	return m
}

// FuzzParseSnapshotVersions: the versions parser never panics; what it
// accepts lists the top-level targets role and only named roles with
// positive versions, and encodes back to an equivalent record; and no
// strict prefix of a valid record (a file cut short) is accepted.
func FuzzParseSnapshotVersions(f *testing.F) {
	valid := encodeSnapshotVersions(7, map[string]*metadata.MetaFiles{
		"targets.json": {Version: 2}, "bins-0.json": {Version: 5}, "bins-1.json": {Version: 12}, "odd name\n=.json": {Version: 1},
		"role.json": {Version: 3, Length: 1234, Hashes: metadata.Hashes{"sha256": {0xab, 0xcd}, "sha512": {0x01}}},
	}, nil)
	f.Add(valid, int64(7), uint16(len(valid)/2))
	f.Add(valid, int64(8), uint16(3))
	f.Add([]byte("snapshot 7 1\ntargets 2\n"), int64(7), uint16(0))
	f.Add([]byte("snapshot 7 2\ntargets 2\ntargets 3\n"), int64(7), uint16(0))
	f.Add([]byte("snapshot 7 1\ntargets +2\n"), int64(7), uint16(0))
	f.Add([]byte("bins-0 5\ntargets 2\n"), int64(7), uint16(0))
	f.Add([]byte(""), int64(1), uint16(0))
	f.Add([]byte("snapshot 7 1\ntargets 2 sha256=ab length=3\n"), int64(7), uint16(0))
	f.Add([]byte("snapshot 7 1\ntargets 2 length=03\n"), int64(7), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, want int64, cut uint16) {
		versions, err := parseSnapshotVersions(data, want)
		if err == nil {
			if _, ok := versions["targets"]; !ok {
				t.Fatalf("accepted %q without targets", data)
			}
			meta := map[string]*metadata.MetaFiles{}
			for name, v := range versions {
				if name == "" || v.Version < 1 || v.Length < 0 {
					t.Fatalf("accepted %q with entry %q %+v", data, name, v)
				}
				meta[name+".json"] = v
			}
			again, err := parseSnapshotVersions(encodeSnapshotVersions(want, meta, nil), want)
			if err != nil || !reflect.DeepEqual(again, versions) {
				t.Fatalf("round trip of %q: %v, %v", data, again, err)
			}
			// The record as tufpip writes it: every strict prefix is refused.
			enc := encodeSnapshotVersions(want, meta, nil)
			n := int(cut) % len(enc)
			if got, err := parseSnapshotVersions(enc[:n], want); err == nil {
				t.Fatalf("accepted %q, a cut-short %q, as %v", enc[:n], enc, got)
			}
		}
	})
}

// diskFixture is a metadata directory left by a full refresh that looked
// up every target, the truth about every target, and the refresh state
// files it holds.
type diskFixture struct {
	dir         string
	truth       map[string]TargetInfo
	state, vers []byte
	now         time.Time
}

var (
	diskFixtureOnce sync.Once
	diskFix         *diskFixture
	diskFixErr      error
)

func loadDiskFixture(tb testing.TB) *diskFixture {
	diskFixtureOnce.Do(func() {
		diskFix, diskFixErr = buildDiskFixture(repogen.Options{BitLength: 2, TUFLayout: repogen.TUFLayoutPEP458Text})
	})
	if diskFixErr != nil {
		tb.Fatalf("building the metadata directory: %v", diskFixErr)
	}
	return diskFix
}

// buildDiskFixture generates a repository with opts (Dir set here) and
// builds a diskFixture from it.
func buildDiskFixture(opts repogen.Options) (*diskFixture, error) {
	dir, err := os.MkdirTemp("", "tufpip-fuzz-disk-")
	if err != nil {
		return nil, err
	}
	opts.Dir = filepath.Join(dir, "repo")
	r, err := repogen.Generate(opts, repogen.SyntheticProjects(2))
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	defer srv.Close()
	fx := &diskFixture{dir: filepath.Join(dir, "meta"), truth: map[string]TargetInfo{}, now: time.Now()}
	u, err := New(Config{MetadataURL: srv.URL + "/metadata/", MetadataDir: fx.dir, BootstrapRoot: r.TrustedRoot(), Now: func() time.Time { return fx.now }})
	if err != nil {
		return nil, err
	}
	for p := range r.Targets() {
		ti, err := u.Target(context.Background(), p)
		if err != nil {
			return nil, err
		}
		fx.truth[p] = ti
	}
	if fx.state, err = os.ReadFile(filepath.Join(fx.dir, stateFile)); err == nil {
		fx.vers, err = os.ReadFile(filepath.Join(fx.dir, versionsFile))
	}
	return fx, err
}

// FuzzDiskEpoch writes fuzzed freshness records next to genuine,
// verified metadata and looks every target up offline. Damaged records
// may make a lookup fail (and, online, refresh), but must never panic or
// produce an answer other than the one the signed metadata gives.
func FuzzDiskEpoch(f *testing.F) {
	fx := loadDiskFixture(f)
	f.Add(fx.state, fx.vers)
	f.Add(fx.state, fx.vers[:len(fx.vers)/2])
	f.Add(fx.state[:len(fx.state)-1], fx.vers)
	f.Add(bytes.Replace(fx.state, []byte(`"version":`), []byte(`"version":1`), -1), fx.vers)
	f.Add(fx.state, bytes.Replace(fx.vers, []byte(" "), []byte(" 1"), -1))
	f.Add(fx.state, []byte("snapshot 1 1\ntargets 1\n"))
	// The role files, copied once: an offline lookup never writes.
	dir := filepath.Join(f.TempDir(), "meta")
	if err := os.CopyFS(dir, os.DirFS(fx.dir)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, state, vers []byte) {
		os.WriteFile(filepath.Join(dir, stateFile), state, 0o600)
		os.WriteFile(filepath.Join(dir, versionsFile), vers, 0o600)
		u, err := New(Config{MetadataURL: "http://127.0.0.1:1/", MetadataDir: dir, Offline: true, Now: func() time.Time { return fx.now }})
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range fx.truth {
			got, err := u.Target(context.Background(), p)
			if err != nil {
				if errors.Is(err, ErrNotSigned) {
					t.Fatalf("%s: a damaged record made a signed target unsigned: %v", p, err)
				}
				continue
			}
			if got.Path != want.Path || got.Length != want.Length || !reflect.DeepEqual(got.Hashes, want.Hashes) || got.Role != want.Role {
				t.Fatalf("%s: answered %+v, the signed metadata says %+v", p, got, want)
			}
			// (Expires may differ: the state file records the timestamp's
			// and snapshot's expiry so as not to re-read them inside the
			// window; whoever can rewrite it can rewrite root.json too.)
		}
	})
}

// FuzzFastSnapshotSubset: the fast snapshot path accepts only what go-tuf
// accepts, and leaves the same trusted state. Every input is signed with
// the snapshot key, so signatures pass and what the fuzzer explores is how
// the two read and re-encode the document. The input is a signed part, an
// envelope (@SIGNED@, @SIG@ and @KEYID@ are filled in) and mode bits:
// which key (ed25519, ECDSA, RSA, RSA with a P-384 scheme), which payload
// is signed (the canonical form of the value, as securesystemslib signs,
// or go-tuf's re-encoding of its decoding), whether a trusted snapshot is
// already there (rollback checks) and whether the bytes count as trusted.
// Whenever the fast path decides (accepts, or installs and reports expiry
// or version), go-tuf must give the same verdict and trusted snapshot.
func FuzzFastSnapshotSubset(f *testing.F) {
	fixtures := signingFixtures(f)
	real := fixtures[0].real
	refused, agreed := snapshotVariants(f, fixtures[0])
	for i, v := range append(refused, agreed...) {
		signed, env := v.signed, v.env
		if signed == nil {
			signed = real
		}
		if env == "" {
			env = envelope
		}
		f.Add(signed, env, uint8(i))
	}
	// A snapshot as repogen writes it (RSTUF layout), re-signed here.
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(f.TempDir(), "repo"), BitLength: 3}, repogen.SyntheticProjects(1))
	if err != nil {
		f.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", "1.snapshot.json"))
	if err != nil {
		f.Fatal(err)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(doc, &env); err != nil {
		f.Fatal(err)
	}
	for mode := range uint8(32) {
		f.Add([]byte(env["signed"]), envelope, mode)
	}
	f.Fuzz(func(t *testing.T, signed []byte, env string, mode uint8) {
		fx := fixtures[mode%4]
		sign := canonicalSigner
		if mode&4 != 0 {
			sign = goTUFSigner
		}
		payload, ok := sign(signed)
		if !ok {
			payload = signed
		}
		data := fx.document(t, env, signed, payload)
		prior := mode&8 != 0
		isTrusted := mode&16 != 0
		set := func() *metadataSet {
			s := fx.fresh(t)
			if prior {
				p, _ := canonicalSigner(fx.real)
				if _, err := s.UpdateSnapshot(fx.document(t, envelope, fx.real, p), true); err != nil {
					t.Fatal(err)
				}
			}
			return s
		}
		checkSubset(t, set(), set(), data, isTrusted)
	})
}

// FuzzGoTUFSnapshotBytes: whenever goTUFSnapshotBytes encodes a snapshot,
// its bytes are exactly cjson.EncodeCanonical of it, what go-tuf verifies
// signatures over. Names are split from one string at '|'; each gets a
// version, and length and hashes from the inputs by turns.
func FuzzGoTUFSnapshotBytes(f *testing.F) {
	f.Add("snapshot", "1.0.31", int64(1), int64(1893456000), int64(0), "bins-0.json|bins-1.json|targets.json", int64(1234), []byte{0xab, 0xcd}, "sha256|blake2b-256")
	f.Add("snapshot", "", int64(-3), int64(-62135596800), int64(500000000), "", int64(0), []byte{}, "")
	f.Add("x<&>", "1\x7f", int64(0), int64(253402300799), int64(1), "a|b|b|a", int64(-1), []byte(nil), "SHA|sha")
	f.Fuzz(func(t *testing.T, typ, spec string, version, unix, nsec int64, names string, length int64, hash []byte, algs string) {
		s := metadata.SnapshotType{Type: typ, SpecVersion: spec, Version: version, Expires: time.Unix(unix, nsec).UTC(), Meta: map[string]*metadata.MetaFiles{}}
		var order []string
		if names != "" {
			order = strings.Split(names, "|")
		}
		for i, name := range order {
			mf := &metadata.MetaFiles{Version: int64(i) - 1}
			if i%2 == 1 {
				mf.Length = length
			}
			if i%3 == 2 && algs != "" {
				mf.Hashes = metadata.Hashes{}
				for _, alg := range strings.Split(algs, "|") {
					mf.Hashes[alg] = hash
				}
			}
			s.Meta[name] = mf
		}
		got, err := goTUFSnapshotBytes(nil, &s, order)
		if err != nil {
			return
		}
		want, err := cjson.EncodeCanonical(s)
		if err != nil {
			t.Fatalf("encoded %+v, which go-tuf cannot: %v", s, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("goTUFSnapshotBytes = %s\ncjson              = %s", got, want)
		}
	})
}

// FuzzOpenSnapshotVersions: the disk epoch's lazy reader of the versions
// file agrees with the full parser. Where parseSnapshotVersions accepts a
// file, openSnapshotVersions accepts it and answers every role exactly as
// the parsed map does (and names it does not list as absent); wherever it
// answers at all, the entry is a line of the file in canonical form with
// a positive version; a file cut short is refused.
func FuzzOpenSnapshotVersions(f *testing.F) {
	valid := encodeSnapshotVersions(7, map[string]*metadata.MetaFiles{
		"targets.json": {Version: 2}, "bins-0.json": {Version: 5}, "bins-1.json": {Version: 12}, "odd name\n=.json": {Version: 1},
		"a.json": {Version: 1}, "a-b.json": {Version: 2}, "a.b.json": {Version: 4},
		"role.json": {Version: 3, Length: 1234, Hashes: metadata.Hashes{"sha256": {0xab, 0xcd}, "sha512": {0x01}}},
	}, nil)
	f.Add(valid, int64(7), "bins-1")
	f.Add(valid, int64(7), "a-b")
	f.Add(valid[:len(valid)-3], int64(7), "bins-1")
	f.Add([]byte("snapshot 7 2\nbins-0 1\ntargets 2\n"), int64(7), "bins-0")
	f.Add([]byte("snapshot 7 2\ntargets 2\nbins-0 1\n"), int64(7), "bins-0") // unsorted: parsed in full
	f.Add([]byte("snapshot 7 3\nbins-0 01\nbins-1 1\ntargets 2\n"), int64(7), "bins-1")
	f.Add([]byte("snapshot 7 3\nbins-0 01\nbins-1 1\ntargets 2\n"), int64(7), "bins-0")
	f.Add([]byte("snapshot 7 2\ntargets 2\ntargets 3\n"), int64(7), "targets")
	f.Fuzz(func(t *testing.T, data []byte, want int64, role string) {
		full, ferr := parseSnapshotVersions(data, want)
		sv, err := openSnapshotVersions(data, want)
		if ferr == nil {
			if err != nil {
				t.Fatalf("%q: full parse accepts, lazy refuses: %v", data, err)
			}
			for name, m := range full {
				got, ok, err := sv.lookup(name)
				if err != nil || !ok || !reflect.DeepEqual(got, m) {
					t.Fatalf("%q: lookup(%q) = %+v, %v, %v; want %+v", data, name, got, ok, err, m)
				}
			}
			if _, listed := full[role]; !listed {
				if got, ok, err := sv.lookup(role); ok || err != nil {
					t.Fatalf("%q: lookup(%q) of an unlisted role = %+v, %v, %v", data, role, got, ok, err)
				}
			}
		}
		if err != nil {
			return
		}
		lines := strings.Split(string(data), "\n")
		for _, name := range []string{role, "targets"} {
			m, ok, err := sv.lookup(name)
			if err != nil || !ok {
				if name == "targets" {
					t.Fatalf("%q: accepted, but targets: %v, %v", data, ok, err)
				}
				continue
			}
			if m.Version < 1 || !slices.Contains(lines, encodeVersionsEntry(name, m)) {
				t.Fatalf("%q: lookup(%q) = %+v, not a canonical line of the file", data, name, m)
			}
		}
		if n := len(data) - 1; n > 0 {
			if _, err := openSnapshotVersions(data[:n], want); err == nil {
				t.Fatalf("%q: accepted cut short", data)
			}
		}
	})
}
