package updater

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

// rolesForTarget lists, in order, the delegated roles trusted for
// targetPath. It differs from go-tuf v2.4.2's Delegations.GetRolesForTarget
// in one place: path_hash_prefixes are compared with the hex digest, as
// the TUF specification and python-tuf do (go-tuf compares base64, so a
// PEP 458 "bin-n" layout finds nothing).
func rolesForTarget(d *metadata.Delegations, targetPath string) []metadata.RoleResult {
	if d == nil {
		return nil
	}
	if d.SuccinctRoles != nil {
		return d.SuccinctRoles.GetRolesForTarget(targetPath)
	}
	var out []metadata.RoleResult
	var hexHash string
	for _, r := range d.Roles {
		ok := false
		if len(r.Paths) > 0 {
			ok, _ = r.IsDelegatedPath(targetPath)
		} else if len(r.PathHashPrefixes) > 0 {
			if hexHash == "" {
				sum := sha256.Sum256([]byte(targetPath))
				hexHash = hex.EncodeToString(sum[:])
			}
			for _, p := range r.PathHashPrefixes {
				if strings.HasPrefix(hexHash, strings.ToLower(p)) {
					ok = true
					break
				}
			}
		}
		if ok {
			out = append(out, metadata.RoleResult{Name: r.Name, Terminating: r.Terminating})
		}
	}
	return out
}

// topLevelRoles are the names no delegated role may take: python-tuf
// refuses them too. A delegated "timestamp" would otherwise be read and
// written as the trusted timestamp (and so on), wherever role files are
// kept under their names. Compared ignoring case, so that a
// case-insensitive file system cannot make "Root" and "root" one file.
var topLevelRoles = []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS}

// checkDelegatedNames refuses the metadata of targets role role if it
// delegates to a role with an empty name or the name of a top-level role.
func checkDelegatedNames(role string, md *metadata.Metadata[metadata.TargetsType]) error {
	d := md.Signed.Delegations
	if d == nil {
		return nil
	}
	for _, r := range d.Roles {
		if r.Name == "" {
			return &MetadataError{Role: role, Err: errors.New("delegates to a role with an empty name")}
		}
		for _, top := range topLevelRoles {
			if strings.EqualFold(r.Name, top) {
				return &MetadataError{Role: role, Err: fmt.Errorf("delegates to a role named %q: delegated roles may not take the name of a top-level role", r.Name)}
			}
		}
	}
	return nil
}

// roleLoader returns targets role name as delegated by parent (whose
// verified metadata is parentMD; nil when parent is root). fresh says it
// loaded the role and verified it against parent's delegation just now;
// otherwise md is a copy kept from an earlier load, verified against the
// delegator that reached it then.
type roleLoader func(name, parent string, parentMD *metadata.Metadata[metadata.TargetsType]) (md *metadata.Metadata[metadata.TargetsType], fresh bool, err error)

// walkResult is what a delegation walk found: the target, the role that
// signed it, and the earliest expiry among the targets roles from the
// top-level one down to that role, with the role that has it.
type walkResult struct {
	tf       *metadata.TargetFiles
	role     string
	expiring string
	expires  time.Time
}

// walkDelegations finds targetPath pre-order depth-first from the
// top-level targets, as go-tuf and python-tuf do. Both epochs use it,
// with their own loader. It holds every role it reaches to the rules
// the online workflow applies:
//   - a role reached through a delegator is verified against that
//     delegator's delegation (its keys and threshold), even when a copy
//     verified for another delegator is at hand: verified records the
//     (delegator, role) pairs checked so far, across lookups;
//   - no role may be expired at now (the time of the lookup, not of the
//     refresh that loaded it);
//   - no role may delegate to a top-level role's name.
func walkDelegations(targetPath string, maxDeleg int, now time.Time, verified map[[2]string]bool, load roleLoader) (walkResult, error) {
	type visit struct{ role, parent string }
	stack := []visit{{metadata.TARGETS, metadata.ROOT}}
	seen := map[string]bool{}
	parentOf := map[string]string{}
	loaded := map[string]*metadata.Metadata[metadata.TargetsType]{}
	for len(stack) > 0 && len(seen) <= maxDeleg {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v.role] {
			continue
		}
		parentMD := loaded[v.parent]
		md, fresh, err := load(v.role, v.parent, parentMD)
		if err != nil {
			return walkResult{role: v.role}, err
		}
		pair := [2]string{v.parent, v.role}
		if !fresh && !verified[pair] && parentMD != nil {
			if err := parentMD.VerifyDelegate(v.role, md); err != nil {
				return walkResult{role: v.role}, &MetadataError{Role: v.role, Err: fmt.Errorf("as delegated by %s: %w", v.parent, err)}
			}
		}
		verified[pair] = true
		if md.Signed.IsExpired(now) {
			err := &MetadataError{Role: v.role, Err: fmt.Errorf("%w: %s version %d expired at %s", ErrExpired, v.role, md.Signed.Version, md.Signed.Expires.Format(time.RFC3339))}
			// The repository may have re-signed it since: a refresh can
			// answer, unless offline.
			return walkResult{role: v.role}, &staleError{reason: v.role + " expired", err: err}
		}
		if err := checkDelegatedNames(v.role, md); err != nil {
			return walkResult{role: v.role}, err
		}
		loaded[v.role] = md
		parentOf[v.role] = v.parent
		if tf, ok := md.Signed.Targets[targetPath]; ok {
			res := walkResult{tf: tf, role: v.role}
			for r := v.role; r != metadata.ROOT; r = parentOf[r] {
				if ex := loaded[r].Signed.Expires; res.expires.IsZero() || ex.Before(res.expires) {
					res.expiring, res.expires = r, ex
				}
			}
			return res, nil
		}
		seen[v.role] = true
		var children []visit
		for _, r := range rolesForTarget(md.Signed.Delegations, targetPath) {
			children = append(children, visit{r.Name, v.role})
			if r.Terminating {
				stack = nil
				break
			}
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, children[i])
		}
	}
	return walkResult{}, fmt.Errorf("%s: %w", targetPath, ErrNotSigned)
}

