package updater_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

func TestFetchInitialRoot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/m/1.root.json":
			w.Write([]byte(`{"signed":{}}`))
		case "/big/1.root.json":
			w.Write([]byte(strings.Repeat("x", 100)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := httpx.NewClient(httpx.Options{RetryMax: 1})
	ctx := context.Background()
	if b, err := updater.FetchInitialRoot(ctx, c, srv.URL+"/m", 0); err != nil || string(b) != `{"signed":{}}` {
		t.Errorf("FetchInitialRoot = %q, %v", b, err)
	}
	if _, err := updater.FetchInitialRoot(ctx, c, srv.URL+"/big/", 99); err == nil || !strings.Contains(err.Error(), "fetching first root: more than 99 bytes") {
		t.Errorf("too long: %v", err)
	}
	var se *httpx.StatusError
	if _, err := updater.FetchInitialRoot(ctx, c, srv.URL+"/none/", 0); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("missing: %v, want a 404", err)
	}
}
