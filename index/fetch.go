package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
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
	return fetchVerified(ctx, hc, store, ti, url, 0)
}

// DefaultMaxCoreMetadataBytes bounds a core metadata file (PEP 658). Real
// METADATA files are a few kilobytes, the largest on PyPI a few hundred.
const DefaultMaxCoreMetadataBytes = 16 << 20

// fetchVerified is FetchVerified for an artifact of at most maxLength
// bytes (0: no limit but the store's): a longer one, announced or
// streamed, fails with cache.ErrTooLarge and nothing is stored.
func fetchVerified(ctx context.Context, hc *http.Client, store *cache.Store, ti updater.TargetInfo, url string, maxLength int64) (*cache.Entry, error) {
	return store.FetchLimited(ctx, ti, maxLength, func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := httpx.GetStream(ctx, hc, url, downloadIdle)
		if err != nil {
			return nil, err
		}
		if ti.Length >= 0 && resp.ContentLength > ti.Length {
			resp.Body.Close()
			return nil, &updater.MismatchError{Path: ti.Path, Check: "length", Want: itoa(ti.Length), Got: itoa(resp.ContentLength) + " (announced)"}
		}
		if maxLength > 0 && resp.ContentLength > maxLength {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %w: %d bytes announced, more than %d", ti.Path, cache.ErrTooLarge, resp.ContentLength, maxLength)
		}
		rb := &resumingBody{ctx: ctx, hc: hc, url: url, cur: resp.Body, validator: validatorOf(resp)}
		body := &httpx.SlowReader{R: rb, MinRate: minDownloadRate, Grace: downloadRateWait}
		return readCloser{networkErrors{body, url}, rb}, nil
	})
}

const (
	downloadIdle = 30 * time.Second
	// maxResumes bounds how often a download that broke off mid-body is
	// resumed; each resume must have made progress.
	maxResumes = 3
)

// resumingBody reads an artifact and, when the connection breaks
// mid-body, asks for the rest with a Range request. Verification is
// unaffected: every byte, from whichever response, passes through the
// same Verifier, and only the whole stream's length and hashes count.
// Slow-retrieval failures (a stall, a trickle) are never resumed.
type resumingBody struct {
	ctx       context.Context
	hc        *http.Client
	url       string
	validator string // ETag or Last-Modified, for If-Range
	cur       io.ReadCloser
	n         int64 // bytes delivered so far
	atResume  int64 // n when the last resume started
	resumes   int
}

func validatorOf(resp *http.Response) string {
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		return et
	}
	return resp.Header.Get("Last-Modified")
}

func resumable(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (b *resumingBody) Read(p []byte) (int, error) {
	k, err := b.cur.Read(p)
	b.n += int64(k)
	if err == nil || err == io.EOF || !resumable(err) {
		return k, err
	}
	if b.resumes >= maxResumes || (b.resumes > 0 && b.n == b.atResume) || b.ctx.Err() != nil {
		return k, err
	}
	b.resumes++
	b.atResume = b.n
	next, rerr := b.reopen()
	if rerr != nil {
		return k, fmt.Errorf("%w (resuming at byte %d failed: %v)", err, b.n, rerr)
	}
	b.cur.Close()
	b.cur = next
	return k, nil
}

// reopen asks for the bytes from b.n on. A server that ignores Range
// sends everything again; the part already delivered is skipped.
func (b *resumingBody) reopen() (io.ReadCloser, error) {
	h := http.Header{"Range": {fmt.Sprintf("bytes=%d-", b.n)}}
	if b.validator != "" {
		h.Set("If-Range", b.validator)
	}
	resp, err := httpx.GetStreamHeader(b.ctx, b.hc, b.url, downloadIdle, h)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != b.n {
			resp.Body.Close()
			return nil, fmt.Errorf("server resumed at byte %d, not %d", start, b.n)
		}
	default: // 200: the whole file again
		if _, err := io.CopyN(io.Discard, resp.Body, b.n); err != nil {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp.Body, nil
}

func (b *resumingBody) Close() error { return b.cur.Close() }

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
		return n, fmt.Errorf("%w (%d bytes)", simple.ErrPageTooLarge, l.max)
	}
	return n, err
}
