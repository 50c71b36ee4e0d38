package cache

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tufpip/tufpip/updater"
)

// The size budget: a download in flight holds a reservation against
// StoreOptions.MaxBytes for as many bytes as it may write, so that
// concurrent downloads cannot together take the store past its limit.
// A file whose length is signed reserves that length before its first
// byte; a capped one (core metadata) its cap; one whose length nobody
// signed grows its reservation as bytes arrive. A reservation that
// cannot be met even after evicting is refused with ErrCacheFull.
// Reservations are per process: another process's downloads are seen
// only once their files are stored.

var (
	// ErrCacheFull means a download could not be given room under the
	// store's size limit, even after evicting every artifact not in use.
	ErrCacheFull = errors.New("artifact cache is full")
	// ErrTooLarge means an artifact is longer than the limit its caller
	// or the store allows for it.
	ErrTooLarge = errors.New("larger than the size limit")
)

// DefaultMaxUnknownLength is StoreOptions.MaxUnknownLength's default.
const DefaultMaxUnknownLength = updater.MaxUnknownLength

// unknownLengthStep is the first reservation of a download whose length
// is not known; each further one doubles what is held.
const unknownLengthStep = 4 << 20

// reservation is bytes of the budget held by one download.
type reservation struct {
	s    *Store
	held int64
}

// reserve holds n more bytes of the budget, evicting first if the store
// would go over its limit. When even that leaves no room, nothing is held
// and the error wraps ErrCacheFull.
func (s *Store) reserve(n int64) (*reservation, error) {
	r := &reservation{s: s}
	return r, r.grow(n)
}

func (r *reservation) grow(n int64) error {
	s := r.s
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	s.reserved += n
	need := s.maxBytes > 0 && (s.used < 0 || s.used+s.reserved > s.maxBytes ||
		time.Since(s.scannedAt) > rescanInterval)
	s.mu.Unlock()
	if need {
		s.evict()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxBytes > 0 && s.used >= 0 && s.used+s.reserved > s.maxBytes {
		used, others := s.used, s.reserved-n
		s.reserved -= n
		return fmt.Errorf("%w: %d more bytes do not fit under its %d-byte limit: %d bytes are stored and in use, and downloads in progress hold %d",
			ErrCacheFull, n, s.maxBytes, used, others)
	}
	r.held += n
	return nil
}

// release gives the held bytes back; the stored file, if any, is counted
// in used by then.
func (r *reservation) release() {
	r.s.mu.Lock()
	r.s.reserved -= r.held
	r.s.mu.Unlock()
	r.held = 0
}

// budgetWriter passes bytes to w only while the download's reservation
// covers them, growing it for a file of unknown length, and fails once
// more than limit bytes arrive.
type budgetWriter struct {
	w     io.Writer
	res   *reservation
	ti    updater.TargetInfo
	limit int64
	n     int64
	err   error // the budget's refusal, for Put to report as such
}

func (b *budgetWriter) Write(p []byte) (int, error) {
	next := b.n + int64(len(p))
	if next > b.limit {
		b.err = fmt.Errorf("%s: %w: more than %d bytes", b.ti.Path, ErrTooLarge, b.limit)
		return 0, b.err
	}
	if next > b.res.held {
		want := min(max(2*b.res.held, next, unknownLengthStep), b.limit)
		if err := b.res.grow(want - b.res.held); err != nil {
			b.err = fmt.Errorf("caching %s: %w", b.ti.Path, err)
			return 0, b.err
		}
	}
	b.n = next
	return b.w.Write(p)
}

// checkSignedLength refuses an artifact signed as longer than maxLength
// (maxLength <= 0: no limit), before anything is read.
func checkSignedLength(ti updater.TargetInfo, maxLength int64) error {
	if maxLength > 0 && ti.Length > maxLength {
		return fmt.Errorf("%s: %w: signed as %d bytes, more than %d", ti.Path, ErrTooLarge, ti.Length, maxLength)
	}
	return nil
}
