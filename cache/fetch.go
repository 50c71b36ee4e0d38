package cache

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tufpip/tufpip/updater"
)

// fetchAttempts bounds how often Fetch retries when the artifact it just
// stored is gone before the caller could open it (evicted by a store too
// small for the concurrency, or removed by another process).
const fetchAttempts = 3

// flight is one download shared by every concurrent Fetch of the same
// content address in this process. Its context outlives the caller that
// started it, so one impatient client cannot abort the download others are
// waiting for, and is cancelled when the last waiter gives up, so nobody
// keeps downloading a file no one wants.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// Fetch returns the verified artifact for ti, downloading it with open only
// if the store has no valid copy. Concurrent Fetches of one artifact in this
// process share a single download; each caller gets its own open Entry.
// open's reader is closed by Fetch.
//
// Only Put's verification decides what is stored: open may return any
// bytes.
func (s *Store) Fetch(ctx context.Context, ti updater.TargetInfo, open func(ctx context.Context) (io.ReadCloser, error)) (*Entry, error) {
	return s.FetchLimited(ctx, ti, 0, open)
}

// FetchLimited is Fetch for an artifact that may not exceed maxLength
// bytes (see PutLimited); maxLength <= 0 is Fetch.
func (s *Store) FetchLimited(ctx context.Context, ti updater.TargetInfo, maxLength int64, open func(ctx context.Context) (io.ReadCloser, error)) (*Entry, error) {
	a, err := s.address(ti)
	if err != nil {
		return nil, err
	}
	if err := checkSignedLength(ti, maxLength); err != nil {
		// Not even a stored copy: the caller does not want it.
		return nil, err
	}
	var lastErr error
	for range fetchAttempts {
		e, err := s.open(ctx, a, ti)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, ErrNotCached) {
			return nil, err
		}
		if err := s.join(ctx, a, ti, maxLength, open); err != nil {
			return nil, err
		}
		// Stored; open it for this caller (cheap: the memo vouches for it).
		e, err = s.open(ctx, a, ti)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, ErrNotCached) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("fetching %s: stored copy kept disappearing: %w", ti.Path, lastErr)
}

// join waits for the shared download of a, starting it if none is running.
func (s *Store) join(ctx context.Context, a address, ti updater.TargetInfo, maxLength int64, open func(context.Context) (io.ReadCloser, error)) error {
	key := a.path
	s.mu.Lock()
	fl := s.flights[key]
	if fl == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		fl = &flight{ctx: fctx, cancel: cancel}
		s.flights[key] = fl
		// A call still finishing for an abandoned flight must not be
		// joined: its context is cancelled. Start afresh.
		s.sf.Forget(key)
	}
	fl.waiters++
	ch := s.sf.DoChan(key, func() (any, error) {
		return nil, s.fill(fl.ctx, a, ti, maxLength, open)
	})
	s.mu.Unlock()

	leave := func() (last bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		fl.waiters--
		if fl.waiters == 0 {
			fl.cancel()
			if s.flights[key] == fl {
				delete(s.flights, key)
			}
			return true
		}
		return false
	}
	select {
	case res := <-ch:
		leave()
		return res.Err
	case <-ctx.Done():
		if leave() {
			// The last waiter waits for the cancelled download to remove
			// its temporary file: a process that exits right after an
			// interrupt must not leave partial bytes behind. The wait is
			// short: the download's reads honour the cancelled context.
			<-ch
		}
		return fmt.Errorf("fetching %s: %w", ti.Path, context.Cause(ctx))
	}
}

// fill makes sure a valid copy of the artifact is stored: an earlier flight
// or another process may have stored it since the caller looked.
func (s *Store) fill(ctx context.Context, a address, ti updater.TargetInfo, maxLength int64, open func(context.Context) (io.ReadCloser, error)) error {
	e, err := s.open(ctx, a, ti)
	if err == nil {
		return e.Close()
	}
	if !errors.Is(err, ErrNotCached) {
		return err
	}
	if s.remote != nil && s.fillFromRemote(ctx, a, ti, maxLength) {
		return nil
	}
	rc, err := open(ctx)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", ti.Path, err)
	}
	defer rc.Close()
	e, err = s.put(ctx, ti, rc, maxLength)
	if err != nil {
		return err
	}
	if s.remote != nil {
		s.upload(ctx, a, ti, e)
	}
	return e.Close()
}
