package repogen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Kinds of bad root rotation for RotateRootBad.
const (
	// BadRootUnsignedByOld: the new root is signed only by its own new
	// keys, so a client trusting the old root must refuse it.
	BadRootUnsignedByOld = "unsigned-by-old"
	// BadRootBelowThreshold: signed by one old root key fewer than the old
	// threshold (and by every new key).
	BadRootBelowThreshold = "below-threshold"
	// BadRootUnsignedByNew: signed by the old keys but not by the new
	// ones, so it does not meet its own threshold.
	BadRootUnsignedByNew = "unsigned-by-new"
	// BadRootWrongVersion: correctly signed, but N+1.root.json says it is
	// version N+2.
	BadRootWrongVersion = "wrong-version"
)

// markerEndless and markerSlow are the suffixes of the files that tell
// the handler to serve a file endlessly or slowly.
const (
	markerEndless = ".endless"
	markerSlow    = ".slow"
)

// attackReplace changes a published file for an attack, keeping the
// legitimate bytes in .repogen/backup so Heal can restore them. data nil
// deletes the file.
func (r *Repo) attackReplace(rel string, data []byte) error {
	full, err := safeRel(r.dir, rel)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.st.Attacks, func(a attackRecord) bool { return a.Path == rel }) {
		rec := attackRecord{Path: rel}
		old, err := os.ReadFile(full)
		switch {
		case err == nil:
			rec.Existed = true
			sum := sha256.Sum256([]byte(rel))
			rec.Backup = hex.EncodeToString(sum[:16])
			if err := writeFileAtomic(filepath.Join(r.dir, stateDir, backupDir, rec.Backup), old, 0o644); err != nil {
				return fmt.Errorf("repogen: failed to back up %s: %w", rel, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("repogen: %w", err)
		}
		r.st.Attacks = append(r.st.Attacks, rec)
	}
	if data == nil {
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("repogen: %w", err)
		}
	} else if err := writeFileAtomic(full, data, 0o644); err != nil {
		return fmt.Errorf("repogen: failed to write %s: %w", rel, err)
	}
	return r.save()
}

// forgetAttack drops the attack record of rel because the legitimate
// repository has just rewritten it: Heal must not bring back older bytes.
func (r *Repo) forgetAttack(rel string) {
	r.st.Attacks = slices.DeleteFunc(r.st.Attacks, func(a attackRecord) bool {
		if a.Path != rel {
			return false
		}
		if a.Backup != "" {
			os.Remove(filepath.Join(r.dir, stateDir, backupDir, a.Backup))
		}
		return true
	})
}

// writeLegit is how the legitimate repository replaces a served file that
// is not a new consistent-snapshot version: atomically, and superseding
// any attack on it.
func (r *Repo) writeLegit(rel string, data []byte) error {
	full, err := safeRel(r.dir, rel)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(full, data, 0o644); err != nil {
		return err
	}
	r.forgetAttack(rel)
	return nil
}

// Heal undoes every attack: overwritten files get their legitimate bytes
// back, injected files and endless/slow markers go, and a new snapshot
// and timestamp (versions above anything an attack published) make the
// legitimate state current again. Expired roles stay expired: call
// ResignOnline or RotateRoot for those, as an operator would.
func (r *Repo) Heal() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.st.Attacks) - 1; i >= 0; i-- {
		a := r.st.Attacks[i]
		full, err := safeRel(r.dir, a.Path)
		if err != nil {
			return err
		}
		if a.Existed {
			backup := filepath.Join(r.dir, stateDir, backupDir, a.Backup)
			if err := os.Rename(backup, full); err != nil {
				return fmt.Errorf("repogen: failed to restore %s: %w", a.Path, err)
			}
		} else if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("repogen: %w", err)
		}
	}
	r.st.Attacks = nil
	return r.commitSnapshot()
}

