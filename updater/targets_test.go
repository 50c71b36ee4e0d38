package updater

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufpip/tufpip/integration/repogen"
)

// binFixture is a repository whose top-level targets delegates "bins-0" to
// a key we hold (and "other" to the online key), so tests can sign any
// bin bytes at all with the bin key: signature checks pass, and what is
// left to differ is decoding and encoding.
type binFixture struct {
	name    string
	keyID   string
	signer  signature.Signer // the bin key, signing as go-tuf verifies
	online  signature.Signer // root, timestamp, snapshot, targets, "other"
	root    []byte
	targets []byte
	expires time.Time
	// real is the signed part of a bin as a repository writes it.
	real []byte
}

var (
	binFixturesOnce sync.Once
	binFixtures     []*binFixture
	binFixturesErr  error
)

// binFixturesFor: ed25519, ECDSA P-256, RSA-PSS and an RSA key whose entry
// names the ecdsa-sha2-nistp384 scheme.
func binFixturesFor(t testing.TB) []*binFixture {
	t.Helper()
	binFixturesOnce.Do(func() {
		for _, kt := range []string{"ed25519", "ecdsa", "rsa", "rsa-p384-scheme"} {
			var f *binFixture
			if f, binFixturesErr = newBinFixture(kt); binFixturesErr != nil {
				return
			}
			binFixtures = append(binFixtures, f)
		}
	})
	if binFixturesErr != nil {
		t.Fatal(binFixturesErr)
	}
	return binFixtures
}

func newBinFixture(kt string) (*binFixture, error) {
	key, signer, _, err := newTestKey(kt)
	if err != nil {
		return nil, err
	}
	keyID, err := key.ID()
	if err != nil {
		return nil, err
	}
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
	onlineID, err := onlineKey.ID()
	if err != nil {
		return nil, err
	}
	expires := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	root := metadata.Root(expires)
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		if err := root.Signed.AddKey(onlineKey, role); err != nil {
			return nil, err
		}
	}
	if _, err := root.Sign(online); err != nil {
		return nil, err
	}
	rootBytes, err := root.ToBytes(true)
	if err != nil {
		return nil, err
	}
	top := metadata.Targets(expires)
	top.Signed.Delegations = &metadata.Delegations{
		Keys: map[string]*metadata.Key{keyID: key, onlineID: onlineKey},
		Roles: []metadata.DelegatedRole{
			{Name: "bins-0", KeyIDs: []string{keyID}, Threshold: 1, Paths: []string{"*"}},
			{Name: "other", KeyIDs: []string{onlineID}, Threshold: 1, Paths: []string{"*"}},
		},
	}
	if _, err := top.Sign(online); err != nil {
		return nil, err
	}
	topBytes, err := top.ToBytes(true)
	if err != nil {
		return nil, err
	}
	real := fmt.Sprintf(`{
  "_type": "targets",
  "spec_version": "1.0.31",
  "version": 1,
  "expires": %q,
  "targets": {
    "packages/ab/cd/Django-4.2.tar.gz": {"length": 1234, "hashes": {"blake2b-256": "%x"}},
    "packages/ef/01/six-1.16.0-py2.py3-none-any.whl": {"hashes": {"sha256": "%x", "blake2b-256": "%x"}, "length": 5},
    "packages/00/11/a-1.0.tar.gz": {"length": 7, "hashes": {"blake2b-256": "%x"}}
  }
}`, expires.Format(time.RFC3339), sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b")), sha256.Sum256([]byte("c")), sha256.Sum256([]byte("d")))
	return &binFixture{name: kt, keyID: keyID, signer: signer, online: online, root: rootBytes, targets: topBytes, expires: expires, real: []byte(real)}, nil
}

// binState says how the snapshot lists the bins and when the trusted set
// checks expiry.
type binState struct {
	hashesOf []byte // if not nil, bins-0.json's length and hashes are of these bytes
	version  int64  // bins-0.json's version in the snapshot (0: 1)
	late     bool   // reference time two days on: the bin has expired
}

