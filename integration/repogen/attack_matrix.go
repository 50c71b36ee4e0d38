package repogen

import (
	"bytes"
	"fmt"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Kinds of bad signature for SignOnlineBad.
const (
	// BadSigUnknownKey: signed by a fresh key under its own key ID, a key
	// the repository never listed for any role.
	BadSigUnknownKey = "unknown-key"
	// BadSigOtherRoleKey: signed by a key the repository does list, but
	// for another role (the first root key).
	BadSigOtherRoleKey = "other-role-key"
	// BadSigNone: the signatures list is empty, below any threshold.
	BadSigNone = "none"
)

// SignOnlineBad replaces the current version of an online role
// ("timestamp", "snapshot", "targets", "bins" or a bin) with the same
// content signed the way kind (a BadSig* constant) says. Clients must
// refuse it: the threshold of the role's own keys is not met. Heal undoes
// it.
func (r *Repo) SignOnlineBad(role, kind string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rel, data, err := r.readRoleFile(role)
	if err != nil {
		return err
	}
	var key *signingKey
	switch kind {
	case BadSigUnknownKey:
		if key, err = r.newOnlineTypeKey(); err != nil {
			return err
		}
	case BadSigOtherRoleKey:
		key = r.root[0]
	case BadSigNone:
	default:
		return fmt.Errorf("repogen: unknown bad signature kind %q", kind)
	}
	switch role {
	case RoleTimestamp:
		data, err = resignAs(metadata.Timestamp(), data, key)
	case RoleSnapshot:
		data, err = resignAs(metadata.Snapshot(), data, key)
	default:
		data, err = resignAs(metadata.Targets(), data, key)
	}
	if err != nil {
		return err
	}
	return r.attackReplace(rel, data)
}

// resignAs replaces md's signatures with one by key under key's own ID, or
// with none when key is nil.
func resignAs[T metadata.Roles](md *metadata.Metadata[T], data []byte, key *signingKey) ([]byte, error) {
	if _, err := md.FromBytes(data); err != nil {
		return nil, fmt.Errorf("repogen: failed to parse metadata: %w", err)
	}
	md.ClearSignatures()
	if key != nil {
		s, err := key.signer()
		if err != nil {
			return nil, err
		}
		if _, err := md.Sign(s); err != nil {
			return nil, fmt.Errorf("repogen: failed to sign: %w", err)
		}
		md.Signatures[0].KeyID = key.id
	}
	return indentMetadata(md)
}

// TamperPageKeepLength changes every served form of a project's page
// without changing its length or re-signing anything: one hex digit of
// the sha256 that the page gives for its newest file is replaced, so only
// a hash check of the page catches it. It returns the changed filename.
func (r *Repo) TamperPageKeepLength(project string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := NormalizeName(project)
	p := r.st.Projects[name]
	if p == nil || len(p.Files) == 0 {
		return "", fmt.Errorf("repogen: no project %s with files", name)
	}
	f := p.Files[len(p.Files)-1]
	old := []byte(f.Hashes[HashSHA256])
	evil := bytes.Clone(old)
	if evil[len(evil)-1] == '0' {
		evil[len(evil)-1] = '1'
	} else {
		evil[len(evil)-1] = '0'
	}
	legit := r.projectPage(p)
	page := bytes.ReplaceAll(legit, old, evil)
	if bytes.Equal(page, legit) || len(page) != len(legit) {
		return "", fmt.Errorf("repogen: tampering did not change the page of %s in place", name)
	}
	dir := simpleDir + "/" + name + "/"
	for _, file := range []string{"index.html", r.hashedPageName(p)} {
		if err := r.attackReplace(dir+file, page); err != nil {
			return "", err
		}
	}
	js := bytes.ReplaceAll(renderProjectJSON(name, p.Files), old, evil)
	return f.Filename, r.attackReplace(dir+"index.json", js)
}

// RotateOnlineKeyRestart is RotateOnlineKey by an operator recovering from
// a fast-forward attack (or a compromise): the new online key comes with
// timestamp and snapshot versions restarted at 1. A client that trusted
// higher versions signed by the old key must drop them and follow (TUF
// specification 5.3.11); one whose keys did not change must not.
func (r *Repo) RotateOnlineKeyRestart() error {
	return r.rotateOnlineKey(true)
}
