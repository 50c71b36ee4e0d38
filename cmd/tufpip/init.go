package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/cache"
)

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init NAME --metadata-url URL --index-url URL [--files-url URL] [--layout L] (--root FILE | --trust-on-first-use)",
		Short: "Register a repository and its root of trust",
		Long: `Register a TUF-signed package repository under NAME.

The root of trust is the repository's root.json, obtained out of band
(shipped with your organisation's tooling, or published by the operators).
tufpip keeps it and from then on only ever moves trust forward: each later
root must be signed by the previous one.

Layouts say which index pages the repository signs (see docs/layouts.md):
  pep458       <name>/<name>.html, fetched as <index>/<name>/<blake2b>.<name>.html
  index-only   <name>; files are checked against the verified page's sha256
  simple-path  simple/<name>/index.html
  dists-only   no page is signed; only signed files are served`,
		Example: `  tufpip init corp --metadata-url https://pypi.corp/metadata/ \
      --index-url https://pypi.corp/simple/ --files-url https://pypi.corp/packages/ \
      --root corp-root.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), g, args[0], cmd.OutOrStdout())
		},
	}
}

// runInit registers repository name from the ad-hoc repository flags in
// g, with its root of trust (--root, an embedded root, or fetched on
// first use).
func runInit(ctx context.Context, g *globals, name string, out io.Writer) error {
	if err := validRepoName(name); err != nil {
		return err
	}
	if g.metadataURL == "" || g.indexURL == "" {
		return usagef("init needs --metadata-url and --index-url")
	}
	if g.rootFile == "" && !g.tofu {
		if _, ok := embeddedRoots[name]; !ok {
			return usagef("init needs a root of trust: --root FILE").withHint("get root.json from the repository operators out of band; --trust-on-first-use fetches it unverified")
		}
	}
	rc := repoConfig{Name: name, MetadataURL: g.metadataURL, IndexURL: g.indexURL, FilesURL: g.filesURL, Layout: g.layout, TrustOnFirstUse: g.tofu && g.rootFile == ""}
	if err := completeRepo(&rc); err != nil {
		return err
	}
	if rc.FilesURL == "" && rc.Layout != "index-only" {
		return usagef("layout %s needs --files-url (where distribution files live)", rc.Layout)
	}
	clean, creds, err := g.repoCredentials(rc)
	if err != nil {
		return err
	}
	root, err := g.bootstrapRoot(ctx, g.dirs().repoState(name), clean, creds)
	if err != nil {
		return err
	}
	if err := registerRepo(g.dirs(), rc, root); err != nil {
		return err
	}
	warnStoredCredentials(g, rc, g.dirs().repoFile(name))
	if !g.quiet {
		fmt.Fprintf(out, "registered repository %q (%s layout)\nnext: tufpip refresh -R %s\n", name, rc.Layout, name)
	}
	return nil
}

// registerRepo stores rc and its bootstrap root.
func registerRepo(d dirs, rc repoConfig, root []byte) error {
	stateDir := d.repoState(rc.Name)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	if len(root) > 0 {
		if err := checkRootJSON(root); err != nil {
			return usagef("the root is not TUF root metadata: %v", err)
		}
		if err := cache.WriteFileAtomic(filepath.Join(stateDir, "bootstrap-root.json"), root, 0o600); err != nil {
			return err
		}
	}
	data, _ := json.MarshalIndent(rc, "", "  ")
	if err := os.MkdirAll(filepath.Dir(d.repoFile(rc.Name)), 0o700); err != nil {
		return err
	}
	return cache.WriteFileAtomic(d.repoFile(rc.Name), append(data, '\n'), 0o600)
}

func checkRootJSON(b []byte) error {
	var m struct {
		Signed struct {
			Type    string `json:"_type"`
			Version int64  `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m.Signed.Type != "root" {
		return fmt.Errorf("_type is %q", m.Signed.Type)
	}
	return nil
}
