package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/integration/repogen"
)

func newTestRepoCmd(*globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "testrepo",
		Short: "Generate, attack and serve PEP 458 test repositories",
		Long: `Build complete PEP 458 repositories for tests and demos: TUF metadata in
RSTUF's layout (succinct hash bins, one online key, consistent snapshots),
the Warehouse file tree with real pip-installable wheels and sdists, and
simple pages in every form. Then mutate them the way operations and
attacks do, and serve them with a plain static server.

Never point a real installation at a test repository: its keys sit in
DIR/.repogen in the clear.`,
	}
	c.AddCommand(newTestRepoGenerateCmd(), newTestRepoServeCmd(), newTestRepoMutateCmd())
	return c
}

func newTestRepoGenerateCmd() *cobra.Command {
	var (
		o        repogen.Options
		projects int
		hashes   string
		dists    []string
		phantom  int
	)
	cmd := &cobra.Command{
		Use:   "generate DIR",
		Short: "Write a new signed repository to DIR",
		Example: `  tufpip testrepo generate /tmp/repo --projects 20
  tufpip testrepo generate /tmp/big --bit-length 14 --phantom-targets 300000
  tufpip testrepo generate /tmp/mine --dists ./wheelhouse --projects 0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = args[0]
			if hashes != "" {
				o.Hashes = strings.Split(hashes, ",")
			}
			o.PhantomTargets = phantom
			start := time.Now()
			r, err := repogen.Generate(o, repogen.SyntheticProjects(projects), dists...)
			if err != nil {
				return usageError{err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "generated %s in %s: %d files, %d bins, root v%d\n", r.Dir(), time.Since(start).Round(time.Millisecond), len(r.Files()), len(r.Bins()), r.RootVersion())
			fmt.Fprintf(cmd.OutOrStdout(), "serve it:  tufpip testrepo serve %s\ntrust it:  --root %s/trusted-root.json\n", r.Dir(), r.Dir())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&projects, "projects", 3, "number of synthetic projects (two releases each)")
	f.StringSliceVar(&dists, "dists", nil, "directory of real .whl/.tar.gz files to include (repeatable)")
	f.IntVar(&o.BitLength, "bit-length", 8, "succinct hash-bin bit length (1..14): 2^B bins")
	f.StringVar(&o.TUFLayout, "tuf-layout", "succinct", "succinct (RSTUF) or pep458-text (targets -> bins -> bin-n)")
	f.StringVar(&o.IndexLayout, "index-layout", "pep458", "which pages are signed: pep458, index-only, simple-path, dists-only")
	f.StringVar(&o.KeyType, "key-type", "ed25519", "ed25519, ecdsa-sha2-nistp256 or rsassa-pss-sha256")
	f.IntVar(&o.RootKeys, "root-keys", 1, "number of root keys")
	f.IntVar(&o.RootThreshold, "root-threshold", 1, "root signature threshold")
	f.StringVar(&hashes, "hashes", "", "comma-separated target hash algorithms (default blake2b-256)")
	f.IntVar(&phantom, "phantom-targets", 0, "extra target entries without files, for scale tests")
	return cmd
}

func newTestRepoServeCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve DIR",
		Short: "Serve a test repository with a plain static HTTP server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url, shutdown, err := repogen.Serve(cmd.Context(), args[0], listen)
			if err != nil {
				return err
			}
			url = strings.TrimSuffix(url, "/") + "/"
			defer shutdown()
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", url)
			fmt.Fprintf(cmd.ErrOrStderr(), "serving %s at %s (metadata %smetadata/, index %ssimple/, files %spackages/); Ctrl-C stops\n", args[0], url, url, url, url)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVarP(&listen, "listen", "l", "127.0.0.1:0", "address to listen on")
	return cmd
}

// mutations maps each subcommand of "testrepo mutate" to the generator.
var mutations = []struct {
	name, args, help string
	n                int
	run              func(r *repogen.Repo, a []string) error
}{
	{"add-release", "PROJECT VERSION [DEP...]", "add a release (wheel) and re-sign", -2, func(r *repogen.Repo, a []string) error {
		return r.AddRelease(repogen.ProjectSpec{Name: a[0], Releases: []repogen.ReleaseSpec{repogen.Release(a[1], a[2:]...)}})
	}},
	{"yank", "PROJECT VERSION [REASON]", "yank a release (PEP 592) and re-sign", -2, func(r *repogen.Repo, a []string) error {
		reason := ""
		if len(a) > 2 {
			reason = strings.Join(a[2:], " ")
		}
		return r.Yank(a[0], a[1], reason)
	}},
	{"resign", "[ROLE...]", "re-sign online roles with new versions and expiries", -0, func(r *repogen.Repo, a []string) error { return r.ResignOnline(a...) }},
	{"rotate-root", "KEYS THRESHOLD", "publish root N+1 with new keys, signed by old and new", 2, func(r *repogen.Repo, a []string) error {
		k, err1 := strconv.Atoi(a[0])
		t, err2 := strconv.Atoi(a[1])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("KEYS and THRESHOLD must be numbers")
		}
		return r.RotateRoot(k, t)
	}},
	{"rotate-root-bad", "KIND", "attack: publish a bad root N+1 (see the generator's BadRoot kinds)", 1, func(r *repogen.Repo, a []string) error { return r.RotateRootBad(a[0]) }},
	{"expire-timestamp", "", "freeze: re-sign timestamp already expired", 0, func(r *repogen.Repo, _ []string) error { return r.ExpireTimestamp() }},
	{"expire", "ROLE", "publish ROLE (root, targets, snapshot, timestamp or a bin) already expired", 1, func(r *repogen.Repo, a []string) error { return r.ExpireRole(a[0]) }},
	{"rollback", "ROLE", "attack: republish ROLE's previous version", 1, func(r *repogen.Repo, a []string) error { return r.Rollback(a[0]) }},
	{"mix-and-match", "[ROLE]", "attack: serve a role's previous bytes under its current name", -0, func(r *repogen.Repo, a []string) error {
		role := ""
		if len(a) > 0 {
			role = a[0]
		}
		return r.MixAndMatch(role)
	}},
	{"tamper-file", "PATH", "attack: flip a byte of a file under packages/ (PATH relative to packages/)", 1, func(r *repogen.Repo, a []string) error { return r.TamperFile(a[0], true) }},
	{"tamper-page", "PROJECT", "attack: change a project's simple pages without re-signing", 1, func(r *repogen.Repo, a []string) error { return r.TamperPage(a[0]) }},
	{"wrong-key-bin", "BIN", "attack: sign BIN with a key targets does not delegate to", 1, func(r *repogen.Repo, a []string) error { return r.SignBinWithWrongKey(a[0]) }},
	{"drop-bin", "BIN", "delete BIN's published metadata", 1, func(r *repogen.Repo, a []string) error { return r.DropBin(a[0]) }},
	{"endless-file", "SERVED-PATH", "attack: serve SERVED-PATH (relative to DIR) as endless data", 1, func(r *repogen.Repo, a []string) error { return r.EndlessFile(a[0]) }},
	{"heal", "", "undo serving-time attacks (endless files and the like)", 0, func(r *repogen.Repo, _ []string) error { return r.Heal() }},
}

func newTestRepoMutateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "mutate",
		Short: "Change a test repository the way operations and attacks do",
	}
	for _, m := range mutations {
		cmd := &cobra.Command{
			Use:   m.name + " DIR " + m.args,
			Short: m.help,
			RunE: func(cmd *cobra.Command, args []string) error {
				r, err := repogen.Open(args[0])
				if err != nil {
					return err
				}
				if err := m.run(r, args[1:]); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: done (root v%d, timestamp v%d, snapshot v%d)\n", m.name, r.RootVersion(), r.RoleVersion("timestamp"), r.RoleVersion("snapshot"))
				return nil
			},
		}
		switch {
		case m.n > 0:
			cmd.Args = cobra.ExactArgs(1 + m.n)
		case m.n < 0:
			cmd.Args = cobra.MinimumNArgs(1 - m.n)
		default:
			cmd.Args = cobra.MinimumNArgs(1)
		}
		c.AddCommand(cmd)
	}
	return c
}
