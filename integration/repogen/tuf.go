package repogen

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"golang.org/x/crypto/blake2b"
)

// binScheme maps target paths to bins exactly as TAP 15 (and go-tuf's
// SuccinctRoles) does: bin = top bitLength bits of sha256(path), named
// prefix-<hex, zero-padded to the width of 2^B-1>.
type binScheme struct {
	bitLength int
	prefix    string
	suffixLen int
	count     int
	text      bool // pep458-text layout: classic hash-prefix delegation
}

func newBinScheme(s settings) binScheme {
	b := binScheme{bitLength: s.BitLength, count: 1 << s.BitLength, prefix: s.NamePrefix}
	b.suffixLen = len(strconv.FormatInt(int64(b.count-1), 16))
	if s.TUFLayout == TUFLayoutPEP458Text {
		// PEP 458's text: "bins" delegates to "bin-n".
		b.prefix, b.text = "bin", true
	}
	return b
}

func (b binScheme) index(targetPath string) int {
	h := sha256.Sum256([]byte(targetPath))
	return int(binary.BigEndian.Uint32(h[:4]) >> (32 - b.bitLength))
}

func (b binScheme) name(i int) string {
	return fmt.Sprintf("%s-%0*x", b.prefix, b.suffixLen, i)
}

// indexOf parses a bin name back to its number.
func (b binScheme) indexOf(name string) (int, bool) {
	suffix, ok := strings.CutPrefix(name, b.prefix+"-")
	if !ok || len(suffix) != b.suffixLen {
		return 0, false
	}
	n, err := strconv.ParseUint(suffix, 16, 32)
	if err != nil || int(n) >= b.count || b.name(int(n)) != name {
		return 0, false
	}
	return int(n), true
}

// hashPrefixes are bin i's path_hash_prefixes in the pep458-text layout:
// hex prefixes of sha256(path) (the TUF spec's encoding) as long as needed
// to express bitLength bits, several per bin when B is not a multiple of 4.
func (b binScheme) hashPrefixes(i int) []string {
	digits := (b.bitLength + 3) / 4
	span := 1 << (4*digits - b.bitLength)
	out := make([]string, 0, span)
	for j := range span {
		out = append(out, fmt.Sprintf("%0*x", digits, i*span+j))
	}
	return out
}

// allHexDigits delegates every path: the "bins" role's path_hash_prefixes.
// paths ["*"] would not do, because "*" does not match across "/".
var allHexDigits = strings.Split("0123456789abcdef", "")

// phantom is a target with info but no file.
type phantom struct {
	path   string
	length int64
	hashes map[string]string
}

// phantomTarget derives phantom number i. Everything follows from i, so a
// reopened repository needs only the count. They are shaped like the
// layout's real targets (two wheels and a page per project) so bins fill
// the way PyPI's would.
func (r *Repo) phantomTarget(i int) phantom {
	seed := phantomSeed(i)
	b2 := blake2b.Sum256(seed)
	s256 := sha256.Sum256(seed)
	s512 := sha512.Sum512(seed)
	return phantom{
		path:   r.phantomPath(i, b2),
		length: 1024 + int64(binary.BigEndian.Uint32(b2[:4])%(1<<20)),
		hashes: map[string]string{
			HashBlake2b256: hex.EncodeToString(b2[:]),
			HashSHA256:     hex.EncodeToString(s256[:]),
			HashSHA512:     hex.EncodeToString(s512[:]),
		},
	}
}

func phantomSeed(i int) []byte {
	return []byte("tufpip-phantom/" + strconv.Itoa(i))
}

// phantomPath is phantom i's target path; b2 stands in for the blake2b of
// the file that does not exist, as the Warehouse path needs one.
func (r *Repo) phantomPath(i int, b2 [32]byte) string {
	layout := r.st.Settings.IndexLayout
	switch {
	case layout == IndexLayoutIndexOnly:
		return pageTargetPath(layout, "phantom-"+strconv.Itoa(i))
	case layout == IndexLayoutDistsOnly || i%3 != 2:
		return warehousePath(hex.EncodeToString(b2[:]), fmt.Sprintf("phantom_%d-1.%d.0-py3-none-any.whl", i/3, i%3))
	}
	return pageTargetPath(layout, "phantom-"+strconv.Itoa(i/3))
}

