package updater

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

// tufState is the trusted metadata of one online epoch. It is built by
// tufRefresh.run, which is go-tuf 2.4.2's Updater.Refresh step for step
// (the same files in the metadata directory, every check made by go-tuf's
// TrustedMetadata, in its order) except that the snapshot is verified by
// updateSnapshot and that two downloads start before the step that
// verifies them (see run). go-tuf's Updater offers no way
// to swap that one step, so the workflow around it lives here.
type tufState struct {
	trusted *trustedmetadata.TrustedMetadata
	// predownloaded holds the bytes of the hash bin the refresh fetched
	// beside targets.json (see tufRefresh.hint), keyed by role name, not
	// verified: the epoch's loadDelegated verifies them as downloaded
	// bytes if the walk reaches that role.
	predownloaded map[string][]byte
	// snapshotNames is the trusted snapshot's meta names, sorted, when
	// its fast reader read them (else nil), for the freshness record.
	snapshotNames []string
}

// GetTrustedMetadataSet returns the trusted set; its maps are shared, so
// roles loaded through the copy are seen by every later call.
func (s *tufState) GetTrustedMetadataSet() metadataSet { return *s.trusted }

// tufRefresh is one run of the top-level client workflow.
type tufRefresh struct {
	url     string // ends in "/"
	dir     string
	fetcher *tufFetcher
	limits  Limits
	trusted *trustedmetadata.TrustedMetadata
	// floor is what the last successful refresh recorded, or nil.
	floor *rollbackFloor
	// hint, if set, is the target path the caller looks up next: the
	// refresh guesses its hash bin (guessBin) and downloads it beside
	// targets.json, keeping the bytes only if the verified targets
	// delegates hint to that bin.
	hint     string
	guessBin func(snapshotMeta map[string]*metadata.MetaFiles, targetPath string) string
	binPath  func(role string) string // where loadDelegated keeps a bin (delegatedPath)
	// binAhead is that download's result, for the epoch (tufState).
	binAhead      map[string][]byte
	snapshotNames []string // see tufState
}

// ahead is a download started before the workflow reaches the step that
// needs it, so that it waits for the network beside the step before. Its
// bytes are not used until that step takes them (take) and verifies them
// exactly as bytes it downloaded itself; a download not taken is
// cancelled (discard).
type ahead struct {
	done   chan struct{}
	cancel context.CancelFunc
	data   []byte
	err    error
}

// fetchAhead starts downloading role (under version, if not "") at most
// maxLength bytes.
func (r *tufRefresh) fetchAhead(role, version string, maxLength int64) *ahead {
	ctx, cancel := context.WithCancel(r.fetcher.context())
	a := &ahead{done: make(chan struct{}), cancel: cancel}
	u := r.url + url.PathEscape(role) + ".json"
	if version != "" {
		u = r.url + version + "." + url.PathEscape(role) + ".json"
	}
	go func() {
		defer close(a.done)
		a.data, a.err = r.fetcher.download(ctx, u, maxLength)
	}()
	return a
}

// take waits for the download and returns what it got, as the fetcher's
// DownloadFile would have returned it; the step taking it is now the one
// in flight (for naming the role of a failure, as DownloadFile does).
func (a *ahead) take(f *tufFetcher, role string) ([]byte, error) {
	<-a.done
	a.cancel()
	f.setRole(role)
	return a.data, a.err
}

// discard cancels the download and waits for it to end. a may be nil.
func (a *ahead) discard() {
	if a == nil {
		return
	}
	a.cancel()
	<-a.done
}

