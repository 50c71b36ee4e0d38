package updater

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

// tufState is the trusted metadata of one online epoch. It is built by
// refreshTUF, which is go-tuf 2.4.2's Updater.Refresh step for step (the
// same requests in the same order, the same files in the metadata
// directory, every check made by go-tuf's TrustedMetadata) except that the
// snapshot is verified by updateSnapshot. go-tuf's Updater offers no way
// to swap that one step, so the workflow around it lives here.
type tufState struct {
	trusted *trustedmetadata.TrustedMetadata
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

// run is go-tuf's onlineRefresh: root, timestamp, snapshot, targets.
func (r *tufRefresh) run() (*tufState, error) {
	if err := r.loadRoot(); err != nil {
		return nil, err
	}
	if err := r.loadTimestamp(); err != nil {
		return nil, err
	}
	if err := r.loadSnapshot(); err != nil {
		return nil, err
	}
	if err := r.loadTargets(); err != nil {
		return nil, err
	}
	return &tufState{trusted: r.trusted}, nil
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
// none, under meta's version when consistent snapshots are on; and
// checks its spec_version.
func (r *tufRefresh) downloadListed(role string, meta *metadata.MetaFiles, maxLength int64) ([]byte, error) {
	length := meta.Length
	if length == 0 {
		length = maxLength
	}
	version := ""
	if r.trusted.Root.Signed.ConsistentSnapshot {
		version = strconv.FormatInt(meta.Version, 10)
	}
	data, err := r.download(role, length, version)
	if err != nil {
		return nil, err
	}
	if err := checkSpecVersion(role, data); err != nil {
		return nil, err
	}
	return data, nil
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

func (r *tufRefresh) loadTimestamp() error {
	if data, err := r.local(metadata.TIMESTAMP); err == nil && checkSpecVersion(metadata.TIMESTAMP, data) == nil {
		// A trusted local timestamp is the floor for rollback checks; an
		// invalid or unreadable one is ignored (the recorded floor still
		// holds), anything else is fatal.
		if _, err := guardGoTUF(metadata.TIMESTAMP, func() (*metadata.Metadata[metadata.TimestampType], error) { return r.trusted.UpdateTimestamp(data) }); err != nil && !localUnusable(err) {
			return err
		}
	}
	data, err := r.download(metadata.TIMESTAMP, r.limits.TimestampMaxLength, "")
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
	if data, err := r.local(metadata.SNAPSHOT); err == nil && checkSpecVersion(metadata.SNAPSHOT, data) == nil {
		err := updateSnapshot(r.trusted, data, true)
		if err == nil {
			// The local snapshot is the current one.
			return r.floor.checkSnapshot(r.trusted)
		}
		if !localUnusable(err) {
			return err
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
	if err := updateSnapshot(r.trusted, data, false); err != nil {
		return err
	}
	if err := r.floor.checkSnapshot(r.trusted); err != nil {
		return err
	}
	return r.persist(metadata.SNAPSHOT, data)
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
	data, err := r.downloadListed(metadata.TARGETS, meta, r.limits.TargetsMaxLength)
	if err != nil {
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
	return r.persist(metadata.TARGETS, data)
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
