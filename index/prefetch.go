package index

import (
	"archive/zip"
	"bufio"
	"cmp"
	"context"
	"io"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tufpip/tufpip/index/packaging"
)

// Defaults of a Prefetcher.
const (
	DefaultPrefetchWorkers    = 4
	DefaultPrefetchPerRequest = 32
	DefaultPrefetchQueue      = 256
	DefaultPrefetchTimeout    = 2 * time.Minute
	// maxMetadataHeaderBytes bounds what RequiresDist reads.
	maxMetadataHeaderBytes = 1 << 20
)

// Prefetcher verifies, in the background, the pages of the projects a
// verified distribution depends on, so that pip's next page request finds
// them in the PageCache. It runs the very verification a request would
// (Verify, through PageCache.Do, so a request arriving meanwhile joins it
// instead of fetching again); it only ever puts verified pages in the
// cache, and a failure is logged at debug level and otherwise forgotten:
// the request that later asks for the page verifies it again itself.
//
// Its zero value is not usable: Pages and Verify are required.
type Prefetcher struct {
	Pages *PageCache
	// Verify verifies and memoizes one page (the proxy's own page path).
	Verify PageFetch
	// Workers bounds the pages verified at once; 0 means
	// DefaultPrefetchWorkers.
	Workers int
	// PerRequest bounds the dependencies one file starts; 0 means
	// DefaultPrefetchPerRequest.
	PerRequest int
	// Queue bounds the names waiting; more are dropped. 0 means
	// DefaultPrefetchQueue.
	Queue int
	// Timeout bounds one page's prefetch; 0 means
	// DefaultPrefetchTimeout.
	Timeout time.Duration
	Logger  *slog.Logger

	mu      sync.Mutex
	pending map[string]bool // queued or running
	queue   []prefetchItem
	running int

	queued, verified, failed, dropped, skipped atomic.Int64
}

type prefetchItem struct {
	ctx  context.Context
	name string
}

// PrefetchStats counts what a Prefetcher did, for /-/status.
type PrefetchStats struct {
	Queued   int64 `json:"queued"`
	Verified int64 `json:"verified"`
	Failed   int64 `json:"failed"`
	Dropped  int64 `json:"dropped"`
	Skipped  int64 `json:"skipped_cached"`
	Running  int   `json:"running"`
}

// Stats returns the counters.
func (pf *Prefetcher) Stats() PrefetchStats {
	pf.mu.Lock()
	running := pf.running
	pf.mu.Unlock()
	return PrefetchStats{Queued: pf.queued.Load(), Verified: pf.verified.Load(), Failed: pf.failed.Load(),
		Dropped: pf.dropped.Load(), Skipped: pf.skipped.Load(), Running: running}
}

func (pf *Prefetcher) logger() *slog.Logger {
	if pf.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return pf.Logger
}

// FromMetadata starts prefetching the Requires-Dist projects of a
// verified core metadata file (PEP 658), at most PerRequest of them.
// ctx is the request's: the prefetch keeps its values but not its
// cancellation. It returns at once.
func (pf *Prefetcher) FromMetadata(ctx context.Context, r io.Reader) {
	names, err := RequiresDist(r)
	if err != nil {
		pf.logger().Debug("prefetch: reading Requires-Dist", "err", err)
	}
	pf.Enqueue(ctx, names...)
}

// FromWheel is FromMetadata for a verified wheel: its
// *.dist-info/METADATA.
func (pf *Prefetcher) FromWheel(ctx context.Context, ra io.ReaderAt, size int64) {
	md, err := wheelMetadata(ra, size)
	if err != nil || md == nil {
		pf.logger().Debug("prefetch: no METADATA read from the wheel (none, several, or not a zip)", "err", err)
		return
	}
	defer md.Close()
	pf.FromMetadata(ctx, md)
}