// newTUFRefresh loads the trusted root (as go-tuf's updater.New does,
// persisting it to root.json) with now as the reference time.
func newTUFRefresh(metadataURL, dir string, root []byte, f *tufFetcher, l Limits, now time.Time) (*tufRefresh, error) {
	if err := checkSpecVersion(metadata.ROOT, root); err != nil {
		return nil, err
	}
	tm, err := trustedmetadata.New(root)
	if err != nil {
		return nil, err
	}
	tm.RefTime = now.UTC()
	r := &tufRefresh{url: metadataURL, dir: dir, fetcher: f, limits: l, trusted: tm, floor: readRollbackFloor(dir)}
	// Unless already there byte for byte: a refresh that finds nothing new
	// writes nothing, so it also works on a full or read-only disk.
	if cur, err := r.local(metadata.ROOT); err != nil || !bytes.Equal(cur, root) {
		if err := r.persist(metadata.ROOT, root); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// run is go-tuf's onlineRefresh: root, timestamp, snapshot, targets;
// with two downloads moved earlier, each verified only when the
// sequential workflow would have downloaded it, exactly as it would have
// verified it:
//   - timestamp.json is downloaded beside the root probe (its URL and
//     length limit do not depend on the root). Its bytes are verified
//     after the root update, against the final trusted root. If the root
//     chain advanced they are discarded and timestamp.json is downloaded
//     again: the repository publishes a new root before the timestamp
//     signed under it (for fast-forward recovery, TUF 5.3.11, a timestamp
//     under rotated keys), so a timestamp fetched beside the probe may
//     predate that root, where the sequential order would have fetched
//     the new one. One more request, only when the root rotates.
//   - the hash bin of the path the caller looks up next (hint) is
//     downloaded beside targets.json (see loadTargets).
func (r *tufRefresh) run() (*tufState, error) {
	rootVersion := r.trusted.Root.Signed.Version
	ts := r.fetchAhead(metadata.TIMESTAMP, "", r.limits.TimestampMaxLength)
	defer ts.discard()
	if err := r.loadRoot(); err != nil {
		return nil, err
	}
	if r.trusted.Root.Signed.Version != rootVersion {
		ts.discard()
		ts = nil
	}
	if err := r.loadTimestamp(ts); err != nil {
		return nil, err
	}
	if err := r.loadSnapshot(); err != nil {
		return nil, err
	}
	if err := r.loadTargets(); err != nil {
		return nil, err
	}
	return &tufState{trusted: r.trusted, predownloaded: r.binAhead, snapshotNames: r.snapshotNames}, nil
}

func (r *tufRefresh) local(role string) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.dir, url.PathEscape(role)+".json"))
}

func (r *tufRefresh) download(role string, length int64, version string) ([]byte, error) {
	name := url.PathEscape(role) + ".json"
	if version != "" {
		name = version + "." + name
	}
	return r.fetcher.DownloadFile(r.url+name, length, 0)
}

// downloadListed fetches role as meta (its entry in the timestamp or
// snapshot) lists it: at most meta's length, or maxLength when meta gives
// none, under meta's version when consistent snapshots are on. The
// caller checks its spec_version.
func (r *tufRefresh) downloadListed(role string, meta *metadata.MetaFiles, maxLength int64) ([]byte, error) {
	length := meta.Length
	if length == 0 {
		length = maxLength
	}
	version := ""
	if r.trusted.Root.Signed.ConsistentSnapshot {
		version = strconv.FormatInt(meta.Version, 10)
	}
	return r.download(role, length, version)
}

// persist writes a verified role to the metadata directory, atomically
// and durably (after a power loss the file is the old one or the new one,
// never a torn one), with go-tuf's mode.
func (r *tufRefresh) persist(role string, data []byte) error {
	return atomicfile.WriteFile(filepath.Join(r.dir, url.PathEscape(role)+".json"), data, 0o644)
}

// loadRoot walks N+1.root.json forward until the repository answers 404.
func (r *tufRefresh) loadRoot() error {
	lower := r.trusted.Root.Signed.Version + 1
	for next := lower; next < lower+r.limits.MaxRootRotations; next++ {
		data, err := r.download(metadata.ROOT, r.limits.RootMaxLength, strconv.FormatInt(next, 10))
		if err != nil {
			var httpErr *metadata.ErrDownloadHTTP
			if errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusNotFound {
				break
			}
			return err
		}
		if err := checkSpecVersion(metadata.ROOT, data); err != nil {
			return err
		}
		if _, err := guardGoTUF(metadata.ROOT, func() (*metadata.Metadata[metadata.RootType], error) { return r.trusted.UpdateRoot(data) }); err != nil {
			return err
		}
		if err := r.persist(metadata.ROOT, data); err != nil {
			return err
		}
	}
	return nil
}

