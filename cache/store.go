package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sync/singleflight"

	"github.com/tufpip/tufpip/cache/atomicfile"
	"github.com/tufpip/tufpip/updater"
)

// ErrNotCached means the store has no usable copy of an artifact: it was
// never stored, was evicted, or failed re-verification and was removed.
// Callers react the same way to all three (download it again), so they
// share one sentinel; the wrapping error says which.
var ErrNotCached = errors.New("not in the artifact cache")

// touchInterval limits how often Get moves an entry's last-use time. The
// LRU order only needs minute resolution, and every touch costs a metadata
// write and forces other processes to re-hash the entry (see Store).
const touchInterval = time.Minute

// rescanInterval bounds how stale the store's idea of its own size may get
// when other processes add files to the same directory.
const rescanInterval = time.Minute

// StoreOptions configures a Store. The zero value is valid.
type StoreOptions struct {
	// MaxBytes is the size the store stays under by evicting the least
	// recently used artifacts before storing new ones; 0 means no limit.
	// Every download in flight in this process reserves the bytes it may
	// write (see budget.go), and one that finds no room after evicting
	// fails with ErrCacheFull: so does an artifact larger than MaxBytes.
	// Artifacts in use are never evicted, and files added by other
	// processes are only noticed at the next scan.
	MaxBytes int64
	// MaxUnknownLength bounds an artifact whose length nobody signed (the
	// index-only layout); 0 means DefaultMaxUnknownLength. Longer
	// downloads fail with ErrTooLarge and nothing is stored.
	MaxUnknownLength int64
	// Logger receives evictions, removals of corrupt entries and similar
	// events. nil discards them.
	Logger *slog.Logger
	// Remote, if set, is a shared tier behind this store (see Remote):
	// a local miss is looked up there, verified, before upstream is asked,
	// and what upstream yields is uploaded once it verified.
	Remote Remote
	// Observer, if set, is told about verifications and Remote lookups.
	Observer Observer
}

// Store is a content-addressed cache of verified artifacts, safe for
// concurrent use by many goroutines and by several processes sharing dir.
//
// Layout under dir:
//
//	artifacts/<alg>/<hex[0:2]>/<hex>   one verified file per content
//	tmp/.tufpip-tmp-*                  downloads being verified
//	tmp.lock                           held shared by every Put in progress
//
// <alg> is the strongest hash the target info carries (blake2b-256, then
// sha512, then sha256). The name alone is never trusted: a file is served
// only after its length and every known hash in the caller's target info
// have been checked against its bytes.
//
// Re-hashing a large file on every Get is the price of not trusting the
// disk. To avoid paying it on every request for a popular wheel, each Store
// remembers, in memory only, which files it has verified against which
// hashes, keyed by inode identity, size, mtime and, where the platform has
// one, the inode change time. A later Get whose file still matches skips the
// hashing. The trade-off: a change that leaves all of those intact (a bit
// flip on the medium under the page cache, or someone resetting the clock
// to forge a change time) goes unnoticed until this process exits; a
// restart, or any write to the file through the file system, re-verifies.
// An ordinary in-place edit, even one that restores the mtime, changes the
// change time and is caught.
//
// Open entries are protected from eviction, across processes, by a shared
// flock(2) on the artifact that the evictor must be able to upgrade before
// unlinking it.
type Store struct {
	dir       string
	artifacts string
	tmp       string
	tmpLock   string
	maxBytes  int64
	// maxUnknown bounds artifacts of unknown length.
	maxUnknown int64
	log        *slog.Logger
	remote     Remote
	obs        Observer

	mu        sync.Mutex
	used      int64 // bytes of artifacts on disk as last known; <0 unknown
	reserved  int64 // bytes promised to Puts in progress
	scannedAt time.Time
	memo      map[string]verified
	flights   map[string]*flight

	evictMu sync.Mutex // one scan-and-evict at a time per process
	sf      singleflight.Group

	// verifications counts full re-hashes of stored files, for tests of
	// the memo.
	verifications atomic.Int64
	// wrapTemp, when set by tests, wraps the temp-file writer to inject
	// write errors such as ENOSPC.
	wrapTemp func(io.Writer) io.Writer
}

