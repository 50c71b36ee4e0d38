package updater

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The snapshot is the one large piece of top-level metadata: at PEP 458's
// 16,384 bins about 0.75 MB. go-tuf 2.4.2 decodes it five times over (a
// type probe into map[string]any, the typed decode with two decodes per
// meta entry to keep unknown fields, another map[string]any pass, and for
// the signature json.Marshal plus a generic decode and re-encode into
// canonical JSON): about 0.1 s of CPU, nearly all of a cold lookup.
//
// fastSnapshot verifies the common case in one canonicalizing pass, one
// strict parse and one re-encoding, and accepts only what go-tuf's
// TrustedMetadata.UpdateSnapshot would accept, leaving the same trusted
// state. Whenever anything is unusual or any check fails it declines, and
// go-tuf's verdict and error are the answer.
//
// go-tuf does not verify the signature over the bytes it was given but over
// cjson.EncodeCanonical of the struct it decoded them into, so what it
// accepts is exactly: documents whose signed part, canonicalized, is
// byte-identical to go-tuf's own encoding of its decoding of them. Anything
// else (an explicit "length": 0, "hashes": {}, upper-case hex, "-0", an
// expiry not in Go's RFC 3339 form, a missing field, which go-tuf fills
// with a zero value it then signs) verifies under a canonical-JSON signer
// and fails under go-tuf. So the fast path:
//  1. canonicalizes the whole document (plain JSON only: ASCII strings
//     without escapes, lower-case keys, integers, no duplicate keys), so
//     encoding/json reads the document and its canonical form alike;
//  2. requires exactly the keys "signatures" and "signed" at the top;
//  3. parses the canonical signed part into a metadata.SnapshotType;
//  4. re-encodes that struct as go-tuf does (goTUFSnapshotBytes, which
//     mirrors SnapshotType/MetaFiles.MarshalJSON and cjson) and declines
//     unless it is byte-identical to the canonical signed part. That is the
//     proof: go-tuf's decode of the document is then its decode of its own
//     encoding of our struct, which is our struct, and the payload it
//     verifies is the one we verify;
//  5. checks the signature threshold over those bytes as VerifyDelegate
//     does, then rollback and the final-snapshot checks in go-tuf's order.
// The parser in step 3 need not be exact: step 4 catches anything it
// misreads. FuzzFastSnapshotSubset checks the whole claim against go-tuf.

// errFallback means the fast path declines; go-tuf decides.
var errFallback = errors.New("snapshot needs go-tuf's general path")

// updateSnapshot is trustedmetadata.UpdateSnapshot, faster.
func updateSnapshot(t *metadataSet, data []byte, isTrusted bool) error {
	return updateSnapshotDoc(t, readSnapshotDoc(data), isTrusted)
}

// snapshotDoc is a snapshot document read once, as targetsDoc is a
// targets-type one: md and payload are readSnapshot's, nil when it
// declines. md is fresh: it becomes the trusted snapshot if the checks
// pass, so a snapshotDoc is used at most once.
type snapshotDoc struct {
	data    []byte
	md      *metadata.Metadata[metadata.SnapshotType]
	payload []byte
	names   []string // md's meta names, sorted
}

func readSnapshotDoc(data []byte) snapshotDoc {
	md, payload, names, err := readSnapshotNames(data)
	if err != nil {
		return snapshotDoc{data: data}
	}
	return snapshotDoc{data: data, md: md, payload: payload, names: names}
}

// checkSpecVersion is checkSpecVersion(metadata.SNAPSHOT, d.data),
// without a second decode of 0.75 MB: for a document readSnapshot read,
// from the spec_version it read, which is the one encoding/json finds
// (canonical input: no duplicate keys, no other case, no escapes; and
// go-tuf's re-encoding matched, so the member is there).
func (d snapshotDoc) checkSpecVersion() error {
	if d.md == nil {
		return checkSpecVersion(metadata.SNAPSHOT, d.data)
	}
	v := d.md.Signed.SpecVersion
	return specVersionError(metadata.SNAPSHOT, &v)
}

// updateSnapshotDoc is updateSnapshot of a document already read.
func updateSnapshotDoc(t *metadataSet, d snapshotDoc, isTrusted bool) error {
	if err := fastSnapshotDoc(t, d, isTrusted); err != nil {
		_, err = guardGoTUF(metadata.SNAPSHOT, func() (*metadata.Metadata[metadata.SnapshotType], error) { return t.UpdateSnapshot(d.data, isTrusted) })
		return err
	}
	return nil
}

