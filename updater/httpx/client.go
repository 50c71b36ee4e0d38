package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Options configures the one HTTP client tufpip uses for metadata,
// index pages and files.
type Options struct {
	UserAgent      string
	ConnectTimeout time.Duration // default 10s
	HeaderTimeout  time.Duration // time to first response header, default 30s
	RetryMax       int           // default 3; 404 and other 4xx are never retried
	// AllowCrossHostRedirects permits redirects to another host. Off by
	// default: a mirror that sends us elsewhere is refused, loudly.
	AllowCrossHostRedirects bool
	// Credentials, if set, adds HTTP basic auth per host (see
	// Credentials).
	Credentials *Credentials
	Logger      *slog.Logger
}

// UserAgent is tufpip's default User-Agent.
func UserAgent() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "tufpip/" + v
}

// NewClient returns a retrying client built on a cloned default
// transport. Retries cover connection errors, 429 and 5xx; 404 is final
// (go-tuf ends its root probe only on 404).
func NewClient(o Options) *http.Client {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.HeaderTimeout == 0 {
		o.HeaderTimeout = 30 * time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = 3
	}
	if o.UserAgent == "" {
		o.UserAgent = UserAgent()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = o.HeaderTimeout
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	// Keep-alive for everything a proxy has in flight to one repository:
	// a page's parallel bin lookups (8), times the pages being verified
	// at once (pip's and the dependency prefetch's, 4), plus files.
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 256

	rc := retryablehttp.NewClient()
	var inner http.RoundTripper = tr
	if o.Credentials != nil {
		inner = &authTransport{creds: o.Credentials, next: tr, logger: o.Logger}
	}
	rc.HTTPClient = &http.Client{Transport: inner}
	rc.RetryMax = o.RetryMax
	rc.RetryWaitMin = 100 * time.Millisecond
	rc.RetryWaitMax = 2 * time.Second
	rc.Logger = nil
	if o.Logger != nil {
		rc.Logger = retryLogger{o.Logger}
	}
	// Hand the last response back instead of a generic "giving up" error,
	// so callers see the real status.
	rc.ErrorHandler = func(resp *http.Response, err error, _ int) (*http.Response, error) {
		if err != nil && resp != nil {
			// A refused redirect comes with the redirect response; a
			// RoundTripper must not return both.
			resp.Body.Close()
			return nil, err
		}
		return resp, err
	}
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Value(noRetryKey{}) != nil {
			return false, err
		}
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return false, nil
		}
		var redirErr *RedirectError
		if errors.As(err, &redirErr) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	c := rc.StandardClient()
	c.Transport = &userAgentTransport{ua: o.UserAgent, next: c.Transport}
	allowCross := o.AllowCrossHostRedirects
	tr2 := rc.HTTPClient
	tr2.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return &RedirectError{From: RedactedURL(via[0].URL), To: RedactedURL(req.URL), Reason: "too many redirects"}
		}
		if !allowCross && (req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme) {
			return &RedirectError{From: RedactedURL(via[0].URL), To: RedactedURL(req.URL), Reason: "redirect to another host refused"}
		}
		return nil
	}
	return c
}

type noRetryKey struct{}

// NoRetry returns ctx marked so that the client from NewClient makes one
// attempt only: for a speculative fetch that has a fallback of its own.
func NoRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// RedirectError is a redirect tufpip refused to follow.
type RedirectError struct {
	From, To, Reason string
}

func (e *RedirectError) Error() string {
	return RedactText(fmt.Sprintf("%s: %s -> %s", e.Reason, e.From, e.To))
}

type userAgentTransport struct {
	ua   string
	next http.RoundTripper
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.ua)
	}
	return t.next.RoundTrip(req)
}

type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug(msg, redactArgs(kv)...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug(msg, redactArgs(kv)...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug(msg, redactArgs(kv)...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug(msg, redactArgs(kv)...) }

// redactArgs redacts the URLs the retrying client logs (its request line,
// *url.URL values, errors).
func redactArgs(kv []any) []any {
	out := make([]any, len(kv))
	for i, v := range kv {
		switch x := v.(type) {
		case *url.URL:
			out[i] = RedactedURL(x)
		case string:
			out[i] = RedactText(x)
		case error:
			out[i] = RedactText(x.Error())
		case fmt.Stringer:
			out[i] = RedactText(x.String())
		default:
			out[i] = v
		}
	}
	return out
}

// Get fetches url with ctx and returns the response if its status is 200.
// Other statuses become an StatusError inside a NetworkError.
func Get(ctx context.Context, c *http.Client, url string) (*http.Response, error) {
	return get(ctx, c, url, nil)
}

func get(ctx context.Context, c *http.Client, url string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, redactError(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		// net/http's errors quote the URL whole, userinfo included.
		return nil, &NetworkError{URL: RedactURL(url), Err: redactError(err)}
	}
	if resp.StatusCode != http.StatusOK && !(header != nil && resp.StatusCode == http.StatusPartialContent) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &NetworkError{URL: RedactURL(url), Err: &StatusError{StatusCode: resp.StatusCode}}
	}
	return resp, nil
}

// SlowReader guards against slow-retrieval attacks: reading fails when,
// after a grace period, the average rate falls below MinRate bytes/s, or
// when a single read stalls longer than Stall.
type SlowReader struct {
	R       io.Reader
	MinRate float64       // bytes per second; 0 disables the rate check
	Grace   time.Duration // how long before the rate is enforced
	Now     func() time.Time

	start time.Time
	n     int64
}

// ErrTooSlow is returned by SlowReader.
var ErrTooSlow = errors.New("download too slow (possible slow-retrieval attack)")

func (s *SlowReader) Read(p []byte) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if s.start.IsZero() {
		s.start = now()
	}
	n, err := s.R.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		return n, err // a stall or reset says more than "too slow"
	}
	if s.MinRate > 0 {
		el := now().Sub(s.start)
		if el > s.Grace && float64(s.n)/el.Seconds() < s.MinRate {
			return n, fmt.Errorf("%w: %d bytes in %s", ErrTooSlow, s.n, el.Round(time.Millisecond))
		}
	}
	return n, err
}

// GetStream is Get for bodies that may be large: the request is cancelled
// if no byte arrives for idle, so a server that stalls mid-body cannot
// hold a download (or pip) forever.
func GetStream(ctx context.Context, c *http.Client, url string, idle time.Duration) (*http.Response, error) {
	return GetStreamHeader(ctx, c, url, idle, nil)
}

// GetStreamHeader is GetStream with extra request headers. With any
// header given, 206 Partial Content is accepted besides 200 (for Range).
func GetStreamHeader(ctx context.Context, c *http.Client, url string, idle time.Duration, header http.Header) (*http.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	resp, err := get(ctx, c, url, header)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &idleBody{rc: resp.Body, cancel: cancel, idle: idle}
	w.timer = time.AfterFunc(idle, func() { w.stalled.Store(true); cancel() })
	resp.Body = w
	return resp, nil
}

type idleBody struct {
	rc      io.ReadCloser
	cancel  context.CancelFunc
	idle    time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

// ErrStalled means upstream sent nothing for the idle timeout.
var ErrStalled = errors.New("download stalled: no data received (possible slow-retrieval attack)")

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF && b.stalled.Load() {
		err = fmt.Errorf("%w after %s", ErrStalled, b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	b.cancel()
	return b.rc.Close()
}