func (r *Repo) phantomIndex() [][]int32 {
	if r.phantomsByBin != nil {
		return r.phantomsByBin
	}
	by := make([][]int32, r.bins.count)
	for i := range r.st.Settings.PhantomTargets {
		b := r.bins.index(r.phantomPath(i, blake2b.Sum256(phantomSeed(i))))
		by[b] = append(by[b], int32(i))
	}
	r.phantomsByBin = by
	return by
}

// targetFiles turns hex digests into signed target info, keeping only the
// configured algorithms.
func (r *Repo) targetFiles(length int64, hashes map[string]string) (*metadata.TargetFiles, error) {
	tf := &metadata.TargetFiles{Length: length, Hashes: metadata.Hashes{}}
	for _, alg := range r.st.Settings.Hashes {
		d, err := hex.DecodeString(hashes[alg])
		if err != nil || len(d) == 0 {
			return nil, fmt.Errorf("repogen: missing %s hash", alg)
		}
		tf.Hashes[alg] = d
	}
	return tf, nil
}

func (r *Repo) expiryKind(role string) string {
	switch role {
	case RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp:
		return role
	}
	return RoleBins
}

// expiresFromNow is now plus the role's lifetime, whole seconds in UTC as
// TUF clients (python-tuf included) expect.
func (r *Repo) expiresFromNow(role string) time.Time {
	return r.now().UTC().Add(r.st.Settings.expiry(r.expiryKind(role))).Truncate(time.Second)
}

// expiredNow is a date already past, for the expiry attacks.
func (r *Repo) expiredNow() time.Time {
	return r.now().UTC().Add(-time.Hour).Truncate(time.Second)
}

// bump starts a new version of role with a fresh expiry.
func (r *Repo) bump(role string) {
	rs := r.st.Roles[role]
	if rs == nil {
		rs = &roleState{}
		r.st.Roles[role] = rs
	}
	rs.Version++
	rs.Expires = r.expiresFromNow(role)
}

// targetsRoles names every targets-type role: targets, in the pep458-text
// layout "bins", then every bin.
func (r *Repo) targetsRoles() []string {
	out := []string{RoleTargets}
	if r.bins.text {
		out = append(out, RoleBins)
	}
	return append(out, r.Bins()...)
}

func (r *Repo) isTargetsRole(role string) bool {
	if role == RoleTargets || (r.bins.text && role == RoleBins) {
		return true
	}
	_, ok := r.bins.indexOf(role)
	return ok
}

// encodeMetadata signs md with keys and serializes it the way the
// reference fixture (python-tuf) does: sorted keys, one-space indent.
//
// The file is built from the canonical bytes that were signed instead of
// encoding the metadata a second time: at 16,384 bins JSON encoding is
// most of the CPU a generation spends.
func encodeMetadata[T metadata.Roles](md *metadata.Metadata[T], keys ...*signingKey) ([]byte, error) {
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		return nil, fmt.Errorf("repogen: failed to encode metadata: %w", err)
	}
	sigs := make([]metadata.Signature, 0, len(keys))
	for _, k := range keys {
		s, err := k.signer()
		if err != nil {
			return nil, fmt.Errorf("repogen: failed to load signer: %w", err)
		}
		sig, err := s.SignMessage(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("repogen: failed to sign: %w", err)
		}
		sigs = append(sigs, metadata.Signature{KeyID: k.id, Signature: sig})
	}
	md.Signatures = sigs
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 0, len(payload)+len(sigJSON)+32)
	raw = append(raw, `{"signatures":`...)
	raw = append(raw, sigJSON...)
	raw = append(raw, `,"signed":`...)
	raw = append(raw, payload...)
	raw = append(raw, '}')
	var buf bytes.Buffer
	buf.Grow(len(raw) * 3 / 2)
	if err := json.Indent(&buf, raw, "", " "); err != nil {
		// Canonical JSON leaves control characters (a hostile target
		// name's NUL) unescaped, which is not JSON; encoding/json
		// escapes them.
		return indentMetadata(md)
	}
	return buf.Bytes(), nil
}

