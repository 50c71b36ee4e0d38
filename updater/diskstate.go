package updater

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The freshness record is two files in the metadata directory (see
// writeDiskState): .tufpip-state, the JSON of diskState, and
// .tufpip-snapshot-versions, the role versions the verified snapshot
// listed. Both are written by tufpip, atomically, but a later process
// reads them back as untrusted input: a failing disk, an older tufpip or
// a crash between the two writes may leave anything there. The parsers
// below accept only records that are complete and consistent, so that a
// damaged record means "refresh", never a wrong answer.

// versionsHeader starts the versions file. The snapshot version it names
// ties the list to the state file written after it; the count of lines
// that follow makes a file cut short at a line break detectable.
const versionsHeader = "snapshot "

// encodeSnapshotVersions renders the versions file: a header naming the
// snapshot version and the number of roles, then one line per role,
// sorted: "<role> <version>", then " length=<n>" and " <alg>=<hex>" (algs
// sorted) when the snapshot gives a length or hashes for the role. Role
// names are path-escaped so that no name can contain a space, "=" or a
// line break.
// sorted, if not nil, is meta's names in order as the snapshot's reader
// found them (snapshotDoc.names), which spares sorting 16,384 names; it
// is checked, and sorted afresh if it is not exactly that.
func encodeSnapshotVersions(snapshot int64, meta map[string]*metadata.MetaFiles, sorted []string) []byte {
	names := sorted
	if len(names) != len(meta) || !slices.IsSorted(names) || slices.ContainsFunc(names, func(n string) bool { return meta[n] == nil }) {
		names = make([]string, 0, len(meta))
		for name := range meta {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	// Appended, not printed: at 16,384 bins fmt's per-entry cost was most
	// of a cold refresh's bookkeeping.
	b := make([]byte, 0, 32+len(names)*24)
	b = append(b, versionsHeader...)
	b = strconv.AppendInt(b, snapshot, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(names)), 10)
	b = append(b, '\n')
	for _, name := range names {
		b = appendVersionsEntry(b, strings.TrimSuffix(name, ".json"), meta[name])
		b = append(b, '\n')
	}
	return b
}

func encodeVersionsEntry(role string, m *metadata.MetaFiles) string {
	return string(appendVersionsEntry(nil, role, m))
}

func appendVersionsEntry(b []byte, role string, m *metadata.MetaFiles) []byte {
	b = append(b, escapeRoleEntry(role)...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, m.Version, 10)
	if m.Length > 0 {
		b = append(b, " length="...)
		b = strconv.AppendInt(b, m.Length, 10)
	}
	if len(m.Hashes) == 0 {
		return b
	}
	algs := make([]string, 0, len(m.Hashes))
	for alg := range m.Hashes {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	for _, alg := range algs {
		b = append(b, ' ')
		b = append(b, url.QueryEscape(alg)...)
		b = append(b, '=')
		b = hex.AppendEncode(b, m.Hashes[alg])
	}
	return b
}

// escapeRoleEntry is url.PathEscape, with "=" escaped too.
func escapeRoleEntry(role string) string {
	return strings.ReplaceAll(url.PathEscape(role), "=", "%3D")
}

// errCorruptVersions is wrapped by every parseSnapshotVersions failure.
var errCorruptVersions = errors.New("cached snapshot versions are corrupt")

// parseSnapshotVersions reads the versions file written for snapshot
// version wantSnapshot: what the verified snapshot listed for each role
// (version, and length and hashes where it gave them). It refuses
// anything encodeSnapshotVersions could not have written: another
// snapshot's list, a missing header, a missing final newline or a line
// count that does not match (a file cut short), a malformed, duplicate,
// non-positive or non-canonical entry, or a list without the top-level
// targets role.
func parseSnapshotVersions(data []byte, wantSnapshot int64) (map[string]*metadata.MetaFiles, error) {
	lines, err := versionsLines(data, wantSnapshot)
	if err != nil {
		return nil, err
	}
	versions := make(map[string]*metadata.MetaFiles, len(lines))
	for i, line := range lines {
		name, m, err := parseVersionsEntry(line, i+2)
		if err != nil {
			return nil, err
		}
		if _, dup := versions[name]; dup {
			return nil, corruptVersions("role %q is listed twice", name)
		}
		versions[name] = m
	}
	if _, ok := versions[metadata.TARGETS]; !ok {
		return nil, corruptVersions("no %s entry", metadata.TARGETS)
	}
	return versions, nil
}

func corruptVersions(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errCorruptVersions, fmt.Sprintf(format, a...))
}

// versionsLines checks the versions file's frame (final line break,
// header, the snapshot version it names, the line count) and returns its
// entry lines.
func versionsLines(data []byte, wantSnapshot int64) ([]string, error) {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil, corruptVersions("no final line break")
	}
	lines := strings.Split(text, "\n")
	header, ok := strings.CutPrefix(lines[0], versionsHeader)
	snap, count, ok2 := strings.Cut(header, " ")
	if !ok || !ok2 {
		return nil, corruptVersions("no header")
	}
	if n, err := strconv.Atoi(count); err != nil || strconv.Itoa(n) != count || n != len(lines)-1 {
		return nil, corruptVersions("the header announces %q roles, %d are listed", count, len(lines)-1)
	}
	if v, ok := parseVersion(snap); !ok || v != wantSnapshot {
		return nil, &staleError{reason: fmt.Sprintf("cached snapshot versions are for snapshot %q, the refresh state names %d", snap, wantSnapshot)}
	}
	return lines[1:], nil
}

// parseVersionsEntry reads one entry line (line number n, for messages)
// and refuses it unless it is exactly what encodeVersionsEntry writes.
func parseVersionsEntry(line string, n int) (string, *metadata.MetaFiles, error) {
	fields := strings.Split(line, " ")
	if len(fields) < 2 {
		return "", nil, corruptVersions("line %d has no version", n)
	}
	name, err := url.PathUnescape(fields[0])
	if err != nil || name == "" || escapeRoleEntry(name) != fields[0] {
		return "", nil, corruptVersions("line %d has a malformed role name", n)
	}
	v, ok := parseVersion(fields[1])
	if !ok {
		return "", nil, corruptVersions("line %d: version %q is not a positive integer", n, fields[1])
	}
	m := &metadata.MetaFiles{Version: v}
	for _, f := range fields[2:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", nil, corruptVersions("line %d: %q is not key=value", n, f)
		}
		if k == "length" {
			if m.Length, ok = parseVersion(v); !ok {
				return "", nil, corruptVersions("line %d: length %q is not a positive integer", n, v)
			}
			continue
		}
		alg, err := url.QueryUnescape(k)
		h, herr := hex.DecodeString(v)
		if err != nil || alg == "" || herr != nil || len(h) == 0 {
			return "", nil, corruptVersions("line %d: malformed hash %q", n, f)
		}
		if m.Hashes == nil {
			m.Hashes = metadata.Hashes{}
		}
		m.Hashes[alg] = h
	}
	// One way to write each entry: what parses is what was written.
	if encodeVersionsEntry(name, m) != line {
		return "", nil, corruptVersions("line %d is not in canonical form", n)
	}
	return name, m, nil
}