// fastSnapshot accepts data as the new trusted snapshot, or returns
// errFallback (wrapped) without changing t... except in one case that
// mirrors go-tuf: a snapshot that verifies but is not a valid final one
// (expired, or not the version timestamp names) still becomes t.Snapshot,
// for rollback protection of the next, and the error says why.
func fastSnapshot(t *metadataSet, data []byte, isTrusted bool) error {
	return fastSnapshotDoc(t, readSnapshotDoc(data), isTrusted)
}

// fastSnapshotDoc is fastSnapshot of a document already read.
func fastSnapshotDoc(t *metadataSet, d snapshotDoc, isTrusted bool) error {
	snapMeta, err := fastSnapshotApplies(t, d.data, isTrusted)
	if err != nil {
		return err
	}
	if d.md == nil {
		return errFallback
	}
	md, payload := d.md, d.payload
	if !delegateSigned(t.Root, metadata.SNAPSHOT, md.Signatures, payload) {
		return errFallback
	}
	if err := checkNoRollback(t.Snapshot, md); err != nil {
		return err
	}
	t.Snapshot = md
	return checkFinalSnapshot(md, snapMeta, t.RefTime)
}

// fastSnapshotApplies returns the timestamp's entry for the snapshot if t
// is in the state the fast path handles (root and an unexpired timestamp
// loaded, targets not yet) and data matches that entry's length and
// hashes (unless data is the trusted local copy). Otherwise errFallback.
func fastSnapshotApplies(t *metadataSet, data []byte, isTrusted bool) (*metadata.MetaFiles, error) {
	if t.Timestamp == nil || t.Targets[metadata.TARGETS] != nil || t.Root == nil {
		return nil, errFallback
	}
	if t.Timestamp.Signed.IsExpired(t.RefTime) {
		return nil, errFallback
	}
	snapMeta := t.Timestamp.Signed.Meta["snapshot.json"]
	if snapMeta == nil {
		return nil, errFallback
	}
	if !isTrusted {
		if err := snapMeta.VerifyLengthHashes(data); err != nil {
			return nil, errFallback
		}
	}
	return snapMeta, nil
}

// readSnapshot decodes a snapshot document exactly as go-tuf would, or
// returns errFallback: steps 1 to 4 of the list above. payload is the
// canonical signed part, the bytes go-tuf verifies signatures over.
func readSnapshot(data []byte) (md *metadata.Metadata[metadata.SnapshotType], payload []byte, err error) {
	md, payload, _, err = readSnapshotNames(data)
	return md, payload, err
}

// readSnapshotNames is readSnapshot, also returning the meta names in
// the order read: sorted, the input being canonical.
func readSnapshotNames(data []byte) (md *metadata.Metadata[metadata.SnapshotType], payload []byte, names []string, err error) {
	sigsJSON, signedJSON, err := canonicalEnvelope(data, nil)
	if err != nil {
		return nil, nil, nil, errFallback
	}
	sigs, err := parseSignatures(sigsJSON)
	if err != nil {
		return nil, nil, nil, errFallback
	}
	signed, names, err := readSnapshotSigned(signedJSON)
	if err != nil {
		return nil, nil, nil, errFallback
	}
	return &metadata.Metadata[metadata.SnapshotType]{Signed: signed, Signatures: sigs}, signedJSON, names, nil
}

// readSnapshotSigned parses the canonical signed part of a snapshot and
// returns it only if go-tuf's encoding of it is byte-identical to
// signedJSON: the proof that go-tuf reads and verifies what we do (see
// above).
func readSnapshotSigned(signedJSON []byte) (metadata.SnapshotType, []string, error) {
	signed, names, err := parseSnapshotSigned(signedJSON)
	if err != nil || signed.Type != metadata.SNAPSHOT {
		return metadata.SnapshotType{}, nil, errFallback
	}
	if enc, err := goTUFSnapshotBytes(make([]byte, 0, len(signedJSON)), &signed, names); err != nil || !bytes.Equal(enc, signedJSON) {
		return metadata.SnapshotType{}, nil, errFallback
	}
	return signed, names, nil
}

// checkNoRollback declines unless every role old names is still in md, at
// the same version or a later one. old may be nil (no snapshot yet).
func checkNoRollback(old, md *metadata.Metadata[metadata.SnapshotType]) error {
	if old == nil {
		return nil
	}
	for name, prev := range old.Signed.Meta {
		nm, ok := md.Signed.Meta[name]
		// A null entry go-tuf once accepted: its own check would
		// dereference it, so leave the verdict to it.
		if !ok || prev == nil || nm.Version < prev.Version {
			return errFallback
		}
	}
	return nil
}