// loadTimestamp takes the new timestamp from pre (downloaded beside the
// root probe) if not nil, else downloads it.
func (r *tufRefresh) loadTimestamp(pre *ahead) error {
	if data, err := r.local(metadata.TIMESTAMP); err == nil && checkSpecVersion(metadata.TIMESTAMP, data) == nil {
		// A trusted local timestamp is the floor for rollback checks; an
		// invalid or unreadable one is ignored (the recorded floor still
		// holds), anything else is fatal.
		if _, err := guardGoTUF(metadata.TIMESTAMP, func() (*metadata.Metadata[metadata.TimestampType], error) { return r.trusted.UpdateTimestamp(data) }); err != nil && !localUnusable(err) {
			return err
		}
	}
	var data []byte
	var err error
	if pre != nil {
		data, err = pre.take(r.fetcher, metadata.TIMESTAMP)
	} else {
		data, err = r.download(metadata.TIMESTAMP, r.limits.TimestampMaxLength, "")
	}
	if err != nil {
		return err
	}
	if err := checkSpecVersion(metadata.TIMESTAMP, data); err != nil {
		return err
	}
	if _, err := guardGoTUF(metadata.TIMESTAMP, func() (*metadata.Metadata[metadata.TimestampType], error) { return r.trusted.UpdateTimestamp(data) }); err != nil {
		if errors.Is(err, &metadata.ErrEqualVersionNumber{}) {
			// Unchanged: keep the local one (if it is not below the floor).
			return r.floor.checkTimestamp(r.trusted)
		}
		return err
	}
	if err := r.floor.checkTimestamp(r.trusted); err != nil {
		return err
	}
	return r.persist(metadata.TIMESTAMP, data)
}

func (r *tufRefresh) loadSnapshot() error {
	// Each snapshot document is read once (readSnapshotDoc): its
	// spec_version is checked from that reading, as for bins.
	if data, err := r.local(metadata.SNAPSHOT); err == nil {
		if doc := readSnapshotDoc(data); doc.checkSpecVersion() == nil {
			err := updateSnapshotDoc(r.trusted, doc, true)
			if err == nil {
				r.keepSnapshotNames(doc)
				// The local snapshot is the current one.
				return r.floor.checkSnapshot(r.trusted)
			}
			if !localUnusable(err) {
				return err
			}
		}
	}
	if r.trusted.Timestamp == nil {
		return fmt.Errorf("trusted timestamp not set")
	}
	meta := r.trusted.Timestamp.Signed.Meta["snapshot.json"]
	if meta == nil {
		return &metadata.ErrRepository{Msg: "timestamp does not list snapshot.json"}
	}
	data, err := r.downloadListed(metadata.SNAPSHOT, meta, r.limits.SnapshotMaxLength)
	if err != nil {
		return err
	}
	doc := readSnapshotDoc(data)
	if err := doc.checkSpecVersion(); err != nil {
		return err
	}
	if err := updateSnapshotDoc(r.trusted, doc, false); err != nil {
		return err
	}
	r.keepSnapshotNames(doc)
	if err := r.floor.checkSnapshot(r.trusted); err != nil {
		return err
	}
	return r.persist(metadata.SNAPSHOT, data)
}

// keepSnapshotNames keeps doc's sorted names if doc's reading is the
// trusted snapshot now (the fast path installed it).
func (r *tufRefresh) keepSnapshotNames(doc snapshotDoc) {
	if doc.md != nil && r.trusted.Snapshot == doc.md {
		r.snapshotNames = doc.names
	}
}

