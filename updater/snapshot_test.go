package updater

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufpip/tufpip/integration/repogen"
)

// cjsonOf is the reference: securesystemslib's canonical form of src.
func cjsonOf(t testing.TB, src []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", src, err)
	}
	out, err := cjson.EncodeCanonical(v)
	if err != nil {
		t.Fatalf("cjson %q: %v", src, err)
	}
	return out
}

func TestCanonicalJSON(t *testing.T) {
	same := []string{
		`{}`, `[]`, `"x"`, `0`, `-12`, `true`, `null`,
		`{"b": 1, "a": [1, 2, {"d": false, "c": null}], "c": {}}`,
		"{\n \"signed\": {\n  \"meta\": {\"bins-1.json\": {\"version\": 3}, \"bins-0.json\": {\"version\": 2}}\n }\n}",
		`{"z":{"y":{"x":{"w":[[],[[]],{}]}}}}`,
		`{"ab": 1, "a": 2, "b": 3}`,
	}
	for _, src := range same {
		got, err := canonicalJSON([]byte(src))
		if err != nil {
			t.Errorf("canonicalJSON(%q): %v", src, err)
			continue
		}
		if want := cjsonOf(t, []byte(src)); !bytes.Equal(got, want) {
			t.Errorf("canonicalJSON(%q) = %s, want %s", src, got, want)
		}
	}
	refused := []string{
		``, `{`, `{"a":1,}`, `[1,]`, `{"a":1}x`, `{"a" 1}`, `{1:2}`,
		`"\u0041"`, `"a\"b"`, `"é"`, "\"a\tb\"", // escapes, non-ASCII, control characters
		`1.5`, `1e3`, `01`, `-`, `12345678901234567890`, // non-integers, out of range
		`{"a":1,"a":2}`, `{"b":1,"a":2,"b":3}`, // duplicate keys, sorted or not
		`{"Version":1}`, // encoding/json would fold it onto "version"
		`tru`, `nul`,
	}
	for _, src := range refused {
		if got, err := canonicalJSON([]byte(src)); err == nil {
			t.Errorf("canonicalJSON(%q) = %s, want refusal", src, got)
		}
	}
}

// FuzzCanonicalJSON: whatever canonicalJSON accepts is valid JSON, and its
// output is exactly what securesystemslib makes of the same value.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,{"d":false,"c":null}]}`, `[]`, `{"a":{"c":1,"b":2}}`, `-1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := canonicalJSON(src)
		if err != nil {
			return
		}
		if !json.Valid(src) {
			t.Fatalf("accepted invalid JSON %q", src)
		}
		if want := cjsonOf(t, src); !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q) = %s, want %s", src, got, want)
		}
	})
}

// snapshotFixture is a trusted set with root and timestamp loaded, and the
// snapshot bytes the timestamp names.
func snapshotFixture(t *testing.T, kt string) (*repogen.Repo, func() *metadataSet, []byte) {
	t.Helper()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 6, KeyType: kt, PhantomTargets: 50}, repogen.SyntheticProjects(1))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ts := read("timestamp.json")
	fresh := func() *metadataSet {
		tm, err := trustedmetadata.New(r.TrustedRoot())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.UpdateTimestamp(ts); err != nil {
			t.Fatal(err)
		}
		return tm
	}
	return r, fresh, read("1.snapshot.json")
}

func TestFastSnapshotAgreesWithGoTUF(t *testing.T) {
	for _, kt := range []string{repogen.KeyTypeEd25519, repogen.KeyTypeECDSA, repogen.KeyTypeRSA} {
		t.Run(kt, func(t *testing.T) {
			_, fresh, snap := snapshotFixture(t, kt)
			fast := fresh()
			if err := fastSnapshot(fast, snap, false); err != nil {
				t.Fatalf("fast path declined a good snapshot: %v", err)
			}
			slow := fresh()
			if _, err := slow.UpdateSnapshot(snap, false); err != nil {
				t.Fatal(err)
			}
			f, g := fast.Snapshot.Signed, slow.Snapshot.Signed
			if f.Version != g.Version || !f.Expires.Equal(g.Expires) || f.Type != g.Type || f.SpecVersion != g.SpecVersion || len(f.Meta) != len(g.Meta) {
				t.Fatalf("fast %+v, go-tuf %+v", f, g)
			}
			for name, gm := range g.Meta {
				fm := f.Meta[name]
				if fm == nil || fm.Version != gm.Version || fm.Length != gm.Length || !reflect.DeepEqual(fm.Hashes, gm.Hashes) || len(gm.UnrecognizedFields) != 0 {
					t.Fatalf("%s: fast %+v, go-tuf %+v", name, fm, gm)
				}
			}
		})
	}
}

