package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/updater"
)

// Slow-retrieval defence for artifact downloads: after a grace period the
// average rate must stay above this floor.
const (
	minDownloadRate  = 4 << 10 // bytes per second
	downloadRateWait = 20 * time.Second
)

// FetchVerified returns the cached, verified artifact for ti, downloading
// it from url first if needed. Bytes stream through verification into a
// temporary file in the store; only a file whose length and every known
// hash match ti ever appears under its final name. Concurrent callers for
// one artifact share one download.
func FetchVerified(ctx context.Context, hc *http.Client, store *cache.Store, ti updater.TargetInfo, url string) (*cache.Entry, error) {
	return store.Fetch(ctx, ti, func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := updater.GetStream(ctx, hc, url, 30*time.Second)
		if err != nil {
			return nil, err
		}
		if ti.Length >= 0 && resp.ContentLength > ti.Length {
			resp.Body.Close()
			return nil, &updater.MismatchError{Path: ti.Path, Check: "length", Want: itoa(ti.Length), Got: itoa(resp.ContentLength) + " (announced)"}
		}
		body := &updater.SlowReader{R: resp.Body, MinRate: minDownloadRate, Grace: downloadRateWait}
		return readCloser{networkErrors{body, url}, resp.Body}, nil
	})
}

// networkErrors marks failures while a body streams (a reset, a stall,
// a trickle) as the network's, so every command reports them alike.
type networkErrors struct {
	r   io.Reader
	url string
}

func (n networkErrors) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		var ne *updater.NetworkError
		if !errors.As(err, &ne) {
			err = &updater.NetworkError{URL: n.url, Err: err}
		}
	}
	return k, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// limitReader reads at most max bytes and then fails, so an oversized
// body is refused rather than truncated.
func limitReader(r io.Reader, max int64) io.Reader {
	return &limitedReader{r: io.LimitReader(r, max+1), max: max}
}

type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w (%d bytes)", ErrPageTooLarge, l.max)
	}
	return n, err
}
