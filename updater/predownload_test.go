package updater_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// Lookups of targets in different bins download their bins side by side:
// the epoch's lock is not held across the network (predownload). The
// server holds the first bin request until a second one arrives; with the
// downloads serialized it never does.
func TestConcurrentLookupsFetchBinsTogether(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 8}, repogen.SyntheticProjects(6))
	if err != nil {
		t.Fatal(err)
	}
	bin := regexp.MustCompile(`/metadata/\d+\.bins-[0-9a-f]+\.json$`)
	var (
		inFlight   atomic.Int32
		overlapped atomic.Bool
		arrived    = make(chan struct{})
		once       sync.Once
	)
	files := repogen.NewHandler(r.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if bin.MatchString(req.URL.Path) {
			if inFlight.Add(1) > 1 {
				overlapped.Store(true)
				once.Do(func() { close(arrived) })
			}
			select {
			case <-arrived:
			case <-time.After(3 * time.Second):
			}
			defer inFlight.Add(-1)
		}
		files.ServeHTTP(w, req)
	}))
	defer srv.Close()
	u := newUpdater(t, srv.URL+"/", r.TrustedRoot(), t.TempDir())
	ctx := context.Background()
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Two targets in different bins.
	var paths []string
	bins := map[string]bool{}
	for path, ts := range r.Targets() {
		if !bins[ts.Bin] {
			bins[ts.Bin] = true
			paths = append(paths, path)
		}
		if len(paths) == 2 {
			break
		}
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			ti, err := u.Target(ctx, p)
			if err != nil || ti.Length != r.Targets()[p].Length {
				t.Errorf("Target(%s) = %+v, %v", p, ti, err)
			}
		})
	}
	wg.Wait()
	if !overlapped.Load() {
		t.Errorf("the two bins were downloaded one after another")
	}
}
