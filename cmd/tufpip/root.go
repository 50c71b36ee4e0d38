package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tufpip/tufpip/cache"
)

// version is stamped by the release build (-ldflags "-X main.version=...").
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

// Exit codes, documented in `tufpip --help`.
const (
	exitOK     = 0
	exitFailed = 1 // a file or page failed verification or is not signed
	exitUsage  = 2 // usage, configuration or repository error
	// exitInterrupted is for a run cut short by Ctrl-C (SIGINT): 128+2, as
	// shells report it; SIGTERM gives 128+15 (see interruptExitCode).
	exitInterrupted = 130
)

// globals are the flags every command shares.
type globals struct {
	verbose bool
	quiet   bool
	home    string
	repo    string
	// ad-hoc repository, overriding or replacing a configured one
	metadataURL string
	indexURL    string
	filesURL    string
	layout      string
	rootFile    string
	tofu        bool
	window      string
	refresh     bool
	offline     bool
	cacheDir    string
	cacheMax    string

	sources    settingSources
	configFile map[string]any

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger

	// storeRemote and storeObserver, set by the proxy before it opens its
	// session, go into the artifact store's options.
	storeRemote   cache.Remote
	storeObserver cache.Observer

	// probePython asks the host's interpreter about itself (askPython);
	// tests put a stand-in here instead of running python3.
	probePython pythonProbe
}

// Main runs tufpip with args and returns the exit code. It is the whole
// program minus os.Exit, so tests run it in-process.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr, probePython: askPython}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		// Includes the proxy, whose normal end is a signal and a
		// graceful shutdown.
		return exitOK
	}
	if ctx.Err() != nil {
		// Whatever broke off (a download, a lookup, a report already
		// printed) did so because the run was interrupted: say that,
		// not what failed on the way, and never with the exit code of
		// a refused file.
		return reportError(stderr, context.Cause(ctx))
	}
	return reportError(stderr, err)
}

// interruptExitCode is 128 plus the number of the signal that interrupted
// the run (130 for SIGINT, 143 for SIGTERM), or 130 when the run was
// cancelled some other way (tests, an embedding program).
func interruptExitCode(err error) int {
	var ie interruptedError
	if errors.As(err, &ie) && ie.sig > 0 && ie.sig < 128 {
		return 128 + int(ie.sig)
	}
	return exitInterrupted
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "tufpip",
		Short: "Install Python packages only after TUF (PEP 458) has verified them",
		Long: `tufpip makes pip install only what a package repository has signed with
TUF (The Update Framework), as PEP 458 designs it for PyPI. It runs the TUF
client workflow against the repository's metadata, finds the hash bin that
signs each file, and verifies every byte before pip, your directory or the
cache sees it.

Three ways in, one engine:
  tufpip proxy      a local Simple-API index for pip and uv
  tufpip download   fetch verified files to disk
  tufpip verify     prove files on disk are what the repository signed

Start with "tufpip demo" to see it work against a generated repository.

Exit codes: 0 success; 1 a file or page failed verification or is not
signed (it was refused); 2 usage, configuration or repository error,
including repository metadata that failed verification or has expired
(nothing could be checked); 130 interrupted by Ctrl-C (SIGINT), 143 by
SIGTERM (nothing unverified was written; the proxy, stopped by either,
shuts down gracefully and exits 0).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.applySettings(cmd); err != nil {
				return err
			}
			if _, err := g.freshness(); err != nil {
				return err
			}
			if _, err := g.cacheLimit(); err != nil {
				return err
			}
			level := slog.LevelWarn
			switch {
			case g.verbose:
				level = slog.LevelDebug
			case g.quiet:
				level = slog.LevelError
			}
			g.logger = newLogger(g.stderr, level)
			return nil
		},
	}
	root.SetVersionTemplate("tufpip {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log what tufpip fetches and checks")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors")
	pf.StringVar(&g.home, "home", "", "put tufpip's config, state and cache under this directory (default: XDG directories)")
	pf.StringVarP(&g.repo, "repository", "R", "", "name of a repository registered with \"tufpip init\" (default: the only one registered)")
	pf.StringVar(&g.metadataURL, "metadata-url", "", "TUF metadata URL (overrides the registered repository's)")
	pf.StringVar(&g.indexURL, "index-url", "", "Simple API index URL, e.g. https://host/simple/")
	pf.StringVar(&g.filesURL, "files-url", "", "base URL of distribution files, e.g. https://host/packages/")
	pf.StringVar(&g.layout, "layout", "", "which index pages are signed: pep458, index-only, simple-path or dists-only")
	pf.StringVar(&g.rootFile, "root", "", "trusted root.json to bootstrap from")
	pf.BoolVar(&g.tofu, "trust-on-first-use", false, "fetch 1.root.json from the repository and trust it (unsafe: no root of trust)")
	pf.StringVar(&g.window, "freshness", "", "reuse verified metadata this long before asking the repository again (e.g. 5m; 0 disables)")
	pf.BoolVar(&g.refresh, "refresh", false, "ask the repository now, ignoring the freshness window")
	pf.BoolVar(&g.offline, "offline", false, "use only cached metadata; refuse if it has expired")
	pf.StringVar(&g.cacheDir, "cache-dir", "", "artifact cache directory")
	pf.StringVar(&g.cacheMax, "cache-max-size", "", "keep the artifact cache under this size, evicting the least recently used files (e.g. 500MB, 10GiB; default: no limit)")

	// Every command, one file each; help lists them sorted (cobra's
	// default), so the order here is only for reading.
	root.AddCommand(
		newInitCmd(g),
		newRefreshCmd(g),
		newStatusCmd(g),
		newGetCmd(g),
		newCacheCmd(g),
		newConfigCmd(g),
		newDownloadCmd(g),
		newVerifyCmd(g),
		newProxyCmd(g),
		newPipConfigCmd(g),
		newDemoCmd(g),
		newTestRepoCmd(g),
		newManCmd(g),
	)
	return root
}

// applyEnv fills every flag not given on the command line from
// TUFPIP_<FLAG_NAME> (upper case, dashes as underscores).
func applyEnv(fs *pflag.FlagSet, sources settingSources) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		if _, done := sources[f.Name]; done {
			return
		}
		name := "TUFPIP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usagef("invalid %s=%q: %v", name, v, serr)
			}
			sources[f.Name] = sourceEnv + " " + name
		}
	})
	return err
}

// usageError marks an error as the user's to fix (exit 2). Its hint,
// if any, says what to do; reportError prints it on a "hint: " line
// after the message. The hint is not part of Error(): a message is one
// line, and whoever wraps the error keeps the hint reachable by
// errors.As.
type usageError struct {
	err  error
	hint string
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// withHint returns e with the hint formatted from format and a.
func (e usageError) withHint(format string, a ...any) usageError {
	e.hint = fmt.Sprintf(format, a...)
	return e
}

func usagef(format string, a ...any) usageError { return usageError{err: fmt.Errorf(format, a...)} }

var errSilent = errors.New("already reported")
