package updater

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tufpip/tufpip/updater/httpx"
)

func TestRoleFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/m/timestamp.json":   "timestamp",
		"http://h/m/7.bins-3f.json":   "bins-3f",
		"http://h/m/12.root.json":     "root",
		"http://h/m/1.snapshot.json":  "snapshot",
		"http://h/m/3...%2Fevil.json": "../evil",
		"http://h/m/2.bins.sub.json":  "bins.sub",
	} {
		if got := roleFromURL(in); got != want {
			t.Errorf("roleFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A metadata server that trickles bytes is cut off: the refresh fails
// instead of hanging.
func TestFetcherSlowRetrieval(t *testing.T) {
	limits := Limits{MetadataIdle: 300 * time.Millisecond, MetadataMinRate: 1000, MetadataRateGrace: 200 * time.Millisecond}.withDefaults()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()
	f := &tufFetcher{client: httpx.NewClient(httpx.Options{RetryMax: 1}), limits: limits}
	_, err := f.DownloadFile(srv.URL+"/timestamp.json", 1<<20, 0)
	if !errors.Is(err, httpx.ErrTooSlow) && !errors.Is(err, httpx.ErrStalled) {
		t.Fatalf("err = %v, want a slow-retrieval error", err)
	}
}
