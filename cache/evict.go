package cache

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gofrs/flock"
)

// stored is one artifact file found by a scan.
type stored struct {
	path    string
	size    int64
	lastUse time.Time
}

// scan lists the artifacts on disk. The directory is the only source of
// truth shared between processes, so sizes and LRU order always come from
// here rather than from in-memory bookkeeping. Files that vanish during the
// scan (evicted by another process) are skipped.
func (s *Store) scan() ([]stored, int64, error) {
	var out []stored
	var total int64
	algs, err := os.ReadDir(s.artifacts)
	if err != nil {
		return nil, 0, err
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		algDir := filepath.Join(s.artifacts, alg.Name())
		shards, err := readDirIfExists(algDir)
		if err != nil {
			return nil, 0, err
		}
		for _, sh := range shards {
			if !sh.IsDir() {
				continue
			}
			shardDir := filepath.Join(algDir, sh.Name())
			files, err := readDirIfExists(shardDir)
			if err != nil {
				return nil, 0, err
			}
			for _, de := range files {
				if !de.Type().IsRegular() {
					continue
				}
				fi, err := de.Info()
				if err != nil {
					continue
				}
				atime, _ := fileTimes(fi)
				out = append(out, stored{path: filepath.Join(shardDir, de.Name()), size: fi.Size(), lastUse: atime})
				total += fi.Size()
			}
		}
	}
	return out, total, nil
}

// evict removes least recently used artifacts that no one has open until
// the store, plus what Puts in progress have reserved, fits MaxBytes.
// Making room before downloading, rather than after, matters when the
// limit exists because the disk is small.
func (s *Store) evict() {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	entries, total, err := s.scan()
	if err != nil {
		s.log.Warn("could not scan artifact cache for eviction", "dir", s.dir, "err", err)
		return
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.path] = true
	}
	s.mu.Lock()
	s.used, s.scannedAt = total, time.Now()
	over := total + s.reserved - s.maxBytes
	for p := range s.memo {
		if !present[p] {
			delete(s.memo, p) // evicted by another process
		}
	}
	s.mu.Unlock()
	if over <= 0 {
		return
	}
	slices.SortFunc(entries, func(a, b stored) int {
		return cmp.Or(a.lastUse.Compare(b.lastUse), cmp.Compare(a.path, b.path))
	})
	var removed, inUse int
	for _, e := range entries {
		if over <= 0 {
			break
		}
		ok, err := s.removeIfUnused(e.path)
		if err != nil {
			s.log.Warn("could not evict cached artifact", "file", e.path, "err", err)
			continue
		}
		if !ok {
			inUse++
			continue
		}
		removed++
		over -= e.size
		s.addUsed(-e.size)
	}
	if removed > 0 {
		s.log.Info("evicted least recently used artifacts", "dir", s.dir, "count", removed, "limit", s.maxBytes)
	}
	if over > 0 {
		s.log.Info("artifact cache stays over its size limit: the rest is in use or too new",
			"dir", s.dir, "over_bytes", over, "in_use", inUse)
	}
}

// removeIfUnused unlinks the artifact at path unless some Entry, in any
// process, holds it open. It reports whether the file is gone. Taking the
// exclusive lock fails while any reader holds its shared one; a reader
// arriving after we hold it finds the name gone once it gets its lock.
func (s *Store) removeIfUnused(path string) (bool, error) {
	lk := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := lk.TryLock()
	if errors.Is(err, fs.ErrNotExist) {
		s.forget(path)
		return true, nil // another process got there first
	}
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	defer lk.Unlock()
	// Remove only the inode we locked: a concurrent Put may have renamed a
	// fresh copy over the name, and a reader may already hold that one.
	lfi, err := lk.Stat()
	if err != nil {
		return false, err
	}
	pfi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.forget(path)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !os.SameFile(lfi, pfi) {
		return false, nil
	}
	s.forget(path)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// Size returns the bytes of artifacts currently in the store, counted on
// disk so that other processes' files are included. Temporary files of
// downloads in progress are not counted.
func (s *Store) Size() (int64, error) {
	_, total, err := s.scan()
	if err != nil {
		return 0, fmt.Errorf("measuring artifact cache %s: %w", s.dir, err)
	}
	s.mu.Lock()
	s.used, s.scannedAt = total, time.Now()
	s.mu.Unlock()
	return total, nil
}

// Clean empties the store: every artifact not open in some process, and the
// temporary files of interrupted downloads if no download is running. The
// store stays usable. Artifacts in use are kept (and logged) rather than
// pulled from under a reader.
func (s *Store) Clean() error {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	entries, _, err := s.scan()
	if err != nil {
		return fmt.Errorf("cleaning artifact cache %s: %w", s.dir, err)
	}
	var errs []error
	kept := 0
	for _, e := range entries {
		ok, err := s.removeIfUnused(e.path)
		if err != nil {
			errs = append(errs, err)
		}
		if !ok {
			kept++
		}
	}
	if _, err := s.removeDeadTemps(); err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	s.used = -1 // recount at the next Put
	s.mu.Unlock()
	if kept > 0 {
		s.log.Info("kept cached artifacts that are in use", "dir", s.dir, "count", kept)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning artifact cache %s: %w", s.dir, err)
	}
	return nil
}

// removeDeadTemps removes every temp file in the store's tmp directory,
// but only while it can hold tmp.lock exclusively, which proves that no
// Put (each holds it shared) is writing one. It never waits: if a download
// is running somewhere, cleaning can wait for a later open.
func (s *Store) removeDeadTemps() (int, error) {
	fl := flock.New(s.tmpLock, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	defer fl.Unlock()
	return CleanTemp(s.tmp, 0)
}

// readDirIfExists is os.ReadDir, with a directory that is gone (evicted or
// cleaned meanwhile) read as empty.
func readDirIfExists(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}
