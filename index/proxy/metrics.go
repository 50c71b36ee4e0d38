package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// Metrics are the proxy's Prometheus metrics, on a registry of their own
// (never the global default), served at /-/metrics. Every label has a
// closed set of values, so a hostile client or repository cannot grow the
// series without bound: routes are the mux's patterns, refusal reasons
// the constants of refusalReason, store events cache.RemoteEvent.
//
// A Metrics is also the artifact store's cache.Observer and wraps the
// upstream HTTP transport (Transport), so that one scrape shows the whole
// path of a file.
type Metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec
	refusals         *prometheus.CounterVec
	verifySeconds    *prometheus.HistogramVec
	verifyBytes      *prometheus.CounterVec
	store            *prometheus.CounterVec
	upstreamRequests *prometheus.CounterVec
	upstreamBytes    prometheus.Counter
}

// NewMetrics returns the proxy's metrics on a new registry, with the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tufpip_http_requests_total", Help: "Requests answered, by route (the mux pattern) and HTTP status.",
		}, []string{"route", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tufpip_refusals_total", Help: "Requests refused, by reason.",
		}, []string{"reason"}),
		verifySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tufpip_verification_seconds", Help: "Time to stream one artifact through verification into the local cache, by source (upstream or store) and result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"source", "result"}),
		verifyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tufpip_verified_bytes_total", Help: "Bytes streamed through verification into the local cache, by source and result.",
		}, []string{"source", "result"}),
		store: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tufpip_store_events_total", Help: "Lookups and uploads of the shared artifact store (--store), by event: hit, miss, verify_failed, error, put, put_error.",
		}, []string{"event"}),
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tufpip_upstream_requests_total", Help: "HTTP requests to the repository (metadata, pages, files), by status (\"error\" when none came back).",
		}, []string{"code"}),
		upstreamBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tufpip_upstream_bytes_total", Help: "Response body bytes read from the repository.",
		}),
	}
	m.reg.MustRegister(m.requests, m.refusals, m.verifySeconds, m.verifyBytes, m.store, m.upstreamRequests, m.upstreamBytes,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	for _, ev := range []cache.RemoteEvent{cache.RemoteHit, cache.RemoteMiss, cache.RemoteBad, cache.RemoteError, cache.RemotePut, cache.RemotePutError} {
		m.store.WithLabelValues(string(ev))
	}
	return m
}

// Verified implements cache.Observer.
func (m *Metrics) Verified(source string, bytes int64, d time.Duration, ok bool) {
	if source == "remote" {
		source = "store"
	}
	result := "ok"
	if !ok {
		result = "failed"
	}
	m.verifySeconds.WithLabelValues(source, result).Observe(d.Seconds())
	m.verifyBytes.WithLabelValues(source, result).Add(float64(bytes))
}

// Remote implements cache.Observer.
func (m *Metrics) Remote(ev cache.RemoteEvent) { m.store.WithLabelValues(string(ev)).Inc() }

// Transport wraps rt to count requests to the repository and the bytes
// of their responses.
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		if err != nil {
			m.upstreamRequests.WithLabelValues("error").Inc()
			return resp, err
		}
		m.upstreamRequests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
		resp.Body = &countingBody{ReadCloser: resp.Body, c: m.upstreamBytes}
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countingBody struct {
	io.ReadCloser
	c prometheus.Counter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.Add(float64(n))
	return n, err
}

// tufCollector reports, at each scrape, every role's trusted version and
// the seconds until it expires (negative once expired).
type tufCollector struct {
	status  func(ctx context.Context) (updater.Status, error)
	now     func() time.Time
	version *prometheus.Desc
	expiry  *prometheus.Desc
	ok      *prometheus.Desc
}

// newTUFCollector reports one repository's roles; repository, when not
// empty (a proxy with a map file), labels its series.
func newTUFCollector(repository string, status func(ctx context.Context) (updater.Status, error), now func() time.Time) *tufCollector {
	var cl prometheus.Labels
	if repository != "" {
		cl = prometheus.Labels{"repository": repository}
	}
	return &tufCollector{
		status:  status,
		now:     now,
		version: prometheus.NewDesc("tufpip_tuf_trusted_version", "Version of each top-level role's trusted metadata.", []string{"role"}, cl),
		expiry:  prometheus.NewDesc("tufpip_tuf_expires_in_seconds", "Seconds until each top-level role's trusted metadata expires (negative: expired).", []string{"role"}, cl),
		ok:      prometheus.NewDesc("tufpip_tuf_metadata_usable", "1 when the trusted metadata could be loaded, 0 when not.", nil, cl),
	}
}

