package updater

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Bins are what tufpip verify and every lookup read most: at PyPI's size
// about 40 KB each (200 targets), one per file looked up. go-tuf decodes
// each several times over (a type probe into map[string]any, the typed
// decode with two decodes per target to keep unknown fields, another
// map[string]any pass) and, to check the signature, json.Marshal plus a
// generic decode and re-encode into canonical JSON.
//
// The fast path for targets-type roles is the snapshot's (see
// snapshot.go, whose helpers it shares) for the plain common case of a bin:
// "_type", "spec_version", "version", "expires" and "targets", each target
// exactly "length" and a non-empty "hashes"; no "delegations", no
// "custom", no unrecognized field. It canonicalizes the document, parses
// the canonical signed part, and requires go-tuf's encoding of what it
// parsed (goTUFTargetsBytes) to be byte-identical to it: then go-tuf's
// decoding of the document is the struct parsed here and the payload it
// verifies signatures over is the canonical signed part. Anything else, or
// any failed check, and go-tuf decides. FuzzFastTargetsSubset checks the
// claim against go-tuf, with every input re-signed by the bin's key.
//
// Target paths are map keys, so unlike struct field names they may have
// upper-case letters (PyPI's file names do): the canonicalizer allows them
// in signed.targets only (targetsMapAt).

// targetsMapAt is the key path of the one map in a targets role the fast
// path reads.
var targetsMapAt = []string{"signed", metadata.TARGETS}

// targetsDoc is a targets-type role's document, read once. md is nil
// unless the fast reader could read it; then md is exactly what go-tuf's
// metadata.Targets().FromBytes(data) returns (reflect.DeepEqual), and
// payload the canonical signed part, what go-tuf verifies signatures over.
// md is fresh: it becomes the trusted role if the checks pass.
type targetsDoc struct {
	data    []byte
	md      *metadata.Metadata[metadata.TargetsType]
	payload []byte
}

func readTargetsDoc(data []byte) targetsDoc {
	md, payload, err := readTargets(data)
	if err != nil {
		return targetsDoc{data: data}
	}
	return targetsDoc{data: data, md: md, payload: payload}
}

// checkSpecVersion is checkSpecVersion(role, d.data); for a document the
// fast reader read, from the spec_version it read (the one encoding/json
// finds too: no duplicate keys, no other case, no escapes).
func (d targetsDoc) checkSpecVersion(role string) error {
	if d.md == nil {
		return checkSpecVersion(role, d.data)
	}
	v := d.md.Signed.SpecVersion
	return specVersionError(role, &v)
}

// signedBy reports whether delegator's delegation of role accepts d, as
// delegator.VerifyDelegate(role, go-tuf's decoding of d.data) would. False
// also means "not the fast path's case": ask go-tuf.
func (d targetsDoc) signedBy(delegator any, role string) bool {
	return d.md != nil && delegateSigned(delegator, role, d.md.Signatures, d.payload)
}

// updateDelegatedTargets is t.UpdateDelegatedTargets(d.data, role,
// delegator), faster in the common case.
func updateDelegatedTargets(t *metadataSet, d targetsDoc, role, delegator string) (*metadata.Metadata[metadata.TargetsType], error) {
	if md, err := fastDelegatedTargets(t, d, role, delegator); err == nil {
		return md, nil
	}
	return guardGoTUF(role, func() (*metadata.Metadata[metadata.TargetsType], error) {
		return t.UpdateDelegatedTargets(d.data, role, delegator)
	})
}

// fastDelegatedTargets makes go-tuf's checks of UpdateDelegatedTargets in
// its order, and installs d.md as the trusted role when all pass. It never
// returns an error of its own: on errFallback t is unchanged and go-tuf
// decides (and says why).
func fastDelegatedTargets(t *metadataSet, d targetsDoc, role, delegator string) (*metadata.Metadata[metadata.TargetsType], error) {
	if d.md == nil || t.Snapshot == nil || t.Timestamp == nil || t.Root == nil || t.Targets == nil {
		return nil, errFallback
	}
	snapMeta := t.Timestamp.Signed.Meta["snapshot.json"]
	if snapMeta == nil || checkFinalSnapshot(t.Snapshot, snapMeta, t.RefTime) != nil {
		return nil, errFallback
	}
	var parent any = t.Root
	if delegator != metadata.ROOT {
		p, ok := t.Targets[delegator]
		if !ok || p == nil {
			return nil, errFallback
		}
		parent = p
	}
	meta := t.Snapshot.Signed.Meta[role+".json"]
	if meta == nil || meta.VerifyLengthHashes(d.data) != nil {
		return nil, errFallback
	}
	if !d.signedBy(parent, role) {
		return nil, errFallback
	}
	if d.md.Signed.Version != meta.Version || d.md.Signed.IsExpired(t.RefTime) {
		return nil, errFallback
	}
	t.Targets[role] = d.md
	return d.md, nil
}