// TestFastSnapshotOnlyAccepts: on every bad snapshot the fast path declines
// and go-tuf's verdict stands.
func TestFastSnapshotOnlyAccepts(t *testing.T) {
	_, fresh, snap := snapshotFixture(t, repogen.KeyTypeEd25519)
	bad := map[string][]byte{
		"version changed":  bytes.Replace(snap, []byte(`"version": 1`), []byte(`"version": 2`), 1),
		"bin added":        bytes.Replace(snap, []byte(`"meta": {`), []byte(`"meta": {"evil.json": {"version": 1},`), 1),
		"signature zeroed": zeroSig(snap),
		"no signatures":    reSign(t, snap, nil),
		"unknown field":    bytes.Replace(snap, []byte(`"_type"`), []byte(`"x-extra": 1, "_type"`), 1),
		"escaped key":      bytes.Replace(snap, []byte(`"_type"`), []byte(`"\u005ftype"`), 1),
		"truncated":        snap[:len(snap)/2],
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			ts := fresh()
			if err := fastSnapshot(ts, data, true); !errors.Is(err, errFallback) {
				t.Fatalf("fast path: %v, want errFallback", err)
			}
			if ts.Snapshot != nil {
				t.Fatal("fast path changed the trusted set while declining")
			}
			err := updateSnapshot(ts, data, true)
			if _, goErr := fresh().UpdateSnapshot(data, true); (err == nil) != (goErr == nil) {
				t.Fatalf("updateSnapshot: %v; go-tuf: %v", err, goErr)
			}
		})
	}
}

func TestFastSnapshotRollbackAndFinal(t *testing.T) {
	_, fresh, snap := snapshotFixture(t, repogen.KeyTypeEd25519)
	ts := fresh()
	if err := fastSnapshot(ts, snap, true); err != nil {
		t.Fatal(err)
	}
	// A trusted snapshot that knew a newer bins-00 refuses this one.
	for _, mod := range []func(m map[string]*metadata.MetaFiles){
		func(m map[string]*metadata.MetaFiles) { m["bins-00.json"] = &metadata.MetaFiles{Version: 7} },
		func(m map[string]*metadata.MetaFiles) { m["gone.json"] = &metadata.MetaFiles{Version: 1} },
	} {
		newer := fresh()
		prev := *ts.Snapshot
		prev.Signed.Meta = map[string]*metadata.MetaFiles{}
		for k, v := range ts.Snapshot.Signed.Meta {
			prev.Signed.Meta[k] = v
		}
		mod(prev.Signed.Meta)
		newer.Snapshot = &prev
		if err := fastSnapshot(newer, snap, true); !errors.Is(err, errFallback) {
			t.Fatalf("rollback: fast path %v, want errFallback", err)
		}
		if err := updateSnapshot(newer, snap, true); err == nil {
			t.Fatal("rollback accepted")
		}
	}
	// Expired: becomes trusted (for rollback checks), and says so.
	late := fresh()
	late.RefTime = time.Now().Add(48 * time.Hour)
	err := fastSnapshot(late, snap, true)
	if !errors.Is(err, errFallback) {
		// The timestamp expired first: go-tuf decides, and refuses.
		if err == nil || !errors.Is(err, &metadata.ErrExpiredMetadata{}) {
			t.Fatalf("expired: %v", err)
		}
	}
	if err := updateSnapshot(late, snap, true); err == nil {
		t.Fatal("expired snapshot accepted")
	}
}

func zeroSig(snap []byte) []byte {
	i := bytes.Index(snap, []byte(`"sig": "`)) + len(`"sig": "`)
	out := bytes.Clone(snap)
	for j := i; out[j] != '"'; j++ {
		out[j] = '0'
	}
	return out
}

// reSign replaces the signatures list.
func reSign(t *testing.T, snap []byte, sigs []metadata.Signature) []byte {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(snap, &env); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sigs)
	if sigs == nil {
		b = []byte("[]")
	}
	env["signatures"] = b
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSpace(string(out)))
}

func BenchmarkSnapshotVerify(b *testing.B) {
	dir := os.Getenv("TUFPIP_BENCH_REPO")
	if dir == "" {
		b.Skip("set TUFPIP_BENCH_REPO to a generated repository (e.g. 16,384 bins)")
	}
	r, err := repogen.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := os.ReadFile(filepath.Join(dir, "metadata", "timestamp.json"))
	if err != nil {
		b.Fatal(err)
	}
	snap, err := os.ReadFile(filepath.Join(dir, "metadata", "1.snapshot.json"))
	if err != nil {
		b.Fatal(err)
	}
	fresh := func() *metadataSet {
		tm, err := trustedmetadata.New(r.TrustedRoot())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tm.UpdateTimestamp(ts); err != nil {
			b.Fatal(err)
		}
		return tm
	}
	b.Run("go-tuf", func(b *testing.B) {
		for b.Loop() {
			if _, err := fresh().UpdateSnapshot(snap, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tufpip", func(b *testing.B) {
		for b.Loop() {
			if err := fastSnapshot(fresh(), snap, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