// RotateRootBad publishes root N+1 the way a broken or malicious rotation
// would (kind is one of the BadRoot* constants). The repository's own
// state keeps root N, so a later RotateRoot overwrites the bad file.
func (r *Repo) RotateRootBad(kind string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fresh, err := r.newOnlineTypeKey()
	if err != nil {
		return err
	}
	next := r.st.RootVersion + 1
	version := next
	var signers []*signingKey
	switch kind {
	case BadRootUnsignedByOld:
		signers = []*signingKey{fresh}
	case BadRootBelowThreshold:
		signers = append(slices.Clone(r.root[:r.st.RootThreshold-1]), fresh)
	case BadRootUnsignedByNew:
		signers = slices.Clone(r.root)
	case BadRootWrongVersion:
		version = next + 1
		signers = append(slices.Clone(r.root), fresh)
	default:
		return fmt.Errorf("repogen: unknown bad root kind %q", kind)
	}
	md, err := r.buildRoot(version, r.expiresFromNow(RoleRoot), []*signingKey{fresh}, 1, r.online)
	if err != nil {
		return err
	}
	data, err := encodeMetadata(md, signers...)
	if err != nil {
		return err
	}
	return r.attackReplace(filepath.ToSlash(filepath.Join(metadataDir, versionedName(next, RoleRoot))), data)
}

// ExpireTimestamp publishes a new timestamp whose expiry has passed: a
// frozen repository, or an operator who missed a re-signing. Clients must
// refuse to go on.
func (r *Repo) ExpireTimestamp() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expireTimestamp()
}

func (r *Repo) expireTimestamp() error {
	r.bump(RoleTimestamp)
	r.st.Roles[RoleTimestamp].Expires = r.expiredNow()
	if err := r.publishTimestamp(r.st.Roles[RoleSnapshot].Version, true); err != nil {
		return err
	}
	return r.save()
}

// ExpireRole publishes a new, correctly signed version of role whose
// expiry has passed, then whatever must follow for clients to fetch it
// (new snapshot and timestamp). role is "root", "timestamp", "snapshot",
// "targets", "bins" (pep458-text) or a bin name.
func (r *Repo) ExpireRole(role string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case role == RoleRoot:
		md, err := r.buildRoot(r.st.RootVersion+1, r.expiredNow(), r.root, r.st.RootThreshold, r.online)
		if err != nil {
			return err
		}
		if err := r.writeRoot(md, r.root...); err != nil {
			return err
		}
		r.st.RootVersion++
		return r.save()
	case role == RoleTimestamp:
		return r.expireTimestamp()
	case role == RoleSnapshot:
		r.bump(RoleSnapshot)
		r.st.Roles[RoleSnapshot].Expires = r.expiredNow()
		return r.publishSnapshotAndTimestamp(nil, true)
	case r.isTargetsRole(role):
		r.bump(role)
		r.st.Roles[role].Expires = r.expiredNow()
		if i, ok := r.bins.indexOf(role); ok {
			if err := r.publishBins([]int{i}); err != nil {
				return err
			}
		} else if err := r.publishTargetsRole(role); err != nil {
			return err
		}
		return r.commitSnapshot()
	}
	return fmt.Errorf("repogen: unknown role %q", role)
}

// Rollback serves an older version of role, the rollback attack:
//   - "timestamp": timestamp.json is replaced by the previous legitimate
//     timestamp, as an attacker replaying it would.
//   - "snapshot": a new timestamp points at the previous snapshot version.
//   - "targets", "bins" or a bin: a new snapshot (and timestamp) lists the
//     role's previous version.
//
// The second and third need the online key, so they model a client that
// must compare against the versions it already trusts: a fresh client
// with no cached metadata can accept them. The role must have a previous
// version.
func (r *Repo) Rollback(role string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case role == RoleTimestamp:
		for v := r.st.Roles[RoleTimestamp].Version - 1; v >= 1; v-- {
			data, err := os.ReadFile(r.historyPath(v))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("repogen: %w", err)
			}
			return r.attackReplace(metadataDir+"/timestamp.json", data)
		}
		return fmt.Errorf("repogen: no older timestamp to roll back to")
	case role == RoleSnapshot:
		old := r.st.Roles[RoleSnapshot].Version - 1
		if old < 1 {
			return fmt.Errorf("repogen: snapshot has no older version")
		}
		r.bump(RoleTimestamp)
		if err := r.publishTimestamp(old, false); err != nil {
			return err
		}
		return r.save()
	case r.isTargetsRole(role):
		old := r.st.Roles[role].Version - 1
		if old < 1 {
			return fmt.Errorf("repogen: %s has no older version", role)
		}
		r.bump(RoleSnapshot)
		return r.publishSnapshotAndTimestamp(map[string]int64{role: old}, false)
	}
	return fmt.Errorf("repogen: cannot roll back %q", role)
}

