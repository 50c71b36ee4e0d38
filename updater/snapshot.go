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
// updateSnapshot verifies the common case in one canonicalizing pass and
// one plain decode, doing every check go-tuf's TrustedMetadata.UpdateSnapshot
// does, in its order. It can only accept: whenever anything is unusual or
// any check fails, it hands the bytes to go-tuf, whose verdict and error
// are then the answer. So its acceptances are a subset of go-tuf's:
//   - the signature is checked over the canonical form of the very bytes
//     the versions are then read from (not over a re-encoding of a decoded
//     struct), so what is used is exactly what was signed;
//   - the canonicalizer handles only plain JSON: ASCII strings without
//     escapes, integers, no duplicate keys; anything else falls back;
//   - a snapshot with fields go-tuf would keep as "unrecognized" falls
//     back too, so nothing signed is dropped silently.

// errFallback means the fast path declines; go-tuf decides.
var errFallback = errors.New("snapshot needs go-tuf's general path")

// updateSnapshot is trustedmetadata.UpdateSnapshot, faster.
func updateSnapshot(t *metadataSet, data []byte, isTrusted bool) error {
	if err := fastSnapshot(t, data, isTrusted); err != nil {
		_, err = t.UpdateSnapshot(data, isTrusted)
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
	if t.Timestamp == nil || t.Targets[metadata.TARGETS] != nil || t.Root == nil {
		return errFallback
	}
	if t.Timestamp.Signed.IsExpired(t.RefTime) {
		return errFallback
	}
	snapMeta := t.Timestamp.Signed.Meta["snapshot.json"]
	if snapMeta == nil {
		return errFallback
	}
	if !isTrusted {
		if err := snapMeta.VerifyLengthHashes(data); err != nil {
			return errFallback
		}
	}
	var env struct {
		Signatures []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
		Signed json.RawMessage `json:"signed"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return errFallback
	}
	canonical, err := canonicalJSON(env.Signed)
	if err != nil {
		return errFallback
	}
	var signed struct {
		Type        string    `json:"_type"`
		SpecVersion string    `json:"spec_version"`
		Version     int64     `json:"version"`
		Expires     time.Time `json:"expires"`
		Meta        map[string]struct {
			Version int64             `json:"version"`
			Length  int64             `json:"length"`
			Hashes  map[string]string `json:"hashes"`
		} `json:"meta"`
	}
	// Sized up front: growing a 16,384-entry map is a tenth of the work.
	signed.Meta = make(map[string]struct {
		Version int64             `json:"version"`
		Length  int64             `json:"length"`
		Hashes  map[string]string `json:"hashes"`
	}, bytes.Count(canonical, []byte(`"version":`)))
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&signed); err != nil || dec.More() {
		return errFallback
	}
	if signed.Type != metadata.SNAPSHOT || signed.Meta == nil {
		return errFallback
	}
	sigs := make([]metadata.Signature, 0, len(env.Signatures))
	for _, s := range env.Signatures {
		b, err := hex.DecodeString(s.Sig)
		if err != nil || slices.ContainsFunc(sigs, func(o metadata.Signature) bool { return o.KeyID == s.KeyID }) {
			return errFallback // go-tuf refuses duplicate key IDs; let it say so
		}
		sigs = append(sigs, metadata.Signature{KeyID: s.KeyID, Signature: b})
	}
	if !thresholdMet(t.Root, metadata.SNAPSHOT, sigs, canonical) {
		return errFallback
	}
	md := &metadata.Metadata[metadata.SnapshotType]{
		Signed: metadata.SnapshotType{
			Type:        signed.Type,
			SpecVersion: signed.SpecVersion,
			Version:     signed.Version,
			Expires:     signed.Expires,
			Meta:        make(map[string]*metadata.MetaFiles, len(signed.Meta)),
		},
		Signatures: sigs,
	}
	for name, m := range signed.Meta {
		mf := &metadata.MetaFiles{Version: m.Version, Length: m.Length}
		if m.Hashes != nil {
			mf.Hashes = make(metadata.Hashes, len(m.Hashes))
			for alg, h := range m.Hashes {
				b, err := hex.DecodeString(h)
				if err != nil {
					return errFallback
				}
				mf.Hashes[alg] = b
			}
		}
		md.Signed.Meta[name] = mf
	}
	// Rollback: no role may disappear or go back a version.
	if t.Snapshot != nil {
		for name, old := range t.Snapshot.Signed.Meta {
			nm, ok := md.Signed.Meta[name]
			if !ok || nm.Version < old.Version {
				return errFallback
			}
		}
	}
	t.Snapshot = md
	// go-tuf's checkFinalSnapshot, with its error types: the loader reads
	// them as "the local copy is not current, download".
	if md.Signed.IsExpired(t.RefTime) {
		return &metadata.ErrExpiredMetadata{Msg: "snapshot.json is expired"}
	}
	if md.Signed.Version != snapMeta.Version {
		return &metadata.ErrBadVersionNumber{Msg: fmt.Sprintf("expected %d, got %d", snapMeta.Version, md.Signed.Version)}
	}
	return nil
}

// thresholdMet reports whether sigs over payload carry a threshold of
// valid signatures by distinct keys of role, as root delegates it. It
// follows go-tuf's Metadata.VerifyDelegate: keys count once per public key
// (not per key ID), RSA keys use PSS with SHA-256, ECDSA the scheme's hash.
func thresholdMet(root *metadata.Metadata[metadata.RootType], role string, sigs []metadata.Signature, payload []byte) bool {
	r := root.Signed.Roles[role]
	if r == nil || len(r.KeyIDs) == 0 || r.Threshold < 1 {
		return false
	}
	verified := map[[32]byte]bool{}
	for _, id := range r.KeyIDs {
		key, ok := root.Signed.Keys[id]
		if !ok {
			return false
		}
		var sig []byte
		for _, s := range sigs {
			if s.KeyID == id {
				sig = s.Signature
			}
		}
		if sig == nil {
			continue
		}
		pub, err := key.ToPublicKey()
		if err != nil {
			return false
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return false
		}
		var v signature.Verifier
		switch {
		case key.Type == metadata.KeyTypeEd25519:
			v, err = signature.LoadVerifier(pub, crypto.Hash(0))
		case key.Type == metadata.KeyTypeRSASSA_PSS_SHA256:
			rk, ok := pub.(*rsa.PublicKey)
			if !ok {
				return false
			}
			v, err = signature.LoadRSAPSSVerifier(rk, crypto.SHA256, &rsa.PSSOptions{Hash: crypto.SHA256})
		case key.Scheme == metadata.KeySchemeECDSA_SHA2_P384:
			v, err = signature.LoadVerifier(pub, crypto.SHA384)
		default:
			v, err = signature.LoadVerifier(pub, crypto.SHA256)
		}
		if err != nil {
			return false
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil {
			verified[sha256.Sum256(der)] = true
		}
	}
	return len(verified) >= r.Threshold
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
	src []byte
	out []byte
}

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
		j := i
		if ch == '-' {
			j++
		}
		start := j
		for j < len(c.src) && c.src[j] >= '0' && c.src[j] <= '9' {
			j++
		}
		// Integers only, no leading zeros, within int64 (cjson's rule).
		if j == start || j-start > 18 || c.src[start] == '0' && j-start > 1 {
			return 0, errFallback
		}
		c.out = append(c.out, c.src[i:j]...)
		return j, nil
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
		i = c.ws(i)
		if i >= len(c.src) {
			return 0, errFallback
		}
		switch c.src[i] {
		case ',':
			c.out = append(c.out, ',')
			i = c.ws(i + 1)
		case ']':
			c.out = append(c.out, ']')
			return i + 1, nil
		default:
			return 0, errFallback
		}
	}
}

// member is one key and its canonical bytes in out: out[start:end] is
// `"key":value`.
type member struct {
	key        []byte
	start, end int
}

func (c *canonicalizer) object(i int) (int, error) {
	base := len(c.out)
	c.out = append(c.out, '{')
	i = c.ws(i + 1)
	if i < len(c.src) && c.src[i] == '}' {
		c.out = append(c.out, '}')
		return i + 1, nil
	}
	var members []member
	sorted := true
	for {
		if i >= len(c.src) || c.src[i] != '"' {
			return 0, errFallback
		}
		if len(members) > 0 {
			c.out = append(c.out, ',')
		}
		j, err := c.str(i)
		if err != nil {
			return 0, err
		}
		m := member{key: c.src[i+1 : j-1], start: len(c.out)}
		// encoding/json matches field names case-insensitively; with
		// lower-case keys only, the decode sees exactly what was signed.
		if bytes.ContainsFunc(m.key, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
			return 0, errFallback
		}
		if n := len(members); n > 0 {
			switch cmp := bytes.Compare(members[n-1].key, m.key); {
			case cmp == 0:
				return 0, errFallback
			case cmp > 0:
				sorted = false
			}
		}
		c.out = append(c.out, c.src[i:j]...)
		i = c.ws(j)
		if i >= len(c.src) || c.src[i] != ':' {
			return 0, errFallback
		}
		c.out = append(c.out, ':')
		if i, err = c.value(c.ws(i + 1)); err != nil {
			return 0, err
		}
		m.end = len(c.out)
		members = append(members, m)
		i = c.ws(i)
		if i >= len(c.src) {
			return 0, errFallback
		}
		if c.src[i] == '}' {
			i++
			break
		}
		if c.src[i] != ',' {
			return 0, errFallback
		}
		i = c.ws(i + 1)
	}
	if !sorted {
		slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
		for k := 1; k < len(members); k++ {
			if bytes.Equal(members[k-1].key, members[k].key) {
				return 0, errFallback
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
	}
	c.out = append(c.out, '}')
	return i, nil
}