// OpenStore opens, creating if needed, the artifact store in dir. It also
// removes temporary files left by a crash, but only when no Put is running
// in any process, because a live Put's temp file looks the same.
func OpenStore(dir string, opts StoreOptions) (*Store, error) {
	if dir == "" {
		return nil, errors.New("opening artifact cache: no directory given")
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("opening artifact cache %s: negative size limit %d", dir, opts.MaxBytes)
	}
	if opts.MaxUnknownLength < 0 {
		return nil, fmt.Errorf("opening artifact cache %s: negative size limit %d", dir, opts.MaxUnknownLength)
	}
	maxUnknown := opts.MaxUnknownLength
	if maxUnknown == 0 {
		maxUnknown = DefaultMaxUnknownLength
	}
	dir = filepath.Clean(dir)
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir:        dir,
		artifacts:  filepath.Join(dir, "artifacts"),
		tmp:        filepath.Join(dir, "tmp"),
		tmpLock:    filepath.Join(dir, "tmp"+lockSuffix),
		maxBytes:   opts.MaxBytes,
		maxUnknown: maxUnknown,
		log:        log,
		remote:     opts.Remote,
		obs:        opts.Observer,
		used:       -1,
		memo:       map[string]verified{},
		flights:    map[string]*flight{},
	}
	for _, d := range []string{s.artifacts, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("opening artifact cache %s: %w", dir, err)
		}
	}
	if n, err := s.removeDeadTemps(); err != nil {
		// A read-only store can still serve what it holds.
		s.log.Debug("could not sweep leftover temporary files", "dir", s.tmp, "err", err)
	} else if n > 0 {
		s.log.Info("removed temporary files left by an interrupted download", "dir", s.tmp, "count", n)
	}
	return s, nil
}

// Dir is the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Entry is one verified artifact, open for reading. Holding it open keeps
// it from being evicted, by this process or any other, so callers must
// Close it, typically right after serving or copying the bytes.
type Entry struct {
	// Path is the artifact's content-addressed file. It is for logs and for
	// copying out; readers should use File, whose bytes were verified.
	Path string
	// Size is the verified length in bytes.
	Size int64
	// ModTime is when the content was stored, which suits Last-Modified.
	// (Where the access time cannot be read, the mtime doubles as the LRU
	// clock and so is the last use instead.)
	ModTime time.Time

	f         *os.File
	lock      *flock.Flock
	closeOnce sync.Once
	closeErr  error
}

// File is the verified artifact, opened read-only and positioned at 0 when
// the Entry was returned. It suits http.ServeContent and io.Copy.
func (e *Entry) File() *os.File { return e.f }

// Close releases the file and its eviction guard. It is safe to call more
// than once.
func (e *Entry) Close() error {
	e.closeOnce.Do(func() {
		err := e.f.Close()
		if uerr := e.lock.Unlock(); uerr != nil {
			err = errors.Join(err, uerr)
		}
		if err != nil {
			e.closeErr = fmt.Errorf("closing cached %s: %w", e.Path, err)
		}
	})
	return e.closeErr
}

// address is where an artifact with given target info lives in the store.
type address struct {
	alg  string
	sum  string // lower-case hex
	path string
}

// addressPreference lists the hashes that can name a file, strongest first,
// with their hex length, which is checked because the hash becomes a path
// element.
var addressPreference = []struct {
	alg    string
	hexLen int
}{
	{updater.HashBLAKE2b256, 64},
	{updater.HashSHA512, 128},
	{updater.HashSHA256, 64},
}

func (s *Store) address(ti updater.TargetInfo) (address, error) {
	for _, p := range addressPreference {
		v, ok := ti.Hashes[p.alg]
		if !ok {
			continue
		}
		sum := strings.ToLower(v)
		if len(sum) != p.hexLen || strings.Trim(sum, "0123456789abcdef") != "" {
			return address{}, fmt.Errorf("%s: signed %s hash %q is not %d hex digits", ti.Path, p.alg, v, p.hexLen)
		}
		return address{alg: p.alg, sum: sum, path: filepath.Join(s.artifacts, p.alg, sum[:2], sum)}, nil
	}
	return address{}, fmt.Errorf("%s: %w", ti.Path, updater.ErrNoKnownHash)
}

