package repogen

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/integration/testenv"
)

const fixtureDir = "../../../shared/fixtures/pep458-python-tuf"

// fixturePath finds the reference fixture, from the repository layout or
// $TUFPIP_SHARED.
func fixturePath(t *testing.T) string {
	t.Helper()
	candidates := []string{fixtureDir, "/work/shared/fixtures/pep458-python-tuf"}
	if s := os.Getenv("TUFPIP_SHARED"); s != "" {
		candidates = append([]string{filepath.Join(s, "fixtures/pep458-python-tuf")}, candidates...)
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "expected.json")); err == nil {
			return c
		}
	}
	testenv.MissingPrerequisite(t, "reference fixture pep458-python-tuf not found")
	return ""
}

// serve starts the repository's static server for the test.
func serve(t *testing.T, dir string) string {
	t.Helper()
	url, shutdown, err := Serve(context.Background(), dir, "")
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(shutdown)
	return url
}

// client is a go-tuf updater pointed at a served repository with a cache
// directory that survives between updaters, as a real client's would.
type client struct {
	base  string
	root  []byte
	cache string
}

func newClient(t *testing.T, base string, root []byte) *client {
	t.Helper()
	return &client{base: base, root: root, cache: t.TempDir()}
}

// updater returns a fresh go-tuf updater (one per refresh, as go-tuf
// requires), using and updating the cached metadata.
func (c *client) updater(t *testing.T) *updater.Updater {
	t.Helper()
	cfg, err := config.New(c.base+"/metadata/", c.root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMetadataDir = c.cache
	cfg.LocalTargetsDir = filepath.Join(c.cache, "targets")
	cfg.RemoteTargetsURL = c.base + "/packages/"
	if err := cfg.SetDefaultFetcherHTTPClient(&http.Client{Timeout: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatalf("updater.New: %v", err)
	}
	return up
}

// refresh runs a full refresh with a new updater and returns it.
func (c *client) refresh(t *testing.T) (*updater.Updater, error) {
	t.Helper()
	up := c.updater(t)
	return up, up.Refresh()
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	cl := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, body
}

func b2hex(data []byte) string {
	s := blake2b.Sum256(data)
	return hex.EncodeToString(s[:])
}

func mustGenerate(t *testing.T, opts Options, specs []ProjectSpec, dirs ...string) *Repo {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "repo")
	}
	r, err := Generate(opts, specs, dirs...)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return r
}

// demoSpecs exercise every page attribute: dependencies, requires-python,
// yanked with and without reason, wheel and sdist.
func demoSpecs() []ProjectSpec {
	return []ProjectSpec{
		{Name: "app", Releases: []ReleaseSpec{{Version: "1.0", Dependencies: []string{"lib>=1.0"}, RequiresPython: ">=3.8", Dists: Wheel | Sdist}}},
		{Name: "Lib_Name.Two", Releases: []ReleaseSpec{
			{Version: "0.9", Yanked: true, YankedReason: "broken <build>"},
			{Version: "1.0", Yanked: true},
			{Version: "1.1", Dists: Sdist},
		}},
		{Name: "lib", Releases: []ReleaseSpec{Release("1.0"), Release("2.0")}},
	}
}
