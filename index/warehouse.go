package index

import "strings"

// WarehouseTarget returns the target path Warehouse gives a distribution
// file: "<b2[0:2]>/<b2[2:4]>/<b2[4:]>/<filename>", where b2 is the hex
// blake2b-256 of the file's bytes (DESIGN.md §1). The path commits to the
// content, so a file on disk can be looked up without any index page. It
// returns "" unless b2 is 64 hex digits and filename is a safe file name.
func WarehouseTarget(b2, filename string) string {
	if len(b2) != 64 || !isHex(b2) || !SafeFilename(filename) {
		return ""
	}
	b2 = strings.ToLower(b2)
	return b2[0:2] + "/" + b2[2:4] + "/" + b2[4:] + "/" + filename
}
