package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

// tempPrefix starts the name of every temporary file tufpip creates (see
// atomicfile); the fixed prefix is what lets CleanTemp recognise a crash
// leftover without guessing.
const tempPrefix = atomicfile.TempPrefix

// goTUFTempPrefix is the name go-tuf v2 gives its temporary metadata files
// (os.CreateTemp(dir, "tuf_tmp")); a crash mid-refresh leaves them in the
// metadata directory.
const goTUFTempPrefix = "tuf_tmp"

// isTempName reports whether name is a temporary file of ours or go-tuf's.
func isTempName(name string) bool {
	return strings.HasPrefix(name, tempPrefix) || strings.HasPrefix(name, goTUFTempPrefix)
}

// WriteFileAtomic replaces path with data so that readers, and the file
// after a crash or power loss, see either the old content or the new one,
// never a mix or a truncated file (atomicfile.WriteFile, errors naming
// path). Trusted metadata must never be half written: a torn root.json
// would lock the user out of the repository.
//
// perm is applied exactly (not filtered by the umask). On any error the
// temporary file is removed and path is untouched.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := atomicfile.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// CleanTemp removes, from dir itself (not subdirectories), the temporary
// files that WriteFileAtomic, Store.Put and go-tuf leave behind when the
// process dies between creating and renaming them. They hold no useful
// data, only disk space.
//
// A temp file younger than olderThan is kept because it may belong to a
// write in progress in another process. Callers that hold the lock guarding
// dir know that no write is in progress and may pass 0. Other files, and
// anything that is not a regular file, are never touched.
func CleanTemp(dir string, olderThan time.Duration) (removed int, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cleaning temporary files in %s: %w", dir, err)
	}
	now := time.Now()
	var errs []error
	for _, de := range ents {
		if !de.Type().IsRegular() || !isTempName(de.Name()) {
			continue
		}
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // another process cleaned it first
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if now.Sub(fi.ModTime()) < olderThan {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, de.Name())); {
		case err == nil:
			removed++
		case errors.Is(err, fs.ErrNotExist):
		default:
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cleaning temporary files in %s: %w", dir, err)
	}
	return removed, nil
}
