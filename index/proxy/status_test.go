package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
)

func TestStatusPage(t *testing.T) {
	exp := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	st := updater.Status{
		Roles: map[string]updater.RoleStatus{
			"root":      {Version: 2, Expires: exp, Keys: 3, Threshold: 2},
			"timestamp": {Version: 41, Expires: exp, Keys: 1, Threshold: 1},
			"snapshot":  {Version: 40, Expires: exp, Keys: 1, Threshold: 1},
			"targets":   {Version: 7, Expires: exp, Keys: 1, Threshold: 1},
		},
		Bins: 256, BinPrefix: "bins", Source: "network", RefreshedAt: exp.Add(-time.Hour),
	}
	p := New(Config{
		Client: &index.Client{Site: index.Site{Layout: index.LayoutPEP458}},
		Status: func(context.Context) (updater.Status, error) { return st, nil },
	})
	get := func(accept string) (*http.Response, string) {
		req := httptest.NewRequest(http.MethodGet, "/-/status", nil)
		req.Header.Set("Accept", accept)
		req.Host = "127.0.0.1:8458" // httptest's example.com is refused
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Result(), string(body)
	}
	resp, body := get("text/html,application/xhtml+xml")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("browser got %q", ct)
	}
	for _, want := range []string{"<td>timestamp</td><td>41</td><td>2036-01-01T00:00:00Z</td><td>1 of 1</td>", "<td>root</td><td>2</td>", "2 of 3", "256 hash bins"} {
		if !strings.Contains(body, want) {
			t.Fatalf("status page lacks %q:\n%s", want, body)
		}
	}
	resp, body = get("*/*")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("curl got %q", ct)
	}
	var js Status
	if err := json.Unmarshal([]byte(body), &js); err != nil || js.TUF == nil || js.TUF.Roles["timestamp"].Version != 41 {
		t.Fatalf("JSON status %v: %s", err, body)
	}
}
