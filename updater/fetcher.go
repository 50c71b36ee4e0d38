package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufpip/tufpip/updater/httpx"
)

// tufFetcher is go-tuf's Fetcher on tufpip's HTTP client. go-tuf has no
// context, so the epoch sets ctx before each call it makes under its lock.
// It also remembers which role was requested last, so that a verification
// failure can name the role.
type tufFetcher struct {
	client *http.Client
	limits Limits // the Metadata* slow-retrieval bounds

	mu       sync.Mutex
	ctx      context.Context
	lastRole string

	bytes    atomic.Int64
	requests atomic.Int64
}

func (f *tufFetcher) setContext(ctx context.Context) {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
}

// context is the context set for go-tuf's calls, for downloads the
// refresh runs beside them.
func (f *tufFetcher) context() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx == nil {
		return context.Background()
	}
	return f.ctx
}

// setRole records role as the one requested last, for a download made
// earlier (tufRefresh.fetchAhead) whose bytes the workflow takes now.
func (f *tufFetcher) setRole(role string) {
	f.mu.Lock()
	f.lastRole = role
	f.mu.Unlock()
}

func (f *tufFetcher) role() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRole
}

// roleFromURL turns ".../7.bins-3f.json" or ".../timestamp.json" into the
// role name.
func roleFromURL(u string) string {
	base := path.Base(u)
	if p, err := url.PathUnescape(base); err == nil {
		base = p
	}
	base = strings.TrimSuffix(base, ".json")
	if i := strings.IndexByte(base, '.'); i > 0 {
		if _, err := strconv.ParseInt(base[:i], 10, 64); err == nil {
			base = base[i+1:]
		}
	}
	return base
}

func (f *tufFetcher) DownloadFile(urlPath string, maxLength int64, _ time.Duration) ([]byte, error) {
	f.mu.Lock()
	ctx := f.ctx
	f.lastRole = roleFromURL(urlPath)
	f.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	return f.download(ctx, urlPath, maxLength)
}

// download is DownloadFile with its own context, for fetches that do not
// run under the epoch's lock (epoch.predownload).
func (f *tufFetcher) download(ctx context.Context, urlPath string, maxLength int64) ([]byte, error) {
	f.requests.Add(1)
	// Slow retrieval: a metadata file must arrive whole within
	// MetadataTimeout, never stall for MetadataIdle, and keep a minimum
	// average rate once past a grace period.
	ctx, cancel := context.WithTimeout(ctx, f.limits.MetadataTimeout)
	defer cancel()
	resp, err := httpx.GetStream(ctx, f.client, urlPath, f.limits.MetadataIdle)
	if err != nil {
		var hs *httpx.StatusError
		if errors.As(err, &hs) {
			// go-tuf needs ErrDownloadHTTP to recognise the 404 that
			// ends the root probe.
			return nil, &metadata.ErrDownloadHTTP{StatusCode: hs.StatusCode, URL: httpx.RedactURL(urlPath)}
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: server announces %d bytes, more than the allowed %d", httpx.RedactURL(urlPath), resp.ContentLength, maxLength)}
	}
	body := &httpx.SlowReader{R: resp.Body, MinRate: f.limits.MetadataMinRate, Grace: f.limits.MetadataRateGrace}
	data, err := io.ReadAll(io.LimitReader(body, maxLength+1))
	f.bytes.Add(int64(len(data)))
	if err != nil {
		return nil, &NetworkError{URL: httpx.RedactURL(urlPath), Err: err}
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: more than the allowed %d bytes (endless data?)", httpx.RedactURL(urlPath), maxLength)}
	}
	return data, nil
}
