package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/integration/repogen"
)

func init() { extraCommands = append(extraCommands, newDemoCmd) }

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

func runDemo(ctx context.Context, g *globals, o *demoOptions) (err error) {
	out := g.stdout
	step := func(format string, a ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", a...) }
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "tufpip-demo-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	repoDir := filepath.Join(dir, "repo")

	step("generating a PEP 458 repository in %s", repoDir)
	r, err := repogen.Generate(repogen.Options{Dir: repoDir}, []repogen.ProjectSpec{
		{Name: "tufpip-demo-lib", Releases: []repogen.ReleaseSpec{repogen.Release("1.0.0"), repogen.Release("1.1.0")}},
		{Name: "tufpip-demo-app", Releases: []repogen.ReleaseSpec{repogen.Release("0.9.0"), repogen.Release("1.0.0", "tufpip-demo-lib>=1.1")}},
	})
	if err != nil {
		return fmt.Errorf("generating the demo repository: %w", err)
	}
	fmt.Fprintf(out, "    %d bins signed by one online ed25519 key; root v%d; %d wheels under packages/\n", len(r.Bins()), r.RootVersion(), len(r.Files()))

	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	base, shutdown, err := repogen.Serve(srvCtx, repoDir, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer shutdown()
	base = strings.TrimSuffix(base, "/") + "/"
	fmt.Fprintf(out, "    served by a plain static server at %s\n", base)

	// A private home: the demo never touches the user's configuration.
	dg := *g
	dg.home = filepath.Join(dir, "home")
	dg.repo = "demo"
	dg.metadataURL, dg.indexURL, dg.filesURL, dg.layout, dg.rootFile = "", "", "", "", ""
	dg.cacheDir = ""
	rc := repoConfig{Name: "demo", MetadataURL: base + "metadata/", IndexURL: base + "simple/", FilesURL: base + "packages/", Layout: "pep458"}
	if err := completeRepo(&rc); err != nil {
		return err
	}
	if err := registerRepo(dg.dirs(), rc, r.TrustedRoot()); err != nil {
		return err
	}
	fmt.Fprintf(out, "    trusting its root (trusted-root.json, shipped out of band as PEP 458 says)\n")

	// lib is fetched with get and then by pip; old is never fetched
	// before the attack, so the tampered bytes meet an empty cache.
	var lib, old repogen.FileInfo
	for _, f := range r.Files() {
		if f.Project == "tufpip-demo-lib" && f.Kind == "wheel" {
			switch f.Version {
			case "1.1.0":
				lib = f
			case "1.0.0":
				old = f
			}
		}
	}
	step("tufpip get %s", lib.Path)
	s, err := dg.openSession(ctx)
	if err != nil {
		return err
	}
	ti, err := s.up.Target(ctx, lib.Path)
	if err != nil {
		return err
	}
	st, _ := s.up.Status(ctx)
	ent, err := index.FetchVerified(ctx, s.http, s.store, ti, rc.FilesURL+lib.Path)
	if err != nil {
		return err
	}
	ent.Close()
	fmt.Fprintf(out, "    root v%d -> timestamp v%d -> snapshot v%d -> targets v%d -> %s (bin of sha256(path)[:%d bits])\n",
		st.Roles["root"].Version, st.Roles["timestamp"].Version, st.Roles["snapshot"].Version, st.Roles["targets"].Version, ti.Role, st.BitLength)
	fmt.Fprintf(out, "    signed: %d bytes, blake2b-256 %s\n", ti.Length, ti.Hashes["blake2b-256"])
	fmt.Fprintf(out, "    downloaded bytes match length and every signed hash: verified into the cache\n")

	if o.noPip {
		fmt.Fprintln(out, "\n(pip steps skipped)")
		return nil
	}
	py, err := exec.LookPath(o.python)
	if err != nil {
		return usagef("no %s on PATH for the pip steps", o.python).withHint("pass --python /path/to/python3, or --no-pip")
	}

	step("starting the proxy")
	proxyCtx, stopProxy := context.WithCancel(ctx)
	urlc := make(chan string, 1)
	errc := make(chan error, 1)
	pg := dg
	var proxyLog bytes.Buffer
	pg.stderr = &proxyLog
	pg.verbose = false
	pg.quiet = false
	go func() {
		errc <- runProxy(proxyCtx, &pg, &proxyOptions{listen: "127.0.0.1:0", ready: func(u string) { urlc <- u }})
	}()
	var indexURL string
	select {
	case indexURL = <-urlc:
	case err := <-errc:
		stopProxy()
		return fmt.Errorf("starting the proxy: %w", err)
	case <-time.After(30 * time.Second):
		stopProxy()
		return errors.New("the proxy did not start within 30s")
	}
	defer func() {
		stopProxy()
		<-errc
	}()
	fmt.Fprintf(out, "    %s\n", indexURL)

	target := filepath.Join(dir, "site")
	step("python3 -m pip install --index-url %s --no-cache-dir --target site tufpip-demo-app", indexURL)
	pipOut, err := runPip(ctx, py, indexURL, target, "tufpip-demo-app")
	if err != nil {
		// All of pip's words, then the error: a message is one line.
		fmt.Fprint(out, indent(pipOut))
		return fmt.Errorf("pip install through the proxy failed: %w", err)
	}
	fmt.Fprint(out, indent(lastLines(pipOut, 4)))
	imp := exec.CommandContext(ctx, py, "-c", "import tufpip_demo_app, tufpip_demo_lib; print('imported tufpip_demo_app', tufpip_demo_app.__version__, 'with tufpip_demo_lib', tufpip_demo_lib.__version__)")
	imp.Env = append(pipEnv(), "PYTHONPATH="+target)
	impOut, err := imp.CombinedOutput()
	fmt.Fprint(out, indent(string(impOut)))
	if err != nil {
		return fmt.Errorf("the installed package does not import: %w", err)
	}
	fmt.Fprintf(out, "    proxy log:\n%s", indent(indent(grepLines(proxyLog.String(), "served verified file"))))

	step("attack: flipping one byte of %s on the server, then pip install it", old.Filename)
	if err := r.TamperFile(old.Path, true); err != nil {
		return err
	}
	target2 := filepath.Join(dir, "site-attacked")
	pipOut, err = runPip(ctx, py, indexURL, target2, "tufpip-demo-lib==1.0.0")
	if err == nil {
		return errors.New("pip installed a tampered wheel: this must never happen")
	}
	fmt.Fprint(out, indent(grepLines(pipOut, "tufpip", "ERROR", "HTTP error")))
	fmt.Fprintf(out, "    proxy log:\n%s", indent(indent(grepLines(proxyLog.String(), "refused"))))
	if n := countFiles(target2); n != 0 {
		return fmt.Errorf("%d files reached the install directory after a refused download", n)
	}
	audit, err := s.store.Audit(ctx)
	if err != nil {
		return err
	}
	if len(audit.Bad) > 0 {
		return fmt.Errorf("the artifact cache holds %d files that fail their content address", len(audit.Bad))
	}
	oldTI, err := s.up.Target(ctx, old.Path)
	if err != nil {
		return err
	}
	if e, err := s.store.Get(ctx, oldTI); err == nil {
		e.Close()
		return errors.New("the tampered wheel is in the cache: this must never happen")
	}
	fmt.Fprintf(out, "\nrefused as it should be: pip got an HTTP error, the install directory is empty, and all %d files in the cache re-hash to their content addresses (the tampered wheel is not among them).\n", audit.Checked)
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
