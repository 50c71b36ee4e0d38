package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// treeSize is the number of projects in the dependency tree pip installs
// in the far-away rows: tree-pkg-0 needs tree-pkg-1 and -2, each of those
// two more, and so on (a binary tree), so that pip discovers the projects
// level by level, as it does a real application's dependencies.
const treeSize = 30

// treeProjects is the dependency tree plus plain synthetic projects, so
// that the repository has 100 wheels for the verify row.
func treeProjects(extra int) []repogen.ProjectSpec {
	var specs []repogen.ProjectSpec
	for i := range treeSize {
		var deps []string
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < treeSize {
				deps = append(deps, fmt.Sprintf("tree-pkg-%d>=1.0", c))
			}
		}
		specs = append(specs, repogen.ProjectSpec{Name: fmt.Sprintf("tree-pkg-%d", i), Releases: []repogen.ReleaseSpec{
			{Version: "1.0.0", Dependencies: deps, Dists: repogen.Wheel},
			{Version: "1.1.0", Dependencies: deps, Dists: repogen.Wheel},
		}})
	}
	return append(specs, repogen.SyntheticProjects(extra)...)
}

// far is the far-away section: a PyPI-shaped repository (16,384 bins of
// binTargets targets each, RSA online key, gzip offered) behind a server
// that waits delay before every answer, and pip installing a 30-project
// dependency tree through the proxy against the same files from the same
// server without TUF.
func (b *bench) far() error {
	phantoms := 16384 * b.o.binTargets
	name := fmt.Sprintf("PyPI-shaped (16,384 bins × %d targets, RSA), %s away", b.o.binTargets, b.o.delay)
	b.logf("generating %s: %d phantom targets", name, phantoms)
	t0 := time.Now()
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(b.work, "repo-far"), BitLength: 14, KeyType: repogen.KeyTypeRSA, PhantomTargets: phantoms}, treeProjects(20))
	if err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("far-away repository: %d phantom targets (≈%d per bin) plus %d real projects, generated in %s", phantoms, b.o.binTargets, treeSize+20, secs(time.Since(t0))))
	srv, err := serveRepo(r.Dir())
	if err != nil {
		return err
	}
	b.servers = append(b.servers, srv)
	srv.gzip.Store(true)
	g := &genRepo{name: name, r: r, srv: srv}

	// Row 4 first, on loopback: verify reads metadata it already has.
	if err := b.verifyWheelhouse(g, "F4", 5); err != nil {
		return err
	}
	if b.o.only == "F4" {
		return nil
	}
	srv.delay.Store(int64(b.o.delay))
	if err := b.lookupsAt(g, "F3", 0.3); err != nil {
		return err
	}
	if b.o.pip {
		if err := b.farPip(g); err != nil {
			return err
		}
	}
	return nil
}

