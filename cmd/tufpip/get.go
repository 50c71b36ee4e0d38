package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

func newGetCmd(g *globals) *cobra.Command {
	var out, baseURL, mapFile string
	cmd := &cobra.Command{
		Use:   "get TARGET-PATH -o FILE",
		Short: "Fetch one TUF target, verified, to a file (low level)",
		Long: `Look TARGET-PATH up in the repository's signed metadata (finding its hash
bin), download it, check its length and every signed hash while it streams
into the cache, and only then write FILE. On any failure FILE is not
created and nothing enters the cache.

TARGET-PATH is the path as the repository signs it, e.g. for PEP 458
  4b/77/47b4fd31.../pkg-1.0-py3-none-any.whl   (a distribution)
  pkg/pkg.html                                 (an index page)
Index pages are fetched where the layout serves them (for pep458 the
hashed page <index>/pkg/<blake2b>.pkg.html, located by the signed
blake2b-256); everything else from --files-url. --base-url overrides both:
TARGET-PATH is then fetched from it as is.

With --map FILE (several repositories, TAP 4) the map's patterns are
matched against TARGET-PATH itself (path.Match globs, '*' does not cross
'/': "corp/*" for corp's index pages, "*/*/*/corp_*" for its
distributions): the first matching mapping whose threshold repositories
sign the target with identical length and hashes decides, a terminating
one ends the search, and the bytes are fetched from the first of them
(in the mapping's order) and checked against what they signed:
  tufpip get --map map.json corp-auth/corp-auth.html -o page.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("get needs -o FILE (use -o - for standard output)")
			}
			target := args[0]
			// A name asked for obeys the one rule of every target path
			// tufpip looks up or derives from a page or a file.
			if err := updater.ValidTargetPath(target); err != nil {
				return fmt.Errorf("%q: %w: %v", target, updater.ErrNotSigned, err)
			}
			s, ti, agreed, err := getTarget(cmd.Context(), g, mapFile, target)
			if err != nil {
				return err
			}
			u, err := getURL(s.site, baseURL, target, ti)
			if err != nil {
				return err
			}
			ent, err := index.FetchVerified(cmd.Context(), s.http, s.store, ti, u)
			if err != nil {
				return err
			}
			defer ent.Close()
			if err := writeOutput(cmd, out, ent); err != nil {
				return err
			}
			if !g.quiet && out != "-" {
				alg := ti.KnownHashes()[0]
				fmt.Fprintf(cmd.ErrOrStderr(), "verified %s: %d bytes, %s %s, signed by %s (snapshot v%d)%s\n", httpx.SafeLine(target), ti.Length, alg, ti.Hashes[alg], httpx.SafeLine(ti.Role), ti.SnapshotVersion, httpx.SafeLine(agreed))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (- for standard output)")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "URL the target path is relative to (default: the files URL)")
	cmd.Flags().StringVar(&mapFile, "map", "", "a TAP 4 map file (JSON) choosing, per target-path pattern, which registered repositories must sign the target with identical length and hashes, how many, and whether the search stops there (replaces --repository; see docs/multirepo.md)")
	return cmd
}

// getTarget looks target up: in the one repository, or with a map file
// in the repositories its mappings name, as TAP 4 says. It returns the
// session to fetch from, the signed info the bytes must match and, with
// a map, the words saying who agreed.
func getTarget(ctx context.Context, g *globals, mapFile, target string) (*session, updater.TargetInfo, string, error) {
	if mapFile == "" {
		s, err := g.openSession(ctx)
		if err != nil {
			return nil, updater.TargetInfo{}, "", err
		}
		ti, err := s.up.Target(ctx, target)
		return s, ti, "", err
	}
	ms, err := g.openMapSessions(ctx, mapFile)
	if err != nil {
		return nil, updater.TargetInfo{}, "", err
	}
	st, err := ms.m.Target(ctx, target, func(ctx context.Context, repo, path string) (updater.TargetInfo, error) {
		return ms.sessions[repo].up.Target(ctx, path)
	})
	if err != nil {
		return nil, updater.TargetInfo{}, "", err
	}
	agreed := fmt.Sprintf("; %s agreed (%s, threshold %d), fetched from %s", strings.Join(st.Repositories, ", "), st.Mapping, st.Mapping.Threshold, st.Repository)
	return ms.sessions[st.Repository], st.Info, agreed, nil
}

// getURL is where get fetches target from: --base-url plus the path if
// given; an index page where the layout serves it (pep458's hashed page
// "<index>/<name>/<blake2b>.<name>.html", simple-path's
// "<index>/<name>/index.html", index-only's "<index>/<name>/"); anything
// else from the files URL.
func getURL(site index.Site, baseURL, target string, ti updater.TargetInfo) (string, error) {
	if project, ok := site.PageProject(target); ok && baseURL == "" && site.IndexURL != nil {
		if u := site.PageURL(project, ti.Hashes[updater.HashBLAKE2b256]); u != "" {
			return u, nil
		}
		return "", fmt.Errorf("index page of %s: signed target info has no blake2b-256 hash to locate the hashed page", project)
	}
	base := baseURL
	if base == "" && site.FilesURL != nil {
		base = site.FilesURL.String()
	}
	if base == "" {
		return "", usagef("no base URL to fetch %s from: pass --base-url or register --files-url", target)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + escapePath(target), nil
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
