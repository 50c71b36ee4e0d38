package updater

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/sigstore/sigstore/pkg/signature"
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
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), // nesting bound
	}
	deep := strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth)
	if _, err := canonicalJSON([]byte(deep)); err != nil {
		t.Errorf("canonicalJSON refused nesting at the bound: %v", err)
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

// signingFixture is a root and timestamp whose snapshot role is one key we
// hold, so tests can sign any snapshot bytes at all: signature checks
// pass, and what is left to differ is decoding and encoding.
type signingFixture struct {
	name   string
	root   []byte
	ts     []byte
	keyID  string
	signer signature.Signer // signs as go-tuf verifies
	// sha256PSS, for the RSA key whose scheme names P-384, signs PSS over
	// SHA-256, as its key type alone would suggest.
	sha256PSS signature.Signer
	// real is the signed part of a snapshot as a repository writes it
	// (indented, unsorted keys are fine).
	real []byte
}

var (
	fixturesOnce sync.Once
	fixtures     []*signingFixture
	fixturesErr  error
)

// signingFixtures: ed25519, ECDSA P-256 and RSA-PSS, plus an RSA key whose
// root entry names the ecdsa-sha2-nistp384 scheme (go-tuf then verifies
// PSS over SHA-384).
func signingFixtures(t testing.TB) []*signingFixture {
	t.Helper()
	fixturesOnce.Do(func() {
		for _, kt := range []string{"ed25519", "ecdsa", "rsa", "rsa-p384-scheme"} {
			var f *signingFixture
			if f, fixturesErr = newSigningFixture(kt); fixturesErr != nil {
				return
			}
			fixtures = append(fixtures, f)
		}
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return fixtures
}

func newSigningFixture(kt string) (f *signingFixture, err error) {
	key, signer, sha256PSS, err := newTestKey(kt)
	if err != nil {
		return nil, err
	}
	// Root and timestamp have a key of their own: only the snapshot role
	// uses the key under test.
	_, onlinePriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	online, err := signature.LoadSigner(onlinePriv, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	onlineKey, err := metadata.KeyFromPublicKey(onlinePriv.Public())
	if err != nil {
		return nil, err
	}
	keyID, err := key.ID()
	if err != nil {
		return nil, err
	}
	expires := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	root := metadata.Root(expires)
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.TARGETS} {
		if err := root.Signed.AddKey(onlineKey, role); err != nil {
			return nil, err
		}
	}
	if err := root.Signed.AddKey(key, metadata.SNAPSHOT); err != nil {
		return nil, err
	}
	if _, err := root.Sign(online); err != nil {
		return nil, err
	}
	rootBytes, err := root.ToBytes(true)
	if err != nil {
		return nil, err
	}
	ts := metadata.Timestamp(expires)
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(1)
	if _, err := ts.Sign(online); err != nil {
		return nil, err
	}
	tsBytes, err := ts.ToBytes(true)
	if err != nil {
		return nil, err
	}
	real := fmt.Sprintf(`{
  "_type": "snapshot",
  "spec_version": "1.0.31",
  "version": 1,
  "expires": %q,
  "meta": {
    "targets.json": {"version": 3},
    "bins-0.json": {"version": 1},
    "bins-1.json": {"version": 2, "length": 1234, "hashes": {"sha256": "%x", "blake2b-256": "%x"}},
    "bins-2.json": {"version": 1},
    "bins-3.json": {"version": 7}
  }
}`, expires.Format(time.RFC3339), sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b")))
	f = &signingFixture{name: kt, root: rootBytes, ts: tsBytes, keyID: keyID, signer: signer, sha256PSS: sha256PSS, real: []byte(real)}
	return f, nil
}

// newTestKey is a key of type kt ("ed25519", "ecdsa", "rsa", or
// "rsa-p384-scheme": an RSA key whose entry names the ecdsa-sha2-nistp384
// scheme, so go-tuf verifies PSS over SHA-384) and a signer signing as
// go-tuf verifies it; for "rsa-p384-scheme", sha256PSS signs PSS over
// SHA-256, as the key type alone would suggest.
func newTestKey(kt string) (key *metadata.Key, signer, sha256PSS signature.Signer, err error) {
	var priv crypto.Signer
	switch kt {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
		if err == nil {
			signer, err = signature.LoadSigner(priv, crypto.Hash(0))
		}
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err == nil {
			signer, err = signature.LoadSigner(priv, crypto.SHA256)
		}
	case "rsa", "rsa-p384-scheme":
		var rk *rsa.PrivateKey
		if rk, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			priv = rk
			signer, err = signature.LoadRSAPSSSigner(rk, crypto.SHA256, &rsa.PSSOptions{Hash: crypto.SHA256})
		}
		if err == nil && kt == "rsa-p384-scheme" {
			sha256PSS = signer
			signer, err = signature.LoadRSAPSSSigner(rk, crypto.SHA384, &rsa.PSSOptions{Hash: crypto.SHA256})
		}
	default:
		err = fmt.Errorf("unknown key type %q", kt)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if key, err = metadata.KeyFromPublicKey(priv.Public()); err != nil {
		return nil, nil, nil, err
	}
	if kt == "rsa-p384-scheme" {
		key.Scheme = metadata.KeySchemeECDSA_SHA2_P384
	}
	return key, signer, sha256PSS, nil
}

// fresh is a trusted set with root and timestamp loaded.
func (f *signingFixture) fresh(t testing.TB) *metadataSet {
	t.Helper()
	tm, err := trustedmetadata.New(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.UpdateTimestamp(f.ts); err != nil {
		t.Fatal(err)
	}
	return tm
}

func (f *signingFixture) sign(t testing.TB, payload []byte) string {
	t.Helper()
	sig, err := f.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// canonicalSigner is what a securesystemslib-style signer signs: the
// canonical JSON of the signed part's value. ok is false when the value
// has no canonical form.
func canonicalSigner(signed []byte) (payload []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(signed))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	out, err := cjson.EncodeCanonical(v)
	return out, err == nil
}

// goTUFSigner is what go-tuf itself signs: cjson of its decoding.
func goTUFSigner(signed []byte) (payload []byte, ok bool) {
	var s metadata.SnapshotType
	if json.Unmarshal(signed, &s) != nil {
		return nil, false
	}
	out, err := cjson.EncodeCanonical(s)
	return out, err == nil
}

// envelope is the usual document around a signed part.
const envelope = `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}`

// document puts signed into env (at @SIGNED@) with a signature by f over
// payload (at @SIG@) and f's key ID (at @KEYID@).
func (f *signingFixture) document(t testing.TB, env string, signed, payload []byte) []byte {
	t.Helper()
	r := strings.NewReplacer("@SIGNED@", string(signed), "@SIG@", f.sign(t, payload), "@KEYID@", f.keyID)
	return []byte(r.Replace(env))
}

// normalized is m with empty unrecognized-field maps as nil: go-tuf leaves
// empty maps where the fast path leaves nil, and treats both alike
// (MarshalJSON copies only non-empty ones).
func normalized(m *metadata.Metadata[metadata.SnapshotType]) *metadata.Metadata[metadata.SnapshotType] {
	if m == nil {
		return nil
	}
	c := *m
	if len(c.UnrecognizedFields) == 0 {
		c.UnrecognizedFields = nil
	}
	if len(c.Signed.UnrecognizedFields) == 0 {
		c.Signed.UnrecognizedFields = nil
	}
	c.Signatures = slices.Clone(m.Signatures)
	for i := range c.Signatures {
		if len(c.Signatures[i].UnrecognizedFields) == 0 {
			c.Signatures[i].UnrecognizedFields = nil
		}
	}
	if m.Signed.Meta != nil {
		c.Signed.Meta = make(map[string]*metadata.MetaFiles, len(m.Signed.Meta))
		for name, mf := range m.Signed.Meta {
			if mf != nil {
				cp := *mf
				if len(cp.UnrecognizedFields) == 0 {
					cp.UnrecognizedFields = nil
				}
				mf = &cp
			}
			c.Signed.Meta[name] = mf
		}
	}
	return &c
}

// checkSubset runs the fast path and go-tuf on data from the same start and
// fails unless the fast path either declines, leaving t as it was, or
// returns go-tuf's verdict (nil, or the same error type) with the same
// trusted snapshot. It reports whether the fast path decided.
func checkSubset(t *testing.T, fast, slow *metadataSet, data []byte, isTrusted bool) (decided bool) {
	t.Helper()
	before := fast.Snapshot
	fastErr := fastSnapshot(fast, data, isTrusted)
	var goErr error
	panicked := func() (p any) {
		defer func() { p = recover() }()
		_, goErr = slow.UpdateSnapshot(data, isTrusted)
		return nil
	}()
	if errors.Is(fastErr, errFallback) {
		if fast.Snapshot != before {
			t.Fatalf("fast path declined (%v) but changed the trusted snapshot", fastErr)
		}
		return false
	}
	if panicked != nil {
		t.Fatalf("fast path decided (%v) where go-tuf panics: %v", fastErr, panicked)
	}
	if (fastErr == nil) != (goErr == nil) || fastErr != nil && reflect.TypeOf(fastErr) != reflect.TypeOf(goErr) {
		t.Fatalf("fast path: %v; go-tuf: %v\n%s", fastErr, goErr, data)
	}
	if f, g := normalized(fast.Snapshot), normalized(slow.Snapshot); !reflect.DeepEqual(f, g) {
		t.Fatalf("trusted snapshots differ:\nfast   %+v\ngo-tuf %+v", f.Signed, g.Signed)
	}
	return true
}

// edit returns the fixture's real signed part with old replaced by new
// (once; the test fails if old is not there).
func edit(t testing.TB, f *signingFixture, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(f.real), old) {
		t.Fatalf("%q not in fixture", old)
	}
	return []byte(strings.Replace(string(f.real), old, new, 1))
}

// snapshotVariant is a signed part (nil: the fixture's real one) in an
// envelope ("": the usual one).
type snapshotVariant struct {
	name   string
	signed []byte
	env    string
	fast   bool // agreed only: the fast path must decide it
}

// snapshotVariants: refused are snapshots go-tuf refuses although signed
// over their canonical form; agreed are ones go-tuf accepts, or refuses
// only after installing them (expired, wrong version).
func snapshotVariants(t testing.TB, f *signingFixture) (refused, agreed []snapshotVariant) {
	t.Helper()
	exp := regexp.MustCompile(`"expires": "([^"]*)Z"`).FindSubmatch(f.real)[1]
	refused = []snapshotVariant{
		{name: "explicit length 0", signed: edit(t, f, `"bins-0.json": {"version": 1}`, `"bins-0.json": {"version": 1, "length": 0}`)},
		{name: "empty hashes", signed: edit(t, f, `"bins-0.json": {"version": 1}`, `"bins-0.json": {"version": 1, "hashes": {}}`)},
		{name: "upper-case hex", signed: []byte(regexp.MustCompile(`"sha256": "[0-9a-f]+"`).ReplaceAllStringFunc(string(f.real), func(m string) string { return `"sha256": ` + strings.ToUpper(m[len(`"sha256": `):]) }))},
		{name: "missing spec_version", signed: edit(t, f, `"spec_version": "1.0.31",`, ``)},
		{name: "expires +00:00", signed: edit(t, f, string(exp)+`Z"`, string(exp)+`+00:00"`)},
		{name: "expires fractional .000", signed: edit(t, f, string(exp)+`Z"`, string(exp)+`.000Z"`)},
		{name: "expires fractional .50", signed: edit(t, f, string(exp)+`Z"`, string(exp)+`.50Z"`)},
		{name: "version -0 in meta", signed: edit(t, f, `"bins-2.json": {"version": 1}`, `"bins-2.json": {"version": -0}`)},
		{name: "length -0", signed: edit(t, f, `"bins-0.json": {"version": 1}`, `"bins-0.json": {"version": 1, "length": -0}`)},
		{name: "missing meta entry version", signed: edit(t, f, `"bins-2.json": {"version": 1}`, `"bins-2.json": {}`)},
		{name: "missing version", signed: edit(t, f, `"version": 1,`, ``)},
		{name: "missing meta", signed: []byte(regexp.MustCompile(`(?s),\s*"meta": \{.*\}\s*\}`).ReplaceAllString(string(f.real), "}"))},
		{name: "missing expires", signed: []byte(regexp.MustCompile(`"expires": "[^"]*",`).ReplaceAllString(string(f.real), ""))},
		{name: "null hash", signed: edit(t, f, `"bins-0.json": {"version": 1}`, `"bins-0.json": {"version": 1, "hashes": {"sha256": null}}`)},
		{name: "type timestamp", signed: edit(t, f, `"_type": "snapshot"`, `"_type": "timestamp"`)},
		{name: "missing type", signed: edit(t, f, `"_type": "snapshot",`, ``)},
		{name: "number 1e0", signed: edit(t, f, `"bins-3.json": {"version": 7}`, `"bins-3.json": {"version": 7e0}`)},
		{name: "number 7.0", signed: edit(t, f, `"bins-3.json": {"version": 7}`, `"bins-3.json": {"version": 7.0}`)},
		{name: "leading zero", signed: edit(t, f, `"bins-3.json": {"version": 7}`, `"bins-3.json": {"version": 07}`)},
		{name: "big integer", signed: edit(t, f, `"bins-3.json": {"version": 7}`, `"bins-3.json": {"version": 9223372036854775808}`)},
		{name: "unknown meta entry field", signed: edit(t, f, `"bins-0.json": {"version": 1}`, `"bins-0.json": {"version": 1, "x": 1.5}`)},
		{name: "upper-case signed key", signed: edit(t, f, `"version": 1,`, `"Version": 1,`)},
		{name: "envelope Signed", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}], "Signed": @SIGNED@}`},
		{name: "null extra signature", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}, {"keyid": "other", "sig": null}], "signed": @SIGNED@}`},
		{name: "duplicate signature", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}, {"keyid": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}`},
		{name: "envelope not an object", env: `[{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}]`},
	}
	agreed = []snapshotVariant{
		{name: "real", signed: f.real, fast: true},
		{name: "canonical", signed: cjsonOf(t, f.real), fast: true},
		{name: "minimal fraction", signed: edit(t, f, string(exp)+`Z"`, string(exp)+`.5Z"`), fast: true},
		{name: "names without .json", signed: edit(t, f, `"bins-0.json"`, `"bins-0"`), fast: true},
		{name: "empty meta", signed: []byte(regexp.MustCompile(`(?s)"meta": \{.*\}\s*\}`).ReplaceAllString(string(f.real), `"meta": {}}`)), fast: true},
		{name: "negative length", signed: edit(t, f, `"length": 1234`, `"length": -1234`), fast: true},
		{name: "version 0", signed: edit(t, f, `"version": 1,`, `"version": 0,`), fast: true},
		{name: "negative version", signed: edit(t, f, `"version": 1,`, `"version": -3,`), fast: true},
		{name: "expired", signed: []byte(regexp.MustCompile(`"expires": "[^"]*"`).ReplaceAllString(string(f.real), `"expires": "2001-02-03T04:05:06Z"`)), fast: true},
		{name: "non-ASCII name", signed: edit(t, f, `"bins-0.json"`, `"bins-é.json"`)},
		{name: "escaped name", signed: edit(t, f, `"bins-0.json"`, `"\u0062ins-0.json"`)},
		{name: "unknown field", signed: edit(t, f, `"version": 1,`, `"version": 1, "x-note": "hi",`)},
		{name: "null meta entry", signed: edit(t, f, `"bins-2.json": {"version": 1}`, `"bins-2.json": null`)},
		{name: "duplicate key", signed: edit(t, f, `"version": 1,`, `"version": 2, "version": 1,`)},
		{name: "escaped control character", signed: edit(t, f, `"bins-0.json"`, `"bins-0\u0001.json"`)},
	}
	return refused, agreed
}