// checkFinalSnapshot is go-tuf's checkFinalSnapshot, with its error
// types: the loader reads them as "the local copy is not current,
// download".
func checkFinalSnapshot(md *metadata.Metadata[metadata.SnapshotType], snapMeta *metadata.MetaFiles, now time.Time) error {
	if md.Signed.IsExpired(now) {
		return &metadata.ErrExpiredMetadata{Msg: "snapshot.json is expired"}
	}
	if md.Signed.Version != snapMeta.Version {
		return &metadata.ErrBadVersionNumber{Msg: fmt.Sprintf("expected %d, got %d", snapMeta.Version, md.Signed.Version)}
	}
	return nil
}

// canonicalEnvelope canonicalizes a whole metadata document and returns the
// canonical values of its two members. A document with any other top-level
// key (go-tuf would keep it as an unrecognized field), or one that is not
// plain JSON, is refused. mapAt, if not nil, is the key path (from the
// top) of the one object whose keys are map keys, which may have
// upper-case letters (see canonicalizer.mapAt).
func canonicalEnvelope(data []byte, mapAt []string) (sigs, signed []byte, err error) {
	c := canonicalizer{src: data, out: make([]byte, 0, len(data)), mapAt: mapAt}
	i := c.ws(0)
	if i >= len(data) || data[i] != '{' {
		return nil, nil, errFallback
	}
	if i, err = c.object(i); err != nil {
		return nil, nil, err
	}
	if c.ws(i) != len(data) || len(c.top) != 2 || string(c.top[0].key) != "signatures" || string(c.top[1].key) != "signed" {
		return nil, nil, errFallback
	}
	value := func(m member) []byte { return c.out[m.start+len(m.key)+3 : m.end] } // after `"key":`
	return value(c.top[0]), value(c.top[1]), nil
}

// parseSignatures reads a canonical signatures list as go-tuf does, and
// refuses what go-tuf refuses (a null or non-hex "sig", duplicate key IDs)
// or would keep more of (unrecognized fields).
func parseSignatures(src []byte) ([]metadata.Signature, error) {
	var raw []struct {
		KeyID *string `json:"keyid"`
		Sig   *string `json:"sig"`
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, errFallback
	}
	sigs := make([]metadata.Signature, 0, len(raw))
	for _, s := range raw {
		if s.KeyID == nil || s.Sig == nil {
			return nil, errFallback
		}
		b, ok := decodeHex(*s.Sig)
		if !ok {
			return nil, errFallback
		}
		if slices.ContainsFunc(sigs, func(o metadata.Signature) bool { return o.KeyID == *s.KeyID }) {
			return nil, errFallback // go-tuf refuses duplicate key IDs; let it say so
		}
		// An empty map, as go-tuf's decoding leaves it.
		sigs = append(sigs, metadata.Signature{KeyID: *s.KeyID, Signature: b, UnrecognizedFields: map[string]any{}})
	}
	return sigs, nil
}

// parseSnapshotSigned reads the canonical signed part of a snapshot: an
// object of the known members in any order, each at most once, meta
// entries objects of "hashes", "length" and "version". It returns the meta
// names in the order read (sorted, in canonical input). Missing members
// are left zero, as encoding/json leaves them; the re-encoding check then
// decides. Meta names are substrings of one copy of src, which saves
// 16,384 small allocations.
func parseSnapshotSigned(src []byte) (metadata.SnapshotType, []string, error) {
	var s metadata.SnapshotType
	var names []string
	err := parseSigned(src, &s.Type, &s.SpecVersion, &s.Version, &s.Expires, func(p *canonParser, key string) (err error) {
		if key != "meta" {
			return errFallback
		}
		s.Meta, names, err = p.meta()
		return err
	})
	if err != nil {
		return metadata.SnapshotType{}, nil, errFallback
	}
	return s, names, nil
}

// parseSigned reads the canonical signed part of a role in src: the
// members every one has into typ, spec, version and expires, each other
// member by rest, which refuses what it does not know. All of src must be
// that one object.
func parseSigned(src []byte, typ, spec *string, version *int64, expires *time.Time, rest func(p *canonParser, key string) error) error {
	p := canonParser{s: string(src)}
	err := p.object(func(key string) error {
		if done, err := p.common(key, typ, spec, version, expires); done {
			return err
		}
		return rest(&p, key)
	})
	if err != nil || p.i != len(p.s) {
		return errFallback
	}
	return nil
}

