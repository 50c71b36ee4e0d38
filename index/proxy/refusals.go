package proxy

import (
	"context"
	"sync"
	"time"
)

// DefaultRefusalTTL is how long the proxy answers a request it refused
// with a 5xx status from memory. pip retries a 500 or 503 five times,
// backing off 0.5, 1, 2 and 4 s between the later tries (7.5 s in all),
// and uv retries every 5xx; without the memo each try would be a full
// verification against the repository.
const DefaultRefusalTTL = 10 * time.Second

// refusalMemo remembers recent refusals by key ("page NAME", "file
// NAME/FILE"). It holds errors only: success is never remembered here.
type refusalMemo struct {
	mu sync.Mutex
	m  map[string]refusal
}

type refusal struct {
	err   error
	until time.Time
}

func (m *refusalMemo) get(key string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[key]
	if !ok {
		return nil
	}
	if !now.Before(r.until) {
		delete(m.m, key)
		return nil
	}
	return r.err
}

func (m *refusalMemo) put(key string, err error, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]refusal{}
	}
	if len(m.m) > 4096 {
		clear(m.m)
	}
	m.m[key] = refusal{err, until}
}

// remember memoizes err for key if it is a refusal clients retry (a 5xx
// status), unless ctx ended: a client that went away was not refused.
func (p *Handler) remember(ctx context.Context, key string, err error) {
	if p.cfg.RefusalTTL < 0 || ctx.Err() != nil || StatusFor(err) < 500 {
		return
	}
	ttl := p.cfg.RefusalTTL
	if ttl == 0 {
		ttl = DefaultRefusalTTL
	}
	p.refusals.put(key, err, p.now().Add(ttl))
}

// remembered returns the refusal memoized for key, or nil.
func (p *Handler) remembered(key string) error {
	err := p.refusals.get(key, p.now())
	if err != nil {
		p.cfg.Logger.Debug("answering with a remembered refusal", "key", key)
	}
	return err
}

// now is the proxy's clock, the page cache's (PageCache.Now).
func (p *Handler) now() time.Time {
	if p.cfg.Pages.Now != nil {
		return p.cfg.Pages.Now()
	}
	return time.Now()
}
