//go:build linux || openbsd || dragonfly || solaris || illumos || aix

package cache

import (
	"os"
	"syscall"
	"time"
)

// lruFromMtime says whether fileTimes reports the mtime as the LRU clock,
// in which case touching an entry must move its mtime too.
const lruFromMtime = false

// fileTimes returns the access time, which the store uses as its
// least-recently-used clock, and the inode change time, which no user
// program can set back and so anchors the verification memo.
func fileTimes(fi os.FileInfo) (atime, ctime time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.ModTime(), time.Time{}
	}
	return time.Unix(st.Atim.Unix()), time.Unix(st.Ctim.Unix())
}