// TestFastSnapshotRefusesWhatGoTUFRefuses: each snapshot here is signed,
// by the snapshot key, over its canonical form (what a securesystemslib
// signer does), and go-tuf refuses it, mostly because it verifies over its
// re-encoding of the decoded struct instead. The fast path must not accept
// it, nor install it as the trusted snapshot.
func TestFastSnapshotRefusesWhatGoTUFRefuses(t *testing.T) {
	for _, f := range signingFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			cases, _ := snapshotVariants(t, f)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if c.signed == nil {
						c.signed = f.real
					}
					if c.env == "" {
						c.env = envelope
					}
					payload, ok := canonicalSigner(c.signed)
					if !ok {
						payload = c.signed // no canonical form: sign the bytes
					}
					data := f.document(t, c.env, c.signed, payload)
					var goErr error
					func() {
						defer func() {
							if p := recover(); p != nil {
								goErr = fmt.Errorf("panic: %v", p)
							}
						}()
						_, goErr = f.fresh(t).UpdateSnapshot(data, true)
					}()
					if goErr == nil {
						t.Fatalf("go-tuf accepts it; the case is wrong:\n%s", data)
					}
					ts := f.fresh(t)
					if err := fastSnapshot(ts, data, true); !errors.Is(err, errFallback) {
						t.Fatalf("fast path: %v, want errFallback (go-tuf: %v)", err, goErr)
					}
					if ts.Snapshot != nil {
						t.Fatal("fast path installed a snapshot go-tuf refuses")
					}
					if err := updateSnapshot(f.fresh(t), data, true); err == nil {
						t.Fatal("updateSnapshot accepted it")
					}
				})
			}
		})
	}
}

