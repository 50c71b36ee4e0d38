package index

import (
	"github.com/tufpip/tufpip/index/packaging"
)

// WarehouseTarget returns the target path Warehouse gives a distribution
// file: "<b2[0:2]>/<b2[2:4]>/<b2[4:]>/<filename>", where b2 is the hex
// blake2b-256 of the file's bytes (DESIGN.md §1). The path commits to the
// content, so a file on disk can be looked up without any index page. It
// returns "" unless b2 is 64 hex digits and filename is a safe file name.
func WarehouseTarget(b2, filename string) string {
	b2, ok := hexDigest(b2, 64)
	if !ok || !packaging.SafeFilename(filename) {
		return ""
	}
	return b2[0:2] + "/" + b2[2:4] + "/" + b2[4:] + "/" + filename
}
