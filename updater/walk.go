package updater

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
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

// walk finds targetPath pre-order depth-first from the top-level targets,
// loading delegated roles as needed (from the metadata directory if they
// verify against the trusted snapshot, else from the repository). It
// returns the target, the role that signed it, and the earliest expiry
// among the targets roles from the top-level one down to that role, with
// the role that has it.
func (e *epoch) walk(targetPath string, cfg Config) (tf *metadata.TargetFiles, role, expiring string, expires time.Time, err error) {
	type visit struct{ role, parent string }
	set := e.tuf.GetTrustedMetadataSet() // shares the Updater's maps
	stack := []visit{{metadata.TARGETS, metadata.ROOT}}
	seen := map[string]bool{}
	parentOf := map[string]string{}
	for len(stack) > 0 && len(seen) <= cfg.Limits.MaxDelegations {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v.role] {
			continue
		}
		md, err := e.loadDelegated(&set, v.role, v.parent, cfg)
		if err != nil {
			return nil, v.role, "", time.Time{}, classify(err, v.role)
		}
		parentOf[v.role] = v.parent
		if tf, ok := md.Signed.Targets[targetPath]; ok {
			for r := v.role; r != metadata.ROOT; r = parentOf[r] {
				if ex := set.Targets[r].Signed.Expires; expires.IsZero() || ex.Before(expires) {
					expiring, expires = r, ex
				}
			}
			return tf, v.role, expiring, expires, nil
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
	return nil, "", "", time.Time{}, fmt.Errorf("%s: %w", targetPath, ErrNotSigned)
}

func (e *epoch) loadDelegated(set *metadataSet, role, parent string, cfg Config) (*metadata.Metadata[metadata.TargetsType], error) {
	if md, ok := set.Targets[role]; ok {
		return md, nil
	}
	local := filepath.Join(cfg.MetadataDir, url.PathEscape(role)+".json")
	if data, err := os.ReadFile(local); err == nil {
		md, err := set.UpdateDelegatedTargets(data, role, parent)
		if err == nil {
			return md, nil
		}
		if !localUnusable(err) {
			return nil, err
		}
		// Stale, invalid or unreadable: fetch the version the snapshot
		// names.
	}
	meta, ok := set.Snapshot.Signed.Meta[role+".json"]
	if !ok {
		return nil, &metadata.ErrRepository{Msg: fmt.Sprintf("role %s is not listed in the trusted snapshot", role)}
	}
	length := meta.Length
	if length == 0 {
		length = cfg.Limits.TargetsMaxLength
	}
	name := url.PathEscape(role) + ".json"
	if set.Root.Signed.ConsistentSnapshot {
		name = strconv.FormatInt(meta.Version, 10) + "." + name
	}
	data, err := e.fetcher.DownloadFile(cfg.MetadataURL+name, length, 0)
	if err != nil {
		return nil, err
	}
	md, err := set.UpdateDelegatedTargets(data, role, parent)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(local, data); err != nil {
		return nil, err // classify says "saving trusted <role>"
	}
	return md, nil
}
