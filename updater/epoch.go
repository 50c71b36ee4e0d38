package updater

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

type metadataSet = trustedmetadata.TrustedMetadata

// epoch is one consistent view of the repository: either go-tuf's
// trusted metadata after one refresh (see tufRefresh), or (inside the freshness window, or offline) the
// verified files that such a refresh left in the metadata directory.
type epoch struct {
	mu          sync.Mutex // go-tuf's TrustedMetadata is not safe for concurrent use
	tuf         *tufState
	disk        *diskEpoch
	fetcher     *tufFetcher
	cfg         Config
	refreshedAt time.Time
	status      Status
	// verified holds the (delegator, role) pairs whose signatures have
	// been checked (see walkDelegations).
	verified map[[2]string]bool
	// predownloaded holds bytes of delegated roles fetched outside mu
	// (predownload), not yet verified: loadDelegated takes them instead
	// of downloading, and verifies them exactly as downloaded bytes.
	predownloaded map[string][]byte
	presf         singleflight.Group
}

func (e *epoch) earliestExpiry() time.Time {
	var min time.Time
	for _, name := range []string{"root", "timestamp", "snapshot", "targets"} {
		ex := e.status.Roles[name].Expires
		if ex.IsZero() {
			continue
		}
		if min.IsZero() || ex.Before(min) {
			min = ex
		}
	}
	return min
}

func (e *epoch) usable(now time.Time, cfg Config) bool {
	if ex := e.earliestExpiry(); !ex.IsZero() && !now.Add(cfg.ExpiryMargin).Before(ex) {
		return false
	}
	if cfg.Offline {
		return true
	}
	if cfg.Window == 0 && e.tuf != nil {
		return true
	}
	// A refresh in the clock's future (the clock was set back) must not
	// stretch the window; loadDiskEpoch applies the same rule.
	return now.Sub(e.refreshedAt) < cfg.Window && !e.refreshedAt.After(now.Add(time.Minute))
}

// staleError means cached metadata cannot answer; a refresh can. err, if
// set, is the answer when no refresh is possible (offline).
type staleError struct {
	reason string
	err    error
}

func (e *staleError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return "cached metadata cannot answer: " + e.reason
}

func (e *staleError) Unwrap() error { return e.err }

// predownload fetches, without holding mu, the delegated role the
// trusted top-level targets assigns targetPath to (its hash bin), when
// the online epoch has neither loaded it nor a local copy of it, so that
// concurrent lookups of different bins wait for the network side by side
// instead of one after another under mu. Only the download moves: the
// bytes are verified later, under mu, by loadDelegated, as if it had
// downloaded them itself. Failures are left for loadDelegated to meet
// (and report) again.
func (e *epoch) predownload(ctx context.Context, targetPath string) {
	if e.tuf == nil || e.fetcher == nil {
		return
	}
	e.mu.Lock()
	set := e.tuf.GetTrustedMetadataSet()
	top, ok := set.Targets["targets"]
	if !ok || top.Signed.Delegations == nil || set.Snapshot == nil {
		e.mu.Unlock()
		return
	}
	_, direct := top.Signed.Targets[targetPath]
	roles := rolesForTarget(top.Signed.Delegations, targetPath)
	if direct || len(roles) == 0 {
		e.mu.Unlock()
		return
	}
	role := roles[0].Name
	_, loaded := set.Targets[role]
	_, pending := e.predownloaded[role]
	meta, listed := set.Snapshot.Signed.Meta[role+".json"]
	consistent := set.Root.Signed.ConsistentSnapshot
	e.mu.Unlock()
	if loaded || pending || !listed {
		return
	}
	if _, err := os.Stat(delegatedPath(e.cfg, role)); err == nil {
		return // loadDelegated tries the local copy first
	}
	length := meta.Length
	if length == 0 {
		length = e.cfg.Limits.TargetsMaxLength
	}
	name := url.PathEscape(role) + ".json"
	if consistent {
		name = strconv.FormatInt(meta.Version, 10) + "." + name
	}
	v, err, _ := e.presf.Do(role, func() (any, error) {
		return e.fetcher.download(ctx, e.cfg.MetadataURL+name, length)
	})
	if err != nil {
		return
	}
	e.mu.Lock()
	if _, loaded := set.Targets[role]; !loaded {
		if e.predownloaded == nil {
			e.predownloaded = map[string][]byte{}
		}
		e.predownloaded[role] = v.([]byte)
	}
	e.mu.Unlock()
}