// Put stores the artifact that r yields, if and only if its length and
// every known hash match ti, and returns it open. The bytes go to a temp
// file first and are renamed to their content address only after the last
// check passes and the data is synced, so no reader, in any process, can
// see an unverified or partial file under the final name. On any failure
// the temp file is removed.
//
// ctx is checked between reads; a Read that blocks is interrupted only if
// r itself honours a context (as an HTTP response body does).
//
// The download holds its length against the size budget while it runs
// (see budget.go); it fails with ErrCacheFull when there is no room even
// after evicting.
func (s *Store) Put(ctx context.Context, ti updater.TargetInfo, r io.Reader) (*Entry, error) {
	return s.put(ctx, ti, r, 0)
}

// PutLimited is Put for an artifact that may not exceed maxLength bytes
// (maxLength <= 0: no limit beyond the store's), whatever length it was
// signed with; a longer one fails with ErrTooLarge and is not stored.
func (s *Store) PutLimited(ctx context.Context, ti updater.TargetInfo, r io.Reader, maxLength int64) (*Entry, error) {
	return s.put(ctx, ti, r, maxLength)
}

func (s *Store) put(ctx context.Context, ti updater.TargetInfo, r io.Reader, maxLength int64) (*Entry, error) {
	return s.putFrom(ctx, "upstream", ti, r, maxLength)
}

// putFrom is put, reporting the verification (of bytes from source) to
// the Observer.
func (s *Store) putFrom(ctx context.Context, source string, ti updater.TargetInfo, r io.Reader, maxLength int64) (*Entry, error) {
	start := time.Now()
	cr := &verifyCounter{r: r}
	e, err := s.putVerified(ctx, ti, cr, maxLength)
	if ctx.Err() == nil {
		s.obs.Verified(source, cr.n, time.Since(start), err == nil)
	}
	return e, err
}

// verifyCounter counts the bytes read through it.
type verifyCounter struct {
	r io.Reader
	n int64
}

func (c *verifyCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Store) putVerified(ctx context.Context, ti updater.TargetInfo, r io.Reader, maxLength int64) (*Entry, error) {
	a, err := s.address(ti)
	if err != nil {
		return nil, err
	}
	if ti.Length < 0 && ti.Length != updater.UnknownLength {
		return nil, fmt.Errorf("%s: negative signed length %d", ti.Path, ti.Length)
	}
	limit := ti.Length
	if ti.Length == updater.UnknownLength {
		limit = s.maxUnknown
	}
	if err := checkSignedLength(ti, maxLength); err != nil {
		return nil, err
	}
	if maxLength > 0 {
		limit = min(limit, maxLength)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("caching %s: %w", ti.Path, context.Cause(ctx))
	}

	unlockTmp, err := lockFile(ctx, s.tmpLock, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("caching %s: %w", ti.Path, err)
		}
		return nil, s.diskErr(ti, err)
	}
	defer unlockTmp()
	// A known or capped length is held in full before the first byte; a
	// file whose length nobody signed holds what it has written plus a
	// margin, growing as it goes.
	first := limit
	if ti.Length == updater.UnknownLength && maxLength <= 0 {
		first = min(limit, unknownLengthStep)
	}
	return s.writeVerified(ctx, ti, r, a, first, limit)
}