// delegatedPath is where a delegated role's verified metadata is kept:
// under its path-escaped name in cfg.DelegatedDir (a subdirectory of the
// metadata directory by default, out of reach of the top-level roles'
// files and tufpip's state files whatever the name). The top-level
// targets role stays in the metadata directory.
func delegatedPath(cfg Config, role string) string {
	if role == metadata.TARGETS {
		return filepath.Join(cfg.MetadataDir, role+".json")
	}
	return filepath.Join(cfg.DelegatedDir, url.PathEscape(role)+".json")
}

// loadDelegated is the online epoch's roleLoader: the role from the
// trusted set if loaded before, else from the delegated directory if it
// verifies against the trusted snapshot and parent, else from the
// repository.
func (e *epoch) loadDelegated(role, parent string, _ *metadata.Metadata[metadata.TargetsType]) (*metadata.Metadata[metadata.TargetsType], bool, error) {
	cfg := e.cfg
	set := e.tuf.GetTrustedMetadataSet() // shares the trusted set's maps
	if md, ok := set.Targets[role]; ok {
		return md, false, nil
	}
	local := delegatedPath(cfg, role)
	if data, err := os.ReadFile(local); err == nil {
		if doc := readTargetsDoc(data); doc.checkSpecVersion(role) == nil {
			md, err := updateDelegatedTargets(&set, doc, role, parent)
			if err == nil {
				return md, true, nil
			}
			if !localUnusable(err) {
				return nil, false, classify(err, role)
			}
		}
		// Stale, invalid or unreadable: fetch the version the snapshot
		// names.
	}
	meta, ok := set.Snapshot.Signed.Meta[role+".json"]
	if !ok {
		return nil, false, &MetadataError{Role: role, Err: &metadata.ErrRepository{Msg: fmt.Sprintf("role %s is not listed in the trusted snapshot", role)}}
	}
	length := meta.Length
	if length == 0 {
		length = cfg.Limits.TargetsMaxLength
	}
	name := url.PathEscape(role) + ".json"
	if set.Root.Signed.ConsistentSnapshot {
		name = strconv.FormatInt(meta.Version, 10) + "." + name
	}
	data, ok := e.predownloaded[role]
	delete(e.predownloaded, role)
	var err error
	if !ok || int64(len(data)) > length {
		data, err = e.fetcher.DownloadFile(cfg.MetadataURL+name, length, 0)
	}
	if err != nil {
		return nil, false, classify(err, role)
	}
	doc := readTargetsDoc(data)
	if err := doc.checkSpecVersion(role); err != nil {
		return nil, false, err
	}
	md, err := updateDelegatedTargets(&set, doc, role, parent)
	if errors.Is(err, &metadata.ErrUnsignedMetadata{}) {
		// Name the delegation whose keys it fails: a role may be
		// delegated by more than one.
		err = fmt.Errorf("as delegated by %s: %w", parent, err)
	}
	if err != nil {
		return nil, false, classify(err, role)
	}
	if err := writeRoleFile(cfg, local, data); err != nil {
		return nil, false, classify(err, role) // "saving trusted <role>"
	}
	return md, true, nil
}

// writeRoleFile writes a verified role file to path through a temporary
// file in the metadata directory itself (where cache.CleanTemp finds
// crash leftovers), creating the delegated directory if needed.
func writeRoleFile(cfg Config, path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteVia(cfg.MetadataDir, path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