func (r *tufRefresh) loadTargets() error {
	if data, err := r.local(metadata.TARGETS); err == nil && checkSpecVersion(metadata.TARGETS, data) == nil {
		md, err := guardGoTUF(metadata.TARGETS, func() (*metadata.Metadata[metadata.TargetsType], error) {
			return r.trusted.UpdateDelegatedTargets(data, metadata.TARGETS, metadata.ROOT)
		})
		if err == nil {
			return checkDelegatedNames(metadata.TARGETS, md)
		}
		if !localUnusable(err) {
			return err
		}
	}
	meta, ok := r.trusted.Snapshot.Signed.Meta["targets.json"]
	if !ok {
		return fmt.Errorf("role %s not found in snapshot", metadata.TARGETS)
	}
	bin, binAhead := r.binBeside()
	defer binAhead.discard()
	data, err := r.downloadListed(metadata.TARGETS, meta, r.limits.TargetsMaxLength)
	if err != nil {
		return err
	}
	if err := checkSpecVersion(metadata.TARGETS, data); err != nil {
		return err
	}
	md, err := guardGoTUF(metadata.TARGETS, func() (*metadata.Metadata[metadata.TargetsType], error) {
		return r.trusted.UpdateDelegatedTargets(data, metadata.TARGETS, metadata.ROOT)
	})
	if err != nil {
		return err
	}
	if err := checkDelegatedNames(metadata.TARGETS, md); err != nil {
		return err
	}
	if err := r.persist(metadata.TARGETS, data); err != nil {
		return err
	}
	// Only if the verified targets delegates hint to the guessed bin
	// first, where the walk goes first: a wrong guess is dropped unread.
	if binAhead != nil {
		if _, direct := md.Signed.Targets[r.hint]; !direct {
			if roles := rolesForTarget(md.Signed.Delegations, r.hint); len(roles) > 0 && roles[0].Name == bin {
				<-binAhead.done
				if binAhead.err == nil {
					r.binAhead = map[string][]byte{bin: binAhead.data}
				}
			}
		}
	}
	return nil
}

// binBeside starts downloading the hash bin guessBin names for r.hint
// from the trusted snapshot's role names (targets.json is not verified
// yet, so its delegation is not known), under the name and length limit
// the snapshot gives that role, as loadDelegated would download it. It
// returns nil when there is nothing to guess or the bin is already in
// the delegated directory (loadDelegated tries that copy first).
func (r *tufRefresh) binBeside() (string, *ahead) {
	if r.hint == "" || r.guessBin == nil || r.binPath == nil {
		return "", nil
	}
	snap := r.trusted.Snapshot.Signed.Meta
	bin := r.guessBin(snap, r.hint)
	meta := snap[bin+".json"]
	if bin == "" || meta == nil {
		return "", nil
	}
	if _, err := os.Stat(r.binPath(bin)); err == nil {
		return "", nil
	}
	length := meta.Length
	if length == 0 {
		length = r.limits.TargetsMaxLength
	}
	version := ""
	if r.trusted.Root.Signed.ConsistentSnapshot {
		version = strconv.FormatInt(meta.Version, 10)
	}
	return bin, r.fetchAhead(bin, version, length)
}

// guessSuccinctBin is the bin a TAP 15 succinct hash-bin delegation would
// give targetPath, if the snapshot's role names look like one: targets
// plus 2^k roles named PREFIX-HEX, one of them the guess. It is a guess
// from names only, never trusted: the bin it names is downloaded early
// and used only if the verified delegation assigns targetPath to it.
func guessSuccinctBin(snapshotMeta map[string]*metadata.MetaFiles, targetPath string) string {
	n := len(snapshotMeta) - 1
	if _, ok := snapshotMeta["targets.json"]; !ok || n < 2 || n&(n-1) != 0 || n > 1<<32 {
		return ""
	}
	var some string
	for name := range snapshotMeta {
		if name != "targets.json" {
			some = strings.TrimSuffix(name, ".json")
			break
		}
	}
	i := strings.LastIndexByte(some, '-')
	if i <= 0 {
		return ""
	}
	sr := metadata.SuccinctRoles{BitLength: bits.TrailingZeros(uint(n)), NamePrefix: some[:i]}
	guess := sr.GetRolesForTarget(targetPath)[0].Name
	if _, ok := snapshotMeta[guess+".json"]; !ok {
		return ""
	}
	return guess
}