// set returns a function making trusted sets with root, timestamp,
// snapshot and top-level targets loaded, all from the same bytes.
func (f *binFixture) set(t testing.TB, st binState) func() *metadataSet {
	t.Helper()
	snap := metadata.Snapshot(f.expires.Add(time.Hour))
	mf := metadata.MetaFile(1)
	if st.version != 0 {
		mf.Version = st.version
	}
	if st.hashesOf != nil {
		sum := sha256.Sum256(st.hashesOf)
		mf.Length = int64(len(st.hashesOf))
		mf.Hashes = metadata.Hashes{"sha256": sum[:]}
	}
	snap.Signed.Meta["bins-0.json"] = mf
	snap.Signed.Meta["other.json"] = metadata.MetaFile(1)
	if _, err := snap.Sign(f.online); err != nil {
		t.Fatal(err)
	}
	snapBytes, err := snap.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	ts := metadata.Timestamp(f.expires.Add(time.Hour))
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(1)
	if _, err := ts.Sign(f.online); err != nil {
		t.Fatal(err)
	}
	tsBytes, err := ts.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return func() *metadataSet {
		tm, err := trustedmetadata.New(f.root)
		if err == nil {
			_, err = tm.UpdateTimestamp(tsBytes)
		}
		if err == nil {
			_, err = tm.UpdateSnapshot(snapBytes, false)
		}
		if err == nil {
			_, err = tm.UpdateTargets(f.targets)
		}
		if err != nil {
			t.Fatal(err)
		}
		if st.late {
			// Past the bin's expiry, not the top-level roles'
			// (loaded already).
			tm.RefTime = f.expires.Add(30 * time.Minute)
		}
		return tm
	}
}

// document puts signed into env with a signature by the bin key over
// payload.
func (f *binFixture) document(t testing.TB, env string, signed, payload []byte) []byte {
	t.Helper()
	sig, err := f.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("@SIGNED@", string(signed), "@SIG@", fmt.Sprintf("%x", sig), "@KEYID@", f.keyID)
	return []byte(r.Replace(env))
}

// goTUFTargetsSigner is what go-tuf itself signs for a targets role: cjson
// of its decoding. Where go-tuf's decoder panics (a null target entry,
// see guard.go) there is no such payload.
func goTUFTargetsSigner(signed []byte) (payload []byte, ok bool) {
	defer func() {
		if recover() != nil {
			payload, ok = nil, false
		}
	}()
	var s metadata.TargetsType
	if json.Unmarshal(signed, &s) != nil {
		return nil, false
	}
	out, err := json.Marshal(s)
	if err != nil {
		return nil, false
	}
	return canonicalSigner(out)
}

// goTUFDecode is go-tuf's reading of data, with a panic as an error.
func goTUFDecode(data []byte) (md *metadata.Metadata[metadata.TargetsType], err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return metadata.Targets().FromBytes(data)
}

// checkTargetsSubset runs the fast path and go-tuf on data, as role
// delegated by the top-level targets, each on its own trusted set from
// the same start, and fails unless the fast path either declines, leaving
// its set as it was, or accepts what go-tuf accepts with a
// reflect.DeepEqual trusted role. Whenever the fast reader reads data at
// all, its reading must be go-tuf's, its spec_version verdict
// checkSpecVersion's, and its signature verdict (the disk epoch's check)
// must imply VerifyDelegate's. It reports whether the fast path accepted.
func checkTargetsSubset(t *testing.T, fast, slow *metadataSet, data []byte, role string) (accepted bool) {
	t.Helper()
	doc := readTargetsDoc(data)
	if doc.md != nil {
		goMD, err := goTUFDecode(data)
		if err != nil {
			t.Fatalf("fast reader read what go-tuf cannot (%v):\n%s", err, data)
		}
		if !reflect.DeepEqual(doc.md, goMD) {
			t.Fatalf("readings differ:\nfast   %#v\ngo-tuf %#v", doc.md, goMD)
		}
		want, got := fmt.Sprint(checkSpecVersion(role, data)), fmt.Sprint(doc.checkSpecVersion(role))
		if want != got {
			t.Fatalf("spec_version: fast %s, checkSpecVersion %s", got, want)
		}
		parent := fast.Targets[metadata.TARGETS]
		if doc.signedBy(parent, role) {
			if err := parent.VerifyDelegate(role, goMD); err != nil {
				t.Fatalf("signedBy accepts what VerifyDelegate refuses: %v", err)
			}
		}
		doc = readTargetsDoc(data) // a fresh md: the one above was compared, not installed
	}
	md, fastErr := fastDelegatedTargets(fast, doc, role, metadata.TARGETS)
	var goMD *metadata.Metadata[metadata.TargetsType]
	var goErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				goErr = fmt.Errorf("panic: %v", p)
			}
		}()
		goMD, goErr = slow.UpdateDelegatedTargets(data, role, metadata.TARGETS)
	}()
	if fastErr != nil {
		if !errors.Is(fastErr, errFallback) {
			t.Fatalf("fast path error %v is not errFallback", fastErr)
		}
		if _, ok := fast.Targets[role]; ok {
			t.Fatal("fast path declined but installed the role")
		}
		return false
	}
	if goErr != nil {
		t.Fatalf("fast path accepts what go-tuf refuses (%v):\n%s", goErr, data)
	}
	if md != fast.Targets[role] {
		t.Fatal("fast path returned another role than it installed")
	}
	if !reflect.DeepEqual(fast.Targets[role], slow.Targets[role]) || !reflect.DeepEqual(md, goMD) {
		t.Fatalf("trusted roles differ:\nfast   %#v\ngo-tuf %#v", fast.Targets[role], slow.Targets[role])
	}
	return true
}

