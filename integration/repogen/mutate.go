package repogen

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// changedBins compares two target sets and names the bins whose content
// differs, which are exactly the bins a real repository re-signs.
func (r *Repo) changedBins(before, after map[string]realTarget) []string {
	set := map[string]bool{}
	for p, a := range after {
		if b, ok := before[p]; !ok || b.length != a.length || !maps.Equal(b.hashes, a.hashes) {
			set[r.BinFor(p)] = true
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			set[r.BinFor(p)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// changeReleases runs change on the release list, then rewrites the pages
// of the projects it touched and publishes the bins whose targets moved,
// a new snapshot and a new timestamp.
func (r *Repo) changeReleases(change func() ([]string, error)) error {
	before := r.realTargets()
	touched, err := change()
	if err != nil {
		// Files already written for a half-done change stay on disk
		// unreferenced; the saved state is untouched.
		if rerr := r.reload(); rerr != nil {
			return fmt.Errorf("%w (and reloading state failed: %v)", err, rerr)
		}
		return err
	}
	for _, name := range touched {
		if err := r.writePages(r.st.Projects[name]); err != nil {
			return err
		}
	}
	if err := r.writeRootIndex(); err != nil {
		return err
	}
	return r.commit(r.changedBins(before, r.realTargets()))
}

// reload discards in-memory changes by rereading the saved state.
func (r *Repo) reload() error {
	st := &state{}
	if err := readJSON(filepath.Join(r.dir, stateDir, stateFile), st); err != nil {
		return err
	}
	r.st = st
	return nil
}

// AddRelease uploads a synthetic project's releases (a new project or new
// versions of an existing one), then re-signs what a repository would: the
// bins of the new files and of the project page, snapshot and timestamp.
// A file name that already exists is an error, as on PyPI.
func (r *Repo) AddRelease(spec ProjectSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changeReleases(func() ([]string, error) {
		if err := r.addProjectSpec(spec); err != nil {
			return nil, err
		}
		return []string{NormalizeName(spec.Name)}, nil
	})
}

// AddDistFiles uploads existing wheels and sdists, like AddRelease.
func (r *Repo) AddDistFiles(paths ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changeReleases(func() ([]string, error) {
		var touched []string
		for _, p := range paths {
			if err := r.addDistFiles([]string{p}); err != nil {
				return nil, err
			}
			project, _, _, err := parseDistFilename(filepath.Base(p))
			if err != nil {
				return nil, err
			}
			touched = append(touched, NormalizeName(project))
		}
		return touched, nil
	})
}

// AddTarget signs an arbitrary target path with data's length and hashes,
// for hostile-name tests ("../evil", absolute paths, NUL, very long names).
// The bytes are also written under packages/ when the path is a clean
// relative one that a file system can hold; otherwise the target exists
// only in the metadata.
func (r *Repo) AddTarget(targetPath string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if targetPath == "" {
		return fmt.Errorf("repogen: empty target path")
	}
	before := r.realTargets()
	if _, exists := before[targetPath]; exists {
		return fmt.Errorf("repogen: target %q already exists", targetPath)
	}
	if full, err := safeRel(filepath.Join(r.dir, packagesDir), targetPath); err == nil && fitsFilesystem(targetPath) {
		if err := writeFileAtomic(full, data, 0o644); err != nil {
			return fmt.Errorf("repogen: failed to store target %q: %w", targetPath, err)
		}
	}
	r.st.Custom = append(r.st.Custom, &customTarget{Path: targetPath, Length: int64(len(data)), Hashes: allHashes(data)})
	return r.commit(r.changedBins(before, r.realTargets()))
}

// Yank marks every file of project's version as yanked (PEP 592) with
// reason, which may be empty, re-rendering its pages and re-signing the
// page's bin, snapshot and timestamp.
func (r *Repo) Yank(project, version, reason string) error {
	return r.changeProject(project, func(name string, p *projectState) error {
		n := 0
		for _, f := range p.Files {
			if f.Version == version {
				f.Yanked, f.YankedReason = true, reason
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("repogen: %s has no version %s", name, version)
		}
		return nil
	})
}

// existingProject returns project's normalized name and state, or an
// error if the repository has no such project.
func (r *Repo) existingProject(project string) (string, *projectState, error) {
	name := NormalizeName(project)
	p := r.st.Projects[name]
	if p == nil {
		return name, nil, fmt.Errorf("repogen: no project %s", name)
	}
	return name, p, nil
}

// changeProject is changeReleases, under r's lock, for a change to the
// files of project, which must exist.
func (r *Repo) changeProject(project string, change func(name string, p *projectState) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changeReleases(func() ([]string, error) {
		name, p, err := r.existingProject(project)
		if err != nil {
			return nil, err
		}
		if err := change(name, p); err != nil {
			return nil, err
		}
		return []string{name}, nil
	})
}

// ResignOnline re-signs online roles with new versions and fresh expiry
// dates, as RSTUF does before they expire. With no arguments it re-signs
// every targets-type role (targets, every bin, and "bins" in the
// pep458-text layout); otherwise just the roles named. Snapshot and
// timestamp are always re-signed.
func (r *Repo) ResignOnline(roles ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(roles) == 0 {
		roles = r.targetsRoles()
	}
	var list []string
	for _, role := range roles {
		switch {
		case role == RoleSnapshot || role == RoleTimestamp:
		case r.isTargetsRole(role):
			list = append(list, role)
		default:
			return fmt.Errorf("repogen: %q is not an online role", role)
		}
	}
	return r.commit(list)
}

// RotateRoot replaces the root keys with newKeys fresh keys and the given
// threshold: it publishes root version N+1 signed by every old root key
// (so clients trusting N accept it) and every new one (so it meets its
// own threshold). trusted-root.json stays at version 1, as a shipped root
// would.
func (r *Repo) RotateRoot(newKeys, threshold int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if newKeys < 1 || threshold < 1 || threshold > newKeys {
		return fmt.Errorf("repogen: root threshold %d of %d keys is impossible", threshold, newKeys)
	}
	var fresh []*signingKey
	for range newKeys {
		k, err := r.newOnlineTypeKey()
		if err != nil {
			return err
		}
		fresh = append(fresh, k)
	}
	md, err := r.buildRoot(r.st.RootVersion+1, r.expiresFromNow(RoleRoot), fresh, threshold, r.online)
	if err != nil {
		return err
	}
	if err := r.writeRoot(md, append(slices.Clone(r.root), fresh...)...); err != nil {
		return err
	}
	if err := r.retireKeys(r.root...); err != nil {
		return err
	}
	r.root, r.st.RootVersion, r.st.RootThreshold = fresh, r.st.RootVersion+1, threshold
	if err := r.saveKeys(); err != nil {
		return err
	}
	return r.save()
}

// RotateOnlineKey replaces the online key: a new root version lists it for
// targets, snapshot and timestamp, and every targets-type role is
// re-signed with it (targets' delegation names it too), then snapshot and
// timestamp.
func (r *Repo) RotateOnlineKey() error {
	return r.rotateOnlineKey(false)
}

// rotateOnlineKey rotates the online key; restart also restarts the
// timestamp and snapshot versions at 1 (see RotateOnlineKeyRestart).
func (r *Repo) rotateOnlineKey(restart bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.newOnlineTypeKey()
	if err != nil {
		return err
	}
	md, err := r.buildRoot(r.st.RootVersion+1, r.expiresFromNow(RoleRoot), r.root, r.st.RootThreshold, k)
	if err != nil {
		return err
	}
	if err := r.writeRoot(md, r.root...); err != nil {
		return err
	}
	if err := r.retireKeys(r.online); err != nil {
		return err
	}
	r.online = k
	r.st.RootVersion++
	if err := r.saveKeys(); err != nil {
		return err
	}
	if restart {
		r.st.Roles[RoleTimestamp].Version = 0
		r.st.Roles[RoleSnapshot].Version = 0
	}
	return r.commit(r.targetsRoles())
}

// fitsFilesystem reports whether every segment of a slash path is a legal
// file name length (255 bytes on common file systems) without NUL.
func fitsFilesystem(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if len(seg) == 0 || len(seg) > 255 || strings.ContainsRune(seg, 0) {
			return false
		}
	}
	return true
}

// RemoveRelease deletes every file of project's version, as a maintainer
// deleting a release on PyPI does: its targets are no longer signed and
// its pages no longer list it, and the bins that signed them, snapshot
// and timestamp are re-signed. The files stay on disk, as on a mirror
// that still has them.
func (r *Repo) RemoveRelease(project, version string) error {
	return r.changeProject(project, func(name string, p *projectState) error {
		kept := p.Files[:0:0]
		for _, f := range p.Files {
			if f.Version != version {
				kept = append(kept, f)
			}
		}
		if len(kept) == len(p.Files) {
			return fmt.Errorf("repogen: %s has no version %s", name, version)
		}
		p.Files = kept
		return nil
	})
}
