// Package atomicfile is tufpip's one way to change a file on disk: a
// temporary file in the same directory (or one on the same file system),
// written, fsynced, closed, renamed over the final name, and the
// directory fsynced, so that readers, and the file after a crash or power
// loss, see the old content or the new one, never a mix, a torn file or
// a rename that did not happen.
//
// It is a leaf package (standard library only) below cache rather than
// part of it: cache imports updater for TargetInfo, so updater, which
// writes trusted metadata, could not import cache. Both, and cmd, import
// this package. Its temporary files all start with TempPrefix, which is
// how cache.CleanTemp recognises a crash leftover without guessing.
package atomicfile