// binEdit returns the fixture's real bin with old replaced by new, once.
func binEdit(t testing.TB, f *binFixture, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(f.real), old) {
		t.Fatalf("%q not in fixture", old)
	}
	return []byte(strings.Replace(string(f.real), old, new, 1))
}

type binVariant struct {
	name   string
	signed []byte // nil: the real one
	env    string // "": envelope
	state  binState
	fast   bool // agreed only: the fast path must accept it
}

const (
	djangoEntry = `"packages/ab/cd/Django-4.2.tar.gz": {"length": 1234, "hashes": {"blake2b-256": "`
	aEntry      = `"packages/00/11/a-1.0.tar.gz": {"length": 7, `
)

// binVariants: refused are bins go-tuf refuses although signed by the bin
// key over their canonical form; agreed are ones it accepts.
func binVariants(t testing.TB, f *binFixture) (refused, agreed []binVariant) {
	t.Helper()
	exp := regexp.MustCompile(`"expires": "([^"]*)Z"`).FindSubmatch(f.real)[1]
	re := func(pattern, repl string) []byte {
		return regexp.MustCompile(pattern).ReplaceAll(f.real, []byte(repl))
	}
	refused = []binVariant{
		{name: "hashes {}", signed: re(`"hashes": \{"blake2b-256": "[0-9a-f]+"\}`, `"hashes": {}`)},
		{name: "hashes null", signed: re(`"hashes": \{"blake2b-256": "[0-9a-f]+"\}`, `"hashes": null`)},
		{name: "missing hashes", signed: binEdit(t, f, aEntry+`"hashes": {"blake2b-256": "`+fmt.Sprintf("%x", sha256.Sum256([]byte("d")))+`"}}`, `"packages/00/11/a-1.0.tar.gz": {"length": 7}`)},
		{name: "missing length", signed: binEdit(t, f, aEntry, `"packages/00/11/a-1.0.tar.gz": {`)},
		{name: "upper-case hex", signed: re(`"sha256": "[0-9a-f]+"`, `"sha256": "`+strings.ToUpper(fmt.Sprintf("%x", sha256.Sum256([]byte("b"))))+`"`)},
		{name: "odd hex", signed: re(`"sha256": "([0-9a-f]+)"`, `"sha256": "${1}0"`)},
		{name: "null hash", signed: re(`"sha256": "[0-9a-f]+"`, `"sha256": null`)},
		{name: "expires +00:00", signed: binEdit(t, f, string(exp)+`Z"`, string(exp)+`+00:00"`)},
		{name: "expires fractional .000", signed: binEdit(t, f, string(exp)+`Z"`, string(exp)+`.000Z"`)},
		{name: "expires fractional .50", signed: binEdit(t, f, string(exp)+`Z"`, string(exp)+`.50Z"`)},
		{name: "version -0", signed: binEdit(t, f, `"version": 1,`, `"version": -0,`)},
		{name: "length -0", signed: binEdit(t, f, `"length": 7,`, `"length": -0,`)},
		{name: "length 7.0", signed: binEdit(t, f, `"length": 7,`, `"length": 7.0,`)},
		{name: "length 7e0", signed: binEdit(t, f, `"length": 7,`, `"length": 7e0,`)},
		{name: "length 07", signed: binEdit(t, f, `"length": 7,`, `"length": 07,`)},
		{name: "big length", signed: binEdit(t, f, `"length": 7,`, `"length": 9223372036854775808,`)},
		{name: "missing version", signed: binEdit(t, f, `"version": 1,`, ``)},
		{name: "missing spec_version", signed: binEdit(t, f, `"spec_version": "1.0.31",`, ``)},
		{name: "missing expires", signed: re(`"expires": "[^"]*",`, ``)},
		{name: "missing type", signed: binEdit(t, f, `"_type": "targets",`, ``)},
		{name: "missing targets", signed: re(`(?s),\s*"targets": \{.*\}\s*\}`, `}`)},
		{name: "type snapshot", signed: binEdit(t, f, `"_type": "targets"`, `"_type": "snapshot"`)},
		{name: "upper-case signed key", signed: binEdit(t, f, `"version": 1,`, `"Version": 1,`)},
		{name: "upper-case target key", signed: binEdit(t, f, `"length": 7,`, `"Length": 7,`)},
		{name: "custom null", signed: binEdit(t, f, aEntry, aEntry+`"custom": null, `)},
		{name: "null target", signed: binEdit(t, f, `"targets": {`, `"targets": {"packages/zz": null,`)},
		{name: "version 2 (snapshot lists 1)", signed: binEdit(t, f, `"version": 1,`, `"version": 2,`)},
		{name: "version 0", signed: binEdit(t, f, `"version": 1,`, `"version": 0,`)},
		{name: "snapshot lists version 2", state: binState{version: 2}},
		{name: "expired", state: binState{late: true}},
		{name: "hashes in snapshot differ", state: binState{hashesOf: []byte("other bytes")}},
		{name: "envelope Signed", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}], "Signed": @SIGNED@}`},
		{name: "null extra signature", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}, {"keyid": "other", "sig": null}], "signed": @SIGNED@}`},
		{name: "duplicate signature", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}, {"keyid": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}`},
		{name: "envelope not an object", env: `[{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}]`},
		{name: "no signatures", env: `{"signatures": [], "signed": @SIGNED@}`},
		{name: "signatures null", env: `{"signatures": null, "signed": @SIGNED@}`},
	}
	agreed = []binVariant{
		{name: "real", fast: true},
		{name: "canonical", signed: cjsonOf(t, f.real), fast: true},
		{name: "listed with length and hashes", state: binState{hashesOf: []byte{}}, fast: true}, // filled in per case
		{name: "minimal fraction", signed: binEdit(t, f, string(exp)+`Z"`, string(exp)+`.5Z"`), fast: true},
		{name: "explicit length 0", signed: binEdit(t, f, `"length": 7,`, `"length": 0,`), fast: true},
		{name: "negative length", signed: binEdit(t, f, `"length": 7,`, `"length": -7,`), fast: true},
		{name: "empty hash value", signed: re(`"sha256": "[0-9a-f]+"`, `"sha256": ""`), fast: true},
		{name: "empty targets", signed: re(`(?s)"targets": \{.*\}\s*\}`, `"targets": {}}`), fast: true},
		{name: "upper-case path", signed: binEdit(t, f, `"packages/00/11/a-1.0.tar.gz"`, `"PACKAGES/A-1.0.TAR.GZ"`), fast: true},
		{name: "path <&>", signed: binEdit(t, f, `"packages/00/11/a-1.0.tar.gz"`, `"packages/<&>"`), fast: true},
		{name: "spec_version 2.0", signed: binEdit(t, f, `"1.0.31"`, `"2.0"`), fast: true},
		{name: "extra signature", env: `{"signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}, {"keyid": "other", "sig": "abcd"}], "signed": @SIGNED@}`, fast: true},
		{name: "targets null", signed: re(`(?s)"targets": \{.*\}\s*\}`, `"targets": null}`)},
		{name: "custom", signed: binEdit(t, f, aEntry, aEntry+`"custom": {"b": [1, 2], "a": "x"}, `)},
		{name: "unknown field", signed: binEdit(t, f, `"version": 1,`, `"version": 1, "x-note": "hi",`)},
		{name: "unknown target field", signed: binEdit(t, f, aEntry, aEntry+`"x": 1, `)},
		{name: "delegations", signed: binEdit(t, f, `"version": 1,`, `"version": 1, "delegations": {"keys": {}, "roles": [{"name": "x", "keyids": ["k"], "threshold": 1, "paths": ["*"], "terminating": false}]},`)},
		{name: "escaped path", signed: binEdit(t, f, `"packages/00/11/a-1.0.tar.gz"`, `"packages/\u0061-1.0.tar.gz"`)},
		{name: "non-ASCII path", signed: binEdit(t, f, `"packages/00/11/a-1.0.tar.gz"`, `"packages/é-1.0.tar.gz"`)},
		{name: "duplicate target", signed: binEdit(t, f, `"targets": {`, `"targets": {"packages/00/11/a-1.0.tar.gz": {"length": 1, "hashes": {"sha256": "00"}},`)},
		{name: "empty roles", signed: binEdit(t, f, `"version": 1,`, `"version": 1, "delegations": {"keys": {}, "roles": []},`)},
		{name: "signature key ID upper-case", env: `{"signatures": [{"KEYID": "@KEYID@", "sig": "@SIG@"}], "signed": @SIGNED@}`},
		{name: "signatures in second place", env: `{"signed": @SIGNED@, "signatures": [{"keyid": "@KEYID@", "sig": "@SIG@"}]}`, fast: true},
	}
	return refused, agreed
}

