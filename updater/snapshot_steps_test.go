package updater

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The fast snapshot path's steps, each on its own. The whole path is
// checked against go-tuf by TestFastSnapshot* and FuzzFastSnapshotSubset.

func TestCanonicalizerNext(t *testing.T) {
	for _, tc := range []struct {
		src  string
		more bool
		j    int
		ok   bool
	}{
		{" , x", true, 3, true},
		{"}", false, 1, true},
		{"  }x", false, 3, true},
		{"]", false, 0, false}, // the other closing byte
		{"  ", false, 0, false},
		{"x", false, 0, false},
	} {
		c := canonicalizer{src: []byte(tc.src)}
		more, j, err := c.next(0, '}')
		if (err == nil) != tc.ok || err == nil && (more != tc.more || j != tc.j) {
			t.Errorf("next(%q) = %v, %d, %v; want %v, %d, ok %v", tc.src, more, j, err, tc.more, tc.j, tc.ok)
		}
	}
}

func TestCanonicalizerMember(t *testing.T) {
	c := canonicalizer{src: []byte(`"ab" : [1, 2] ,`)}
	m, i, err := c.member(0)
	if err != nil || string(m.key) != "ab" || string(c.out[m.start:m.end]) != `"ab":[1,2]` || i != 13 {
		t.Fatalf("member = %+v, %d, %v; out %q", m, i, err, c.out)
	}
	for _, src := range []string{`"Ab":1`, `ab:1`, `"ab" 1`, `"a\"b":1`, `"ab":`} {
		c := canonicalizer{src: []byte(src)}
		if _, _, err := c.member(0); !errors.Is(err, errFallback) {
			t.Errorf("member(%q): %v, want errFallback", src, err)
		}
	}
}

func TestCanonicalizerMembersOrder(t *testing.T) {
	c := canonicalizer{src: []byte(`"a":1,"c":2,"b":3}`)}
	ms, sorted, end, err := c.members(0)
	if err != nil || sorted || len(ms) != 3 || end != len(c.src) {
		t.Fatalf("members = %d, sorted %v, end %d, %v", len(ms), sorted, end, err)
	}
	c = canonicalizer{src: []byte(`"a":1,"a":2}`)}
	if _, _, _, err := c.members(0); !errors.Is(err, errFallback) {
		t.Fatalf("adjacent duplicate: %v, want errFallback", err)
	}
}

