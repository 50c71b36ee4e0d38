package multirepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
)

// Source is one repository the map names: its own client (its own
// updater, so its own trusted state, freshness window and epochs).
type Source struct {
	Client *index.Client
	// Before, if set, runs before each page of this repository is
	// verified (a refresh when the freshness window is off).
	Before func(ctx context.Context) error
}

// Resolver answers for a project from the repositories its mappings
// name, as TAP 4 says.
type Resolver struct {
	Map     *Map
	Sources map[string]*Source
	Logger  *slog.Logger
}

func (r *Resolver) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// UnmappedError is a project no mapping's patterns match: it is not
// served. It is an index.ErrProjectNotFound.
type UnmappedError struct{ Project string }

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("%s: no mapping of the map file matches it, so no repository is asked", e.Project)
}

func (e *UnmappedError) Unwrap() error { return index.ErrProjectNotFound }

// RepoFailure is one repository that did not vouch for a page.
type RepoFailure struct {
	Repository string
	Err        error
}

// ConsensusError is a mapping whose repositories did not give threshold
// verified pages of the project.
type ConsensusError struct {
	Mapping  Mapping
	Vouched  []string
	Failures []RepoFailure
	// Target is set for a target path (Map.Target): Vouched are then the
	// repositories that signed it, and Reason says why they did not make
	// the threshold (too few, or they disagree on length and hashes).
	Target string
	Reason string
}

func (e *ConsensusError) Error() string {
	var b strings.Builder
	if e.Target != "" {
		fmt.Fprintf(&b, "%s: %s", e.Mapping, e.Reason)
	} else {
		fmt.Fprintf(&b, "%s: %d of %d needed repositories vouched for the page", e.Mapping, len(e.Vouched), e.Mapping.Threshold)
		if len(e.Vouched) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(e.Vouched, ", "))
		}
	}
	for _, f := range e.Failures {
		msg := f.Err.Error()
		if e.Target != "" {
			// The message starts with the target path already.
			msg = strings.TrimPrefix(msg, e.Target+": ")
		}
		fmt.Fprintf(&b, "; %s: %s", f.Repository, msg)
	}
	return b.String()
}

// cause is the failure that decides how serious the error is: one that
// is not "not found" (for a target: "not signed") if there is one.
func (e *ConsensusError) cause() error {
	for _, f := range e.Failures {
		if !errors.Is(f.Err, index.ErrProjectNotFound) && !errors.Is(f.Err, updater.ErrNotSigned) {
			return f.Err
		}
	}
	if e.Target != "" {
		return updater.ErrNotSigned
	}
	for _, f := range e.Failures {
		if !errors.Is(f.Err, index.ErrProjectNotFound) {
			return f.Err
		}
	}
	return index.ErrProjectNotFound
}

func (e *ConsensusError) Unwrap() error { return e.cause() }

// NotResolvedError is a project whose matching mappings all failed.
// It unwraps to the most serious failure, so that a repository that is
// expired or attacked is not reported as "not found".
type NotResolvedError struct {
	Project string
	Tried   []*ConsensusError
	// Terminated is set when the last mapping tried was terminating.
	Terminated bool
}

func (e *NotResolvedError) Error() string {
	parts := make([]string, len(e.Tried))
	for i, c := range e.Tried {
		parts[i] = c.Error()
	}
	end := "no further mapping matches"
	if e.Terminated {
		end = fmt.Sprintf("mapping %d is terminating, so no other repository is asked", e.Tried[len(e.Tried)-1].Mapping.Index+1)
	}
	return fmt.Sprintf("%s: %s; %s", e.Project, strings.Join(parts, "; "), end)
}

func (e *NotResolvedError) Unwrap() error {
	for _, c := range e.Tried {
		if err := c.cause(); !errors.Is(err, index.ErrProjectNotFound) && !errors.Is(err, updater.ErrNotSigned) {
			return err
		}
	}
	for _, c := range e.Tried {
		if err := c.cause(); !errors.Is(err, index.ErrProjectNotFound) {
			return err
		}
	}
	return index.ErrProjectNotFound
}

