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
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
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

func (e *epoch) lookup(ctx context.Context, targetPath string) (TargetInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.disk != nil {
		ti, err := e.disk.lookup(targetPath)
		ti.Expires = minTime(ti.Expires, e.earliestExpiry())
		return ti, err
	}
	e.fetcher.setContext(ctx)
	defer e.fetcher.setContext(nil)
	tf, role, expiring, expires, err := e.walk(targetPath, e.cfg)
	if errors.Is(err, ErrExpired) {
		// A newer epoch (newer snapshot) may list a re-signed role.
		return TargetInfo{}, &staleError{reason: "a delegated role expired", err: err}
	}
	if err != nil {
		return TargetInfo{}, err
	}
	// go-tuf checks a delegated role's expiry against the time the epoch
	// began; check it against now as well, since an epoch may outlive a
	// role it loaded. A newer epoch may find the role re-signed.
	if now := e.cfg.Now(); !expires.IsZero() && !now.Before(expires) {
		return TargetInfo{}, &staleError{reason: expiring + " expired", err: &MetadataError{Role: expiring,
			Err: fmt.Errorf("%w: %s expired at %s", ErrExpired, expiring, expires.Format(time.RFC3339))}}
	}
	ti := targetInfo(targetPath, tf, role, e.status.Roles["snapshot"].Version)
	ti.Expires = minTime(expires, e.earliestExpiry())
	return ti, nil
}

func targetInfo(path string, tf *metadata.TargetFiles, role string, snap int64) TargetInfo {
	ti := TargetInfo{Path: path, Length: tf.Length, Hashes: map[string]string{}, Role: role, SnapshotVersion: snap}
	for alg, h := range tf.Hashes {
		ti.Hashes[alg] = hex.EncodeToString(h)
	}
	return ti
}

// ValidTargetPath refuses target paths no repository of ours should sign
// and no file name should be built from: empty, absolute, with "." or ".."
// segments, NUL or control characters, invalid UTF-8, or absurdly long.
func ValidTargetPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty target path")
	case len(p) > 1024:
		return fmt.Errorf("target path of %d bytes is too long", len(p))
	case !utf8.ValidString(p):
		return errors.New("target path is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return errors.New("target path is absolute")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("target path contains forbidden character %q", r)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("target path has a %q segment", seg)
		}
	}
	return nil
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
}

// writeDiskState records what a successful refresh verified, so that a
// later process inside the freshness window can trust the files in the
// metadata directory without fetching or re-parsing the snapshot.
func writeDiskState(dir string, t metadataSet, now time.Time) error {
	if t.Snapshot == nil || t.Timestamp == nil {
		return errors.New("incomplete trusted metadata")
	}
	versions := encodeSnapshotVersions(t.Snapshot.Signed.Version, t.Snapshot.Signed.Meta)
	if err := writeAtomic(filepath.Join(dir, versionsFile), versions); err != nil {
		return err
	}
	st := diskState{RefreshedAt: now, Status: statusOf(t, "", now, "cache")}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, stateFile), data)
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tufpip-tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// diskEpoch answers lookups from verified files in the metadata
// directory. Each role file is re-verified against its delegator's keys,
// its version against the recorded snapshot and its expiry against now.
type diskEpoch struct {
	dir      string
	now      time.Time
	root     *metadata.Metadata[metadata.RootType]
	versions map[string]int64
	roles    map[string]*metadata.Metadata[metadata.TargetsType]
	maxDeleg int
	snapshot int64
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
	versions, err := parseSnapshotVersions(vdata, st.Status.Roles["snapshot"].Version)
	if err != nil {
		return nil, err
	}
	de := &diskEpoch{dir: dir, now: now, root: root, versions: versions,
		roles: map[string]*metadata.Metadata[metadata.TargetsType]{}, maxDeleg: u.cfg.Limits.MaxDelegations,
		snapshot: st.Status.Roles["snapshot"].Version}
	status := st.Status
	status.MetadataURL = u.cfg.MetadataURL
	status.Source = "cache"
	e := &epoch{disk: de, refreshedAt: st.RefreshedAt, status: status}
	u.mu.Lock()
	u.cur = e
	u.mu.Unlock()
	return e, nil
}

func (d *diskEpoch) loadRole(name string, delegator any) (*metadata.Metadata[metadata.TargetsType], error) {
	if md, ok := d.roles[name]; ok {
		return md, nil
	}
	want, ok := d.versions[name]
	if !ok {
		return nil, &staleError{reason: fmt.Sprintf("role %s is not in the cached snapshot versions", name)}
	}
	data, err := os.ReadFile(filepath.Join(d.dir, url.PathEscape(name)+".json"))
	if err != nil {
		return nil, &staleError{reason: fmt.Sprintf("%s not cached", name)}
	}
	md, err := metadata.Targets().FromBytes(data)
	if err != nil {
		return nil, &staleError{reason: fmt.Sprintf("cached %s unreadable: %v", name, err)}
	}
	switch p := delegator.(type) {
	case *metadata.Metadata[metadata.RootType]:
		err = p.VerifyDelegate(name, md)
	case *metadata.Metadata[metadata.TargetsType]:
		err = p.VerifyDelegate(name, md)
	}
	if err != nil {
		return nil, &staleError{reason: fmt.Sprintf("cached %s does not verify: %v", name, err)}
	}
	if md.Signed.Version != want {
		return nil, &staleError{reason: fmt.Sprintf("cached %s is version %d, snapshot lists %d", name, md.Signed.Version, want)}
	}
	if md.Signed.IsExpired(d.now) {
		// The repository may have re-signed it since: ask, unless offline.
		return nil, &staleError{reason: name + " expired", err: &MetadataError{Role: name,
			Err: fmt.Errorf("%w: %s version %d expired at %s", ErrExpired, name, md.Signed.Version, md.Signed.Expires.Format(time.RFC3339))}}
	}
	d.roles[name] = md
	return md, nil
}

// lookup walks the delegations pre-order depth-first, as go-tuf does.
func (d *diskEpoch) lookup(targetPath string) (TargetInfo, error) {
	type visit struct {
		role      string
		delegator any
		parent    string
	}
	stack := []visit{{metadata.TARGETS, d.root, metadata.ROOT}}
	seen := map[string]bool{}
	parentOf := map[string]string{}
	for len(stack) > 0 && len(seen) <= d.maxDeleg {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v.role] {
			continue
		}
		md, err := d.loadRole(v.role, v.delegator)
		if err != nil {
			return TargetInfo{}, err
		}
		parentOf[v.role] = v.parent
		if tf, ok := md.Signed.Targets[targetPath]; ok {
			ti := targetInfo(targetPath, tf, v.role, d.snapshot)
			for r := v.role; r != metadata.ROOT; r = parentOf[r] {
				ti.Expires = minTime(ti.Expires, d.roles[r].Signed.Expires)
			}
			return ti, nil
		}
		seen[v.role] = true
		var children []visit
		for _, r := range rolesForTarget(md.Signed.Delegations, targetPath) {
			children = append(children, visit{r.Name, md, v.role})
			if r.Terminating {
				stack = nil
				break
			}
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, children[i])
		}
	}
	return TargetInfo{}, fmt.Errorf("%s: %w", targetPath, ErrNotSigned)
}