// readTargets decodes a targets-type document exactly as go-tuf's
// metadata.Targets().FromBytes would, or returns errFallback. payload is
// the canonical signed part.
func readTargets(data []byte) (*metadata.Metadata[metadata.TargetsType], []byte, error) {
	sigsJSON, signedJSON, err := canonicalEnvelope(data, targetsMapAt)
	if err != nil {
		return nil, nil, errFallback
	}
	sigs, err := parseSignatures(sigsJSON)
	if err != nil {
		return nil, nil, errFallback
	}
	signed, names, err := parseTargetsSigned(signedJSON)
	if err != nil || signed.Type != metadata.TARGETS {
		return nil, nil, errFallback
	}
	buf := encodeBuffers.Get().(*[]byte)
	enc, err := goTUFTargetsBytes((*buf)[:0], &signed, names)
	same := err == nil && bytes.Equal(enc, signedJSON)
	if cap(enc) <= 1<<20 {
		*buf = enc[:0]
		encodeBuffers.Put(buf)
	}
	if !same {
		return nil, nil, errFallback
	}
	// The empty maps go-tuf's decoding leaves.
	return &metadata.Metadata[metadata.TargetsType]{Signed: signed, Signatures: sigs, UnrecognizedFields: map[string]any{}}, signedJSON, nil
}

// encodeBuffers hold goTUFTargetsBytes's output between uses: it is only
// compared, never kept, and a lookup of many bins needs one per bin.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// parseTargetsSigned reads the canonical signed part of a targets role of
// the plain kind (see above), members in any order, each at most once, and
// returns the target paths in the order read. Missing members are left
// zero, as encoding/json leaves them; the re-encoding check then decides.
func parseTargetsSigned(src []byte) (metadata.TargetsType, []string, error) {
	s := metadata.TargetsType{UnrecognizedFields: map[string]any{}}
	var names []string
	err := parseSigned(src, &s.Type, &s.SpecVersion, &s.Version, &s.Expires, func(p *canonParser, key string) (err error) {
		if key != "targets" {
			return errFallback // delegations, unrecognized fields: go-tuf
		}
		s.Targets, names, err = p.targets()
		return err
	})
	if err != nil {
		return metadata.TargetsType{}, nil, errFallback
	}
	return s, names, nil
}

// targets reads the targets object. Every entry gets the empty
// UnrecognizedFields map go-tuf's decoding leaves; they share one (a bin
// has hundreds of entries), which nothing writes to: go-tuf only fills it
// while decoding, into maps of its own, and reads it to encode.
func (p *canonParser) targets() (map[string]*metadata.TargetFiles, []string, error) {
	none := map[string]any{}
	return entries(p, `"length":`, func(name string, tf *metadata.TargetFiles) error {
		tf.Path = name
		tf.UnrecognizedFields = none
		return p.targetFile(tf)
	})
}

func (p *canonParser) targetFile(tf *metadata.TargetFiles) error {
	return p.object(func(key string) error {
		var err error
		switch key {
		case "length":
			tf.Length, err = p.int()
		case "hashes":
			if tf.Hashes != nil {
				return errFallback
			}
			tf.Hashes, err = p.hashes()
		default:
			err = errFallback // custom, unrecognized fields: go-tuf
		}
		return err
	})
}

// goTUFTargetsBytes appends what go-tuf verifies signatures over for s,
// cjson.EncodeCanonical(s): TargetsType.MarshalJSON and
// TargetFiles.MarshalJSON (length always, hashes always) through
// encoding/json, decoded and re-encoded with keys sorted and only `\` and
// `"` escaped. names must be the keys of s.Targets, sorted (as they come
// out of canonical input); it is checked.
//
// It covers only the plain case: no delegations, no custom, no
// unrecognized fields, no nil entries, non-empty hashes (go-tuf refuses
// empty ones), strings goTUFSnapshotBytes covers, expiry in UTC. For
// anything else it returns an error and the caller falls back.
func goTUFTargetsBytes(dst []byte, s *metadata.TargetsType, names []string) ([]byte, error) {
	if len(s.UnrecognizedFields) != 0 || s.Delegations != nil || s.Targets == nil || len(names) != len(s.Targets) {
		return nil, errFallback
	}
	var ok bool
	if dst, ok = appendTypeExpires(dst, s.Type, s.Expires); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"spec_version":`...)
	if dst, ok = appendPlainString(dst, s.SpecVersion); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"targets":`...)
	if dst, ok = appendSortedMap(dst, names, s.Targets, appendTargetFile); !ok {
		return nil, errFallback
	}
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, s.Version, 10)
	return append(dst, '}'), nil
}

// appendTargetFile appends go-tuf's canonical encoding of one target's
// info, `{"hashes":{...},"length":N}`, if tf is one goTUFTargetsBytes
// covers.
func appendTargetFile(dst []byte, tf *metadata.TargetFiles) ([]byte, bool) {
	if tf == nil || tf.Custom != nil || len(tf.UnrecognizedFields) != 0 || len(tf.Hashes) == 0 {
		return dst, false
	}
	var ok bool
	dst = append(dst, '{')
	if dst, ok = appendHashes(dst, tf.Hashes); !ok {
		return dst, false
	}
	dst = append(dst, `,"length":`...)
	dst = strconv.AppendInt(dst, tf.Length, 10)
	return append(dst, '}'), true
}