// Enqueue starts prefetching the pages of names (at most PerRequest of
// them) that are neither memoized nor already queued or running.
func (pf *Prefetcher) Enqueue(ctx context.Context, names ...string) {
	detached := context.WithoutCancel(ctx)
	limit := cmp.Or(pf.PerRequest, DefaultPrefetchPerRequest)
	if len(names) > limit {
		pf.dropped.Add(int64(len(names) - limit))
		names = names[:limit]
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.pending == nil {
		pf.pending = map[string]bool{}
	}
	for _, n := range names {
		name := packaging.NormalizeName(n)
		if pf.pending[name] {
			continue
		}
		if _, ok := pf.Pages.Get(name); ok {
			pf.skipped.Add(1)
			continue
		}
		if len(pf.queue) >= cmp.Or(pf.Queue, DefaultPrefetchQueue) {
			pf.dropped.Add(1)
			continue
		}
		pf.pending[name] = true
		pf.queue = append(pf.queue, prefetchItem{detached, name})
		pf.queued.Add(1)
	}
	for pf.running < cmp.Or(pf.Workers, DefaultPrefetchWorkers) && len(pf.queue) > pf.running {
		pf.running++
		go pf.work()
	}
}

// work verifies queued pages until the queue is empty.
func (pf *Prefetcher) work() {
	for {
		pf.mu.Lock()
		if len(pf.queue) == 0 {
			pf.running--
			pf.mu.Unlock()
			return
		}
		it := pf.queue[0]
		pf.queue = pf.queue[1:]
		pf.mu.Unlock()
		pf.one(it)
		pf.mu.Lock()
		delete(pf.pending, it.name)
		pf.mu.Unlock()
	}
}

func (pf *Prefetcher) one(it prefetchItem) {
	if _, ok := pf.Pages.Get(it.name); ok {
		pf.skipped.Add(1)
		return
	}
	ctx, cancel := context.WithTimeout(it.ctx, cmp.Or(pf.Timeout, DefaultPrefetchTimeout))
	defer cancel()
	start := time.Now()
	_, _, err := pf.Pages.Do(ctx, it.name, pf.Verify)
	if err != nil {
		pf.failed.Add(1)
		pf.logger().Debug("prefetch failed; the page will be verified when asked for", "project", it.name, "err", err)
		return
	}
	pf.verified.Add(1)
	pf.logger().Debug("prefetched page", "project", it.name, "duration", time.Since(start).Round(time.Microsecond))
}

// RequiresDist returns the normalized project names of the Requires-Dist
// fields of core metadata (the header part of an email-style message),
// each once, in order, those without an "extra" in their marker first.
// Markers are not evaluated: it is for prefetching, which may fetch more
// than pip will ask for. Lines that are not valid PEP 508 are skipped; the
// error reports the first.
func RequiresDist(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxMetadataHeaderBytes))
	sc.Buffer(make([]byte, 0, 4096), maxMetadataHeaderBytes)
	var fields []string
	in := false // the current header is Requires-Dist
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // the body (description) starts
		}
		if line[0] == ' ' || line[0] == '\t' {
			if in && len(fields) > 0 {
				fields[len(fields)-1] += " " + strings.TrimSpace(line)
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		in = ok && strings.EqualFold(strings.TrimSpace(key), "Requires-Dist")
		if in {
			fields = append(fields, strings.TrimSpace(val))
		}
	}
	var firstErr error
	if err := sc.Err(); err != nil {
		firstErr = err
	}
	seen := map[string]bool{}
	var plain, extra []string
	for _, f := range fields {
		req, err := packaging.ParseRequirement(f)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if seen[req.Project] {
			continue
		}
		seen[req.Project] = true
		if req.Marker != nil && strings.Contains(req.Marker.String(), "extra") {
			extra = append(extra, req.Project)
		} else {
			plain = append(plain, req.Project)
		}
	}
	return append(plain, extra...), firstErr
}

// wheelMetadata opens the METADATA of a wheel's one top-level
// *.dist-info directory; nil if there is none or more than one.
func wheelMetadata(ra io.ReaderAt, size int64) (io.ReadCloser, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, err
	}
	var found *zip.File
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		if base == "METADATA" && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, ".dist-info/") {
			if found != nil {
				return nil, nil
			}
			found = f
		}
	}
	if found == nil {
		return nil, nil
	}
	rc, err := found.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, maxMetadataHeaderBytes), rc}, nil
}
