package index

import (
	"cmp"
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tufpip/tufpip/index/packaging"
)

// Verified pages are memoized two ways: PageCache for a server, which
// must see the repository change and serves a page for a short while
// only; PageOnce for one command run, which must see one repository
// state throughout.

// PageCache memoizes verified pages for a short time, so that pip's page
// request and its file requests that follow share one verification.
type PageCache struct {
	TTL time.Duration
	Now func() time.Time
	// FetchTimeout bounds one shared verification in Do, which runs
	// detached from its callers; 0 means DefaultPageFetchTimeout.
	FetchTimeout time.Duration

	mu    sync.Mutex
	pages map[string]pageEntry
	sf    singleflight.Group
}

// DefaultPageFetchTimeout bounds one shared page verification (Do).
const DefaultPageFetchTimeout = 2 * time.Minute

// PageFetch verifies (and memoizes, with Put or PutStale) one page; stale
// says it is the last verified page, served while upstream is down.
type PageFetch func(ctx context.Context, name string) (vp *VerifiedPage, stale bool, err error)

type fetchResult struct {
	vp    *VerifiedPage
	stale bool
}

// Do collapses concurrent verifications of name: the first caller's fetch
// runs, detached from its context (context.WithoutCancel, bounded by
// FetchTimeout), and every caller that arrives while it runs, a request
// or a prefetch, shares its result. A caller whose ctx ends stops waiting;
// the fetch goes on for the others and for the memo. Do does not look at
// the memo: callers do (Get, Memoized) first.
func (pc *PageCache) Do(ctx context.Context, name string, fetch PageFetch) (*VerifiedPage, bool, error) {
	detached := context.WithoutCancel(ctx)
	ch := pc.sf.DoChan(name, func() (any, error) {
		fctx, cancel := context.WithTimeout(detached, cmp.Or(pc.FetchTimeout, DefaultPageFetchTimeout))
		defer cancel()
		vp, stale, err := fetch(fctx, name)
		return fetchResult{vp, stale}, err
	})
	select {
	case res := <-ch:
		r, _ := res.Val.(fetchResult)
		return r.vp, r.stale, res.Err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

type pageEntry struct {
	vp *VerifiedPage
	at time.Time
	// stale: memoized from Stale while upstream was unreachable.
	stale bool
}

// Get returns a memoized page younger than TTL whose TUF metadata has
// not expired.
func (pc *PageCache) Get(name string) (*VerifiedPage, bool) {
	vp, _, ok := pc.Memoized(name)
	return vp, ok
}

// Memoized is Get, and also says whether the page was memoized with
// PutStale.
func (pc *PageCache) Memoized(name string) (vp *VerifiedPage, stale, ok bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.pages[name]
	now := pc.now()
	if !ok || now.Sub(e.at) >= pc.TTL {
		return nil, false, false
	}
	if until := e.vp.ValidUntil(); !until.IsZero() && !now.Before(until) {
		return nil, false, false
	}
	return e.vp, e.stale, true
}

// Stale returns the last page memoized for name, however old, as long as
// the TUF metadata that vouched for it has not expired (see
// VerifiedPage.ValidUntil). It is for when upstream cannot be reached.
func (pc *PageCache) Stale(name string) (*VerifiedPage, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.pages[name]
	if !ok {
		return nil, false
	}
	until := e.vp.ValidUntil()
	if until.IsZero() || !pc.now().Before(until) {
		return nil, false
	}
	return e.vp, true
}

// Put memoizes vp.
func (pc *PageCache) Put(vp *VerifiedPage) { pc.put(vp, false) }

// PutStale memoizes vp as the last verified page, served while upstream
// is unreachable, so that requests in the next TTL do not each wait for
// upstream to fail.
func (pc *PageCache) PutStale(vp *VerifiedPage) { pc.put(vp, true) }

func (pc *PageCache) put(vp *VerifiedPage, stale bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.pages == nil {
		pc.pages = map[string]pageEntry{}
	}
	if len(pc.pages) > 4096 {
		clear(pc.pages)
	}
	pc.pages[vp.Name] = pageEntry{vp, pc.now(), stale}
}

// now is the cache's clock: the Now field, or time.Now.
func (pc *PageCache) now() time.Time {
	if pc.Now != nil {
		return pc.Now()
	}
	return time.Now()
}

// Pager verifies project pages: a *Client, or a source combining
// several (index/multirepo).
type Pager interface {
	Page(ctx context.Context, project string) (*VerifiedPage, error)
}

// PageOnce verifies each project's page through Client at most once for
// as long as it lives (one command run): concurrent and later callers
// for the same project share the first one's result, error included, so
// that files of one project are all judged against the same page.
type PageOnce struct {
	// Client is a *Client, or anything else that verifies pages (a map
	// file's index/multirepo.Resolver).
	Client Pager

	sf   singleflight.Group
	mu   sync.Mutex
	done map[string]pageResult
}

type pageResult struct {
	vp  *VerifiedPage
	err error
}

// Page returns the verified page of project (Client.Page), verifying it
// only the first time. A caller whose ctx ends stops waiting.
func (po *PageOnce) Page(ctx context.Context, project string) (*VerifiedPage, error) {
	name := packaging.NormalizeName(project)
	if r, ok := po.result(name); ok {
		return r.vp, r.err
	}
	ch := po.sf.DoChan(name, func() (any, error) {
		// Another caller may have finished between result and DoChan.
		r, ok := po.result(name)
		if !ok {
			r.vp, r.err = po.Client.Page(ctx, name)
			po.mu.Lock()
			if po.done == nil {
				po.done = map[string]pageResult{}
			}
			po.done[name] = r
			po.mu.Unlock()
		}
		return r, nil
	})
	select {
	case res := <-ch:
		r := res.Val.(pageResult)
		return r.vp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (po *PageOnce) result(name string) (pageResult, bool) {
	po.mu.Lock()
	defer po.mu.Unlock()
	r, ok := po.done[name]
	return r, ok
}
