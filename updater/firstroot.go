package updater

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tufpip/tufpip/updater/httpx"
)

// FetchInitialRoot fetches the repository's first root, 1.root.json under
// metadataURL, for trust on first use.
//
// UNSAFE: nothing verifies these bytes, because nothing can: the root is
// the root of trust. Whoever answers this one request (a mirror, a proxy,
// anyone on the network path) chooses the keys every later check relies
// on. Use it only when the user asked for it, explicitly, and after
// telling them so; pass the bytes as Config.BootstrapRoot, and the
// updater then walks forward from them as from any root (each newer root
// signed by the one before). The caller decides and warns; this function
// only fetches, reading at most maxLength bytes (0: DefaultLimits'
// RootMaxLength).
func FetchInitialRoot(ctx context.Context, client *http.Client, metadataURL string, maxLength int64) ([]byte, error) {
	if maxLength <= 0 {
		maxLength = DefaultLimits().RootMaxLength
	}
	if !strings.HasSuffix(metadataURL, "/") {
		metadataURL += "/"
	}
	resp, err := httpx.Get(ctx, client, metadataURL+"1.root.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err == nil && int64(len(b)) > maxLength {
		err = fmt.Errorf("more than %d bytes", maxLength)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching first root: %w", err)
	}
	return b, nil
}