func indentMetadata[T metadata.Roles](md *metadata.Metadata[T]) ([]byte, error) {
	raw, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("repogen: failed to encode metadata: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", " "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *Repo) metadataPath(name string) string {
	return filepath.Join(r.dir, metadataDir, name)
}

func versionedName(version int64, role string) string {
	return fmt.Sprintf("%d.%s.json", version, role)
}

// buildRoot makes a root listing rootKeys (threshold t) for root and the
// online key for the other top-level roles.
func (r *Repo) buildRoot(version int64, expires time.Time, rootKeys []*signingKey, threshold int, online *signingKey) (*metadata.Metadata[metadata.RootType], error) {
	md := metadata.Root(expires)
	md.Signed.Version = version
	md.Signed.ConsistentSnapshot = true
	for _, k := range rootKeys {
		if err := md.Signed.AddKey(k.pub, RoleRoot); err != nil {
			return nil, fmt.Errorf("repogen: %w", err)
		}
	}
	md.Signed.Roles[RoleRoot].Threshold = threshold
	for _, role := range []string{RoleTargets, RoleSnapshot, RoleTimestamp} {
		if err := md.Signed.AddKey(online.pub, role); err != nil {
			return nil, fmt.Errorf("repogen: %w", err)
		}
	}
	return md, nil
}

func (r *Repo) writeRoot(md *metadata.Metadata[metadata.RootType], signers ...*signingKey) error {
	data, err := encodeMetadata(md, signers...)
	if err != nil {
		return err
	}
	if err := r.writeLegit(metadataDir+"/"+versionedName(md.Signed.Version, RoleRoot), data); err != nil {
		return fmt.Errorf("repogen: failed to write root: %w", err)
	}
	return nil
}

func (r *Repo) newTargetsMetadata(role string) *metadata.Metadata[metadata.TargetsType] {
	rs := r.st.Roles[role]
	md := metadata.Targets(rs.Expires)
	md.Signed.Version = rs.Version
	return md
}

func (r *Repo) onlineDelegationKeys() map[string]*metadata.Key {
	return map[string]*metadata.Key{r.online.id: r.online.pub}
}

// buildTopTargets is the top-level targets role: no targets of its own,
// just the delegation to the bins.
func (r *Repo) buildTopTargets() *metadata.Metadata[metadata.TargetsType] {
	md := r.newTargetsMetadata(RoleTargets)
	d := &metadata.Delegations{Keys: r.onlineDelegationKeys()}
	if r.bins.text {
		d.Roles = []metadata.DelegatedRole{{
			Name:             RoleBins,
			KeyIDs:           []string{r.online.id},
			Threshold:        1,
			Terminating:      true,
			PathHashPrefixes: allHexDigits,
		}}
	} else {
		d.SuccinctRoles = &metadata.SuccinctRoles{
			KeyIDs:     []string{r.online.id},
			Threshold:  1,
			BitLength:  r.bins.bitLength,
			NamePrefix: r.bins.prefix,
		}
	}
	md.Signed.Delegations = d
	return md
}

// buildBinsRole is the pep458-text "bins" role: a classic hash-bin
// delegation to every bin-n.
func (r *Repo) buildBinsRole() *metadata.Metadata[metadata.TargetsType] {
	md := r.newTargetsMetadata(RoleBins)
	roles := make([]metadata.DelegatedRole, r.bins.count)
	for i := range roles {
		roles[i] = metadata.DelegatedRole{
			Name:             r.bins.name(i),
			KeyIDs:           []string{r.online.id},
			Threshold:        1,
			Terminating:      true,
			PathHashPrefixes: r.bins.hashPrefixes(i),
		}
	}
	md.Signed.Delegations = &metadata.Delegations{Keys: r.onlineDelegationKeys(), Roles: roles}
	return md
}

// publishTargetsRole signs and writes N.<role>.json for targets or "bins".
func (r *Repo) publishTargetsRole(role string) error {
	var md *metadata.Metadata[metadata.TargetsType]
	if role == RoleTargets {
		md = r.buildTopTargets()
	} else {
		md = r.buildBinsRole()
	}
	data, err := encodeMetadata(md, r.online)
	if err != nil {
		return err
	}
	return writeVersioned(r.metadataPath(versionedName(md.Signed.Version, role)), data)
}

// groupRealTargets sorts the non-phantom targets into bins.
func (r *Repo) groupRealTargets() map[int]map[string]realTarget {
	out := map[int]map[string]realTarget{}
	for p, t := range r.realTargets() {
		b := r.bins.index(p)
		if out[b] == nil {
			out[b] = map[string]realTarget{}
		}
		out[b][p] = t
	}
	return out
}

// buildBin makes bin i with every target it signs.
func (r *Repo) buildBin(i int, real map[string]realTarget, phantoms []int32) (*metadata.Metadata[metadata.TargetsType], error) {
	md := r.newTargetsMetadata(r.bins.name(i))
	for p, t := range real {
		tf, err := r.targetFiles(t.length, t.hashes)
		if err != nil {
			return nil, err
		}
		md.Signed.Targets[p] = tf
	}
	for _, n := range phantoms {
		ph := r.phantomTarget(int(n))
		tf, err := r.targetFiles(ph.length, ph.hashes)
		if err != nil {
			return nil, err
		}
		md.Signed.Targets[ph.path] = tf
	}
	return md, nil
}

// publishBins signs and writes the given bins at their current versions,
// in parallel: at 16,384 bins signing is most of a generation's cost.
func (r *Repo) publishBins(indices []int) error {
	if len(indices) == 0 {
		return nil
	}
	real := r.groupRealTargets()
	phantoms := r.phantomIndex()
	// Workers only read the repository's state: nothing changes it while
	// bins are published.
	workers := min(runtime.GOMAXPROCS(0), len(indices))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				md, err := r.buildBin(i, real[i], phantoms[i])
				var data []byte
				if err == nil {
					data, err = encodeMetadata(md, r.online)
				}
				if err == nil {
					err = writeVersioned(r.metadataPath(versionedName(md.Signed.Version, r.bins.name(i))), data)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("repogen: failed to publish %s: %w", r.bins.name(i), err) })
				}
			}
		}()
	}
	for _, i := range indices {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// buildSnapshot lists every targets-type role by version only, as RSTUF
// does. override replaces versions, for the rollback attack.
func (r *Repo) buildSnapshot(override map[string]int64) *metadata.Metadata[metadata.SnapshotType] {
	rs := r.st.Roles[RoleSnapshot]
	md := metadata.Snapshot(rs.Expires)
	md.Signed.Version = rs.Version
	md.Signed.Meta = make(map[string]*metadata.MetaFiles, r.bins.count+2)
	for _, role := range r.targetsRoles() {
		v := r.st.Roles[role].Version
		if o, ok := override[role]; ok {
			v = o
		}
		md.Signed.Meta[role+".json"] = &metadata.MetaFiles{Version: v}
	}
	return md
}

func (r *Repo) publishSnapshot(override map[string]int64) error {
	md := r.buildSnapshot(override)
	data, err := encodeMetadata(md, r.online)
	if err != nil {
		return err
	}
	return writeVersioned(r.metadataPath(versionedName(md.Signed.Version, RoleSnapshot)), data)
}

// publishTimestamp signs timestamp.json pointing at snapshotVersion. A
// legitimate one is also kept in .repogen/history so Rollback can serve it
// again later.
func (r *Repo) publishTimestamp(snapshotVersion int64, legit bool) error {
	rs := r.st.Roles[RoleTimestamp]
	md := metadata.Timestamp(rs.Expires)
	md.Signed.Version = rs.Version
	md.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": {Version: snapshotVersion}}
	data, err := encodeMetadata(md, r.online)
	if err != nil {
		return err
	}
	if legit {
		if err := writeFileAtomic(r.historyPath(rs.Version), data, 0o644); err != nil {
			return err
		}
	}
	if !legit {
		// A signed attack (Rollback) is still the newest timestamp; Heal
		// supersedes it with a newer one rather than restoring an older.
		return writeFileAtomic(r.metadataPath("timestamp.json"), data, 0o644)
	}
	return r.writeLegit(metadataDir+"/timestamp.json", data)
}

func (r *Repo) historyPath(timestampVersion int64) string {
	return filepath.Join(r.dir, stateDir, historyDir, versionedName(timestampVersion, RoleTimestamp))
}

// publishInitial writes version 1 of everything and the root to ship.
func (r *Repo) publishInitial() error {
	for _, role := range append(r.targetsRoles(), RoleSnapshot, RoleTimestamp) {
		r.bump(role)
	}
	root, err := r.buildRoot(1, r.expiresFromNow(RoleRoot), r.root, r.st.RootThreshold, r.online)
	if err != nil {
		return err
	}
	if err := r.writeRoot(root, r.root...); err != nil {
		return err
	}
	all := make([]int, r.bins.count)
	for i := range all {
		all[i] = i
	}
	if err := r.publishBins(all); err != nil {
		return err
	}
	if r.bins.text {
		if err := r.publishTargetsRole(RoleBins); err != nil {
			return err
		}
	}
	if err := r.publishTargetsRole(RoleTargets); err != nil {
		return err
	}
	if err := r.publishSnapshot(nil); err != nil {
		return err
	}
	if err := r.publishTimestamp(r.st.Roles[RoleSnapshot].Version, true); err != nil {
		return err
	}
	data, err := os.ReadFile(r.metadataPath(versionedName(1, RoleRoot)))
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.dir, trustedRootFile), data, 0o644)
}