// common reads the value of key if it is one of the members every signed
// part has ("_type", "spec_version", "version", "expires"), into its
// field, and reports whether it was.
func (p *canonParser) common(key string, typ, spec *string, version *int64, expires *time.Time) (done bool, err error) {
	switch key {
	case "_type":
		*typ, err = p.str()
	case "spec_version":
		*spec, err = p.str()
	case "version":
		*version, err = p.int()
	case "expires":
		start := p.i
		if _, err = p.str(); err == nil {
			err = expires.UnmarshalJSON([]byte(p.s[start:p.i]))
		}
	default:
		return false, nil
	}
	return true, err
}

// canonParser reads canonical JSON (no whitespace, no escapes) from s[i:].
type canonParser struct {
	s string
	i int
	// arena is where digests are decoded: one allocation for many
	// (a bin has hundreds), each digest a slice capped at its length.
	arena []byte
}

// hex is decodeHex(h), into p.arena.
func (p *canonParser) hex(h string) ([]byte, bool) {
	n := len(h) / 2
	if len(h)%2 != 0 || n == 0 || n > 256 {
		return decodeHex(h)
	}
	if n > len(p.arena) {
		p.arena = make([]byte, 4096)
	}
	b := p.arena[:n:n]
	for i := range n {
		hi, lo := unhex[h[2*i]], unhex[h[2*i+1]]
		if hi|lo > 0x0f {
			return nil, false
		}
		b[i] = hi<<4 | lo
	}
	p.arena = p.arena[n:]
	return b, true
}

// unhex is each byte's value as a hex digit, either case, as encoding/hex
// reads it; 0xff for a byte that is not one.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
		t[strings.ToUpper(string(c))[0]] = byte(i)
	}
	return t
}()

func (p *canonParser) byte(b byte) bool {
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

func (p *canonParser) str() (string, error) {
	if !p.byte('"') {
		return "", errFallback
	}
	j := strings.IndexByte(p.s[p.i:], '"')
	if j < 0 {
		return "", errFallback
	}
	v := p.s[p.i : p.i+j]
	p.i += j + 1
	return v, nil
}

func (p *canonParser) int() (int64, error) {
	j := p.i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
	if err != nil {
		return 0, errFallback
	}
	p.i = j
	return v, nil
}

// object reads {"key":value,...}, calling member to read each value.
func (p *canonParser) object(member func(key string) error) error {
	if !p.byte('{') {
		return errFallback
	}
	if p.byte('}') {
		return nil
	}
	for {
		key, err := p.str()
		if err != nil || !p.byte(':') {
			return errFallback
		}
		if err := member(key); err != nil {
			return err
		}
		if p.byte('}') {
			return nil
		}
		if !p.byte(',') {
			return errFallback
		}
	}
}

// meta reads the meta object, returning its entries and their names in
// the order read.
func (p *canonParser) meta() (map[string]*metadata.MetaFiles, []string, error) {
	return entries(p, `"version":`, func(name string, mf *metadata.MetaFiles) error {
		return p.metaFile(mf)
	})
}

// entries reads an object of objects into a map, returning the names in
// the order read. The entries share one array, sized by counting marker
// (a member every entry has) in what is left to read; the count may be
// high, never low for a valid document (a name cannot contain `"`).
func entries[T any](p *canonParser, marker string, read func(name string, e *T) error) (map[string]*T, []string, error) {
	n := strings.Count(p.s[p.i:], marker)
	all := make([]T, n)
	m := make(map[string]*T, n)
	names := make([]string, 0, n)
	err := p.object(func(name string) error {
		var e *T
		if len(all) > 0 {
			e, all = &all[0], all[1:]
		} else {
			e = new(T)
		}
		m[name] = e
		names = append(names, name)
		return read(name, e)
	})
	return m, names, err
}

// hashes reads a hashes object, digests as HexBytes.UnmarshalJSON reads
// them.
func (p *canonParser) hashes() (metadata.Hashes, error) {
	h := metadata.Hashes{}
	err := p.object(func(alg string) error {
		v, err := p.str()
		if err != nil {
			return errFallback
		}
		b, ok := p.hex(v)
		if !ok {
			return errFallback
		}
		h[alg] = b
		return nil
	})
	return h, err
}

func (p *canonParser) metaFile(mf *metadata.MetaFiles) error {
	return p.object(func(key string) error {
		var err error
		switch key {
		case "version":
			mf.Version, err = p.int()
		case "length":
			mf.Length, err = p.int()
		case "hashes":
			mf.Hashes, err = p.hashes()
		default:
			err = errFallback
		}
		return err
	})
}

// decodeHex decodes h as metadata.HexBytes.UnmarshalJSON does: an even
// number of hex digits of either case, into a slice that is never nil.
func decodeHex(h string) ([]byte, bool) {
	if len(h)%2 != 0 {
		return nil, false
	}
	b := make([]byte, len(h)/2)
	if _, err := hex.Decode(b, []byte(h)); err != nil {
		return nil, false
	}
	return b, true
}

// goTUFSnapshotBytes appends what go-tuf verifies signatures over for s,
// cjson.EncodeCanonical(s): SnapshotType.MarshalJSON and
// MetaFiles.MarshalJSON (length and hashes left out when zero), through
// encoding/json, decoded and re-encoded with keys sorted and only `\` and
// `"` escaped. names must be the keys of s.Meta, sorted, which is how they
// come out of canonical input; it is checked rather than sorted again.
//
// It covers only values that survive go-tuf's decoding unchanged: strings
// of printable ASCII other than `\` and `"` (json.Marshal would rewrite
// invalid UTF-8, and cjson writes control characters raw), expiry in UTC,
// no unrecognized fields, no nil entries, hashes either absent (nil) or
// non-empty. For anything else it returns an error and the caller falls
// back.
func goTUFSnapshotBytes(dst []byte, s *metadata.SnapshotType, names []string) ([]byte, error) {
	if len(s.UnrecognizedFields) != 0 || s.Meta == nil || len(names) != len(s.Meta) {
		return nil, errFallback
	}
	var ok bool
	if dst, ok = appendTypeExpires(dst, s.Type, s.Expires); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"meta":`...)
	if dst, ok = appendSortedMap(dst, names, s.Meta, appendMetaFile); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"spec_version":`...)
	if dst, ok = appendPlainString(dst, s.SpecVersion); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, s.Version, 10)
	return append(dst, '}'), nil
}