// recordingWriter remembers the destination's error so Put can tell a
// failing disk from a failing download or a hash mismatch.
type recordingWriter struct {
	w   io.Writer
	err error
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// ctxReader lets a cancelled context stop a long copy between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// diskErr wraps a failure of the store's own file system, naming the store
// so that "no space left on device" or "read-only file system" points the
// user at the directory to fix.
func (s *Store) diskErr(ti updater.TargetInfo, err error) error {
	return fmt.Errorf("writing %s to artifact cache %s: %w", ti.Path, s.dir, err)
}

// writeVerified does Put's work: verify into a temp file, make it
// durable, guard it, give it its name. The returned Entry is opened and
// guarded against eviction before the rename, because another process may
// evict an unguarded artifact the moment its final name appears.
func (s *Store) writeVerified(ctx context.Context, ti updater.TargetInfo, r io.Reader, a address, reserve, limit int64) (_ *Entry, err error) {
	// Read-only files guard against tools that edit in place; eviction
	// only needs write access to the directory.
	p, err := atomicfile.CreateTemp(s.tmp, 0o444)
	if err != nil {
		return nil, s.diskErr(ti, err)
	}
	// Reserved once the store has proved writable, so that a read-only
	// or broken store reports that rather than being full; the deferred
	// cleanup removes the temp file if there is no room.
	res, rerr := s.reserve(reserve)
	defer res.release()
	var g guard
	defer func() {
		if err == nil {
			return
		}
		g.release()
		if rerr := p.Abort(); rerr != nil {
			s.log.Warn("could not remove temporary file", "file", p.Name(), "err", rerr)
		}
	}()
	if rerr != nil {
		return nil, fmt.Errorf("caching %s: %w", ti.Path, rerr)
	}
	if err := s.copyVerified(ctx, ti, r, p.File, res, limit); err != nil {
		return nil, err
	}
	if err := p.Finish(); err != nil {
		return nil, s.diskErr(ti, err)
	}
	if g, err = guardTemp(p.Name()); err != nil {
		return nil, s.diskErr(ti, err)
	}
	replaced, err := s.install(p, a.path)
	if err != nil {
		return nil, s.diskErr(ti, err)
	}
	fi, err := g.f.Stat()
	if err != nil {
		return nil, s.diskErr(ti, err)
	}
	if !replaced {
		s.addUsed(fi.Size())
	}
	s.remember(a.path, fi, ti)
	return &Entry{Path: a.path, Size: fi.Size(), ModTime: fi.ModTime(), f: g.f, lock: g.lock}, nil
}

// copyVerified streams r into tmp through a verifier for ti and the size
// budget (res, up to limit bytes).
func (s *Store) copyVerified(ctx context.Context, ti updater.TargetInfo, r io.Reader, tmp io.Writer, res *reservation, limit int64) error {
	dst := tmp
	if s.wrapTemp != nil {
		dst = s.wrapTemp(dst)
	}
	// Hashing and writing overlap (overlapWriter); the file is synced
	// once, by the caller, after both are done and the bytes verified.
	ow := newOverlapWriter(dst)
	rec := &recordingWriter{w: ow}
	bw := &budgetWriter{w: rec, res: res, ti: ti, limit: limit}
	_, err := updater.VerifyCopy(bw, ctxReader{ctx, r}, ti)
	if cerr := ow.Close(); cerr != nil && rec.err == nil {
		rec.err = cerr
	}
	if err == nil && rec.err == nil {
		return nil
	}
	if err == nil {
		err = rec.err
	}
	return s.copyFailure(ctx, ti, err, bw.err, rec.err)
}

// copyFailure says why a verified copy failed, in order of what the user
// can act on: the size budget refused it (budgetErr), the store's disk
// failed (diskErr), the bytes did not match what was signed, the caller
// gave up, or reading the download failed.
func (s *Store) copyFailure(ctx context.Context, ti updater.TargetInfo, err, budgetErr, diskErr error) error {
	var mm *updater.MismatchError
	switch {
	case budgetErr != nil:
		return budgetErr
	case diskErr != nil:
		return s.diskErr(ti, diskErr)
	case errors.As(err, &mm):
		return fmt.Errorf("not caching unverified download: %w", err)
	case ctx.Err() != nil:
		return fmt.Errorf("caching %s: %w", ti.Path, context.Cause(ctx))
	default:
		return fmt.Errorf("reading %s: %w", ti.Path, err)
	}
}

// guard is a verified file held open under a shared lock, which keeps
// eviction away from it.
type guard struct {
	f    *os.File
	lock *flock.Flock
}

func (g guard) release() {
	if g.f != nil {
		g.f.Close()
	}
	if g.lock != nil {
		g.lock.Unlock()
	}
}

// guardTemp opens the finished temp file at tmp and takes its shared lock,
// before it gets a name anyone else knows.
func guardTemp(tmp string) (guard, error) {
	// Nobody else knows the temp name yet, so the shared lock is free.
	lk := flock.New(tmp, flock.SetFlag(os.O_RDONLY))
	if ok, err := lk.TryRLock(); err != nil || !ok {
		return guard{}, cmp.Or(err, errors.New("temp file unexpectedly locked"))
	}
	f, err := os.Open(tmp)
	if err != nil {
		lk.Unlock()
		return guard{}, err
	}
	return guard{f: f, lock: lk}, nil
}

// install gives the finished temp file p its content address path, in a
// durable shard directory, and reports whether it replaced a file there
// (whose size the store already counts).
func (s *Store) install(p *atomicfile.Pending, path string) (replaced bool, err error) {
	shard := filepath.Dir(path)
	if err := s.makeShard(shard); err != nil {
		return false, err
	}
	_, statErr := os.Lstat(path)
	replaced = statErr == nil
	// Once renamed the file is verified and visible; a failure of the
	// directory sync only leaves its durability in doubt, and the
	// caller's cleanup of the old temp name is a no-op.
	return replaced, p.Commit(path)
}

// makeShard creates the directory for a new content address and makes its
// creation durable, so a synced artifact cannot vanish with its directory.
func (s *Store) makeShard(shard string) error {
	if _, err := os.Stat(shard); err == nil {
		return nil
	}
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(shard)); err != nil {
		return err
	}
	return atomicfile.SyncDir(s.artifacts)
}

