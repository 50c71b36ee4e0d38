package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/integration/repogen"
)

type demoOptions struct {
	dir    string
	keep   bool
	python string
	noPip  bool
}

func newDemoCmd(g *globals) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See tufpip work end to end against a generated repository",
		Long: `Generate a PEP 458 repository (RSTUF layout: succinct hash bins, one
online key, blake2b-256 target hashes) with real wheels, serve it on
127.0.0.1, trust its root, and then:

  1. fetch and verify one wheel with "tufpip get", printing every check;
  2. start the proxy and run real pip through it: "pip install" succeeds
     and the package imports;
  3. tamper with a wheel on the server and show pip being refused, with
     nothing unverified in the cache or the install directory.

Everything runs locally; nothing touches your pip configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), g, o) },
	}
	cmd.Flags().StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the work directory")
	cmd.Flags().StringVar(&o.python, "python", "python3", "Python interpreter whose pip to use")
	cmd.Flags().BoolVar(&o.noPip, "no-pip", false, "skip the pip steps")
	return cmd
}

// runDemo runs the demo's steps in order; each prints its part of what
// README shows. The deciding ones (the work directory, the private home,
// which wheels, the interpreter, the proxy's start, the attack's
// verdict) are functions of their inputs, tested without pip.
func runDemo(ctx context.Context, g *globals, o *demoOptions) error {
	dir, cleanup, err := demoWorkDir(o)
	if err != nil {
		return err
	}
	defer cleanup()
	d := &demoRun{out: g.stdout, dir: dir}
	stopServer, err := d.generateAndServe(ctx)
	if err != nil {
		return err
	}
	defer stopServer()
	if err := d.register(g); err != nil {
		return err
	}
	if err := d.get(ctx); err != nil {
		return err
	}
	if o.noPip {
		fmt.Fprintln(d.out, "\n(pip steps skipped)")
		return nil
	}
	if d.py, err = pythonForPip(o.python, exec.LookPath); err != nil {
		return err
	}
	stopProxy, err := d.startProxy(ctx)
	if err != nil {
		return err
	}
	defer stopProxy()
	if err := d.install(ctx); err != nil {
		return err
	}
	return d.attack(ctx)
}

// demoRun is what the demo's steps hand on to each other.
type demoRun struct {
	out  io.Writer
	dir  string
	repo *repogen.Repo
	base string // the static server's URL, with a final slash

	g  globals // the demo's own, with a private home (demoGlobals)
	rc repoConfig
	s  *session

	lib, old repogen.FileInfo // demoWheels

	py       string
	indexURL string       // the proxy's
	proxyLog bytes.Buffer // the proxy's stderr, quoted in the output
}

// step prints a step's heading.
func (d *demoRun) step(format string, a ...any) { fmt.Fprintf(d.out, "\n==> "+format+"\n", a...) }

// demoWorkDir is --dir, or a new temporary directory that cleanup
// removes unless --keep. A --dir is never removed.
func demoWorkDir(o *demoOptions) (dir string, cleanup func(), err error) {
	if o.dir != "" {
		return o.dir, func() {}, nil
	}
	if dir, err = os.MkdirTemp("", "tufpip-demo-"); err != nil {
		return "", nil, err
	}
	if o.keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// demoProjects are the demo repository's projects: the app needs the
// newer lib, so pip resolves across both.
var demoProjects = []repogen.ProjectSpec{
	{Name: "tufpip-demo-lib", Releases: []repogen.ReleaseSpec{repogen.Release("1.0.0"), repogen.Release("1.1.0")}},
	{Name: "tufpip-demo-app", Releases: []repogen.ReleaseSpec{repogen.Release("0.9.0"), repogen.Release("1.0.0", "tufpip-demo-lib>=1.1")}},
}

// generateAndServe generates the repository under DIR/repo and serves it
// on a loopback port until stop.
func (d *demoRun) generateAndServe(ctx context.Context) (stop func(), err error) {
	repoDir := filepath.Join(d.dir, "repo")
	d.step("generating a PEP 458 repository in %s", repoDir)
	if d.repo, err = repogen.Generate(repogen.Options{Dir: repoDir}, demoProjects); err != nil {
		return nil, fmt.Errorf("generating the demo repository: %w", err)
	}
	fmt.Fprintf(d.out, "    %d bins signed by one online ed25519 key; root v%d; %d wheels under packages/\n", len(d.repo.Bins()), d.repo.RootVersion(), len(d.repo.Files()))
	srvCtx, stopSrv := context.WithCancel(ctx)
	base, shutdown, err := repogen.Serve(srvCtx, repoDir, "127.0.0.1:0")
	if err != nil {
		stopSrv()
		return nil, err
	}
	d.base = strings.TrimSuffix(base, "/") + "/"
	fmt.Fprintf(d.out, "    served by a plain static server at %s\n", d.base)
	return func() { shutdown(); stopSrv() }, nil
}

// demoGlobals is g for the demo: a private home under dir, and none of
// the user's ad-hoc repository flags, so that the demo never reads or
// touches the user's configuration, repositories or cache.
func demoGlobals(g *globals, dir string) globals {
	dg := *g
	dg.home = filepath.Join(dir, "home")
	dg.repo = "demo"
	dg.metadataURL, dg.indexURL, dg.filesURL, dg.layout, dg.rootFile = "", "", "", "", ""
	dg.cacheDir = ""
	return dg
}

// register registers the served repository as "demo" in the private
// home, trusting the generated root.
func (d *demoRun) register(g *globals) error {
	d.g = demoGlobals(g, d.dir)
	d.rc = repoConfig{Name: "demo", MetadataURL: d.base + "metadata/", IndexURL: d.base + "simple/", FilesURL: d.base + "packages/", Layout: "pep458"}
	if err := completeRepo(&d.rc); err != nil {
		return err
	}
	if err := registerRepo(d.g.dirs(), d.rc, d.repo.TrustedRoot()); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "    trusting its root (trusted-root.json, shipped out of band as PEP 458 says)\n")
	return nil
}

// demoWheels picks the demo's two lib wheels: lib (1.1.0) is fetched
// with get and then by pip; old (1.0.0) is never fetched before the
// attack, so the tampered bytes meet an empty cache.
func demoWheels(files []repogen.FileInfo) (lib, old repogen.FileInfo, err error) {
	for _, f := range files {
		if f.Project == "tufpip-demo-lib" && f.Kind == "wheel" {
			switch f.Version {
			case "1.1.0":
				lib = f
			case "1.0.0":
				old = f
			}
		}
	}
	if lib.Path == "" || old.Path == "" {
		return lib, old, errors.New("the demo repository lacks the tufpip-demo-lib 1.0.0 and 1.1.0 wheels")
	}
	return lib, old, nil
}

// get does what "tufpip get" does for lib, printing every check.
func (d *demoRun) get(ctx context.Context) (err error) {
	if d.lib, d.old, err = demoWheels(d.repo.Files()); err != nil {
		return err
	}
	d.step("tufpip get %s", d.lib.Path)
	if d.s, err = d.g.openSession(ctx); err != nil {
		return err
	}
	ti, err := d.s.up.Target(ctx, d.lib.Path)
	if err != nil {
		return err
	}
	st, _ := d.s.up.Status(ctx)
	ent, err := index.FetchVerified(ctx, d.s.http, d.s.store, ti, d.rc.FilesURL+d.lib.Path)
	if err != nil {
		return err
	}
	ent.Close()
	fmt.Fprintf(d.out, "    root v%d -> timestamp v%d -> snapshot v%d -> targets v%d -> %s (bin of sha256(path)[:%d bits])\n",
		st.Roles["root"].Version, st.Roles["timestamp"].Version, st.Roles["snapshot"].Version, st.Roles["targets"].Version, ti.Role, st.BitLength)
	fmt.Fprintf(d.out, "    signed: %d bytes, blake2b-256 %s\n", ti.Length, ti.Hashes["blake2b-256"])
	fmt.Fprintf(d.out, "    downloaded bytes match length and every signed hash: verified into the cache\n")
	return nil
}

// pythonForPip finds --python (lookPath is exec.LookPath) for the pip
// steps.
func pythonForPip(python string, lookPath func(string) (string, error)) (string, error) {
	py, err := lookPath(python)
	if err != nil {
		return "", usagef("no %s on PATH for the pip steps", python).withHint("pass --python /path/to/python3, or --no-pip")
	}
	return py, nil
}

// proxyStartTimeout is how long the demo waits for its proxy to listen.
const proxyStartTimeout = 30 * time.Second

// startProxy runs "tufpip proxy" in-process on a loopback port, its
// stderr into d.proxyLog, until stop.
func (d *demoRun) startProxy(ctx context.Context) (stop func(), err error) {
	d.step("starting the proxy")
	proxyCtx, stopProxy := context.WithCancel(ctx)
	urlc := make(chan string, 1)
	errc := make(chan error, 1)
	pg := d.g
	pg.stderr = &d.proxyLog
	pg.verbose = false
	pg.quiet = false
	go func() {
		errc <- runProxy(proxyCtx, &pg, &proxyOptions{listen: "127.0.0.1:0", ready: func(u string) { urlc <- u }})
	}()
	if d.indexURL, err = awaitProxy(urlc, errc, time.After(proxyStartTimeout)); err != nil {
		stopProxy()
		return nil, err
	}
	fmt.Fprintf(d.out, "    %s\n", d.indexURL)
	return func() {
		stopProxy()
		<-errc
	}, nil
}

// awaitProxy is the proxy's index URL once it listens, or why it did not
// start: it ended first (errc) or took too long (timeout).
func awaitProxy(urlc <-chan string, errc <-chan error, timeout <-chan time.Time) (string, error) {
	select {
	case u := <-urlc:
		return u, nil
	case err := <-errc:
		return "", fmt.Errorf("starting the proxy: %w", err)
	case <-timeout:
		return "", fmt.Errorf("the proxy did not start within %s", proxyStartTimeout)
	}
}

// install has pip install the app (and, for it, lib) through the proxy
// into DIR/site, and imports both.
func (d *demoRun) install(ctx context.Context) error {
	target := filepath.Join(d.dir, "site")
	d.step("python3 -m pip install --index-url %s --no-cache-dir --target site tufpip-demo-app", d.indexURL)
	pipOut, err := runPip(ctx, d.py, d.indexURL, target, "tufpip-demo-app")
	if err != nil {
		// All of pip's words, then the error: a message is one line.
		fmt.Fprint(d.out, indent(pipOut))
		return fmt.Errorf("pip install through the proxy failed: %w", err)
	}
	fmt.Fprint(d.out, indent(lastLines(pipOut, 4)))
	imp := exec.CommandContext(ctx, d.py, "-c", "import tufpip_demo_app, tufpip_demo_lib; print('imported tufpip_demo_app', tufpip_demo_app.__version__, 'with tufpip_demo_lib', tufpip_demo_lib.__version__)")
	imp.Env = append(pipEnv(), "PYTHONPATH="+target)
	impOut, err := imp.CombinedOutput()
	fmt.Fprint(d.out, indent(string(impOut)))
	if err != nil {
		return fmt.Errorf("the installed package does not import: %w", err)
	}
	fmt.Fprintf(d.out, "    proxy log:\n%s", indent(indent(grepLines(d.proxyLog.String(), "served verified file"))))
	return nil
}

// attack tampers with old on the server, has pip install it into
// DIR/site-attacked, and checks that it was refused with nothing left
// behind (judgeAttack).
func (d *demoRun) attack(ctx context.Context) error {
	d.step("attack: flipping one byte of %s on the server, then pip install it", d.old.Filename)
	if err := d.repo.TamperFile(d.old.Path, true); err != nil {
		return err
	}
	target := filepath.Join(d.dir, "site-attacked")
	pipOut, err := runPip(ctx, d.py, d.indexURL, target, "tufpip-demo-lib==1.0.0")
	if err == nil {
		return errors.New("pip installed a tampered wheel: this must never happen")
	}
	fmt.Fprint(d.out, indent(grepLines(pipOut, "tufpip", "ERROR", "HTTP error")))
	fmt.Fprintf(d.out, "    proxy log:\n%s", indent(indent(grepLines(d.proxyLog.String(), "refused"))))
	ev, err := d.attackEvidence(ctx, target)
	if err != nil {
		return err
	}
	if err := judgeAttack(ev); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nrefused as it should be: pip got an HTTP error, the install directory is empty, and all %d files in the cache re-hash to their content addresses (the tampered wheel is not among them).\n", ev.audit.Checked)
	return nil
}

// attackOutcome is what is left after pip was refused the tampered
// wheel.
type attackOutcome struct {
	installed      int               // files in the install directory
	audit          cache.AuditResult // the artifact cache, re-hashed
	tamperedCached bool              // the cache serves the tampered wheel's target
}

// attackEvidence looks at the install directory target and the cache.
func (d *demoRun) attackEvidence(ctx context.Context, target string) (ev attackOutcome, err error) {
	ev.installed = countFiles(target)
	if ev.audit, err = d.s.store.Audit(ctx); err != nil {
		return ev, err
	}
	oldTI, err := d.s.up.Target(ctx, d.old.Path)
	if err != nil {
		return ev, err
	}
	if e, err := d.s.store.Get(ctx, oldTI); err == nil {
		e.Close()
		ev.tamperedCached = true
	}
	return ev, nil
}

// judgeAttack fails the demo when anything of the refused download was
// left behind: in the install directory, or in the cache.
func judgeAttack(ev attackOutcome) error {
	switch {
	case ev.installed != 0:
		return fmt.Errorf("%d files reached the install directory after a refused download", ev.installed)
	case len(ev.audit.Bad) > 0:
		return fmt.Errorf("the artifact cache holds %d files that fail their content address", len(ev.audit.Bad))
	case ev.tamperedCached:
		return errors.New("the tampered wheel is in the cache: this must never happen")
	}
	return nil
}

func runPip(ctx context.Context, py, indexURL, target string, reqs ...string) (string, error) {
	args := append([]string{"-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-cache-dir", "--index-url", indexURL, "--target", target}, reqs...)
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Env = pipEnv()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// pipEnv is the environment without the user's pip settings (an extra
// index or find-links would let pip fetch around the proxy).
func pipEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PIP_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1")
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

func grepLines(s string, words ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				b.WriteString(l + "\n")
				break
			}
		}
	}
	return b.String()
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
