package repogen

import (
	"fmt"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// DelegateTargets moves targets out of their bins into a delegated role
// named role: each bin that signed one of paths stops signing it and
// delegates it (those paths only) to role instead, and role (version 1)
// signs them all. The new bin versions, a snapshot that also lists role,
// and a timestamp are published, all signed by the online key.
//
// With perBinKeys false, the bins delegate role to the online key, which
// signs it. With perBinKeys true, each bin delegates role to a key of its
// own, and role is signed by the key of paths[0]'s bin only: a role
// reachable through two delegators, of which only one vouches for it.
//
// It is for tests of delegation handling (a role named like a top-level
// role, a multi-delegator role); later mutations rebuild the bins
// without the delegation, and Heal does not undo it.
func (r *Repo) DelegateTargets(role string, paths []string, perBinKeys bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(paths) == 0 {
		return fmt.Errorf("repogen: no targets to delegate")
	}
	byBin := map[string][]string{}
	var order []string
	for _, p := range paths {
		b := r.BinFor(p)
		if _, ok := byBin[b]; !ok {
			order = append(order, b)
		}
		byBin[b] = append(byBin[b], p)
	}
	if perBinKeys && len(order) < 2 {
		return fmt.Errorf("repogen: per-bin keys need targets in two bins; %v are all in %s", paths, order[0])
	}
	roleMD := metadata.Targets(r.st.Roles[order[0]].Expires)
	roleMD.Signed.Version = 1
	var roleSigner *signingKey
	for _, bin := range order {
		_, data, err := r.readRoleFile(bin)
		if err != nil {
			return err
		}
		md, err := metadata.Targets().FromBytes(data)
		if err != nil {
			return fmt.Errorf("repogen: %w", err)
		}
		key := r.online
		if perBinKeys {
			if key, err = r.newOnlineTypeKey(); err != nil {
				return err
			}
		}
		if roleSigner == nil {
			roleSigner = key
		}
		for _, p := range byBin[bin] {
			tf, ok := md.Signed.Targets[p]
			if !ok {
				return fmt.Errorf("repogen: %s does not sign %s", bin, p)
			}
			delete(md.Signed.Targets, p)
			roleMD.Signed.Targets[p] = tf
		}
		if md.Signed.Delegations == nil {
			md.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
		}
		md.Signed.Delegations.Keys[key.id] = key.pub
		md.Signed.Delegations.Roles = append(md.Signed.Delegations.Roles, metadata.DelegatedRole{
			Name: role, KeyIDs: []string{key.id}, Threshold: 1, Paths: byBin[bin],
		})
		r.bump(bin)
		md.Signed.Version = r.st.Roles[bin].Version
		md.Signed.Expires = r.st.Roles[bin].Expires
		out, err := encodeMetadata(md, r.online)
		if err != nil {
			return err
		}
		if err := writeVersioned(r.metadataPath(versionedName(md.Signed.Version, bin)), out); err != nil {
			return err
		}
	}
	out, err := encodeMetadata(roleMD, roleSigner)
	if err != nil {
		return err
	}
	if err := writeVersioned(r.metadataPath(versionedName(1, role)), out); err != nil {
		return err
	}
	r.bump(RoleSnapshot)
	snap := r.buildSnapshot(nil)
	snap.Signed.Meta[role+".json"] = &metadata.MetaFiles{Version: 1}
	if out, err = encodeMetadata(snap, r.online); err != nil {
		return err
	}
	if err := writeVersioned(r.metadataPath(versionedName(snap.Signed.Version, RoleSnapshot)), out); err != nil {
		return err
	}
	r.bump(RoleTimestamp)
	if err := r.publishTimestamp(snap.Signed.Version, true); err != nil {
		return err
	}
	return r.save()
}

// SetSpecVersion replaces the current version of an online role
// ("timestamp", "snapshot", "targets", "bins" or a bin) with the same
// content declaring spec_version v, signed by the online key: metadata
// written for a TUF specification the client may not implement. Heal
// undoes it.
func (r *Repo) SetSpecVersion(role, v string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rel, data, err := r.readRoleFile(role)
	if err != nil {
		return err
	}
	var out []byte
	switch role {
	case RoleTimestamp:
		md, perr := metadata.Timestamp().FromBytes(data)
		if perr != nil {
			return fmt.Errorf("repogen: %w", perr)
		}
		md.Signed.SpecVersion = v
		out, err = encodeMetadata(md, r.online)
	case RoleSnapshot:
		md, perr := metadata.Snapshot().FromBytes(data)
		if perr != nil {
			return fmt.Errorf("repogen: %w", perr)
		}
		md.Signed.SpecVersion = v
		out, err = encodeMetadata(md, r.online)
	default:
		md, perr := metadata.Targets().FromBytes(data)
		if perr != nil {
			return fmt.Errorf("repogen: %w", perr)
		}
		md.Signed.SpecVersion = v
		out, err = encodeMetadata(md, r.online)
	}
	if err != nil {
		return err
	}
	return r.attackReplace(rel, out)
}
