package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/tufpip/tufpip/updater"
)

// Remote is a shared tier of artifacts behind the local store: an object
// store that several proxies on several machines fill and read
// (cache/objectstore is the S3 one). It is not trusted. The local store
// uploads only what it has verified, and everything it reads back is
// verified again, while it streams into a local temp file, against the
// caller's signed target info before anyone sees a byte; an object that
// fails is deleted and the artifact is downloaded from upstream instead.
//
// Keys are content addresses, "<alg>/<hex[0:2]>/<hex>" as on disk, so two
// replicas that put the same key put the same bytes: concurrent puts are
// harmless whichever wins.
type Remote interface {
	// Get opens the object stored under key; a missing object is an error
	// that wraps fs.ErrNotExist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Put stores size bytes from r under key.
	Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error
	// Delete removes the object under key; a missing object is no error.
	Delete(ctx context.Context, key string) error
	// String names the tier in logs (a URL without credentials).
	String() string
}

// RemoteEvent is what happened when the store consulted its Remote tier;
// an Observer counts them.
type RemoteEvent string

// The remote events. The set is closed, so that metrics labelled by it
// stay bounded.
const (
	// RemoteHit: the object was there and verified.
	RemoteHit RemoteEvent = "hit"
	// RemoteMiss: no object under the key.
	RemoteMiss RemoteEvent = "miss"
	// RemoteBad: the object failed verification (length or hash) and was
	// deleted; the artifact came from upstream instead.
	RemoteBad RemoteEvent = "verify_failed"
	// RemoteError: the tier could not be read (network, permissions).
	RemoteError RemoteEvent = "error"
	// RemotePut: an artifact verified from upstream was uploaded.
	RemotePut RemoteEvent = "put"
	// RemotePutError: the upload failed (the artifact is still served).
	RemotePutError RemoteEvent = "put_error"
)

// Observer is told about the store's work, for metrics. Its methods must
// be cheap and safe for concurrent use.
type Observer interface {
	// Verified reports one streaming verification of bytes into the
	// store, from source "upstream" or "remote", and whether it passed.
	Verified(source string, bytes int64, d time.Duration, ok bool)
	// Remote reports one consultation of the Remote tier.
	Remote(ev RemoteEvent)
}

type nopObserver struct{}

func (nopObserver) Verified(string, int64, time.Duration, bool) {}
func (nopObserver) Remote(RemoteEvent)                          {}

// remoteKey is a's key in the Remote tier.
func remoteKey(a address) string {
	return path.Join(a.alg, a.sum[:2], a.sum)
}

// fillFromRemote tries to store the artifact from the Remote tier. It
// reports whether it did; when it did not, the caller downloads from
// upstream. An object that fails verification is deleted, with a log line;
// nothing of it was stored or served (put verifies into a temp file).
func (s *Store) fillFromRemote(ctx context.Context, a address, ti updater.TargetInfo, maxLength int64) bool {
	key := remoteKey(a)
	rc, err := s.remote.Get(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		s.obs.Remote(RemoteMiss)
		return false
	}
	if err != nil {
		s.obs.Remote(RemoteError)
		s.log.Warn("artifact store unreadable; downloading from upstream", "store", s.remote.String(), "target", ti.Path, "err", err)
		return false
	}
	defer rc.Close()
	e, err := s.putFrom(ctx, "remote", ti, rc, maxLength)
	if err == nil {
		s.obs.Remote(RemoteHit)
		e.Close()
		return true
	}
	var mm *updater.MismatchError
	if errors.As(err, &mm) || errors.Is(err, ErrTooLarge) {
		s.obs.Remote(RemoteBad)
		s.log.Warn("artifact store object failed verification; deleting it and downloading from upstream",
			"store", s.remote.String(), "key", key, "target", ti.Path, "err", err)
		if derr := s.remote.Delete(ctx, key); derr != nil {
			s.log.Warn("could not delete the bad object from the artifact store", "store", s.remote.String(), "key", key, "err", derr)
		}
		return false
	}
	if ctx.Err() == nil {
		s.obs.Remote(RemoteError)
		s.log.Warn("reading from the artifact store failed; downloading from upstream", "store", s.remote.String(), "target", ti.Path, "err", err)
	}
	return false
}

// upload copies the verified entry e to the Remote tier. A failure is
// logged, not returned: the artifact is verified and served all the same.
func (s *Store) upload(ctx context.Context, a address, ti updater.TargetInfo, e *Entry) {
	key := remoteKey(a)
	if err := s.remote.Put(ctx, key, io.NewSectionReader(e.File(), 0, e.Size), e.Size); err != nil {
		s.obs.Remote(RemotePutError)
		s.log.Warn("could not upload a verified artifact to the artifact store", "store", s.remote.String(), "key", key, "target", ti.Path, "err", fmt.Errorf("%w", err))
		return
	}
	s.obs.Remote(RemotePut)
	s.log.Debug("uploaded verified artifact to the artifact store", "store", s.remote.String(), "key", key, "target", ti.Path)
}