// snapshotVersions answers, for the disk epoch, what the versions file
// lists for a role, without parsing all of it: at PyPI's size the file
// has 16,385 lines and a lookup needs a handful (targets and a bin or
// two), and the full parse was a quarter of a warm process's CPU.
//
// It gives the same answers as parseSnapshotVersions wherever that one
// accepts the file: openSnapshotVersions checks the frame exactly as it
// does (header, snapshot version, final line break, line count, so a
// file cut short is still refused) and, in one pass without allocating,
// that the entries' role names (unescaped) are in strictly increasing
// order, the order encodeSnapshotVersions writes them in (names with
// ".json" appended, as the snapshot's meta keys sort). Strict order makes
// every name unique, so a role is found by binary search, and the one
// line found gets parseVersionsEntry's checks in full (canonical form,
// positive version, hashes), as every line gets them from
// parseSnapshotVersions. What is left unchecked is only the rest of the
// lines the lookups never use: a damaged line there cannot change an
// answer. A file whose names are not in that order (not one
// encodeSnapshotVersions wrote) is parsed in full, as before.
type snapshotVersions struct {
	lines []string                       // entry lines, sorted by role name; nil when full is set
	full  map[string]*metadata.MetaFiles // parseSnapshotVersions's map, for an unsorted file
	memo  map[string]*metadata.MetaFiles // entries parsed so far
	mu    sync.Mutex
}