func TestCanonicalizerSortMembers(t *testing.T) {
	c := canonicalizer{src: []byte(`{"c":1,"a":[2],"b":3}`)}
	c.out = append(c.out, "x"...) // an enclosing prefix sortMembers must keep
	base := len(c.out)
	c.out = append(c.out, '{')
	ms, sorted, _, err := c.members(1)
	if err != nil || sorted {
		t.Fatal(err, sorted)
	}
	if err := c.sortMembers(base, ms); err != nil {
		t.Fatal(err)
	}
	if got := string(c.out); got != `x{"a":[2],"b":3,"c":1` {
		t.Fatalf("out = %q", got)
	}
	for k, want := range []string{`"a":[2]`, `"b":3`, `"c":1`} {
		if got := string(c.out[ms[k].start:ms[k].end]); got != want {
			t.Errorf("member %d at %q, want %q", k, got, want)
		}
	}
	// A duplicate that was not next to its twin in input order.
	c = canonicalizer{src: []byte(`{"b":1,"a":2,"b":3}`)}
	c.out = append(c.out, '{')
	ms, _, _, err = c.members(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sortMembers(0, ms); !errors.Is(err, errFallback) {
		t.Fatalf("distant duplicate: %v, want errFallback", err)
	}
}

func TestCanonicalizerNumber(t *testing.T) {
	for src, ok := range map[string]bool{
		"0": true, "-0": true, "12,": true, "-": false, "01": false, "-01": false,
		"123456789012345678": true, "1234567890123456789": false,
	} {
		c := canonicalizer{src: []byte(src)}
		if _, err := c.number(0); (err == nil) != ok {
			t.Errorf("number(%q): %v, want ok %v", src, err, ok)
		}
	}
}

func TestDecodeHex(t *testing.T) {
	if b, ok := decodeHex(""); !ok || b == nil || len(b) != 0 {
		t.Errorf(`decodeHex("") = %v, %v; want empty, not nil`, b, ok)
	}
	if b, ok := decodeHex("aBc1"); !ok || !bytes.Equal(b, []byte{0xab, 0xc1}) {
		t.Errorf("decodeHex(aBc1) = %x, %v", b, ok)
	}
	for _, h := range []string{"abc", "zz"} {
		if _, ok := decodeHex(h); ok {
			t.Errorf("decodeHex(%q) accepted", h)
		}
	}
}

func TestAppendMetaFile(t *testing.T) {
	for _, tc := range []struct {
		mf   *metadata.MetaFiles
		want string // "" for refused
	}{
		{&metadata.MetaFiles{Version: 3}, `{"version":3}`},
		{&metadata.MetaFiles{Version: 3, Length: 9, Hashes: metadata.Hashes{"sha512": {1}, "sha256": {0xab}}}, `{"hashes":{"sha256":"ab","sha512":"01"},"length":9,"version":3}`},
		{nil, ""},
		{&metadata.MetaFiles{Version: 1, Hashes: metadata.Hashes{}}, ""},
		{&metadata.MetaFiles{Version: 1, Hashes: metadata.Hashes{`a"`: {1}}}, ""},
		{&metadata.MetaFiles{Version: 1, UnrecognizedFields: map[string]any{"x": 1}}, ""},
	} {
		got, ok := appendMetaFile(nil, tc.mf)
		if ok != (tc.want != "") || ok && string(got) != tc.want {
			t.Errorf("appendMetaFile(%+v) = %s, %v; want %q", tc.mf, got, ok, tc.want)
		}
	}
}

func TestVerifyHash(t *testing.T) {
	for _, tc := range []struct {
		typ, scheme string
		want        crypto.Hash
	}{
		{metadata.KeyTypeEd25519, metadata.KeySchemeECDSA_SHA2_P384, 0},
		{metadata.KeyTypeECDSA_SHA2_P256, metadata.KeySchemeECDSA_SHA2_P256, crypto.SHA256},
		{metadata.KeyTypeECDSA_SHA2_P256, metadata.KeySchemeECDSA_SHA2_P384, crypto.SHA384},
		{metadata.KeyTypeRSASSA_PSS_SHA256, metadata.KeySchemeRSASSA_PSS_SHA256, crypto.SHA256},
		{metadata.KeyTypeRSASSA_PSS_SHA256, metadata.KeySchemeECDSA_SHA2_P384, crypto.SHA384},
	} {
		if got := verifyHash(&metadata.Key{Type: tc.typ, Scheme: tc.scheme}); got != tc.want {
			t.Errorf("verifyHash(%s, %s) = %v, want %v", tc.typ, tc.scheme, got, tc.want)
		}
	}
}

func TestSignatureBy(t *testing.T) {
	sigs := []metadata.Signature{{KeyID: "a", Signature: []byte{1}}, {KeyID: "b", Signature: []byte{2}}}
	if got := signatureBy(sigs, "b"); !bytes.Equal(got, []byte{2}) {
		t.Errorf("signatureBy(b) = %v", got)
	}
	if got := signatureBy(sigs, "c"); got != nil {
		t.Errorf("signatureBy(c) = %v, want nil", got)
	}
}

func snapshotWith(version int64, meta map[string]int64) *metadata.Metadata[metadata.SnapshotType] {
	s := metadata.Snapshot(time.Now().Add(time.Hour))
	s.Signed.Version = version
	s.Signed.Meta = map[string]*metadata.MetaFiles{}
	for name, v := range meta {
		s.Signed.Meta[name] = &metadata.MetaFiles{Version: v}
	}
	return s
}

func TestCheckNoRollback(t *testing.T) {
	old := snapshotWith(1, map[string]int64{"targets.json": 2, "bins-0.json": 3})
	for _, tc := range []struct {
		name string
		new  map[string]int64
		ok   bool
	}{
		{"same", map[string]int64{"targets.json": 2, "bins-0.json": 3}, true},
		{"newer and more", map[string]int64{"targets.json": 3, "bins-0.json": 3, "bins-1.json": 1}, true},
		{"older", map[string]int64{"targets.json": 2, "bins-0.json": 2}, false},
		{"gone", map[string]int64{"targets.json": 2}, false},
	} {
		err := checkNoRollback(old, snapshotWith(2, tc.new))
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, errFallback) {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if err := checkNoRollback(nil, old); err != nil {
		t.Errorf("no old snapshot: %v", err)
	}
	old.Signed.Meta["null.json"] = nil
	if err := checkNoRollback(old, snapshotWith(2, map[string]int64{"targets.json": 2, "bins-0.json": 3, "null.json": 1})); !errors.Is(err, errFallback) {
		t.Errorf("null old entry: %v, want errFallback", err)
	}
}

func TestCheckFinalSnapshot(t *testing.T) {
	md := snapshotWith(4, nil)
	now := time.Now()
	if err := checkFinalSnapshot(md, &metadata.MetaFiles{Version: 4}, now); err != nil {
		t.Errorf("current: %v", err)
	}
	var bad *metadata.ErrBadVersionNumber
	if err := checkFinalSnapshot(md, &metadata.MetaFiles{Version: 5}, now); !errors.As(err, &bad) {
		t.Errorf("other version: %v, want ErrBadVersionNumber", err)
	}
	var expired *metadata.ErrExpiredMetadata
	if err := checkFinalSnapshot(md, &metadata.MetaFiles{Version: 5}, now.Add(2*time.Hour)); !errors.As(err, &expired) {
		t.Errorf("expired: %v, want ErrExpiredMetadata first", err)
	}
}

func TestFastSnapshotApplies(t *testing.T) {
	_, fresh, snap := snapshotFixture(t, "ed25519")
	if mf, err := fastSnapshotApplies(fresh(), snap, false); err != nil || mf == nil {
		t.Fatalf("loaded root and timestamp: %v, %v", mf, err)
	}
	tampered := append(bytes.Clone(snap), ' ')
	for name, tc := range map[string]struct {
		set       func(*metadataSet)
		data      []byte
		isTrusted bool
	}{
		"length differs":    {func(m *metadataSet) { m.Timestamp.Signed.Meta["snapshot.json"].Length = int64(len(snap)) }, tampered, false},
		"no timestamp":      {func(m *metadataSet) { m.Timestamp = nil }, snap, false},
		"no root":           {func(m *metadataSet) { m.Root = nil }, snap, false},
		"targets loaded":    {func(m *metadataSet) { m.Targets[metadata.TARGETS] = metadata.Targets(time.Now()) }, snap, false},
		"timestamp expired": {func(m *metadataSet) { m.RefTime = m.Timestamp.Signed.Expires.Add(time.Second) }, snap, false},
		"no snapshot entry": {func(m *metadataSet) { delete(m.Timestamp.Signed.Meta, "snapshot.json") }, snap, false},
	} {
		m := fresh()
		if tc.set != nil {
			tc.set(m)
		}
		if _, err := fastSnapshotApplies(m, tc.data, tc.isTrusted); !errors.Is(err, errFallback) {
			t.Errorf("%s: %v, want errFallback", name, err)
		}
	}
	// The trusted local copy is not checked against the timestamp's entry.
	m := fresh()
	m.Timestamp.Signed.Meta["snapshot.json"].Length = int64(len(snap))
	if _, err := fastSnapshotApplies(m, tampered, true); err != nil {
		t.Errorf("trusted copy: %v", err)
	}
}