// commit publishes what a real repository publishes after a change: new
// versions of the given targets-type roles, then snapshot, then timestamp,
// in that order so a client never sees a timestamp for metadata that is
// not there yet. It saves the state.
func (r *Repo) commit(roles []string) error {
	var bins []int
	seen := map[string]bool{}
	for _, role := range roles {
		if seen[role] {
			continue
		}
		seen[role] = true
		r.bump(role)
		if i, ok := r.bins.indexOf(role); ok {
			bins = append(bins, i)
		}
	}
	if err := r.publishBins(bins); err != nil {
		return err
	}
	// "bins" before "targets": parents last.
	for _, role := range []string{RoleBins, RoleTargets} {
		if seen[role] {
			if err := r.publishTargetsRole(role); err != nil {
				return err
			}
		}
	}
	return r.commitSnapshot()
}

// commitSnapshot publishes a new snapshot and timestamp and saves state.
func (r *Repo) commitSnapshot() error {
	r.bump(RoleSnapshot)
	return r.publishSnapshotAndTimestamp(nil, true)
}

// publishSnapshotAndTimestamp publishes the snapshot at its current
// (already bumped) version, with the role versions in override instead of
// the current ones, then a new timestamp naming it (legit as
// publishTimestamp takes it), and saves state.
func (r *Repo) publishSnapshotAndTimestamp(override map[string]int64, legit bool) error {
	if err := r.publishSnapshot(override); err != nil {
		return err
	}
	r.bump(RoleTimestamp)
	if err := r.publishTimestamp(r.st.Roles[RoleSnapshot].Version, legit); err != nil {
		return err
	}
	return r.save()
}