func (e *epoch) lookup(ctx context.Context, targetPath string) (TargetInfo, error) {
	e.predownload(ctx, targetPath)
	e.preload(targetPath)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	var (
		res  walkResult
		err  error
		snap = e.status.Roles["snapshot"].Version
	)
	if e.disk != nil {
		res, err = walkDelegations(targetPath, e.cfg.Limits.MaxDelegations, now, e.verified,
			func(name, parent string, parentMD *metadata.Metadata[metadata.TargetsType]) (*metadata.Metadata[metadata.TargetsType], bool, error) {
				return e.disk.loadRole(name, parent, parentMD)
			})
		var me *MetadataError
		var stale *staleError
		if errors.As(err, &me) && !errors.As(err, &stale) {
			// Verified files that fail now: let a refresh decide (or,
			// offline, this is the answer).
			err = &staleError{reason: "cached metadata does not verify", err: err}
		}
	} else {
		e.fetcher.setContext(ctx)
		res, err = walkDelegations(targetPath, e.cfg.Limits.MaxDelegations, now, e.verified, e.loadDelegated)
		e.fetcher.setContext(nil)
		var stale *staleError
		if errors.Is(err, ErrExpired) && !errors.As(err, &stale) {
			// go-tuf found it expired at the epoch's start: a newer
			// epoch (newer snapshot) may list a re-signed role.
			err = &staleError{reason: "a delegated role expired", err: err}
		}
	}
	if err != nil {
		return TargetInfo{}, err
	}
	ti := targetInfo(targetPath, res.tf, res.role, snap)
	ti.Expires = minTime(res.expires, e.earliestExpiry())
	return ti, nil
}

func targetInfo(path string, tf *metadata.TargetFiles, role string, snap int64) TargetInfo {
	ti := TargetInfo{Path: path, Length: tf.Length, Hashes: map[string]string{}, Role: role, SnapshotVersion: snap}
	for alg, h := range tf.Hashes {
		ti.Hashes[alg] = hex.EncodeToString(h)
	}
	return ti
}

// The freshness record. Names do not end in .json: the metadata directory
// holds only trusted metadata under .json names.
const (
	stateFile    = ".tufpip-state"
	versionsFile = ".tufpip-snapshot-versions"
)

type diskState struct {
	RefreshedAt time.Time `json:"refreshed_at"`
	Status      Status    `json:"status"`
	// Keys are the key IDs and threshold root gave timestamp and snapshot
	// at that refresh. The next refresh takes the recorded versions as
	// its rollback floor (even if a local role file is damaged) while
	// these are unchanged; a rotation may restart versions (TUF 5.3.11).
	Keys map[string]roleKeys `json:"keys,omitempty"`
}

type roleKeys struct {
	KeyIDs    []string `json:"keyids"`
	Threshold int      `json:"threshold"`
}

func keysOf(root *metadata.Metadata[metadata.RootType], role string) roleKeys {
	r := root.Signed.Roles[role]
	if r == nil {
		return roleKeys{}
	}
	ids := slices.Clone(r.KeyIDs)
	slices.Sort(ids)
	return roleKeys{KeyIDs: ids, Threshold: r.Threshold}
}

// writeDiskState records what a successful refresh verified, so that a
// later process inside the freshness window can trust the files in the
// metadata directory without fetching or re-parsing the snapshot.
// snapshotNames is as for encodeSnapshotVersions.
func writeDiskState(dir string, t metadataSet, now time.Time, snapshotNames []string) error {
	if t.Snapshot == nil || t.Timestamp == nil {
		return errors.New("incomplete trusted metadata")
	}
	versions := encodeSnapshotVersions(t.Snapshot.Signed.Version, t.Snapshot.Signed.Meta, snapshotNames)
	if err := writeAtomic(filepath.Join(dir, versionsFile), versions); err != nil {
		return err
	}
	st := diskState{RefreshedAt: now, Status: statusOf(t, "", now, "cache"), Keys: map[string]roleKeys{}}
	for _, role := range []string{metadata.TIMESTAMP, metadata.SNAPSHOT} {
		st.Keys[role] = keysOf(t.Root, role)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, stateFile), data)
}

