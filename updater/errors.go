package updater

import (
	"errors"
	"fmt"

	"github.com/tufpip/tufpip/updater/httpx"
)

// ErrNotSigned means the repository's verified metadata does not list the
// target: the file may exist upstream, but nobody vouched for it.
var ErrNotSigned = errors.New("not signed by the repository")

// ErrExpired is wrapped by a MetadataError when a role's metadata has
// expired (a freeze attack, or a repository that stopped re-signing).
var ErrExpired = errors.New("metadata expired")

// ErrNoTrustedRoot means there is neither a cached root nor a bootstrap root.
var ErrNoTrustedRoot = errors.New("no trusted root")

// MetadataError means the repository's TUF metadata failed verification:
// a bad or missing signature, a rollback, a freeze, mix-and-match, data
// beyond the allowed length, or malformed content. Treat it as an attack
// until shown otherwise.
type MetadataError struct {
	Role string // the role being loaded when verification failed, if known
	Err  error
}

func (e *MetadataError) Error() string {
	if e.Role == "" {
		return fmt.Sprintf("repository metadata failed verification: %v", e.Err)
	}
	return fmt.Sprintf("repository metadata failed verification (role %s): %v", e.Role, e.Err)
}

func (e *MetadataError) Unwrap() error { return e.Err }

// NetworkError means the repository could not be reached or answered with
// an unexpected HTTP status (an *httpx.StatusError inside); nothing about
// trust was decided. It is httpx's type, so that one errors.As matches a
// failure of the TUF workflow and of a page or file fetch alike.
type NetworkError = httpx.NetworkError