// rollbackFloor is what the last successful refresh recorded in the
// freshness record (.tufpip-state and .tufpip-snapshot-versions): the
// versions it trusted, and the keys root gave timestamp and snapshot.
// go-tuf's floor is the local role files, and a damaged one is skipped;
// this record keeps the floor when that happens, so no local damage
// lowers it. It holds while root keeps the same keys for the role (a
// rotation may restart versions, TUF 5.3.11), as the local files would.
type rollbackFloor struct {
	st       diskState
	versions map[string]*metadata.MetaFiles // nil if unreadable
}

// readRollbackFloor returns the recorded floor, or nil when there is no
// usable record (none yet, an older tufpip's without keys, or damaged).
func readRollbackFloor(dir string) *rollbackFloor {
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil
	}
	st, err := parseDiskState(raw)
	if err != nil || st.Keys == nil {
		return nil
	}
	f := &rollbackFloor{st: st}
	if vdata, err := os.ReadFile(filepath.Join(dir, versionsFile)); err == nil {
		f.versions, _ = parseSnapshotVersions(vdata, st.Status.Roles[metadata.SNAPSHOT].Version)
	}
	return f
}

func (f *rollbackFloor) holds(t *trustedmetadata.TrustedMetadata, role string) bool {
	rec, ok := f.st.Keys[role]
	if !ok || len(rec.KeyIDs) == 0 {
		return false
	}
	cur := keysOf(t.Root, role)
	return cur.Threshold == rec.Threshold && slices.Equal(cur.KeyIDs, rec.KeyIDs)
}

// checkTimestamp refuses a new timestamp older than the recorded one, or
// naming an older snapshot, in go-tuf's words.
func (f *rollbackFloor) checkTimestamp(t *trustedmetadata.TrustedMetadata) error {
	if f == nil || t.Timestamp == nil || !f.holds(t, metadata.TIMESTAMP) {
		return nil
	}
	if have, want := t.Timestamp.Signed.Version, f.st.Status.Roles[metadata.TIMESTAMP].Version; have < want {
		return &MetadataError{Role: metadata.TIMESTAMP, Err: &metadata.ErrBadVersionNumber{Msg: fmt.Sprintf("new timestamp version %d must be >= %d", have, want)}}
	}
	if m := t.Timestamp.Signed.Meta["snapshot.json"]; m != nil {
		if want := f.st.Status.Roles[metadata.SNAPSHOT].Version; m.Version < want {
			return &MetadataError{Role: metadata.TIMESTAMP, Err: &metadata.ErrBadVersionNumber{Msg: fmt.Sprintf("new snapshot version %d must be >= %d", m.Version, want)}}
		}
	}
	return nil
}

// checkSnapshot refuses a snapshot that drops a role the recorded one
// listed or lists an older version of it.
func (f *rollbackFloor) checkSnapshot(t *trustedmetadata.TrustedMetadata) error {
	if f == nil || f.versions == nil || t.Snapshot == nil || !f.holds(t, metadata.SNAPSHOT) {
		return nil
	}
	for role, old := range f.versions {
		m, ok := t.Snapshot.Signed.Meta[role+".json"]
		if !ok {
			return &MetadataError{Role: metadata.SNAPSHOT, Err: &metadata.ErrRepository{Msg: fmt.Sprintf("new snapshot does not list %s.json, which the trusted snapshot listed", role)}}
		}
		if m.Version < old.Version {
			return &MetadataError{Role: metadata.SNAPSHOT, Err: &metadata.ErrBadVersionNumber{Msg: fmt.Sprintf("new snapshot lists %s.json version %d, older than the trusted version %d", role, m.Version, old.Version)}}
		}
	}
	return nil
}