// writeAtomic writes one of tufpip's own files in the metadata directory.
func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o600)
}

// diskEpoch answers lookups from verified files in the metadata
// directory. Each role file is re-verified when first read: against the
// length and hashes and the version the recorded snapshot lists, and
// against its delegator's keys; walkDelegations checks expiry at each
// lookup.
type diskEpoch struct {
	cfg      Config
	root     *metadata.Metadata[metadata.RootType]
	versions *snapshotVersions
	roles    map[string]*metadata.Metadata[metadata.TargetsType] // under epoch.mu
	presf    singleflight.Group
}

func (u *Updater) loadDiskEpoch(_ context.Context, offline bool) (*epoch, error) {
	dir := u.cfg.MetadataDir
	now := u.cfg.Now()
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no cached metadata: run a refresh while online first")
		}
		return nil, fmt.Errorf("reading cached refresh state: %w", err)
	}
	st, err := parseDiskState(raw)
	if err != nil {
		return nil, err
	}
	if !offline && now.Sub(st.RefreshedAt) >= u.cfg.Window {
		return nil, errors.New("cached metadata is older than the freshness window")
	}
	if st.RefreshedAt.After(now.Add(time.Minute)) && !offline {
		return nil, errors.New("cached metadata was refreshed in the future (clock skew)")
	}
	for _, name := range []string{"timestamp", "snapshot"} {
		rs := st.Status.Roles[name]
		if !now.Before(rs.Expires) {
			return nil, &MetadataError{Role: name, Err: fmt.Errorf("%w: cached %s version %d expired at %s", ErrExpired, name, rs.Version, rs.Expires.Format(time.RFC3339))}
		}
	}
	rootBytes, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil {
		return nil, fmt.Errorf("reading cached root: %w", err)
	}
	if err := checkSpecVersion(metadata.ROOT, rootBytes); err != nil {
		return nil, err
	}
	tm, err := trustedmetadata.New(rootBytes)
	if err != nil {
		return nil, &MetadataError{Role: "root", Err: err}
	}
	root := tm.Root
	if root.Signed.Version != st.Status.Roles["root"].Version {
		return nil, &staleError{reason: "root changed since the recorded refresh"}
	}
	if root.Signed.IsExpired(now) {
		return nil, &MetadataError{Role: "root", Err: fmt.Errorf("%w: root version %d expired at %s", ErrExpired, root.Signed.Version, root.Signed.Expires.Format(time.RFC3339))}
	}
	vdata, err := os.ReadFile(filepath.Join(dir, versionsFile))
	if err != nil {
		return nil, fmt.Errorf("reading cached snapshot versions: %w", err)
	}
	versions, err := openSnapshotVersions(vdata, st.Status.Roles["snapshot"].Version)
	if err != nil {
		return nil, err
	}
	de := &diskEpoch{cfg: u.cfg, root: root, versions: versions,
		roles: map[string]*metadata.Metadata[metadata.TargetsType]{}}
	status := st.Status
	status.MetadataURL = u.cfg.MetadataURL
	status.Source = "cache"
	e := &epoch{disk: de, cfg: u.cfg, refreshedAt: st.RefreshedAt, status: status, verified: map[[2]string]bool{}}
	u.mu.Lock()
	u.cur = e
	u.mu.Unlock()
	return e, nil
}