func (c *tufCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.version
	ch <- c.expiry
	ch <- c.ok
}

func (c *tufCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.status(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.ok, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.ok, prometheus.GaugeValue, 1)
	now := c.now()
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		rs, found := st.Roles[role]
		if !found {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, float64(rs.Version), role)
		ch <- prometheus.MustNewConstMetric(c.expiry, prometheus.GaugeValue, rs.Expires.Sub(now).Seconds(), role)
	}
}

func (p *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	p.metricsHandler.ServeHTTP(w, r)
}

// The refusal reasons, a closed set (metrics label them).
const (
	reasonNotFound      = "not_found"
	reasonNotSigned     = "not_signed"
	reasonVerification  = "verification_failed"
	reasonExpired       = "metadata_expired"
	reasonUnreachable   = "upstream_unreachable"
	reasonSuperseded    = "superseded"
	reasonTimeout       = "timeout"
	reasonCacheFull     = "cache_full"
	reasonBadRequest    = "bad_request"
	reasonHost          = "misdirected_host"
	reasonMethod        = "method_not_allowed"
	reasonNotAcceptable = "not_acceptable"
	reasonOther         = "other"
)

// refusalReason is the metrics label for a refusal caused by err.
func refusalReason(err error) string {
	var (
		me *updater.MetadataError
		mm *updater.MismatchError
		se *index.SupersededError
	)
	switch {
	case errors.As(err, &se):
		return reasonSuperseded
	case errors.Is(err, updater.ErrNotSigned):
		return reasonNotSigned
	case errors.Is(err, index.ErrProjectNotFound):
		return reasonNotFound
	case errors.Is(err, updater.ErrExpired):
		return reasonExpired
	case errors.As(err, &mm), errors.As(err, &me):
		return reasonVerification
	case errors.Is(err, context.DeadlineExceeded):
		return reasonTimeout
	case errors.Is(err, cache.ErrCacheFull):
		return reasonCacheFull
	case index.UpstreamUnreachable(err):
		return reasonUnreachable
	}
	return reasonOther
}

// statusReason is the label for a refusal that has no error, by status.
func statusReason(status int) string {
	switch status {
	case http.StatusNotFound:
		return reasonNotFound
	case http.StatusNotAcceptable:
		return reasonNotAcceptable
	case http.StatusMisdirectedRequest:
		return reasonHost
	case http.StatusMethodNotAllowed:
		return reasonMethod
	case http.StatusBadRequest:
		return reasonBadRequest
	}
	return reasonOther
}

func newMetricsHandler(m *Metrics) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// trustSources are the repositories whose trusted metadata the proxy
// serves from: one, or each of a map file's.
func (p *Handler) trustSources() []Repository {
	if p.cfg.Multi != nil {
		return p.cfg.Repositories
	}
	if p.cfg.Status == nil {
		return nil
	}
	return []Repository{{Status: p.cfg.Status}}
}

// serveReady answers 200 when the trusted metadata (of every repository,
// with a map file) is loaded and no top-level role has expired, else 503
// with the reason: a load balancer sends no pip to a replica that could
// only refuse.
func (p *Handler) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	sources := p.trustSources()
	if len(sources) == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: no trusted metadata\n")
		return
	}
	for _, src := range sources {
		if why := p.notReady(r.Context(), src.Status); why != "" {
			if src.Name != "" {
				why = "repository " + httpx.SafeLine(src.Name) + ": " + why
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: "+why+"\n")
			return
		}
	}
	io.WriteString(w, "ready\n")
}

// notReady says why status's metadata cannot serve, or "".
func (p *Handler) notReady(ctx context.Context, status func(context.Context) (updater.Status, error)) string {
	if status == nil {
		return "no trusted metadata"
	}
	st, err := status(ctx)
	if err != nil {
		return "trusted metadata not usable: " + httpx.SafeLine(err.Error())
	}
	now := p.now()
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		rs, ok := st.Roles[role]
		if !ok {
			return "no trusted " + role + " metadata"
		}
		if !now.Before(rs.Expires) {
			return "trusted " + role + " metadata expired at " + rs.Expires.UTC().Format(time.RFC3339)
		}
	}
	return ""
}
