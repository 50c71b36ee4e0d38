//go:build !(linux || openbsd || dragonfly || solaris || illumos || aix || darwin || freebsd || netbsd || ios)

package cache

import (
	"os"
	"time"
)

// lruFromMtime says whether fileTimes reports the mtime as the LRU clock,
// in which case touching an entry must move its mtime too.
const lruFromMtime = true

// fileTimes falls back to the modification time as the LRU clock where the
// access time is not portable to read, and reports no change time, so the
// verification memo there rests on identity, size and mtime only.
func fileTimes(fi os.FileInfo) (atime, ctime time.Time) {
	return fi.ModTime(), time.Time{}
}