// variantDoc signs a variant's bin over its canonical form (what a
// securesystemslib signer signs; the bytes themselves if it has none).
func variantDoc(t testing.TB, f *binFixture, v binVariant) []byte {
	t.Helper()
	signed, env := v.signed, v.env
	if signed == nil {
		signed = f.real
	}
	if env == "" {
		env = envelope
	}
	payload, ok := canonicalSigner(signed)
	if !ok {
		payload = signed
	}
	return f.document(t, env, signed, payload)
}

// TestFastTargetsRefusesWhatGoTUFRefuses: each bin is signed by the bin key
// over its canonical form, and go-tuf refuses it (or panics: a null
// target entry), mostly because it verifies over its re-encoding of the
// decoded struct. The fast path must decline it and install nothing;
// updateDelegatedTargets must refuse it.
func TestFastTargetsRefusesWhatGoTUFRefuses(t *testing.T) {
	for _, f := range binFixturesFor(t) {
		t.Run(f.name, func(t *testing.T) {
			cases, _ := binVariants(t, f)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					data := variantDoc(t, f, c)
					set := f.set(t, c.state)
					var goErr error
					func() {
						defer func() {
							if p := recover(); p != nil {
								goErr = fmt.Errorf("panic: %v", p)
							}
						}()
						_, goErr = set().UpdateDelegatedTargets(data, "bins-0", metadata.TARGETS)
					}()
					if goErr == nil {
						t.Fatalf("go-tuf accepts it; the case is wrong:\n%s", data)
					}
					ts := set()
					if _, err := fastDelegatedTargets(ts, readTargetsDoc(data), "bins-0", metadata.TARGETS); !errors.Is(err, errFallback) {
						t.Fatalf("fast path: %v, want errFallback (go-tuf: %v)", err, goErr)
					}
					if _, ok := ts.Targets["bins-0"]; ok {
						t.Fatal("fast path installed a bin go-tuf refuses")
					}
					// updateDelegatedTargets must refuse it, go-tuf's own
					// crash (a null target entry) included: as an error,
					// not a panic (guardGoTUF).
					_, err := updateDelegatedTargets(set(), readTargetsDoc(data), "bins-0", metadata.TARGETS)
					if err == nil {
						t.Fatal("updateDelegatedTargets accepted it")
					}
					if strings.HasPrefix(goErr.Error(), "panic") && !strings.Contains(err.Error(), "go-tuf could not decode it") {
						t.Fatalf("go-tuf panicked, and updateDelegatedTargets says %v", err)
					}
				})
			}
		})
	}
}

