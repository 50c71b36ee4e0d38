package index

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/tufpip/tufpip/updater"
)

// TrustedLookup is a Lookup that can also answer from the metadata it
// already trusts, without asking the repository (*updater.Updater does).
// Client.StillSigned needs it to decide whether a page verified earlier
// may be served while the repository is unreachable; without it, no page
// is served stale.
type TrustedLookup interface {
	// TrustedTarget is what the newest trusted metadata signs for path,
	// and that metadata's snapshot version (also when path is not
	// signed, or the error is ErrNotSigned).
	TrustedTarget(ctx context.Context, path string) (ti updater.TargetInfo, snapshot int64, err error)
}

// Why a remembered page was not served stale.
const (
	// staleChanged: the trusted metadata signs other bytes for the page.
	staleChanged = iota
	// staleUnsigned: the trusted metadata no longer signs the page.
	staleUnsigned
	// staleNoFiles: dists-only; not one file of the page is still signed
	// as it was.
	staleNoFiles
	// staleUnchecked: the trusted metadata could not be consulted.
	staleUnchecked
)

// SupersededError means the last verified page of a project was not
// served in place of one the repository could not deliver, because the
// metadata trusted now no longer vouches for it: serving it would undo a
// yank or a removal the repository signed since (Client.StillSigned).
// The proxy answers 503.
type SupersededError struct {
	Project string
	// Snapshot is the version of the trusted snapshot that was checked.
	Snapshot int64
	kind     int
	// Err is why the trusted metadata could not be consulted
	// (staleUnchecked only).
	Err error
	// Upstream is why the page was not fetched fresh.
	Upstream error
}

func (e *SupersededError) Error() string {
	var s string
	switch e.kind {
	case staleChanged:
		s = fmt.Sprintf("the last verified page is no longer what the repository signs (snapshot version %d); not serving it stale", e.Snapshot)
	case staleUnsigned:
		s = fmt.Sprintf("the repository no longer signs the last verified page (snapshot version %d); not serving it stale", e.Snapshot)
	case staleNoFiles:
		s = fmt.Sprintf("no file of the last verified page is still signed as it was (snapshot version %d); not serving it stale", e.Snapshot)
	default:
		s = fmt.Sprintf("the last verified page cannot be checked against the trusted metadata (%v); not serving it stale", e.Err)
	}
	return s + fmt.Sprintf(" (the repository is unreachable: %v)", e.Upstream)
}

func sameTarget(a, b updater.TargetInfo) bool {
	return a.Length == b.Length && maps.Equal(a.Hashes, b.Hashes)
}

// StillSigned applies the rule for serving a remembered page stale: only
// what the metadata trusted now still signs, byte for byte (length and
// hashes), may be served. Where the page is signed (pep458, index-only,
// simple-path), the trusted metadata must sign exactly the remembered
// page; its files were vouched for by that page (and, where files are
// targets, checked against it), so the page stands for them. In
// dists-only nothing signs the page, so each file is looked up again:
// files no longer signed with the same target info are left out, as a
// fresh verification of the same listing would leave them out, and if
// none is left the page is refused. The result may be vp itself or a
// reduced copy; vp is never modified. upstream is why the page could not
// be fetched fresh; a refusal is a *SupersededError carrying it.
//
// The rule is the client's, not the proxy's: it is a verification
// against the metadata the client's lookup trusts (TrustedLookup), and
// whoever serves a remembered page must apply it.
func (c *Client) StillSigned(ctx context.Context, vp *VerifiedPage, upstream error) (*VerifiedPage, error) {
	tl, ok := c.TUF.(TrustedLookup)
	refuse := func(kind int, snap int64, err error) error {
		return &SupersededError{Project: vp.Name, Snapshot: snap, kind: kind, Err: err, Upstream: upstream}
	}
	if !ok {
		return nil, refuse(staleUnchecked, 0, errors.New("the lookup cannot answer from trusted metadata alone"))
	}
	if vp.PageTarget != nil {
		ti, snap, err := tl.TrustedTarget(ctx, vp.PageTarget.Path)
		switch {
		case errors.Is(err, updater.ErrNotSigned):
			return nil, refuse(staleUnsigned, snap, nil)
		case err != nil:
			return nil, refuse(staleUnchecked, snap, err)
		case !sameTarget(ti, *vp.PageTarget):
			return nil, refuse(staleChanged, snap, nil)
		}
		return vp, nil
	}
	out := *vp
	out.Files = nil
	out.Omitted = append([]Omission(nil), vp.Omitted...)
	var snap int64
	for _, vf := range vp.Files {
		ti, s, err := tl.TrustedTarget(ctx, vf.Target.Path)
		snap = s
		if err != nil && !errors.Is(err, updater.ErrNotSigned) {
			return nil, refuse(staleUnchecked, snap, err)
		}
		if err != nil || !sameTarget(ti, vf.Target) {
			reason := fmt.Sprintf("no longer signed as it was when the page was verified (snapshot version %d)", snap)
			out.Omitted = append(out.Omitted, Omission{Filename: vf.Filename, Reason: reason})
			c.logger().Warn("file left out of the last verified page", "project", vp.Name, "file", vf.Filename, "reason", reason)
			continue
		}
		if vf.Metadata != nil {
			mi, _, err := tl.TrustedTarget(ctx, vf.Metadata.Path)
			if err != nil && !errors.Is(err, updater.ErrNotSigned) {
				return nil, refuse(staleUnchecked, snap, err)
			}
			if err != nil || !sameTarget(mi, *vf.Metadata) {
				vf.Metadata = nil // pip downloads the file instead
			}
		}
		out.Files = append(out.Files, vf)
	}
	if len(vp.Files) > 0 && len(out.Files) == 0 {
		return nil, refuse(staleNoFiles, snap, nil)
	}
	if len(out.Files) == len(vp.Files) && len(out.Omitted) == len(vp.Omitted) {
		return vp, nil
	}
	return &out, nil
}
