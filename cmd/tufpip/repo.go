package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/adrg/xdg"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// repoConfig is one registered repository, stored as JSON in
// <config>/repositories/<name>.json.
type repoConfig struct {
	Name        string `json:"name"`
	MetadataURL string `json:"metadata_url"`
	IndexURL    string `json:"index_url"`
	FilesURL    string `json:"files_url"`
	Layout      string `json:"layout"`
	// TrustOnFirstUse records that the root was not shipped but fetched.
	TrustOnFirstUse bool `json:"trust_on_first_use,omitempty"`
}

type dirs struct{ config, state, cache string }

func (g *globals) dirs() dirs {
	if g.home != "" {
		return dirs{filepath.Join(g.home, "config"), filepath.Join(g.home, "state"), filepath.Join(g.home, "cache")}
	}
	return dirs{filepath.Join(xdg.ConfigHome, "tufpip"), filepath.Join(xdg.StateHome, "tufpip"), filepath.Join(xdg.CacheHome, "tufpip")}
}

func (d dirs) repoFile(name string) string {
	return filepath.Join(d.config, "repositories", name+".json")
}

// repoState is where a repository's trust lives: the bootstrap root and
// the trusted metadata. It is state, not cache: deleting it loses the
// rollback protection that the newest trusted versions give.
func (d dirs) repoState(name string) string { return filepath.Join(d.state, "repositories", name) }

func (g *globals) artifactDir() string {
	if g.cacheDir != "" {
		return g.cacheDir
	}
	return filepath.Join(g.dirs().cache, "artifacts")
}

// openStore opens the artifact cache with the configured size bound.
func (g *globals) openStore() (*cache.Store, error) {
	limit, err := g.cacheLimit()
	if err != nil {
		return nil, err
	}
	return cache.OpenStore(g.artifactDir(), cache.StoreOptions{Logger: g.logger, MaxBytes: limit, Remote: g.storeRemote, Observer: g.storeObserver})
}

// cacheLimit is --cache-max-size in bytes; 0 means no limit.
func (g *globals) cacheLimit() (int64, error) {
	limit, err := parseSize(g.cacheMax)
	if err != nil {
		return 0, usagef("invalid --cache-max-size %q: %v", g.cacheMax, err).withHint("give a size such as 500MB or 10GiB, or 0 for no limit")
	}
	return limit, nil
}

func validRepoName(name string) error {
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" || strings.HasPrefix(name, ".") {
		return usagef("invalid repository name %q: use lower-case letters, digits, '-', '_' and '.'", name)
	}
	return nil
}

func registeredRepos(d dirs) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.config, "repositories"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

func loadRepoConfig(d dirs, name string) (repoConfig, error) {
	var rc repoConfig
	data, err := os.ReadFile(d.repoFile(name))
	if err != nil {
		return rc, err
	}
	if err := json.Unmarshal(data, &rc); err != nil {
		return rc, fmt.Errorf("repository config %s is corrupt: %w", d.repoFile(name), err)
	}
	return rc, nil
}

// resolveRepo decides which repository a command talks to: a registered
// one, possibly overridden by flags, or an ad-hoc one given by flags.
func (g *globals) resolveRepo() (repoConfig, error) {
	d := g.dirs()
	name := g.repo
	var rc repoConfig
	if name == "" && g.metadataURL == "" {
		names, err := registeredRepos(d)
		if err != nil {
			return rc, err
		}
		switch {
		case len(names) == 1:
			name = names[0]
		case len(names) > 1:
			return rc, usagef("several repositories are registered (%s): choose one with --repository", strings.Join(names, ", "))
		default:
			return rc, usagef("no repository configured").withHint("register one with \"tufpip init NAME --metadata-url URL --index-url URL --root root.json\", or run \"tufpip demo\"")
		}
	}
	if name != "" {
		var err error
		rc, err = loadRepoConfig(d, name)
		if errors.Is(err, os.ErrNotExist) {
			if g.metadataURL == "" {
				return rc, usagef("repository %q is not registered", name).withHint("run \"tufpip init %s ...\" first", name)
			}
			rc = repoConfig{Name: name}
		} else if err != nil {
			return rc, err
		}
	} else {
		// Named without the URL's credentials: a short hash of a
		// password would be a way to test guesses of it.
		clean, _, _, _, _ := httpx.StripUserinfo(g.metadataURL)
		sum := sha256.Sum256([]byte(clean))
		rc.Name = "adhoc-" + hex.EncodeToString(sum[:6])
	}
	if g.metadataURL != "" {
		rc.MetadataURL = g.metadataURL
	}
	if g.indexURL != "" {
		rc.IndexURL = g.indexURL
	}
	if g.filesURL != "" {
		rc.FilesURL = g.filesURL
	}
	if g.layout != "" {
		rc.Layout = g.layout
	}
	return rc, completeRepo(&rc)
}

// completeRepo fills defaults and checks URLs.
func completeRepo(rc *repoConfig) error {
	if rc.MetadataURL == "" {
		return usagef("repository %q has no metadata URL (--metadata-url)", rc.Name)
	}
	if rc.Layout == "" {
		rc.Layout = string(index.LayoutPEP458)
	}
	if _, err := index.ParseLayout(rc.Layout); err != nil {
		return usageError{err: err}
	}
	for _, u := range []*string{&rc.MetadataURL, &rc.IndexURL, &rc.FilesURL} {
		if *u == "" {
			continue
		}
		pu, err := url.Parse(*u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return usagef("invalid URL %q: want http(s)://host/path/", httpx.RedactURL(*u))
		}
		if !strings.HasSuffix(*u, "/") {
			*u += "/"
		}
	}
	return nil
}

