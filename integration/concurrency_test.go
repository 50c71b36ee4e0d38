package integration

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// concurrentJob is one pip process of the concurrent load.
type concurrentJob struct {
	req  string
	want map[string]string
}

// concurrentLoad is six pips installing different projects and versions
// at once; two of them share lib, so the proxy verifies its page and a
// wheel for two clients at the same time.
var concurrentLoad = []concurrentJob{
	{"synthetic-pkg-0==1.0.0", map[string]string{"synthetic_pkg_0": "1.0.0"}},
	{"synthetic-pkg-1", map[string]string{"synthetic_pkg_1": "1.1.0"}},
	{"synthetic-pkg-2==1.0.0", map[string]string{"synthetic_pkg_2": "1.0.0"}},
	{"synthetic-pkg-3", map[string]string{"synthetic_pkg_3": "1.1.0"}},
	{"app", map[string]string{"app": "1.0", "lib": "1.1"}},
	{"lib==1.1", map[string]string{"lib": "1.1"}},
}

// TestConcurrentPips runs six pip processes at once against one proxy with
// a cold cache, then the same load against the proxy built with -race.
func TestConcurrentPips(t *testing.T) {
	py := requirePython(t)
	tr := newRepo(t, repogen.IndexLayoutPEP458, append(appAndLib(), repogen.SyntheticProjects(4)...))
	// Build the race binary while the first load runs.
	go raceTufpipBuild()

	for _, c := range []struct {
		name string
		bin  func(*testing.T) string
	}{
		{"tufpip", func(*testing.T) string { return tufpipBin }},
		{"tufpip-race", raceTufpip},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startProxy(t, tr, proxyOptions{bin: c.bin(t)})
			var wg sync.WaitGroup
			for _, job := range concurrentLoad {
				wg.Add(1)
				go func() {
					defer wg.Done()
					target, out, err := pipInstall(t, py, p.URL, job.req)
					if err != nil {
						t.Errorf("pip install %s: %v\n%s", job.req, err, out)
						return
					}
					assertInstalled(t, py, target, job.want)
				}()
			}
			wg.Wait()

			res := get(t, "GET", p.Base+"/-/status")
			var st struct {
				FilesServed int64 `json:"files_served"`
				Refused     int64 `json:"refused"`
			}
			if err := json.Unmarshal(res.Body, &st); err != nil {
				t.Fatalf("status: %v\n%s", err, res.Body)
			}
			// Seven wheels (app's job gets two); pips with PEP 658 support
			// also fetch each wheel's .metadata.
			if st.FilesServed < 7 || st.Refused != 0 {
				t.Errorf("the proxy served %d files and refused %d requests; want at least 7 and none", st.FilesServed, st.Refused)
			}
			p.stop(t)
			if log := p.Log(); strings.Contains(log, "WARNING: DATA RACE") {
				t.Errorf("data race in the proxy:\n%s", log)
			}
			if n := assertCacheVerified(t, p.Home, tr); n < 7 {
				t.Errorf("the cache holds %d verified files, want at least the 7 wheels", n)
			}
			t.Logf("%s: %d files served to %d concurrent pips", c.name, st.FilesServed, len(concurrentLoad))
		})
	}
}

// raceTufpipBuild starts the -race build early; raceTufpip waits for it.
func raceTufpipBuild() {
	raceOnce.Do(func() { raceBin, raceErr = buildTufpip("tufpip-race", "-race") })
}
