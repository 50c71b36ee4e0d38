package updater

import (
	"fmt"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// guardGoTUF runs one of go-tuf's decoding or update calls and turns a
// panic into a refusal of the metadata. go-tuf v2.4.2 dereferences nil
// while decoding some hostile documents before any signature is checked
// (a bin with `"targets": {"x": null}`; a snapshot whose trusted
// predecessor lists a null meta entry): bytes any mirror can send. In the
// proxy such a panic would end the process for everyone; here it is
// malformed metadata from the repository, refused like any other.
func guardGoTUF[T any](role string, f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, &metadata.ErrRepository{Msg: fmt.Sprintf("%s: malformed metadata (go-tuf could not decode it: %v)", role, p)}
		}
	}()
	return f()
}