// appendTypeExpires opens a signed part the way go-tuf's canonical
// encoding does, `{"_type":"...","expires":"..."`, if typ is a plain
// string and expires is in UTC (a time in another location would decode
// as UTC, and encode otherwise).
func appendTypeExpires(dst []byte, typ string, expires time.Time) ([]byte, bool) {
	if expires.Location() != time.UTC {
		return dst, false
	}
	exp, err := expires.MarshalJSON()
	if err != nil {
		return dst, false
	}
	var ok bool
	dst = append(dst, `{"_type":`...)
	if dst, ok = appendPlainString(dst, typ); !ok {
		return dst, false
	}
	dst = append(dst, `,"expires":`...)
	return append(dst, exp...), true
}

// appendSortedMap appends m as cjson writes a map, `{"name":value,...}`,
// each value by appendValue. names must be m's keys, strictly sorted
// (checked), plain strings.
func appendSortedMap[V any](dst []byte, names []string, m map[string]V, appendValue func([]byte, V) ([]byte, bool)) ([]byte, bool) {
	if len(names) != len(m) {
		return dst, false
	}
	var ok bool
	dst = append(dst, '{')
	for k, name := range names {
		if k > 0 {
			if names[k-1] >= name {
				return dst, false
			}
			dst = append(dst, ',')
		}
		if dst, ok = appendPlainString(dst, name); !ok {
			return dst, false
		}
		dst = append(dst, ':')
		v, found := m[name]
		if !found {
			return dst, false
		}
		if dst, ok = appendValue(dst, v); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendMetaFile appends go-tuf's canonical encoding of one meta entry,
// MetaFiles.MarshalJSON (length and hashes left out when zero) through
// cjson, if mf is one it covers: not nil, no unrecognized fields, hashes
// absent or non-empty, algorithm names plain strings.
func appendMetaFile(dst []byte, mf *metadata.MetaFiles) ([]byte, bool) {
	if mf == nil || len(mf.UnrecognizedFields) != 0 || mf.Hashes != nil && len(mf.Hashes) == 0 {
		return dst, false
	}
	var ok bool
	dst = append(dst, '{')
	if len(mf.Hashes) > 0 {
		if dst, ok = appendHashes(dst, mf.Hashes); !ok {
			return dst, false
		}
		dst = append(dst, ',')
	}
	if mf.Length != 0 {
		dst = append(dst, `"length":`...)
		dst = strconv.AppendInt(dst, mf.Length, 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"version":`...)
	dst = strconv.AppendInt(dst, mf.Version, 10)
	return append(dst, '}'), true
}

// appendHashes appends `"hashes":{...}`, algorithms sorted, digests in
// lower-case hex, as HexBytes.MarshalJSON and cjson write them, if every
// algorithm name is a plain string.
func appendHashes(dst []byte, h metadata.Hashes) ([]byte, bool) {
	var ok bool
	dst = append(dst, `"hashes":{`...)
	var buf [4]string
	algs := buf[:0]
	for alg := range h {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	for j, alg := range algs {
		if j > 0 {
			dst = append(dst, ',')
		}
		if dst, ok = appendPlainString(dst, alg); !ok {
			return dst, false
		}
		dst = append(dst, ":\""...)
		dst = hex.AppendEncode(dst, h[alg])
		dst = append(dst, '"')
	}
	return append(dst, '}'), true
}

// appendPlainString appends "v" if v is printable ASCII without `\` or
// `"`: the strings json.Marshal, a generic decode and cjson all leave as
// they are.
func appendPlainString(dst []byte, v string) ([]byte, bool) {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b > 0x7e || b == '\\' || b == '"' {
			return dst, false
		}
	}
	dst = append(dst, '"')
	dst = append(dst, v...)
	return append(dst, '"'), true
}

// delegateSigned reports whether sigs over payload carry a threshold of
// valid signatures by distinct keys of role, as delegator (root or a
// targets role's metadata) delegates it: what delegator.VerifyDelegate
// accepts for a role whose canonical signed part is payload. It follows
// go-tuf's Metadata.VerifyDelegate: keys count once per public key (not per
// key ID), RSA keys use PSS with SHA-256, ECDSA the scheme's hash.
func delegateSigned(delegator any, role string, sigs []metadata.Signature, payload []byte) bool {
	keys, keyIDs, threshold, ok := delegation(delegator, role)
	if !ok || len(keyIDs) == 0 || threshold < 1 {
		return false
	}
	verified := map[[32]byte]bool{}
	for _, id := range keyIDs {
		key, ok := keys[id]
		if !ok {
			return false
		}
		sig := signatureBy(sigs, id)
		if sig == nil {
			continue
		}
		v, der, err := keyVerifier(key)
		if err != nil {
			return false
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil {
			verified[sha256.Sum256(der)] = true
		}
	}
	return len(verified) >= threshold
}

// delegation is the keys, key IDs and threshold delegator gives role, found
// as VerifyDelegate finds them: root's role entry; a targets role's
// delegated role of that name, or (with no roles list) its succinct roles'
// keys, whatever the name (go-tuf does not check it there). ok is false
// where VerifyDelegate would refuse outright, or panic.
func delegation(delegator any, role string) (keys map[string]*metadata.Key, keyIDs []string, threshold int, ok bool) {
	switch d := delegator.(type) {
	case *metadata.Metadata[metadata.RootType]:
		if d == nil {
			return nil, nil, 0, false
		}
		r := d.Signed.Roles[role]
		if r == nil {
			return nil, nil, 0, false
		}
		return d.Signed.Keys, r.KeyIDs, r.Threshold, true
	case *metadata.Metadata[metadata.TargetsType]:
		if d == nil {
			return nil, nil, 0, false
		}
		dl := d.Signed.Delegations
		switch {
		case dl == nil:
			return nil, nil, 0, false
		case dl.Roles != nil:
			for _, r := range dl.Roles {
				if r.Name == role {
					return dl.Keys, r.KeyIDs, r.Threshold, true
				}
			}
			return nil, nil, 0, false
		case dl.SuccinctRoles != nil:
			return dl.Keys, dl.SuccinctRoles.KeyIDs, dl.SuccinctRoles.Threshold, true
		}
	}
	return nil, nil, 0, false
}

// signatureBy is the last signature in sigs by key id, or nil.
func signatureBy(sigs []metadata.Signature, id string) []byte {
	var sig []byte
	for _, s := range sigs {
		if s.KeyID == id {
			sig = s.Signature
		}
	}
	return sig
}

// keyVerifier is the verifier VerifyDelegate uses for key, and the DER
// form of its public key, by which signatures count once per key.
func keyVerifier(key *metadata.Key) (signature.Verifier, []byte, error) {
	pub, err := key.ToPublicKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	hash := verifyHash(key)
	var v signature.Verifier
	if key.Type == metadata.KeyTypeRSASSA_PSS_SHA256 {
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, nil, errFallback
		}
		v, err = signature.LoadRSAPSSVerifier(rk, hash, &rsa.PSSOptions{Hash: crypto.SHA256})
	} else {
		v, err = signature.LoadVerifier(pub, hash)
	}
	if err != nil {
		return nil, nil, err
	}
	return v, der, nil
}

// verifyHash is the hash exactly as VerifyDelegate picks it: by scheme,
// for every key type but ed25519 (an RSA key whose scheme names P-384 gets
// SHA-384 there too).
func verifyHash(key *metadata.Key) crypto.Hash {
	if key.Type == metadata.KeyTypeEd25519 {
		return crypto.Hash(0)
	}
	if key.Scheme == metadata.KeySchemeECDSA_SHA2_P384 {
		return crypto.SHA384
	}
	return crypto.SHA256
}

// canonicalJSON re-encodes a JSON value as OLPC canonical JSON (sorted
// keys, no insignificant whitespace), as securesystemslib's cjson does for
// the same value. It handles only the plain subset TUF metadata uses and
// refuses the rest (escapes, non-ASCII or control characters in strings,
// upper-case letters in keys, non-integers, duplicate keys): the caller
// then takes the general path.
func canonicalJSON(src []byte) ([]byte, error) {
	c := canonicalizer{src: src, out: make([]byte, 0, len(src))}
	i, err := c.value(c.ws(0))
	if err != nil {
		return nil, err
	}
	if c.ws(i) != len(src) {
		return nil, errFallback
	}
	return c.out, nil
}

type canonicalizer struct {
	src   []byte
	out   []byte
	depth int
	// top is the outermost object's members, with offsets into out.
	top []member
	// stack holds the members of the objects being read, innermost last:
	// one array for the whole document instead of a slice per object.
	stack []member
	// mapAt, if not nil, is the key path from the outermost object to the
	// one object whose keys may have upper-case letters: a map (such as a
	// targets role's "targets", keyed by path), which encoding/json fills
	// by exact key, unlike a struct. path is the key path to the value
	// being read.
	mapAt []string
	path  [][]byte
}

// inMap reports whether the object being read is the one at mapAt.
func (c *canonicalizer) inMap() bool {
	if c.mapAt == nil || len(c.path) != len(c.mapAt) {
		return false
	}
	for k, key := range c.mapAt {
		if c.path[k] == nil || string(c.path[k]) != key {
			return false
		}
	}
	return true
}

// maxDepth bounds nesting (encoding/json allows 10,000; TUF metadata
// needs 6), so hostile input cannot recurse deeply.
const maxDepth = 64

func (c *canonicalizer) ws(i int) int {
	for i < len(c.src) {
		switch c.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value appends the canonical form of the value at src[i] and returns the
// index after it.
func (c *canonicalizer) value(i int) (int, error) {
	if i >= len(c.src) {
		return 0, errFallback
	}
	switch ch := c.src[i]; {
	case ch == '{':
		return c.object(i)
	case ch == '[':
		return c.array(i)
	case ch == '"':
		j, err := c.str(i)
		if err != nil {
			return 0, err
		}
		c.out = append(c.out, c.src[i:j]...)
		return j, nil
	case ch == '-' || ch >= '0' && ch <= '9':
		return c.number(i)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(c.src[i:], []byte(lit)) {
				c.out = append(c.out, lit...)
				return i + len(lit), nil
			}
		}
	}
	return 0, errFallback
}

// number appends the integer at src[i] and returns the index after it:
// integers only, no leading zeros, within int64 (cjson's rule).
func (c *canonicalizer) number(i int) (int, error) {
	j := i
	if j < len(c.src) && c.src[j] == '-' {
		j++
	}
	start := j
	for j < len(c.src) && c.src[j] >= '0' && c.src[j] <= '9' {
		j++
	}
	if j == start || j-start > 18 || c.src[start] == '0' && j-start > 1 {
		return 0, errFallback
	}
	c.out = append(c.out, c.src[i:j]...)
	return j, nil
}

// str returns the index after the plain string starting at src[i].
func (c *canonicalizer) str(i int) (int, error) {
	for j := i + 1; j < len(c.src); j++ {
		switch b := c.src[j]; {
		case b == '"':
			return j + 1, nil
		case b == '\\' || b < 0x20 || b >= 0x80:
			return 0, errFallback
		}
	}
	return 0, errFallback
}

func (c *canonicalizer) array(i int) (int, error) {
	if c.depth++; c.depth > maxDepth {
		return 0, errFallback
	}
	// Elements are on the key path as nil: nothing in an array is mapAt.
	c.path = append(c.path, nil)
	defer func() { c.depth--; c.path = c.path[:len(c.path)-1] }()
	c.out = append(c.out, '[')
	i = c.ws(i + 1)
	if i < len(c.src) && c.src[i] == ']' {
		c.out = append(c.out, ']')
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(i); err != nil {
			return 0, err
		}
		more, j, err := c.next(i, ']')
		if err != nil {
			return 0, err
		}
		if !more {
			c.out = append(c.out, ']')
			return j, nil
		}
		c.out = append(c.out, ',')
		i = j
	}
}

// next reads what follows a value inside an array or object: a comma
// (more is true and j is the start of what comes next) or the closing
// byte (more is false and j is the index after it).
func (c *canonicalizer) next(i int, closing byte) (more bool, j int, err error) {
	i = c.ws(i)
	switch {
	case i >= len(c.src):
		return false, 0, errFallback
	case c.src[i] == ',':
		return true, c.ws(i + 1), nil
	case c.src[i] == closing:
		return false, i + 1, nil
	}
	return false, 0, errFallback
}

// member is one key and its canonical bytes in out: out[start:end] is
// `"key":value`.
type member struct {
	key        []byte
	start, end int
}

// object appends the canonical form of the object at src[i], its members
// sorted by key, and returns the index after it.
func (c *canonicalizer) object(i int) (int, error) {
	outermost := c.depth == 0
	if c.depth++; c.depth > maxDepth {
		return 0, errFallback
	}
	defer func() { c.depth-- }()
	base := len(c.out)
	c.out = append(c.out, '{')
	i = c.ws(i + 1)
	if i < len(c.src) && c.src[i] == '}' {
		c.out = append(c.out, '}')
		return i + 1, nil
	}
	mark := len(c.stack)
	defer func() { c.stack = c.stack[:mark] }()
	members, sorted, i, err := c.members(i)
	if err != nil {
		return 0, err
	}
	if !sorted {
		if err := c.sortMembers(base, members); err != nil {
			return 0, err
		}
	}
	c.out = append(c.out, '}')
	if outermost {
		c.top = slices.Clone(members)
	}
	return i, nil
}

// members appends the members of a non-empty object from src[i], comma
// separated, in input order, and returns them with the index after the
// closing '}'. sorted reports whether they came in key order; a key equal
// to the one before it is refused here, one further back by sortMembers.
// The members are pushed on c.stack (the caller pops them); the slice
// returned is valid until the next push.
func (c *canonicalizer) members(i int) (members []member, sorted bool, end int, err error) {
	sorted = true
	base := len(c.stack)
	for more := true; more; {
		n := len(c.stack) - base // nested objects have popped theirs
		if n > 0 {
			c.out = append(c.out, ',')
		}
		var m member
		if m, i, err = c.member(i); err != nil {
			return nil, false, 0, err
		}
		if n > 0 {
			switch cmp := bytes.Compare(c.stack[len(c.stack)-1].key, m.key); {
			case cmp == 0:
				return nil, false, 0, errFallback
			case cmp > 0:
				sorted = false
			}
		}
		c.stack = append(c.stack, m)
		if more, i, err = c.next(i, '}'); err != nil {
			return nil, false, 0, err
		}
	}
	return c.stack[base:], sorted, i, nil
}

// member appends `"key":value` for the member at src[i] and returns it
// with the index after its value. Keys must be plain strings without
// upper-case letters: encoding/json matches field names
// case-insensitively; with lower-case keys only, the decode sees exactly
// what was signed. The one exception is the object at mapAt, a map that
// encoding/json fills by exact key.
func (c *canonicalizer) member(i int) (member, int, error) {
	if i >= len(c.src) || c.src[i] != '"' {
		return member{}, 0, errFallback
	}
	j, err := c.str(i)
	if err != nil {
		return member{}, 0, err
	}
	m := member{key: c.src[i+1 : j-1], start: len(c.out)}
	if !c.inMap() && bytes.ContainsFunc(m.key, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
		return member{}, 0, errFallback
	}
	c.out = append(c.out, c.src[i:j]...)
	i = c.ws(j)
	if i >= len(c.src) || c.src[i] != ':' {
		return member{}, 0, errFallback
	}
	c.out = append(c.out, ':')
	c.path = append(c.path, m.key)
	i, err = c.value(c.ws(i + 1))
	c.path = c.path[:len(c.path)-1]
	if err != nil {
		return member{}, 0, err
	}
	m.end = len(c.out)
	return m, i, nil
}

// sortMembers rewrites the object written from out[base] (its '{' and
// members, comma-separated, not yet closed) with members sorted by key,
// and updates members to where each now is. Duplicate keys, which the
// caller's check of neighbours in input order can miss, are refused.
func (c *canonicalizer) sortMembers(base int, members []member) error {
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	for k := 1; k < len(members); k++ {
		if bytes.Equal(members[k-1].key, members[k].key) {
			return errFallback
		}
	}
	tmp := make([]byte, 0, len(c.out)-base)
	tmp = append(tmp, '{')
	for k, m := range members {
		if k > 0 {
			tmp = append(tmp, ',')
		}
		tmp = append(tmp, c.out[m.start:m.end]...)
	}
	c.out = append(c.out[:base], tmp...)
	pos := base + 1
	for k := range members {
		n := members[k].end - members[k].start
		members[k].start, members[k].end = pos, pos+n
		pos += n + 1
	}
	return nil
}
