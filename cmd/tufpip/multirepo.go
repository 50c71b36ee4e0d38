package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tufpip/tufpip/index/multirepo"
)

// mapFlagHelp is --map's help, the same on every command that takes it.
const mapFlagHelp = "a TAP 4 map file (JSON) choosing, per project-name pattern, which registered repositories must vouch for a project, how many must agree, and whether the search stops there (replaces --repository; see docs/multirepo.md)"

// mapSessions is a map file's repositories, each with its own session
// (its own trusted state, freshness window and epochs) and one shared
// artifact cache.
type mapSessions struct {
	path     string
	m        *multirepo.Map
	sessions map[string]*session
}

// checkMapFlags refuses the flags that choose one repository beside a
// map file, which chooses them all.
func (g *globals) checkMapFlags() error {
	for flag, v := range map[string]string{"repository": g.repo, "metadata-url": g.metadataURL, "index-url": g.indexURL,
		"files-url": g.filesURL, "layout": g.layout, "root": g.rootFile} {
		if v != "" {
			return usagef("--%s cannot be combined with --map: the map file names the repositories", flag).
				withHint("register each repository once with \"tufpip init NAME ...\" and name it in the map file")
		}
	}
	if g.tofu {
		return usagef("--trust-on-first-use cannot be combined with --map").withHint("register each repository with its root first (tufpip init NAME --root FILE ...)")
	}
	return nil
}

// loadMap reads and validates the map file against the registered
// repositories. It does no network I/O.
func (g *globals) loadMap(path string) (*multirepo.Map, error) {
	if err := g.checkMapFlags(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("reading the map file: %v", err)
	}
	d := g.dirs()
	m, err := multirepo.Parse(data, func(name string) (string, bool) {
		if validRepoName(name) != nil {
			return "", false
		}
		rc, err := loadRepoConfig(d, name)
		if err != nil {
			return "", false
		}
		return rc.MetadataURL, true
	})
	if err != nil {
		return nil, fmt.Errorf("map file %s: %w", path, err)
	}
	return m, nil
}

// openMapSessions loads the map file and opens a session for each of
// its repositories.
func (g *globals) openMapSessions(ctx context.Context, path string) (*mapSessions, error) {
	m, err := g.loadMap(path)
	if err != nil {
		return nil, err
	}
	store, err := g.openStore()
	if err != nil {
		return nil, fmt.Errorf("opening artifact cache: %w", err)
	}
	ms := &mapSessions{path: path, m: m, sessions: map[string]*session{}}
	d := g.dirs()
	for _, name := range m.Repositories {
		rc, err := loadRepoConfig(d, name)
		if err != nil {
			return nil, fmt.Errorf("repository %q of the map file: %w", name, err)
		}
		if err := completeRepo(&rc); err != nil {
			return nil, err
		}
		if rc.IndexURL == "" {
			return nil, usagef("repository %q of the map file has no index URL", name).withHint("register it again with \"tufpip init %s --index-url URL ...\"", name)
		}
		s, err := g.openRepoSession(ctx, rc, store)
		if err != nil {
			return nil, fmt.Errorf("repository %q of the map file: %w", name, err)
		}
		ms.sessions[name] = s
	}
	return ms, nil
}

// resolver is the map's resolver over the sessions' clients; before,
// if set, gives each repository's refresh to run before its pages.
func (ms *mapSessions) resolver(g *globals, before bool) *multirepo.Resolver {
	r := &multirepo.Resolver{Map: ms.m, Sources: map[string]*multirepo.Source{}, Logger: g.logger}
	for name, s := range ms.sessions {
		src := &multirepo.Source{Client: s.client()}
		if before {
			src.Before = s.up.Refresh
		}
		r.Sources[name] = src
	}
	return r
}

// refreshAll refreshes every repository once. A repository that fails
// is reported (warn) and left to fail its own mappings; only when every
// one fails is it an error.
func (ms *mapSessions) refreshAll(ctx context.Context, warn func(name string, err error)) error {
	var errs []error
	for _, name := range ms.m.Repositories {
		if err := ms.sessions[name].up.Refresh(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			warn(name, err)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) == len(ms.m.Repositories) {
		return fmt.Errorf("initial TUF refresh failed for every repository of the map file (%s); the first: %w", ms.names(), errs[0])
	}
	return nil
}

// fromMap: err is a map file's decision (no mapping matched, or the
// mappings did not reach their thresholds), whose words already say
// which repositories were asked.
func fromMap(err error) bool {
	var (
		ue *multirepo.UnmappedError
		nr *multirepo.NotResolvedError
	)
	return errors.As(err, &ue) || errors.As(err, &nr)
}

func (ms *mapSessions) names() string { return strings.Join(ms.m.Repositories, ", ") }