// preload verifies, without holding mu, the hash bin the disk epoch's
// top-level targets assigns targetPath to, when an earlier lookup loaded
// that targets role and no lookup has loaded the bin, so that lookups of
// different bins (tufpip verify's, the proxy's) verify them side by side
// on the machine's cores instead of one after another under mu. Only
// where the work runs changes: readRole makes every check loadRole makes,
// against the same delegator (the epoch's one top-level targets), and the
// bin and the (targets, bin) pair it was verified for are recorded under
// mu as loadRole and walkDelegations record them; the walk that follows
// still checks expiry at its own now and reads the target. A failure is
// left for the walk to meet (and report) again.
func (e *epoch) preload(targetPath string) {
	d := e.disk
	if d == nil {
		return
	}
	e.mu.Lock()
	top, ok := d.roles[metadata.TARGETS]
	e.mu.Unlock()
	if !ok || top.Signed.Delegations == nil {
		return // the first lookup loads targets under mu
	}
	if _, direct := top.Signed.Targets[targetPath]; direct {
		return
	}
	roles := rolesForTarget(top.Signed.Delegations, targetPath)
	if len(roles) == 0 {
		return
	}
	role := roles[0].Name
	e.mu.Lock()
	_, loaded := d.roles[role]
	e.mu.Unlock()
	if loaded {
		return
	}
	v, err, _ := d.presf.Do(role, func() (any, error) {
		return d.readRole(role, metadata.TARGETS, top)
	})
	if preloaded != nil {
		preloaded(role, err)
	}
	if err != nil {
		return
	}
	e.mu.Lock()
	if _, loaded := d.roles[role]; !loaded {
		d.roles[role] = v.(*metadata.Metadata[metadata.TargetsType])
		e.verified[[2]string{metadata.TARGETS, role}] = true
	}
	e.mu.Unlock()
}

// preloaded, if set (by tests), is told each bin preload verified and
// the outcome.
var preloaded func(role string, err error)

// loadRole is the disk epoch's roleLoader.
func (d *diskEpoch) loadRole(name, parent string, parentMD *metadata.Metadata[metadata.TargetsType]) (*metadata.Metadata[metadata.TargetsType], bool, error) {
	if md, ok := d.roles[name]; ok {
		return md, false, nil
	}
	md, err := d.readRole(name, parent, parentMD)
	if err != nil {
		return nil, false, err
	}
	d.roles[name] = md
	return md, true, nil
}

// readRole reads role name's file from the metadata directory and verifies
// it as delegated by parent (parentMD; nil for root): spec_version, the
// length, hashes and version the recorded snapshot lists, and parent's
// keys and threshold. It changes nothing in d, so it may run outside the
// epoch's lock (preload).
func (d *diskEpoch) readRole(name, parent string, parentMD *metadata.Metadata[metadata.TargetsType]) (*metadata.Metadata[metadata.TargetsType], error) {
	want, ok, err := d.versions.lookup(name)
	if err != nil {
		return nil, &staleError{reason: "cached snapshot versions are damaged", err: err}
	}
	if !ok {
		return nil, &staleError{reason: fmt.Sprintf("role %s is not in the cached snapshot versions", name)}
	}
	data, err := os.ReadFile(delegatedPath(d.cfg, name))
	if err != nil {
		return nil, &staleError{reason: fmt.Sprintf("%s not cached", name)}
	}
	doc := readTargetsDoc(data)
	if err := doc.checkSpecVersion(name); err != nil {
		return nil, &staleError{reason: "cached " + name + " has an unsupported spec_version", err: err}
	}
	// The snapshot's length and hashes, where it gives them, as the online
	// path checks them.
	if err := want.VerifyLengthHashes(data); err != nil {
		return nil, &staleError{reason: fmt.Sprintf("cached %s does not match the snapshot: %v", name, err)}
	}
	var delegator any = d.root
	if parent != metadata.ROOT {
		delegator = parentMD
	}
	md := doc.md
	if !doc.signedBy(delegator, name) {
		// Not the fast path's case, or it does not verify: go-tuf
		// decides and says why.
		var err error
		if md, err = guardGoTUF(name, func() (*metadata.Metadata[metadata.TargetsType], error) { return metadata.Targets().FromBytes(data) }); err != nil {
			return nil, &staleError{reason: fmt.Sprintf("cached %s unreadable: %v", name, err)}
		}
		if parent == metadata.ROOT {
			err = d.root.VerifyDelegate(name, md)
		} else {
			err = parentMD.VerifyDelegate(name, md)
		}
		if err != nil {
			return nil, &staleError{reason: fmt.Sprintf("cached %s does not verify: %v", name, err)}
		}
	}
	if md.Signed.Version != want.Version {
		return nil, &staleError{reason: fmt.Sprintf("cached %s is version %d, snapshot lists %d", name, md.Signed.Version, want.Version)}
	}
	return md, nil
}