// farPip is rows F1, F2 and F6: pip install of the tree, cold proxy, warm
// proxy and static mirror taking turns, and the bytes the server sent.
func (b *bench) farPip(g *genRepo) error {
	py, err := pythonExe()
	if err != nil {
		return err
	}
	pip := func(index string, k int) (time.Duration, error) {
		target := filepath.Join(b.work, fmt.Sprintf("far-pip-%d", k))
		defer os.RemoveAll(target)
		r, err := run(pipEnv(), py, "-m", "pip", "install", "--no-input", "--no-cache-dir", "--progress-bar", "off", "-q",
			"--index-url", index, "--target", target, "tree-pkg-0")
		if err != nil {
			return 0, err
		}
		return r.wall, nil
	}
	startProxyWith := func(bin, home string, extra ...string) (stop func(), url string, err error) {
		args := slices.DeleteFunc(b.tufpipArgs(home, g), func(a string) bool { return a == "-q" })
		cmd, u, err := b.startProcess(regexp.MustCompile(`serving verified files at (\S+)`), bin, append(append(args, "proxy", "--listen", "127.0.0.1:0"), extra...)...)
		if err != nil {
			return nil, "", err
		}
		return func() {
			cmd.Process.Kill()
			cmd.Wait()
			b.procs = slices.DeleteFunc(b.procs, func(c *exec.Cmd) bool { return c == cmd })
		}, u, nil
	}
	startProxy := func(home string) (func(), string, error) { return startProxyWith(b.tufpip, home) }
	// coldWith is one cold install through a new proxy of bin.
	coldWith := func(bin, home string, k int, extra ...string) (time.Duration, error) {
		defer os.RemoveAll(home)
		stop, purl, err := startProxyWith(bin, home, extra...)
		if err != nil {
			return 0, err
		}
		defer stop()
		g.srv.reset()
		return pip(purl, k)
	}
	var coldNoPrefetch, coldBaseline []time.Duration
	static := g.srv.url + "/simple/"
	runs := max(3, b.o.runs/2)
	var cold, warm, plain []time.Duration
	var coldBytes, plainBytes []int64
	k := 0
	b.logf("far pip: %d rounds of static, cold proxy, warm proxy (%s per request)", runs, b.o.delay)
	for i := range runs {
		k++
		g.srv.reset()
		t, err := pip(static, k)
		if err != nil {
			return err
		}
		plain = append(plain, t)
		sent, _ := g.srv.reset()
		plainBytes = append(plainBytes, sent)

		home := filepath.Join(b.work, fmt.Sprintf("far-home-%d", i))
		stop, purl, err := startProxy(home)
		if err != nil {
			return err
		}
		g.srv.reset() // the proxy's start-up (root, timestamp, snapshot, targets) is not pip's
		k++
		if t, err = pip(purl, k); err != nil {
			stop()
			return err
		}
		cold = append(cold, t)
		sent, _ = g.srv.reset()
		coldBytes = append(coldBytes, sent)
		k++
		if t, err = pip(purl, k); err != nil {
			stop()
			return err
		}
		warm = append(warm, t)
		stop()
		os.RemoveAll(home)
		k++
		if t, err = coldWith(b.tufpip, home+"-noprefetch", k, "--prefetch=false"); err != nil {
			return err
		}
		coldNoPrefetch = append(coldNoPrefetch, t)
		if b.o.baseline != "" {
			k++
			if t, err = coldWith(b.o.baseline, home+"-baseline", k); err != nil {
				return err
			}
			coldBaseline = append(coldBaseline, t)
		}
	}
	// Bytes without gzip, once.
	g.srv.gzip.Store(false)
	home := filepath.Join(b.work, "far-home-identity")
	stop, purl, err := startProxy(home)
	if err != nil {
		return err
	}
	g.srv.reset()
	_, err = pip(purl, k+1)
	identity, _ := g.srv.reset()
	stop()
	g.srv.gzip.Store(true)
	os.RemoveAll(home)
	if err != nil {
		return err
	}
	mc, mw, mp := median(cold), median(warm), median(plain)
	what := fmt.Sprintf("pip install of a %d-project dependency tree, %s per request", treeSize, b.o.delay)
	b.ratioRow("F1", what+": cold proxy (vs static mirror)", ms(mc), ms(mp), mc.Seconds()/mp.Seconds(), 1.15)
	b.ratioRow("F2", what+": warm proxy (vs static mirror)", ms(mw), ms(mp), mw.Seconds()/mp.Seconds(), 1.02)
	mn := median(coldNoPrefetch)
	b.ratioRow("F1", what+": cold proxy --prefetch=false (vs static mirror)", ms(mn), ms(mp), mn.Seconds()/mp.Seconds(), 0)
	if len(coldBaseline) > 0 {
		mb := median(coldBaseline)
		b.ratioRow("F1", what+": cold proxy, -baseline binary (vs static mirror)", ms(mb), ms(mp), mb.Seconds()/mp.Seconds(), 0)
	}
	cb, pb := median(coldBytes), median(plainBytes)
	b.ratioRow("F6", "cold install, bytes the server sent, gzip offered (vs static mirror, gzip offered)", kib(cb), kib(pb), float64(cb)/float64(pb), 0)
	b.ratioRow("F6", "cold install, bytes the server sent, gzip offered (vs the same without gzip)", kib(cb), kib(identity), float64(cb)/float64(identity), 0)
	return nil
}

func pythonExe() (string, error) {
	// The interpreter itself, not a pyenv shim.
	r, err := run(nil, "python3", "-c", "import sys; print(sys.executable)")
	if err != nil {
		return "", errors.New("python3 not found; run with -pip=false")
	}
	return strings.TrimSpace(string(r.out)), nil
}

// pipEnv keeps pip to the index under test: no config file, no find-links,
// no extra index.
func pipEnv() []string {
	return []string{"PIP_CONFIG_FILE=" + os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_ROOT_USER_ACTION=ignore", "PIP_FIND_LINKS=", "PIP_EXTRA_INDEX_URL=", "PIP_NO_INDEX="}
}