// Page verifies project's page in the repositories of the first
// mapping that matches it and combines them: only files that threshold
// of the mapping's repositories list with identical length and hashes
// are kept, each with the names of those that vouched. A mapping that
// fails (fewer than threshold verified pages) ends the search if it is
// terminating, and otherwise passes to the next matching mapping.
func (r *Resolver) Page(ctx context.Context, project string) (*index.VerifiedPage, error) {
	if !packaging.ValidProjectName(project) {
		return nil, fmt.Errorf("invalid project name %q", project)
	}
	name := packaging.NormalizeName(project)
	route := r.Map.Route(name)
	if len(route) == 0 {
		return nil, &UnmappedError{Project: name}
	}
	nr := &NotResolvedError{Project: name}
	for _, m := range route {
		vp, err := r.consensus(ctx, name, m)
		if err == nil {
			r.logger().Info("verified page", "project", name, "mapping", m.Index+1, "repositories", strings.Join(vp.Repositories, ","), "files", len(vp.Files))
			return vp, nil
		}
		var ce *ConsensusError
		if !errors.As(err, &ce) {
			return nil, err
		}
		r.logger().Warn("mapping did not reach its threshold", "project", name, "mapping", m.Index+1, "err", err)
		nr.Tried = append(nr.Tried, ce)
		nr.Terminated = m.Terminating
	}
	return nil, nr
}

type repoPage struct {
	repo string
	vp   *index.VerifiedPage
	err  error
}