// MixAndMatch serves, under the file name of role's current version, the
// bytes of its previous version, so the snapshot and the role disagree:
// metadata from two different repository states. role is "targets",
// "bins" (pep458-text) or a bin; empty picks the first bin that has a
// previous version.
func (r *Repo) MixAndMatch(role string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if role == "" {
		for _, b := range r.Bins() {
			if r.st.Roles[b].Version > 1 {
				role = b
				break
			}
		}
		if role == "" {
			return fmt.Errorf("repogen: no bin has an older version to mix in")
		}
	}
	if !r.isTargetsRole(role) {
		return fmt.Errorf("repogen: %q is not a targets role", role)
	}
	v := r.st.Roles[role].Version
	if v < 2 {
		return fmt.Errorf("repogen: %s has no older version", role)
	}
	old, err := os.ReadFile(r.metadataPath(versionedName(v-1, role)))
	if err != nil {
		return fmt.Errorf("repogen: %w", err)
	}
	return r.attackReplace(metadataDir+"/"+versionedName(v, role), old)
}

// roleFile is the published file name of role's current version.
func (r *Repo) roleFile(role string) (string, error) {
	switch {
	case role == RoleTimestamp:
		return metadataDir + "/timestamp.json", nil
	case role == RoleSnapshot || r.isTargetsRole(role):
		return metadataDir + "/" + versionedName(r.st.Roles[role].Version, role), nil
	}
	return "", fmt.Errorf("repogen: %q is not an online role", role)
}

// readRoleFile returns the published file name of role's current
// version (roleFile) and its bytes.
func (r *Repo) readRoleFile(role string) (rel string, data []byte, err error) {
	if rel, err = r.roleFile(role); err != nil {
		return "", nil, err
	}
	if data, err = os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(rel))); err != nil {
		return "", nil, fmt.Errorf("repogen: %w", err)
	}
	return rel, data, nil
}

// SignBinWithWrongKey replaces the current version of bin with the same
// content signed by a key nobody delegated to. The signature claims the
// online key's keyid, so a client has to check the signature itself, not
// just look for a known keyid. Any online role name works too.
func (r *Repo) SignBinWithWrongKey(bin string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rel, data, err := r.readRoleFile(bin)
	if err != nil {
		return err
	}
	wrong, err := r.newOnlineTypeKey()
	if err != nil {
		return err
	}
	switch bin {
	case RoleTimestamp:
		data, err = resignWrong(metadata.Timestamp(), data, wrong, r.online.id)
	case RoleSnapshot:
		data, err = resignWrong(metadata.Snapshot(), data, wrong, r.online.id)
	default:
		data, err = resignWrong(metadata.Targets(), data, wrong, r.online.id)
	}
	if err != nil {
		return err
	}
	return r.attackReplace(rel, data)
}

func resignWrong[T metadata.Roles](md *metadata.Metadata[T], data []byte, wrong *signingKey, claimedID string) ([]byte, error) {
	if _, err := md.FromBytes(data); err != nil {
		return nil, fmt.Errorf("repogen: failed to parse metadata: %w", err)
	}
	md.ClearSignatures()
	s, err := wrong.signer()
	if err != nil {
		return nil, err
	}
	if _, err := md.Sign(s); err != nil {
		return nil, fmt.Errorf("repogen: failed to sign: %w", err)
	}
	md.Signatures[0].KeyID = claimedID
	return indentMetadata(md)
}

// DropBin deletes the current version of a bin (or "targets"/"bins"), as a
// mirror that lost a file would. Clients looking up a target in it fail.
func (r *Repo) DropBin(bin string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.isTargetsRole(bin) {
		return fmt.Errorf("repogen: %q is not a bin", bin)
	}
	rel, err := r.roleFile(bin)
	if err != nil {
		return err
	}
	return r.attackReplace(rel, nil)
}