// TestFastTargetsAgrees: bins go-tuf accepts; the fast path must accept
// them with the same trusted role, or decline. The real bin and its plain
// variants must not be declined, or the fast path is pointless.
func TestFastTargetsAgrees(t *testing.T) {
	for _, f := range binFixturesFor(t) {
		t.Run(f.name, func(t *testing.T) {
			_, cases := binVariants(t, f)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					data := variantDoc(t, f, c)
					if c.state.hashesOf != nil {
						c.state.hashesOf = data
					}
					set := f.set(t, c.state)
					if _, err := set().UpdateDelegatedTargets(data, "bins-0", metadata.TARGETS); err != nil {
						t.Fatalf("go-tuf refuses it (%v); the case is wrong:\n%s", err, data)
					}
					accepted := checkTargetsSubset(t, set(), set(), data, "bins-0")
					if c.fast && !accepted {
						t.Fatalf("fast path declined:\n%s", data)
					}
					if !c.fast && accepted {
						t.Fatalf("fast path accepted a case it should leave to go-tuf:\n%s", data)
					}
				})
			}
		})
	}
}

// TestFastTargetsPerDelegator: a bin signed by the bin key is refused as
// "other" (delegated to another key), by a delegator that is not loaded,
// and by one that delegates nothing; the fast path declines each and
// go-tuf refuses.
func TestFastTargetsPerDelegator(t *testing.T) {
	f := binFixturesFor(t)[2] // RSA, as PyPI's online key
	data := variantDoc(t, f, binVariant{})
	set := f.set(t, binState{})
	cases := []struct{ role, delegator string }{
		{"other", metadata.TARGETS},    // delegated to the online key
		{"bins-0", "bins-9"},           // no such delegator loaded
		{"bins-0", metadata.ROOT},      // root delegates no bins-0
		{"unlisted", metadata.TARGETS}, // not in the snapshot
	}
	for _, c := range cases {
		t.Run(c.role+" by "+c.delegator, func(t *testing.T) {
			ts := set()
			if _, err := fastDelegatedTargets(ts, readTargetsDoc(data), c.role, c.delegator); !errors.Is(err, errFallback) {
				t.Fatalf("fast path: %v, want errFallback", err)
			}
			if _, ok := ts.Targets[c.role]; ok {
				t.Fatal("installed")
			}
			if _, err := updateDelegatedTargets(set(), readTargetsDoc(data), c.role, c.delegator); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// The disk epoch's check, with the top-level targets as delegator.
	top := set().Targets[metadata.TARGETS]
	if d := readTargetsDoc(data); !d.signedBy(top, "bins-0") || d.signedBy(top, "other") || d.signedBy((*metadata.Metadata[metadata.TargetsType])(nil), "bins-0") {
		t.Fatal("signedBy does not follow the delegation")
	}
}

// TestFastTargetsReadsRepogenBins: bins as the generator writes them
// (RSTUF layout: succinct delegation, blake2b-256) are the fast path's
// case, for every key type, online and from disk: the path is not dead
// code for real repositories.
func TestFastTargetsReadsRepogenBins(t *testing.T) {
	for _, kt := range []string{repogen.KeyTypeEd25519, repogen.KeyTypeECDSA, repogen.KeyTypeRSA} {
		t.Run(kt, func(t *testing.T) {
			r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 2, KeyType: kt, PhantomTargets: 40}, repogen.SyntheticProjects(2))
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
			fresh := func() *metadataSet {
				tm, err := trustedmetadata.New(r.TrustedRoot())
				if err == nil {
					_, err = tm.UpdateTimestamp(read("timestamp.json"))
				}
				if err == nil {
					_, err = tm.UpdateSnapshot(read("1.snapshot.json"), false)
				}
				if err == nil {
					v := tm.Snapshot.Signed.Meta["targets.json"].Version
					_, err = tm.UpdateTargets(read(fmt.Sprintf("%d.targets.json", v)))
				}
				if err != nil {
					t.Fatal(err)
				}
				return tm
			}
			for name, mf := range fresh().Snapshot.Signed.Meta {
				role := strings.TrimSuffix(name, ".json")
				if role == metadata.TARGETS {
					continue
				}
				data := read(fmt.Sprintf("%d.%s", mf.Version, name))
				if !checkTargetsSubset(t, fresh(), fresh(), data, role) {
					t.Fatalf("fast path declined %s", name)
				}
			}
		})
	}
}

// FuzzFastTargetsSubset: the fast path for bins accepts only what go-tuf
// accepts, and leaves the same trusted role (reflect.DeepEqual); its
// reading, spec_version verdict and signature verdict agree with go-tuf's
// (see checkTargetsSubset). Every input is signed with the bin key, so
// signatures pass and what the fuzzer explores is how the two read and
// re-encode the document. The input is a signed part, an envelope
// (@SIGNED@, @SIG@ and @KEYID@ are filled in) and mode bits: which key
// (ed25519, ECDSA, RSA, RSA with a P-384 scheme), which payload is signed
// (the canonical form of the value, or go-tuf's re-encoding of its
// decoding), whether the snapshot lists the bin's length and hashes,
// whether it is read as "other" (delegated to another key), whether the
// reference time is past the bin's expiry, and whether the snapshot lists
// another version.
func FuzzFastTargetsSubset(f *testing.F) {
	fixtures := binFixturesFor(f)
	refused, agreed := binVariants(f, fixtures[0])
	for i, v := range append(refused, agreed...) {
		signed, env := v.signed, v.env
		if signed == nil {
			signed = fixtures[0].real
		}
		if env == "" {
			env = envelope
		}
		f.Add(signed, env, uint8(i))
	}
	// A bin as repogen writes it (RSTUF layout), re-signed here.
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(f.TempDir(), "repo"), BitLength: 1, PhantomTargets: 8}, repogen.SyntheticProjects(1))
	if err != nil {
		f.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", "1.bins-0.json"))
	if err != nil {
		f.Fatal(err)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(doc, &env); err != nil {
		f.Fatal(err)
	}
	for mode := range uint8(16) {
		f.Add([]byte(env["signed"]), envelope, mode)
	}
	f.Fuzz(func(t *testing.T, signed []byte, env string, mode uint8) {
		fx := fixtures[mode%4]
		sign := canonicalSigner
		if mode&4 != 0 {
			sign = goTUFTargetsSigner
		}
		payload, ok := sign(signed)
		if !ok {
			payload = signed
		}
		data := fx.document(t, env, signed, payload)
		var st binState
		if mode&8 != 0 {
			st.hashesOf = data
		}
		role := "bins-0"
		if mode&16 != 0 {
			role = "other"
		}
		st.late = mode&32 != 0
		if mode&64 != 0 {
			st.version = 2
		}
		set := fx.set(t, st)
		checkTargetsSubset(t, set(), set(), data, role)
	})
}

// BenchmarkBinLoad is one bin's verification as a lookup makes it
// (spec_version check, then the trusted-set update against the top-level
// targets' succinct delegation), go-tuf and the fast path side by side: a
// repogen bin with RSA keys and TUFPIP_BENCH_BIN_TARGETS targets (default
// 200, about 40 KB, as in bench's F4 row).
//
//	go test -run '^$' -bench BinLoad ./updater/
func BenchmarkBinLoad(b *testing.B) {
	perBin := 200
	if s := os.Getenv("TUFPIP_BENCH_BIN_TARGETS"); s != "" {
		var err error
		if _, err = fmt.Sscan(s, &perBin); err != nil {
			b.Fatal(err)
		}
	}
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(b.TempDir(), "repo"), BitLength: 2, KeyType: repogen.KeyTypeRSA, PhantomTargets: 4 * perBin}, repogen.SyntheticProjects(1))
	if err != nil {
		b.Fatal(err)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	tm, err := trustedmetadata.New(r.TrustedRoot())
	if err == nil {
		_, err = tm.UpdateTimestamp(read("timestamp.json"))
	}
	if err == nil {
		_, err = tm.UpdateSnapshot(read("1.snapshot.json"), false)
	}
	if err == nil {
		_, err = tm.UpdateTargets(read(fmt.Sprintf("%d.targets.json", tm.Snapshot.Signed.Meta["targets.json"].Version)))
	}
	if err != nil {
		b.Fatal(err)
	}
	role := "bins-0"
	data := read(fmt.Sprintf("%d.%s.json", tm.Snapshot.Signed.Meta[role+".json"].Version, role))
	b.Logf("%s: %d bytes", role, len(data))
	b.Run("go-tuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			delete(tm.Targets, role)
			if err := checkSpecVersion(role, data); err != nil {
				b.Fatal(err)
			}
			if _, err := tm.UpdateDelegatedTargets(data, role, metadata.TARGETS); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tufpip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			delete(tm.Targets, role)
			doc := readTargetsDoc(data)
			if err := doc.checkSpecVersion(role); err != nil {
				b.Fatal(err)
			}
			if _, err := fastDelegatedTargets(tm, doc, role, metadata.TARGETS); err != nil {
				b.Fatal(err)
			}
		}
	})
}