// TestFastSnapshotAgrees: variants go-tuf accepts, or refuses only after
// installing the snapshot; the fast path must give the same verdict and
// trusted snapshot, or decline. The real snapshot and its plain variants
// must not be declined, or the fast path is pointless.
func TestFastSnapshotAgrees(t *testing.T) {
	for _, f := range signingFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			_, cases := snapshotVariants(t, f)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					payload, ok := canonicalSigner(c.signed)
					if !ok {
						t.Fatal("no canonical form")
					}
					data := f.document(t, envelope, c.signed, payload)
					decided := checkSubset(t, f.fresh(t), f.fresh(t), data, false)
					if c.fast && !decided {
						t.Fatalf("fast path declined:\n%s", data)
					}
				})
			}
		})
	}
}

// TestFastSnapshotSignatureHashAsGoTUF: for an RSA key whose root entry
// names the ecdsa-sha2-nistp384 scheme, go-tuf verifies PSS over SHA-384
// (it picks the hash by scheme for every key type but ed25519). A PSS
// signature over SHA-256 is refused there, so the fast path must refuse it
// too, and accept the SHA-384 one go-tuf accepts.
func TestFastSnapshotSignatureHashAsGoTUF(t *testing.T) {
	f := signingFixtures(t)[3]
	if f.sha256PSS == nil {
		t.Fatal("fixture has no SHA-256 PSS signer")
	}
	payload, _ := canonicalSigner(f.real)
	sig, err := f.sha256PSS.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer("@SIGNED@", string(f.real), "@SIG@", hex.EncodeToString(sig), "@KEYID@", f.keyID).Replace(envelope)
	if _, err := f.fresh(t).UpdateSnapshot([]byte(doc), true); err == nil {
		t.Fatal("go-tuf accepts a SHA-256 signature; the case is wrong")
	}
	ts := f.fresh(t)
	if err := fastSnapshot(ts, []byte(doc), true); !errors.Is(err, errFallback) || ts.Snapshot != nil {
		t.Fatalf("fast path: %v, want errFallback and no snapshot", err)
	}
	good := f.document(t, envelope, f.real, payload)
	if !checkSubset(t, f.fresh(t), f.fresh(t), good, true) {
		t.Fatal("fast path declined the SHA-384 signature go-tuf accepts")
	}
}