// TamperFile changes the bytes of a file under packages/ (a distribution
// or .metadata file, by its path relative to packages/) without touching
// any signature. keepLength flips one byte in the middle, so only a hash
// check catches it; otherwise bytes are appended, so a length check does.
func (r *Repo) TamperFile(path string, keepLength bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	full, err := safeRel(filepath.Join(r.dir, packagesDir), path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return fmt.Errorf("repogen: %w", err)
	}
	if keepLength {
		if len(data) == 0 {
			return fmt.Errorf("repogen: %s is empty; cannot keep its length", path)
		}
		data[len(data)/2] ^= 0xff
	} else {
		data = append(data, "\n# tampered by repogen\n"...)
	}
	return r.attackReplace(packagesDir+"/"+path, data)
}

// TamperPage changes every served form of a project's page (index.html,
// the current hashed page and index.json) without re-signing anything: it
// adds a link to a file the repository never published.
func (r *Repo) TamperPage(project string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, p, err := r.existingProject(project)
	if err != nil {
		return err
	}
	evil := &fileState{
		Filename: distName(name) + "-666.0.0-py3-none-any.whl",
		Version:  "666.0.0",
		Kind:     kindWheel,
		Path:     warehousePath(fmt.Sprintf("%064x", 0), distName(name)+"-666.0.0-py3-none-any.whl"),
		Hashes:   map[string]string{HashSHA256: fmt.Sprintf("%064x", 0)},
	}
	files := append(slices.Clone(p.Files), evil)
	page := renderProjectHTML(name, files)
	legit := r.projectPage(p)
	if bytes.Equal(page, legit) {
		return fmt.Errorf("repogen: tampering did not change the page")
	}
	dir := simpleDir + "/" + name + "/"
	for _, f := range []string{"index.html", r.hashedPageName(p)} {
		if err := r.attackReplace(dir+f, page); err != nil {
			return err
		}
	}
	return r.attackReplace(dir+"index.json", renderProjectJSON(name, files))
}

// ListOnPage adds a link to f, a signed file of another project, to
// project's index page (every served form of it): what a mirror can do
// where pages are not signed (the dists-only layout), to offer one
// project's genuine file as another's. In the layouts that sign pages the
// changed page no longer matches its signature. Heal restores the page.
func (r *Repo) ListOnPage(project string, f FileInfo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, p, err := r.existingProject(project)
	if err != nil {
		return err
	}
	owner := r.st.Projects[NormalizeName(f.Project)]
	var listed *fileState
	for _, fs := range owner.filesOrNil() {
		if fs.Filename == f.Filename && fs.Path == f.Path {
			listed = fs
		}
	}
	if listed == nil {
		return fmt.Errorf("repogen: %s is not a file of the repository", f.Filename)
	}
	files := append(slices.Clone(p.Files), listed)
	page := renderProjectHTML(name, files)
	dir := simpleDir + "/" + name + "/"
	for _, fn := range []string{"index.html", r.hashedPageName(p)} {
		if err := r.attackReplace(dir+fn, page); err != nil {
			return err
		}
	}
	return r.attackReplace(dir+"index.json", renderProjectJSON(name, files))
}

func (p *projectState) filesOrNil() []*fileState {
	if p == nil {
		return nil
	}
	return p.Files
}

// EndlessFile makes the server answer requests for servedPath (relative to
// the repository root, e.g. "metadata/timestamp.json" or
// "packages/<target path>") with an endless stream of bytes: the endless
// data attack. Heal removes it.
func (r *Repo) EndlessFile(servedPath string) error {
	return r.addMarker(servedPath, markerEndless, nil)
}

// SlowFile makes the server send servedPath at bytesPerSecond: the slow
// retrieval attack. Heal removes it.
func (r *Repo) SlowFile(servedPath string, bytesPerSecond int) error {
	if bytesPerSecond < 1 {
		return fmt.Errorf("repogen: rate must be at least 1 byte per second")
	}
	return r.addMarker(servedPath, markerSlow, []byte(strconv.Itoa(bytesPerSecond)))
}

func (r *Repo) addMarker(servedPath, suffix string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := safeRel(r.dir, servedPath); err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	return r.attackReplace(servedPath+suffix, data)
}