func openSnapshotVersions(data []byte, wantSnapshot int64) (*snapshotVersions, error) {
	lines, err := versionsLines(data, wantSnapshot)
	if err != nil {
		return nil, err
	}
	sv := &snapshotVersions{memo: map[string]*metadata.MetaFiles{}}
	if versionsSorted(lines) {
		sv.lines = lines
	} else if sv.full, err = parseSnapshotVersions(data, wantSnapshot); err != nil {
		return nil, err
	}
	if _, ok, err := sv.lookup(metadata.TARGETS); err != nil || !ok {
		if err == nil {
			err = corruptVersions("no %s entry", metadata.TARGETS)
		}
		return nil, err
	}
	return sv, nil
}

// versionsSorted reports whether the lines' role names, unescaped, are in
// strictly increasing order of name+".json".
func versionsSorted(lines []string) bool {
	var prev string
	for i, line := range lines {
		field, _, _ := strings.Cut(line, " ")
		name, err := url.PathUnescape(field) // no allocation unless escaped
		if err != nil || name == "" {
			return false
		}
		if i > 0 && compareMetaNames(prev, name) >= 0 {
			return false
		}
		prev = name
	}
	return true
}

// compareMetaNames compares a+".json" with b+".json", without building
// either.
func compareMetaNames(a, b string) int {
	const suffix = ".json"
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return suffix[i-len(s)]
	}
	la, lb := len(a)+len(suffix), len(b)+len(suffix)
	for i := range min(la, lb) {
		if c := cmp.Compare(at(a, i), at(b, i)); c != 0 {
			return c
		}
	}
	return cmp.Compare(la, lb)
}

// lookup returns the entry for role, or ok false if the file lists none.
// An error means the line found is damaged.
func (sv *snapshotVersions) lookup(role string) (*metadata.MetaFiles, bool, error) {
	if sv.full != nil {
		m, ok := sv.full[role]
		return m, ok, nil
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if m, ok := sv.memo[role]; ok {
		return m, true, nil
	}
	i, found := slices.BinarySearchFunc(sv.lines, role, func(line, role string) int {
		field, _, _ := strings.Cut(line, " ")
		name, err := url.PathUnescape(field)
		if err != nil {
			name = field // cannot happen: versionsSorted unescaped every name
		}
		return compareMetaNames(name, role)
	})
	if !found {
		return nil, false, nil
	}
	name, m, err := parseVersionsEntry(sv.lines[i], i+2)
	if err != nil {
		return nil, false, err
	}
	if name != role {
		return nil, false, corruptVersions("line %d does not name %q", i+2, role) // cannot happen
	}
	sv.memo[role] = m
	return m, true, nil
}

// parseVersion accepts a TUF version as strconv.FormatInt writes it: a
// positive decimal integer without sign or leading zeros.
func parseVersion(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1 && strconv.FormatInt(n, 10) == s
}

// parseDiskState reads the state file. It refuses a record that does not
// name a refresh time and, for each top-level role, a positive version
// and an expiry: such a record cannot vouch for anything.
func parseDiskState(data []byte) (diskState, error) {
	corrupt := func(why any) error { return fmt.Errorf("cached refresh state is corrupt: %v", why) }
	var st diskState
	if err := json.Unmarshal(data, &st); err != nil {
		return diskState{}, corrupt(err)
	}
	if st.RefreshedAt.IsZero() {
		return diskState{}, corrupt("no refresh time")
	}
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		rs, ok := st.Status.Roles[role]
		if !ok || rs.Version < 1 || rs.Expires.IsZero() {
			return diskState{}, corrupt("no valid " + role + " entry")
		}
	}
	return st, nil
}

// localUnusable reports whether err, from loading a role file kept in the
// metadata directory, means the file is not usable metadata (a failed
// check, or bytes that are not metadata at all: cut short or garbled, as
// a crash or a failing disk can leave them). Such a file is only a cache
// of something verified earlier, so the refresh then fetches the role
// again, fully verified, instead of failing for good. Only what comes
// from the repository can fail a refresh.
func localUnusable(err error) bool {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	return errors.Is(err, &metadata.ErrRepository{}) || errors.Is(err, &metadata.ErrValue{}) ||
		errors.Is(err, &metadata.ErrType{}) || errors.As(err, &syn) || errors.As(err, &typ)
}

// minTime is the earlier of a and b, ignoring zero times.
func minTime(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
