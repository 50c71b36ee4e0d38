package cache

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// Backoff bounds for lock polling. flock(2) cannot wait on a context, so we
// poll TryLock: short first waits keep an uncontended hand-over fast, the cap
// keeps a long wait (another process refreshing 16,384 bins) cheap.
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 250 * time.Millisecond
)

// lockSuffix marks a lock file. Lock files are never deleted: removing one
// while another process waits on the old inode would let two holders in.
const lockSuffix = ".lock"

// lockPath is path itself if it already names a lock file, else path+".lock",
// so a caller can lock a directory by naming the directory.
func lockPath(path string) string {
	if strings.HasSuffix(path, lockSuffix) {
		return path
	}
	return path + lockSuffix
}

// Lock takes an exclusive lock that other processes (and other Lock calls in
// this process) respect, on path+".lock" or on path itself if it already ends
// in ".lock". It exists so that two tufpip processes never refresh one
// repository's metadata at the same time: go-tuf writes role files one by
// one, and interleaved refreshes could leave a mix of versions behind.
//
// Lock waits until the lock is free or ctx is done. The holder's pid is
// written into the lock file so that a waiter that gives up can say who it
// was waiting for. The returned unlock is safe to call more than once.
// The lock is advisory (flock(2)); a crashed holder releases it.
func Lock(ctx context.Context, path string) (unlock func() error, err error) {
	return lockFile(ctx, lockPath(path), false)
}

// RLock is Lock's shared variant, for readers that need a consistent view
// (for example copying the trusted metadata) while allowing other readers.
func RLock(ctx context.Context, path string) (unlock func() error, err error) {
	return lockFile(ctx, lockPath(path), true)
}

func lockFile(ctx context.Context, lp string, shared bool) (func() error, error) {
	fl := flock.New(lp, flock.SetPermissions(0o600))
	if err := acquire(ctx, fl, shared); err != nil {
		kind := "lock"
		if shared {
			kind = "shared lock"
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for %s on %s%s: %w", kind, lp, lockHolder(lp), err)
		}
		return nil, fmt.Errorf("taking %s on %s: %w", kind, lp, err)
	}
	if !shared {
		// Best effort: the lock works without it, the message is only nicer.
		_ = os.WriteFile(lp, fmt.Appendf(nil, "pid %d %s\n", os.Getpid(), filepath.Base(os.Args[0])), 0o600)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			if !shared {
				_ = os.Truncate(lp, 0)
			}
			if err := fl.Unlock(); err != nil {
				uerr = fmt.Errorf("releasing lock on %s: %w", lp, err)
			}
		})
		return uerr
	}, nil
}

// lockHolder describes who holds lp, as recorded by the holder, for error
// messages. It returns "" when nothing trustworthy is recorded.
func lockHolder(lp string) string {
	f, err := os.Open(lp)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf, _ := io.ReadAll(io.LimitReader(f, 128))
	line, _, _ := strings.Cut(string(buf), "\n")
	if !strings.HasPrefix(line, "pid ") {
		return ""
	}
	clean := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, line)
	return " (held by " + clean + ")"
}

// acquire polls fl until it is locked or ctx is done. It returns ctx's cause
// when giving up so callers can tell a timeout from a cancellation.
func acquire(ctx context.Context, fl *flock.Flock, shared bool) error {
	try := fl.TryLock
	if shared {
		try = fl.TryRLock
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	delay := lockPollMin
	var t *time.Timer
	for {
		ok, err := try()
		if err != nil {
			return err
		}
		if ok {
			if t != nil {
				t.Stop()
			}
			return nil
		}
		// Jitter so that waiters started together do not poll in step.
		d := delay/2 + rand.N(delay/2+1)
		if t == nil {
			t = time.NewTimer(d)
		} else {
			t.Reset(d)
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		delay = min(delay*2, lockPollMax)
	}
}