// session is everything a command needs to talk to one repository.
type session struct {
	g      *globals
	rc     repoConfig
	stateD string
	http   *http.Client
	up     *updater.Updater
	site   index.Site
	store  *cache.Store
	creds  *httpx.Credentials
}

func (g *globals) freshness() (time.Duration, error) {
	if g.window == "" {
		return 5 * time.Minute, nil
	}
	d, err := time.ParseDuration(g.window)
	if err != nil || d < 0 {
		return 0, usagef("invalid --freshness %q: want a duration such as 5m, or 0", g.window)
	}
	return d, nil
}

// openSession builds the updater, index site and artifact store for the
// resolved repository. It does no network I/O.
func (g *globals) openSession(ctx context.Context) (*session, error) {
	rc, err := g.resolveRepo()
	if err != nil {
		return nil, err
	}
	store, err := g.openStore()
	if err != nil {
		return nil, fmt.Errorf("opening artifact cache: %w", err)
	}
	return g.openRepoSession(ctx, rc, store)
}

// openRepoSession is openSession for a resolved repository, with the
// artifact cache it shares with other sessions (a map file's).
func (g *globals) openRepoSession(ctx context.Context, rc repoConfig, store *cache.Store) (*session, error) {
	d := g.dirs()
	rc, creds, err := g.repoCredentials(rc)
	if err != nil {
		return nil, err
	}
	s := &session{g: g, rc: rc, stateD: d.repoState(rc.Name), creds: creds}
	metaDir := filepath.Join(s.stateD, "metadata")
	if err := os.MkdirAll(metaDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	boot, err := g.bootstrapRoot(ctx, s.stateD, rc, creds)
	if err != nil {
		return nil, err
	}
	window, err := g.freshness()
	if err != nil {
		return nil, err
	}
	if g.refresh {
		window = 0
	}
	s.http = httpx.NewClient(httpx.Options{Credentials: creds, Logger: g.logger})
	lockPath := filepath.Join(s.stateD, "refresh")
	s.up, err = updater.New(updater.Config{
		MetadataURL:   rc.MetadataURL,
		MetadataDir:   metaDir,
		BootstrapRoot: boot,
		HTTPClient:    s.http,
		Window:        window,
		Offline:       g.offline,
		Now:           sessionClock(ctx),
		Lock: func(ctx context.Context) (func() error, error) {
			unlock, err := cache.Lock(ctx, lockPath)
			if err != nil {
				return nil, err
			}
			cache.CleanTemp(metaDir, time.Minute)
			return unlock, nil
		},
		Logger: g.logger,
	})
	if err != nil {
		return nil, err
	}
	if s.site, err = siteOf(rc); err != nil {
		return nil, err
	}
	s.store = store
	return s, nil
}

func siteOf(rc repoConfig) (index.Site, error) {
	layout, err := index.ParseLayout(rc.Layout)
	if err != nil {
		return index.Site{}, usageError{err: err}
	}
	site := index.Site{Layout: layout}
	if rc.IndexURL != "" {
		site.IndexURL, _ = url.Parse(rc.IndexURL)
	}
	if rc.FilesURL != "" {
		site.FilesURL, _ = url.Parse(rc.FilesURL)
	}
	return site, nil
}

// bootstrapRoot returns the root to start from when the metadata dir has
// none: --root, the root stored by init, an embedded root for a known
// repository, or (only with --trust-on-first-use) 1.root.json.
func (g *globals) bootstrapRoot(ctx context.Context, stateDir string, rc repoConfig, creds *httpx.Credentials) ([]byte, error) {
	if g.rootFile != "" {
		b, err := os.ReadFile(g.rootFile)
		if err != nil {
			return nil, usagef("reading --root: %v", err)
		}
		return b, nil
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, "bootstrap-root.json")); err == nil {
		return b, nil
	}
	if b, ok := embeddedRoots[rc.Name]; ok {
		return b, nil
	}
	if _, err := os.Stat(filepath.Join(stateDir, "metadata", "root.json")); err == nil {
		return nil, nil // the cached trusted root is enough
	}
	if g.tofu {
		return fetchFirstRoot(ctx, g, rc.MetadataURL, creds)
	}
	return nil, usagef("no trusted root for repository %q", rc.Name).withHint("pass the root.json the repository publishes out of band with --root FILE (or, unsafely, --trust-on-first-use)")
}

// embeddedRoots are roots shipped inside tufpip for known repositories.
// PyPI does not publish TUF metadata yet; its root goes here when it does.
var embeddedRoots = map[string][]byte{}

// fetchFirstRoot is the trust-on-first-use the user asked for: the
// decision and the warning are here, the fetch is the updater's.
func fetchFirstRoot(ctx context.Context, g *globals, metadataURL string, creds *httpx.Credentials) ([]byte, error) {
	fmt.Fprintf(g.stderr, "tufpip: warning: trusting %s1.root.json on first use: an attacker on this connection could substitute their own root\n", httpx.RedactURL(metadataURL))
	hc := httpx.NewClient(httpx.Options{Credentials: creds, Logger: g.logger})
	return updater.FetchInitialRoot(ctx, hc, metadataURL, 0)
}