// Get returns the stored artifact for ti, open, after checking its length
// and every known hash in ti against the file (or finding that this
// process already did and the file has not changed since; see Store). A
// file that fails the check is removed and reported as ErrNotCached with
// the reason wrapped, so that the caller downloads it again.
func (s *Store) Get(ctx context.Context, ti updater.TargetInfo) (*Entry, error) {
	a, err := s.address(ti)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, a, ti)
}

// open opens, guards and checks the artifact at a. It is Get without the
// address computation, shared with Put.
func (s *Store) open(ctx context.Context, a address, ti updater.TargetInfo) (_ *Entry, err error) {
	notCached := func(why string) error {
		return fmt.Errorf("%s: %w (%s)", ti.Path, ErrNotCached, why)
	}
	f, err := os.Open(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", ti.Path, ErrNotCached)
	}
	if err != nil {
		return nil, fmt.Errorf("opening cached %s: %w", ti.Path, err)
	}
	lk := flock.New(a.path, flock.SetFlag(os.O_RDONLY))
	defer func() {
		if err != nil {
			f.Close()
			lk.Unlock()
		}
	}()
	if err := acquire(ctx, lk, true); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notCached("evicted while opening")
		}
		return nil, fmt.Errorf("guarding cached %s against eviction: %w", ti.Path, err)
	}
	// The name may have been unlinked or replaced between our open and
	// our lock; only the inode the name points to now is guarded.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening cached %s: %w", ti.Path, err)
	}
	pfi, perr := os.Lstat(a.path)
	lfi, lerr := lk.Stat()
	if perr != nil || lerr != nil || !os.SameFile(fi, pfi) || !os.SameFile(fi, lfi) {
		return nil, notCached("replaced or evicted while opening")
	}
	if !fi.Mode().IsRegular() {
		s.discard(a.path, fi, ti, errors.New("not a regular file"))
		return nil, notCached("not a regular file; removed")
	}
	fi = s.touch(a.path, f, fi)
	if err := s.check(ctx, a.path, f, fi, ti); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("verifying cached %s: %w", ti.Path, context.Cause(ctx))
		}
		s.discard(a.path, fi, ti, err)
		return nil, fmt.Errorf("%s: %w: cached copy failed verification and was removed: %w", ti.Path, ErrNotCached, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("opening cached %s: %w", ti.Path, err)
	}
	return &Entry{Path: a.path, Size: fi.Size(), ModTime: fi.ModTime(), f: f, lock: lk}, nil
}

// check verifies the open file f against ti unless the memo vouches for it.
func (s *Store) check(ctx context.Context, path string, f *os.File, fi os.FileInfo, ti updater.TargetInfo) error {
	if s.memoCovers(path, fi, ti) {
		return nil
	}
	if ti.Length != updater.UnknownLength && fi.Size() != ti.Length {
		// Cheap to see without reading a possibly huge file.
		return &updater.MismatchError{Path: ti.Path, Check: "length",
			Want: fmt.Sprint(ti.Length), Got: fmt.Sprint(fi.Size())}
	}
	s.verifications.Add(1)
	if _, err := updater.VerifyCopy(nil, ctxReader{ctx, f}, ti); err != nil {
		return err
	}
	// Remember only if nothing changed the file while we were reading it.
	if after, err := f.Stat(); err == nil && sameState(fi, after) {
		s.remember(path, after, ti)
	}
	return nil
}

