package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
)

func statusAt(exp time.Time) updater.Status {
	return updater.Status{Roles: map[string]updater.RoleStatus{
		"root": {Version: 2, Expires: exp.Add(time.Hour)}, "timestamp": {Version: 41, Expires: exp},
		"snapshot": {Version: 40, Expires: exp.Add(time.Hour)}, "targets": {Version: 7, Expires: exp.Add(time.Hour)},
	}}
}

func serveLocal(p *Handler, path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "127.0.0.1:8458"
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// TestReadyz: ready only while trusted metadata loads and no top-level
// role has expired; liveness stays "ok" either way.
func TestReadyz(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		status func(context.Context) (updater.Status, error)
		code   int
		body   string
	}{
		{"fresh", func(context.Context) (updater.Status, error) { return statusAt(now.Add(time.Minute)), nil }, 200, "ready\n"},
		{"timestamp expired", func(context.Context) (updater.Status, error) { return statusAt(now), nil }, 503, "not ready: trusted timestamp metadata expired at 2030-01-01T00:00:00Z\n"},
		{"unloadable", func(context.Context) (updater.Status, error) {
			return updater.Status{}, errors.New("no trusted root\x1b[31m")
		}, 503, "not ready: trusted metadata not usable: no trusted root\\x1b[31m\n"},
		{"no status", nil, 503, "not ready: no trusted metadata\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Config{
				Client: &index.Client{Site: index.Site{Layout: index.LayoutPEP458}},
				Pages:  &index.PageCache{TTL: time.Minute, Now: func() time.Time { return now }},
				Status: tc.status,
			})
			if code, body := serveLocal(p, "/-/readyz"); code != tc.code || body != tc.body {
				t.Errorf("readyz: %d %q, want %d %q", code, body, tc.code, tc.body)
			}
			if code, body := serveLocal(p, "/-/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("healthz: %d %q", code, body)
			}
		})
	}
}

// TestMetricsMove: requests, refusals (with bounded reasons) and the TUF
// gauges, as the Prometheus text parser reads them.
func TestMetricsMove(t *testing.T) {
	now := time.Now()
	p := New(Config{
		Client: &index.Client{Site: index.Site{Layout: index.LayoutPEP458}},
		Status: func(context.Context) (updater.Status, error) { return statusAt(now.Add(30 * time.Minute)), nil },
	})
	serveLocal(p, "/-/healthz")
	serveLocal(p, "/simple/Not_Valid!/") // invalid name: a 404 refusal
	req := httptest.NewRequest(http.MethodGet, "/-/healthz", nil)
	req.Host = "evil.example"
	p.ServeHTTP(httptest.NewRecorder(), req)

	code, body := serveLocal(p, "/-/metrics")
	if code != 200 {
		t.Fatalf("/-/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing: %v\n%s", err, body)
	}
	value := func(name string, labels map[string]string) float64 {
		for _, m := range mf[name].GetMetric() {
			match := true
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == k && lp.GetValue() == v)
				}
				match = match && found
			}
			if match {
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
				return m.Gauge.GetValue()
			}
		}
		return -1
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tufpip_http_requests_total", map[string]string{"route": "/-/healthz", "code": "200"}, 1},
		{"tufpip_http_requests_total", map[string]string{"route": "/simple/{project}/{$}", "code": "404"}, 1},
		{"tufpip_http_requests_total", map[string]string{"route": "misdirected", "code": "421"}, 1},
		{"tufpip_refusals_total", map[string]string{"reason": "not_found"}, 1},
		{"tufpip_refusals_total", map[string]string{"reason": "misdirected_host"}, 1},
		{"tufpip_tuf_trusted_version", map[string]string{"role": "timestamp"}, 41},
		{"tufpip_store_events_total", map[string]string{"event": "hit"}, 0},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := value("tufpip_tuf_expires_in_seconds", map[string]string{"role": "timestamp"}); v < 29*60 || v > 30*60 {
		t.Errorf("timestamp expires in %v s, want about 1800", v)
	}
}