func (r *Resolver) consensus(ctx context.Context, name string, m Mapping) (*index.VerifiedPage, error) {
	pages := make([]repoPage, len(m.Repositories))
	var g errgroup.Group
	for i, repo := range m.Repositories {
		pages[i].repo = repo
		g.Go(func() error {
			src := r.Sources[repo]
			if src == nil || src.Client == nil {
				pages[i].err = fmt.Errorf("repository %q has no client", repo)
				return nil
			}
			if src.Before != nil {
				if err := src.Before(ctx); err != nil {
					pages[i].err = err
					return nil
				}
			}
			pages[i].vp, pages[i].err = src.Client.Page(ctx, name)
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ce := &ConsensusError{Mapping: m}
	var ok []repoPage
	for _, p := range pages {
		if p.err != nil {
			ce.Failures = append(ce.Failures, RepoFailure{Repository: p.repo, Err: p.err})
			continue
		}
		ce.Vouched = append(ce.Vouched, p.repo)
		ok = append(ok, p)
	}
	if len(ok) < m.Threshold {
		return nil, ce
	}
	return combine(name, m, ok), nil
}

// listing is one repository's entry for a file name.
type listing struct {
	repo string
	vf   index.VerifiedFile
}

// combine keeps the files that threshold repositories vouch for with
// identical length and hashes. pages are in the mapping's order, so the
// first repository of the mapping that vouches for a file serves it.
func combine(name string, m Mapping, pages []repoPage) *index.VerifiedPage {
	first := pages[0].vp
	out := &index.VerifiedPage{Name: name, Versions: first.Versions, PageTarget: first.PageTarget, Mapping: m.Index + 1}
	var order []string
	byName := map[string][]listing{}
	for _, p := range pages {
		out.Repositories = append(out.Repositories, p.repo)
		for _, o := range p.vp.Omitted {
			o.Reason = p.repo + ": " + o.Reason
			out.Omitted = append(out.Omitted, o)
		}
		for _, vf := range p.vp.Files {
			if _, seen := byName[vf.Filename]; !seen {
				order = append(order, vf.Filename)
			}
			byName[vf.Filename] = append(byName[vf.Filename], listing{repo: p.repo, vf: vf})
		}
	}
	for _, fn := range order {
		ls := byName[fn]
		vf, omit := decide(m, m.String(), ls)
		if omit != nil {
			out.Omitted = append(out.Omitted, *omit)
			continue
		}
		out.Files = append(out.Files, *vf)
	}
	return out
}

// decide applies the threshold to one file's listings. who names the
// mapping in the reason: "mapping 2 (pkg)" on a page, where the reason
// stands alone, or "the mapping" where the message already names it
// (ConsensusError of a target).
func decide(m Mapping, who string, ls []listing) (*index.VerifiedFile, *index.Omission) {
	fn := ls[0].vf.Filename
	repos := make([]string, len(ls))
	for i, l := range ls {
		repos[i] = l.repo
	}
	if len(ls) < m.Threshold {
		return nil, &index.Omission{Filename: fn, Consensus: true,
			Reason: fmt.Sprintf("only %s vouch(es) for it; %s needs %d of %s", strings.Join(repos, ", "), who, m.Threshold, strings.Join(m.Repositories, ", "))}
	}
	// Group the listings that agree, in the mapping's order.
	var groups [][]listing
	for _, l := range ls {
		placed := false
		for gi := range groups {
			if sameTarget(groups[gi][0].vf.Target, l.vf.Target) {
				groups[gi] = append(groups[gi], l)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []listing{l})
		}
	}
	var winners [][]listing
	for _, g := range groups {
		if len(g) >= m.Threshold {
			winners = append(winners, g)
		}
	}
	if len(winners) != 1 {
		parts := make([]string, len(groups))
		for i, g := range groups {
			names := make([]string, len(g))
			for j, l := range g {
				names[j] = l.repo
			}
			parts[i] = strings.Join(names, ", ") + " (" + describe(g[0].vf.Target) + ")"
		}
		return nil, &index.Omission{Filename: fn, Consensus: true,
			Reason: fmt.Sprintf("the repositories disagree on its length and hashes: %s; %s needs %d that agree", strings.Join(parts, " vs "), who, m.Threshold)}
	}
	win := winners[0]
	vf := win[0].vf
	vf.Repository = win[0].repo
	vf.Repositories = nil
	for _, l := range win {
		vf.Repositories = append(vf.Repositories, l.repo)
		// Core metadata is advertised only when every voucher vouches
		// for the same bytes.
		if vf.Metadata != nil && (l.vf.Metadata == nil || !sameTarget(*vf.Metadata, *l.vf.Metadata)) {
			vf.Metadata = nil
		}
	}
	return &vf, nil
}

// sameTarget: lengths equal (where both are known), every hash both
// give equal, and at least one supported hash in common.
func sameTarget(a, b updater.TargetInfo) bool {
	if a.Length != updater.UnknownLength && b.Length != updater.UnknownLength && a.Length != b.Length {
		return false
	}
	common := 0
	for alg, h := range a.Hashes {
		bh, ok := b.Hashes[alg]
		if !ok {
			continue
		}
		if !strings.EqualFold(h, bh) {
			return false
		}
		if slices.Contains(a.KnownHashes(), alg) {
			common++
		}
	}
	return common > 0
}

func describe(ti updater.TargetInfo) string {
	algs := ti.KnownHashes()
	sort.Strings(algs)
	var parts []string
	if ti.Length != updater.UnknownLength {
		parts = append(parts, fmt.Sprintf("%d bytes", ti.Length))
	}
	for _, alg := range algs {
		h := ti.Hashes[alg]
		if len(h) > 16 {
			h = h[:16] + "…"
		}
		parts = append(parts, alg+" "+h)
	}
	return strings.Join(parts, ", ")
}

// Open returns the verified, cached bytes of f through the client of
// the repository that serves it.
func (r *Resolver) Open(ctx context.Context, f index.VerifiedFile) (*cache.Entry, error) {
	c, err := r.client(f)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, f)
}

// OpenMetadata returns the verified core metadata of f.
func (r *Resolver) OpenMetadata(ctx context.Context, f index.VerifiedFile) (*cache.Entry, error) {
	c, err := r.client(f)
	if err != nil {
		return nil, err
	}
	return c.OpenMetadata(ctx, f)
}

func (r *Resolver) client(f index.VerifiedFile) (*index.Client, error) {
	src := r.Sources[f.Repository]
	if src == nil || src.Client == nil {
		return nil, fmt.Errorf("%s: no repository %q to fetch it from", f.Filename, f.Repository)
	}
	return src.Client, nil
}

// Projects is the union of the repositories' project lists, each name
// kept only if its route reaches a repository that lists it. No layout
// signs project lists; this is a convenience, never claimed verified.
// Repositories that fail are skipped.
func (r *Resolver) Projects(ctx context.Context) (*simple.ProjectList, error) {
	seen := map[string]bool{}
	out := &simple.ProjectList{}
	var errs []error
	for _, repo := range r.Map.Repositories {
		src := r.Sources[repo]
		if src == nil || src.Client == nil {
			continue
		}
		pl, err := src.Client.Projects(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", repo, err))
			continue
		}
		for _, p := range pl.Projects {
			n := packaging.NormalizeName(p)
			if seen[n] || !r.Map.Reaches(n, repo) {
				continue
			}
			seen[n] = true
			out.Projects = append(out.Projects, p)
		}
	}
	if len(errs) == len(r.Map.Repositories) && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