// discard removes a bad artifact, but only if the name still points to the
// inode that failed: another process may already have replaced it with a
// good copy.
func (s *Store) discard(path string, bad os.FileInfo, ti updater.TargetInfo, why error) {
	s.forget(path)
	pfi, err := os.Lstat(path)
	if err != nil || !os.SameFile(pfi, bad) {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cached artifact failed verification and could not be removed",
			"target", ti.Path, "file", path, "reason", why, "err", err)
		return
	}
	s.addUsed(-bad.Size())
	s.log.Warn("removed cached artifact that failed verification", "target", ti.Path, "file", path, "reason", why)
}

// touch records a use of the artifact for LRU eviction, at most once per
// touchInterval. Failure (a read-only store) is harmless: the entry only
// looks older than it is.
func (s *Store) touch(path string, f *os.File, fi os.FileInfo) os.FileInfo {
	atime, _ := fileTimes(fi)
	now := time.Now()
	if now.Sub(atime) < touchInterval {
		return fi
	}
	mtime := fi.ModTime()
	if lruFromMtime {
		mtime = now
	}
	if err := os.Chtimes(path, now, mtime); err != nil {
		s.log.Debug("could not record use of cached artifact", "file", path, "err", err)
		return fi
	}
	nfi, err := f.Stat()
	if err != nil {
		return fi
	}
	// The change time moved because of us, not because the content did.
	s.mu.Lock()
	if v, ok := s.memo[path]; ok && v.matches(fi) {
		s.memo[path] = v.rekey(nfi)
	}
	s.mu.Unlock()
	return nfi
}

// verified records that this process checked a file's bytes against a set
// of hashes, and the file's state at that time.
type verified struct {
	fi     os.FileInfo // for os.SameFile
	size   int64
	mtime  time.Time
	ctime  time.Time
	hashes map[string]string // algorithm -> lower-case hex, known ones only
}

func (v verified) rekey(fi os.FileInfo) verified {
	_, ct := fileTimes(fi)
	v.fi, v.size, v.mtime, v.ctime = fi, fi.Size(), fi.ModTime(), ct
	return v
}

// matches reports whether fi looks like the very file that was verified.
func (v verified) matches(fi os.FileInfo) bool {
	_, ct := fileTimes(fi)
	return os.SameFile(v.fi, fi) && v.size == fi.Size() && v.mtime.Equal(fi.ModTime()) && v.ctime.Equal(ct)
}

// covers reports whether the verification also proves ti: same length and
// every known hash in ti among those checked. A target info naming a hash
// that was not checked needs a fresh read.
func (v verified) covers(ti updater.TargetInfo) bool {
	known := ti.KnownHashes()
	if (ti.Length != updater.UnknownLength && ti.Length != v.size) || len(known) == 0 {
		return false
	}
	for _, alg := range known {
		if got, ok := v.hashes[alg]; !ok || got != strings.ToLower(ti.Hashes[alg]) {
			return false
		}
	}
	return true
}

func sameState(a, b os.FileInfo) bool {
	_, ca := fileTimes(a)
	_, cb := fileTimes(b)
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && ca.Equal(cb)
}

func (s *Store) remember(path string, fi os.FileInfo, ti updater.TargetInfo) {
	hs := map[string]string{}
	for _, alg := range ti.KnownHashes() {
		hs[alg] = strings.ToLower(ti.Hashes[alg])
	}
	v := verified{hashes: hs}.rekey(fi)
	s.mu.Lock()
	if old, ok := s.memo[path]; ok && old.matches(fi) {
		// Same file verified against more hashes: keep them all.
		for alg, h := range old.hashes {
			if _, ok := hs[alg]; !ok {
				hs[alg] = h
			}
		}
	}
	s.memo[path] = v
	s.mu.Unlock()
}

func (s *Store) memoCovers(path string, fi os.FileInfo, ti updater.TargetInfo) bool {
	s.mu.Lock()
	v, ok := s.memo[path]
	s.mu.Unlock()
	return ok && v.matches(fi) && v.covers(ti)
}

func (s *Store) forget(path string) {
	s.mu.Lock()
	delete(s.memo, path)
	s.mu.Unlock()
}

func (s *Store) addUsed(n int64) {
	s.mu.Lock()
	if s.used >= 0 {
		s.used = max(0, s.used+n)
	}
	s.mu.Unlock()
}
