package multirepo

import (
	"context"
	"strings"
	"sync"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
)

// TargetLookup looks a target path up in one repository's signed
// metadata (its own updater, trusted state and freshness).
type TargetLookup func(ctx context.Context, repo, path string) (updater.TargetInfo, error)

// SignedTarget is a target path that threshold repositories of a
// mapping signed with identical length and hashes.
type SignedTarget struct {
	// Info is what Repository signed; its bytes must match it.
	Info updater.TargetInfo
	// Repository is the first of the mapping's repositories that signed
	// it (in the mapping's order): the one to fetch it from.
	Repository string
	// Repositories are those that agreed, in the mapping's order.
	Repositories []string
	Mapping      Mapping
}

// Target decides a target path (tufpip get) as Page decides a project:
// the map's patterns are matched against the path; the first matching
// mapping whose repositories give threshold identical signatures
// (length and hashes) decides, and a terminating mapping that does not
// ends the search. The error is an *UnmappedError when no mapping
// matches, else a *NotResolvedError that unwraps to the most serious
// failure (updater.ErrNotSigned when the repositories answered but too
// few signed it or they disagree).
func (m *Map) Target(ctx context.Context, path string, lookup TargetLookup) (*SignedTarget, error) {
	route := m.Route(path)
	if len(route) == 0 {
		return nil, &UnmappedError{Project: path}
	}
	nr := &NotResolvedError{Project: path}
	for _, mp := range route {
		infos := make([]updater.TargetInfo, len(mp.Repositories))
		errs := make([]error, len(mp.Repositories))
		var wg sync.WaitGroup
		for i, repo := range mp.Repositories {
			wg.Go(func() { infos[i], errs[i] = lookup(ctx, repo, path) })
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ce := &ConsensusError{Mapping: mp, Target: path}
		var ls []listing
		for i, repo := range mp.Repositories {
			if errs[i] != nil {
				ce.Failures = append(ce.Failures, RepoFailure{Repository: repo, Err: errs[i]})
				continue
			}
			ce.Vouched = append(ce.Vouched, repo)
			ls = append(ls, listing{repo: repo, vf: index.VerifiedFile{File: simple.File{Filename: path}, Target: infos[i]}})
		}
		if len(ls) == 0 {
			ce.Reason = "none of " + strings.Join(mp.Repositories, ", ") + " signed it"
		} else {
			vf, om := decide(mp, "the mapping", ls)
			if om == nil {
				return &SignedTarget{Info: vf.Target, Repository: vf.Repository, Repositories: vf.Repositories, Mapping: mp}, nil
			}
			ce.Reason = om.Reason
		}
		nr.Tried = append(nr.Tried, ce)
		nr.Terminated = mp.Terminating
	}
	return nil, nr
}
