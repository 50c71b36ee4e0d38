// Command bench measures tufpip against its references at PyPI scale and
// prints one table in which every row is a ratio taken in the same run
// (DESIGN.md §5; docs/performance.md has the latest numbers and how to
// read them).
//
//	go run ./bench            # about 11 minutes: 16,384 bins, RSA and ed25519, the far-away section, 1 GiB file, pip
//	go run ./bench -quick     # about 1-2 minutes: fewer targets, ed25519 only, 256 MiB, no pip
//	go run ./bench -only F4   # about 2-3 minutes: the far-away repository and its verify row only
//
// It generates the repositories once (16,384 bins with 450,000 phantom
// target entries: 150,000 projects' worth, 300,000 files and their pages;
// real wheels only for the 50 projects whose bytes are served), serves
// them on 127.0.0.1 through a server that counts bytes and offers gzip,
// and then times, side by side and interleaved so that the machine's
// drift hits both alike:
//
//  1. tufpip get vs go-tuf (bench/gotuf-get) for one file, cold and warm
//  2. artifact verification of a big file vs sha256sum and b2sum, and
//     peak RSS
//  3. pip install through the proxy vs a static server (bench/pip-overhead.sh)
//  4. the proxy under load and under 8 parallel pip processes
//  5. tufpip verify of a 100-file wheelhouse vs sha256sum
//  6. the generator at 256 and 16,384 bins
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
)

type options struct {
	quick    bool
	runs     int
	phantoms int
	projects int
	bigMiB   int64
	loadDur  time.Duration
	pip      bool
	keep     bool
	work     string
	// delay and binTargets shape the far-away section (far.go).
	delay      time.Duration
	binTargets int
	// only, if not empty, names the one row to run (F4).
	only string
	// farOnly runs the far-away section alone; baseline is another
	// tufpip binary (e.g. built from main) whose cold proxy F1 also times.
	farOnly  bool
	baseline string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if err := childVerify(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.BoolVar(&o.quick, "quick", false, "CI-sized run (~1-2 min): 30,000 targets, ed25519 only, 256 MiB file, no pip")
	flag.IntVar(&o.runs, "runs", 0, "repetitions of each timed case (default 10, quick 5)")
	flag.IntVar(&o.phantoms, "phantoms", 0, "phantom target entries per 16,384-bin repository (default 450000, quick 30000)")
	flag.Int64Var(&o.bigMiB, "big-mib", 0, "size of the big artifact in MiB (default 1024, quick 256)")
	flag.DurationVar(&o.loadDur, "load", 0, "duration of each load test (default 10s, quick 3s)")
	flag.BoolVar(&o.pip, "pip", true, "run the pip cases (needs python3 -m pip; off with -quick)")
	flag.DurationVar(&o.delay, "delay", 25*time.Millisecond, "delay the far-away server adds to every answer")
	flag.IntVar(&o.binTargets, "bin-targets", 0, "phantom targets per bin in the far-away PyPI-shaped repository (default 600, PyPI's size, ≈10 million targets; quick 10)")
	flag.BoolVar(&o.farOnly, "far-only", false, "run only the far-away section (rows F1-F6)")
	flag.StringVar(&o.baseline, "baseline", "", "a tufpip binary (e.g. built from main) whose cold proxy (F1) and cold get (F3, item 1) are also timed, side by side in the same run")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.work, "work", "", "work directory (default: a new temporary one)")
	flag.StringVar(&o.only, "only", "", "run only this row: F4 (the far-away repository's verify row, ~3 min)")
	flag.Parse()
	if o.only != "" && o.only != "F4" {
		fmt.Fprintf(os.Stderr, "bench: -only %q: the row that can run alone is F4\n", o.only)
		os.Exit(2)
	}
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	def(&o.runs, 10, 5)
	def(&o.phantoms, 450_000, 30_000)
	def(&o.binTargets, 600, 10)
	o.projects = 50
	if o.bigMiB == 0 {
		o.bigMiB = 1024
		if o.quick {
			o.bigMiB = 256
		}
	}
	if o.loadDur == 0 {
		o.loadDur = 10 * time.Second
		if o.quick {
			o.loadDur = 3 * time.Second
		}
	}
	if o.quick {
		o.pip = false
	}
	b := &bench{o: o}
	err := b.main()
	b.cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one line of the table: ours against the reference, as a ratio.
type row struct {
	item      string
	what      string
	ours, ref string
	ratio     float64
	target    string
	// met: "met", "MISSED" or "" (no target).
	met string
}

type bench struct {
	o       options
	work    string
	root    string // module root
	tufpip  string
	gotuf   string
	rows    []row
	notes   []string
	servers []*countingServer
	procs   []*exec.Cmd
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

func (b *bench) add(r row) { b.rows = append(b.rows, r) }

// ratioRow adds ours/ref with a target "≤ max" (max 0: no target).
func (b *bench) ratioRow(item, what, ours, ref string, ratio, max float64) {
	r := row{item: item, what: what, ours: ours, ref: ref, ratio: ratio}
	if max > 0 {
		r.target = fmt.Sprintf("≤ %.2f", max)
		r.met = "met"
		if ratio > max {
			r.met = "MISSED"
		}
	}
	b.add(r)
}

func (b *bench) cleanup() {
	for _, p := range b.procs {
		if p.Process != nil {
			p.Process.Kill()
			p.Wait()
		}
	}
	for _, s := range b.servers {
		s.close()
	}
	if b.work != "" && !b.o.keep && b.o.work == "" {
		os.RemoveAll(b.work)
	} else if b.work != "" {
		b.logf("work directory kept: %s", b.work)
	}
}

func (b *bench) main() error {
	start := time.Now()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return errors.New("run from inside the tufpip module (go run ./bench)")
	}
	b.root = filepath.Dir(strings.TrimSpace(string(out)))
	if b.work = b.o.work; b.work == "" {
		if b.work, err = os.MkdirTemp("", "tufpip-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	b.tufpip = filepath.Join(b.work, "bin", "tufpip")
	b.gotuf = filepath.Join(b.work, "bin", "gotuf-get")
	for bin, pkg := range map[string]string{b.tufpip: "./cmd/tufpip", b.gotuf: "./bench/gotuf-get"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir, cmd.Stderr = b.root, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", pkg, err)
		}
	}

	if b.o.only != "" || b.o.farOnly {
		if err := b.far(); err != nil {
			return err
		}
		b.print(time.Since(start))
		return nil
	}
	repos, err := b.generate()
	if err != nil {
		return err
	}
	if err := b.far(); err != nil {
		return err
	}
	for _, r := range repos.lookup {
		if err := b.lookupsAt(r, "1", 0.5); err != nil {
			return err
		}
	}
	if err := b.bigFile(repos.small); err != nil {
		return err
	}
	if err := b.verifyWheelhouse(repos.pypi, "5", 0); err != nil {
		return err
	}
	if err := b.proxy(repos.pypi); err != nil {
		return err
	}
	if b.o.pip {
		if err := b.pipOverhead(); err != nil {
			b.notes = append(b.notes, "pip-overhead.sh: "+err.Error())
		}
	}
	b.print(time.Since(start))
	return nil
}

type genRepo struct {
	name string
	r    *repogen.Repo
	srv  *countingServer
}

type repoSet struct {
	small  *genRepo   // 256 bins: the big file lives here
	pypi   *genRepo   // 16,384 bins, ed25519: proxy, pip, verify
	lookup []*genRepo // 16,384 bins: RSA (full run) and ed25519
}

// generate builds the repositories, timing each (item 6).
func (b *bench) generate() (repoSet, error) {
	var set repoSet
	type spec struct {
		name string
		opts repogen.Options
	}
	specs := []spec{
		{"256 bins, ed25519", repogen.Options{BitLength: 8, KeyType: repogen.KeyTypeEd25519}},
		{"16,384 bins, ed25519", repogen.Options{BitLength: 14, KeyType: repogen.KeyTypeEd25519}},
	}
	if !b.o.quick {
		specs = append(specs, spec{"16,384 bins, RSA-2048", repogen.Options{BitLength: 14, KeyType: repogen.KeyTypeRSA}})
	}
	type gen struct {
		dur  time.Duration
		disk int64
		meta int64
	}
	gens := map[string]gen{}
	for i, s := range specs {
		s.opts.Dir = filepath.Join(b.work, fmt.Sprintf("repo%d", i))
		s.opts.PhantomTargets = b.o.phantoms
		b.logf("generating %s, %d phantom targets, %d projects", s.name, b.o.phantoms, b.o.projects)
		t0 := time.Now()
		r, err := repogen.Generate(s.opts, repogen.SyntheticProjects(b.o.projects))
		if err != nil {
			return set, err
		}
		d := time.Since(t0)
		disk, _ := dirSize(r.Dir())
		meta, _ := dirSize(filepath.Join(r.Dir(), "metadata"))
		gens[s.name] = gen{d, disk, meta}
		srv, err := serveRepo(r.Dir())
		if err != nil {
			return set, err
		}
		srv.gzip.Store(true)
		b.servers = append(b.servers, srv)
		g := &genRepo{name: s.name, r: r, srv: srv}
		switch i {
		case 0:
			set.small = g
		case 1:
			set.pypi = g
			set.lookup = append([]*genRepo{g}, set.lookup...)
		case 2:
			set.lookup = append([]*genRepo{g}, set.lookup...)
		}
	}
	ref := gens[specs[0].name]
	for _, s := range specs[1:] {
		g := gens[s.name]
		b.ratioRow("6", "generate "+s.name+": time (vs 256 bins, ed25519)", secs(g.dur), secs(ref.dur), g.dur.Seconds()/ref.dur.Seconds(), 0)
		b.ratioRow("6", "generate "+s.name+": disk, metadata/ only (vs 256 bins)", mib(g.meta), mib(ref.meta), float64(g.meta)/float64(ref.meta), 0)
	}
	b.notes = append(b.notes, fmt.Sprintf("generator: %d phantom targets (%d projects' worth, %d files) and %d real projects per repository; 256 bins took %s and %s on disk in all",
		b.o.phantoms, b.o.phantoms/3, b.o.phantoms/3*2, b.o.projects, secs(ref.dur), mib(ref.disk)))
	return set, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func (b *bench) tufpipArgs(home string, g *genRepo) []string {
	u := g.srv.url
	return []string{"--home", home, "-q", "--metadata-url", u + "/metadata/", "--index-url", u + "/simple/",
		"--files-url", u + "/packages/", "--root", filepath.Join(g.r.Dir(), "trusted-root.json")}
}

func (b *bench) gotufArgs(dir string, g *genRepo, target string) []string {
	u := g.srv.url
	return []string{"-metadata-url", u + "/metadata/", "-root", filepath.Join(g.r.Dir(), "trusted-root.json"),
		"-files-url", u + "/packages/", "-metadata-dir", filepath.Join(dir, "metadata"), "-target-dir", filepath.Join(dir, "targets"), target}
}

// lookupsAt is item 1 (and F3): one target, resolved and verified, as a
// whole process, tufpip against go-tuf, cold and warm; coldGoal is the
// target for the cold ratio.
func (b *bench) lookupsAt(g *genRepo, item string, coldGoal float64) error {
	target := g.r.Files()[0].Path
	dir := filepath.Join(b.work, "lookup-"+strings.NewReplacer(" ", "", ",", "").Replace(g.name))
	warmHome, warmGo := filepath.Join(dir, "tufpip-warm"), filepath.Join(dir, "gotuf-warm")
	out := filepath.Join(dir, "out.whl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type cas struct {
		name string
		args func(i int) (string, []string)
		wall []time.Duration
		sent []int64
		rss  []int64
	}
	cases := []*cas{
		{name: "tufpip cold", args: func(i int) (string, []string) {
			return b.tufpip, append(b.tufpipArgs(filepath.Join(dir, fmt.Sprintf("tc%d", i)), g), "get", target, "-o", out)
		}},
		{name: "go-tuf cold", args: func(i int) (string, []string) {
			return b.gotuf, b.gotufArgs(filepath.Join(dir, fmt.Sprintf("gc%d", i)), g, target)
		}},
		{name: "tufpip warm", args: func(int) (string, []string) {
			return b.tufpip, append(b.tufpipArgs(warmHome, g), "get", target, "-o", out)
		}},
		{name: "go-tuf warm", args: func(int) (string, []string) { return b.gotuf, b.gotufArgs(warmGo, g, target) }},
	}
	if b.o.baseline != "" {
		// Timed in the same rounds as the others, so that before and
		// after meet the same machine load.
		cases = append(cases, &cas{name: "baseline cold", args: func(i int) (string, []string) {
			return b.o.baseline, append(b.tufpipArgs(filepath.Join(dir, fmt.Sprintf("bc%d", i)), g), "get", target, "-o", out)
		}})
	}
	// Prime the warm ones.
	for _, c := range cases[2:4] {
		name, args := c.args(-1)
		if _, err := run(nil, name, args...); err != nil {
			return err
		}
	}
	b.logf("lookups on %s: %d rounds", g.name, b.o.runs)
	for i := range b.o.runs {
		for _, c := range cases {
			name, args := c.args(i)
			g.srv.reset()
			r, err := run(nil, name, args...)
			if err != nil {
				return err
			}
			sent, _ := g.srv.reset()
			c.wall = append(c.wall, r.wall)
			c.sent = append(c.sent, sent)
			c.rss = append(c.rss, r.maxRSS)
		}
	}
	// Bytes without compression, once each.
	g.srv.gzip.Store(false)
	var plain [2]int64
	for k, c := range cases[:2] {
		name, args := c.args(1000)
		g.srv.reset()
		if _, err := run(nil, name, args...); err != nil {
			return err
		}
		plain[k], _ = g.srv.reset()
	}
	g.srv.gzip.Store(true)
	os.RemoveAll(dir)

	tc, gc, tw, gw := median(cases[0].wall), median(cases[1].wall), median(cases[2].wall), median(cases[3].wall)
	b.ratioRow(item, g.name+": cold get, wall (vs go-tuf cold)", ms(tc), ms(gc), tc.Seconds()/gc.Seconds(), coldGoal)
	b.ratioRow(item, g.name+": warm get, wall (vs go-tuf warm)", ms(tw), ms(gw), tw.Seconds()/gw.Seconds(), 0.2)
	bc, bg := median(cases[0].sent), median(cases[1].sent)
	b.ratioRow(item, g.name+": cold get, bytes fetched, server offers gzip (vs go-tuf)", kib(bc), kib(bg), float64(bc)/float64(bg), 1)
	b.ratioRow(item, g.name+": cold get, bytes fetched, gzip vs identity (tufpip)", kib(bc), kib(plain[0]), float64(bc)/float64(plain[0]), 0)
	bw, bgw := median(cases[2].sent), median(cases[3].sent)
	b.ratioRow(item, g.name+": warm get, bytes fetched (vs go-tuf warm)", kib(bw), kib(bgw), float64(bw)/float64(max(bgw, 1)), 1)
	rc, rg := median(cases[0].rss), median(cases[1].rss)
	b.ratioRow(item, g.name+": cold get, peak RSS of the process (vs go-tuf cold)", mib(rc), mib(rg), float64(rc)/float64(max(rg, 1)), 0)
	if len(cases) > 4 {
		bc := median(cases[4].wall)
		b.ratioRow(item, g.name+": cold get, -baseline binary, wall (vs go-tuf cold)", ms(bc), ms(gc), bc.Seconds()/gc.Seconds(), 0)
	}
	return nil
}

// bigFile is item 2: verification throughput and memory for a big artifact.
func (b *bench) bigFile(g *genRepo) error {
	size := b.o.bigMiB << 20
	label := fmt.Sprintf("%d MiB", b.o.bigMiB)
	if b.o.bigMiB%1024 == 0 {
		label = fmt.Sprintf("%d GiB", b.o.bigMiB/1024)
	}
	b.logf("big file: writing %s", label)
	path := filepath.Join(b.work, "big.bin")
	ti, err := writeBig(path, size)
	if err != nil {
		return err
	}
	small := filepath.Join(b.work, "small.bin")
	tiSmall, err := writeBig(small, 64<<20)
	if err != nil {
		return err
	}
	only := func(ti updater.TargetInfo, alg string) string {
		t := ti
		t.Hashes = map[string]string{alg: ti.Hashes[alg]}
		j, _ := json.Marshal(t)
		return string(j)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := func(args ...string) (float64, int64, error) {
		r, err := run(nil, self, append([]string{"child"}, args...)...)
		if err != nil {
			return 0, 0, err
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(string(r.out)), 64)
		return s, r.maxRSS, err
	}
	tool := func(name string, args ...string) (float64, error) {
		r, err := run(nil, name, append(args, path)...)
		return r.wall.Seconds(), err
	}
	runs := max(3, b.o.runs/3)
	var b2, s256, b2sum, sha256sum, put, get, mem, write []float64
	var rssCopy, rssCopySmall int64
	store := filepath.Join(b.work, "store")
	tool("cat") // warm the page cache
	for i := range runs {
		b.logf("big file: round %d/%d", i+1, runs)
		t, rss, err := child("copy", path, only(ti, updater.HashBLAKE2b256))
		if err != nil {
			return err
		}
		b2, rssCopy = append(b2, t), max(rssCopy, rss)
		if t, _, err = child("mem", path, only(ti, updater.HashBLAKE2b256)); err != nil {
			return err
		}
		mem = append(mem, t)
		if t, _, err = child("copy", path, only(ti, updater.HashSHA256)); err != nil {
			return err
		}
		s256 = append(s256, t)
		if t, err = tool("b2sum", "-l", "256"); err != nil {
			return err
		}
		b2sum = append(b2sum, t)
		if t, err = tool("sha256sum"); err != nil {
			return err
		}
		sha256sum = append(sha256sum, t)
		if _, rss, err = child("copy", small, only(tiSmall, updater.HashBLAKE2b256)); err != nil {
			return err
		}
		rssCopySmall = max(rssCopySmall, rss)
		os.RemoveAll(store)
		if t, _, err = child("put", path, only(ti, updater.HashBLAKE2b256), store); err != nil {
			return err
		}
		put = append(put, t)
		if t, _, err = child("write", path, only(ti, updater.HashBLAKE2b256), filepath.Join(b.work, "plain")); err != nil {
			return err
		}
		write = append(write, t)
		if t, _, err = child("get", path, only(ti, updater.HashBLAKE2b256), store); err != nil {
			return err
		}
		get = append(get, t)
	}
	os.RemoveAll(store)
	thr := func(s float64) string { return fmt.Sprintf("%.0f MiB/s", float64(size)/(1<<20)/s) }
	// Throughput ratio: ours/reference, ≥ 0.9 wanted; shown as time ratio
	// (reference time / ours is throughput ratio).
	tp := func(what string, ours, ref []float64, refName string) {
		o, r := median(ours), median(ref)
		row := row{item: "2", what: what, ours: thr(o), ref: thr(r) + " " + refName, ratio: r / o, target: "≥ 0.90", met: "met"}
		if r/o < 0.9 {
			row.met = "MISSED"
		}
		b.add(row)
	}
	tp(label+": VerifyCopy blake2b-256, throughput (vs b2sum)", b2, b2sum, "b2sum")
	tp(label+": VerifyCopy blake2b-256, throughput (vs x/crypto blake2b on memory: our overhead)", b2, mem, "in memory")
	b.ratioRow("2", label+": x/crypto blake2b on memory, throughput (vs b2sum: the library's limit)", thr(median(mem)), thr(median(b2sum))+" b2sum", median(b2sum)/median(mem), 0)
	tp(label+": VerifyCopy sha256, throughput (vs sha256sum)", s256, sha256sum, "sha256sum")
	tp(label+": cache Put blake2b-256 (hash+write+fsync), throughput (vs b2sum)", put, b2sum, "b2sum")
	b.ratioRow("2", label+": plain write+fsync, no hashing, throughput (vs b2sum: the disk's limit for Put)", thr(median(write)), thr(median(b2sum))+" b2sum", median(b2sum)/median(write), 0)
	tp(label+": cache Put blake2b-256, throughput (vs plain write+fsync: Put's overhead over the disk)", put, write, "write+fsync")
	tp(label+": cache Get in a new process (re-verify), throughput (vs b2sum)", get, b2sum, "b2sum")
	b.ratioRow("2", label+": peak RSS verifying (vs the same for 64 MiB)", mib(rssCopy), mib(rssCopySmall), float64(rssCopy)/float64(rssCopySmall), 1.1)

	// The whole command, over loopback: download, verify, cache, copy out.
	if err := b.bigGet(g, path, label); err != nil {
		return err
	}
	os.Remove(path)
	os.Remove(small)
	return nil
}

// writeBig writes size pseudo-random bytes and returns their target info.
func writeBig(path string, size int64) (updater.TargetInfo, error) {
	f, err := os.Create(path)
	if err != nil {
		return updater.TargetInfo{}, err
	}
	defer f.Close()
	hb, _ := blake2b.New256(nil)
	hs := sha256.New()
	block := make([]byte, 4<<20)
	rand.Read(block)
	w := io.MultiWriter(f, hb, hs)
	for left := size; left > 0; {
		n := min(left, int64(len(block)))
		if _, err := w.Write(block[:n]); err != nil {
			return updater.TargetInfo{}, err
		}
		block[0]++ // no two blocks alike
		left -= n
	}
	return updater.TargetInfo{Path: filepath.Base(path), Length: size, Hashes: map[string]string{
		updater.HashBLAKE2b256: hex.EncodeToString(hb.Sum(nil)),
		updater.HashSHA256:     hex.EncodeToString(hs.Sum(nil)),
	}}, f.Close()
}

// bigGet signs the big file in the small repository and fetches it with
// tufpip get and with the go-tuf client, comparing wall time and RSS.
func (b *bench) bigGet(g *genRepo, path, label string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	target := "big/big-1.0.tar.gz"
	if err := g.r.AddTarget(target, data); err != nil {
		return err
	}
	data = nil
	runtime.GC()
	out := filepath.Join(b.work, "big-out")
	var tw, gw []time.Duration
	var trss, grss int64
	for i := range max(2, b.o.runs/5) {
		b.logf("big file: tufpip get and go-tuf, round %d", i+1)
		home := filepath.Join(b.work, "bighome")
		r, err := run(nil, b.tufpip, append(b.tufpipArgs(home, g), "get", target, "-o", out)...)
		if err != nil {
			return err
		}
		tw, trss = append(tw, r.wall), max(trss, r.maxRSS)
		os.RemoveAll(home)
		os.Remove(out)
		gd := filepath.Join(b.work, "biggotuf")
		if r, err = run(nil, b.gotuf, b.gotufArgs(gd, g, target)...); err != nil {
			return err
		}
		gw, grss = append(gw, r.wall), max(grss, r.maxRSS)
		os.RemoveAll(gd)
	}
	b.ratioRow("2", label+": tufpip get over loopback (download, verify, cache, copy out), wall (vs go-tuf client)", ms(median(tw)), ms(median(gw)), median(tw).Seconds()/median(gw).Seconds(), 0)
	b.ratioRow("2", label+": tufpip get, peak RSS (vs go-tuf client, which holds the file in memory)", mib(trss), mib(grss), float64(trss)/float64(grss), 0)
	return nil
}

// verifyWheelhouse is item 5 (and F4), with goal as the target (0: none).
func (b *bench) verifyWheelhouse(g *genRepo, item string, goal float64) error {
	wh := filepath.Join(b.work, "wheelhouse-"+item)
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return err
	}
	var files []string
	for _, f := range g.r.Files() {
		if len(files) == 100 {
			break
		}
		data, err := os.ReadFile(filepath.Join(g.r.Dir(), "packages", filepath.FromSlash(f.Path)))
		if err != nil {
			return err
		}
		dst := filepath.Join(wh, f.Filename)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		files = append(files, dst)
	}
	home := filepath.Join(b.work, "verify-home-"+item)
	args := append(b.tufpipArgs(home, g), "verify", wh)
	if _, err := run(nil, b.tufpip, args...); err != nil { // fetch the bins once
		return err
	}
	b.logf("verify: %d files, %d rounds", len(files), b.o.runs)
	var tv, ts []time.Duration
	for range b.o.runs {
		r, err := run(nil, b.tufpip, args...)
		if err != nil {
			return err
		}
		tv = append(tv, r.wall)
		if r, err = run(nil, "sha256sum", files...); err != nil {
			return err
		}
		ts = append(ts, r.wall)
	}
	b.ratioRow(item, fmt.Sprintf("%s: tufpip verify of %d wheels, warm metadata (vs sha256sum of the same)", g.name, len(files)), ms(median(tv)), ms(median(ts)), median(tv).Seconds()/median(ts).Seconds(), goal)
	return nil
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// fileURLs lists the distribution file links on every project page of an
// index at base (".../simple/"), absolute, without fragments.
func fileURLs(base string, projects []string) ([]string, error) {
	var out []string
	for _, p := range projects {
		page := base + p + "/"
		resp, err := http.Get(page)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %v %s", page, err, resp.Status)
		}
		for _, m := range hrefRE.FindAllSubmatch(body, -1) {
			u, _, _ := strings.Cut(string(m[1]), "#")
			ref, err := resp.Request.URL.Parse(u)
			if err != nil {
				return nil, err
			}
			out = append(out, ref.String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no files linked from %s", base)
	}
	return out, nil
}

// startProcess starts a long-running server and returns the first line
// of its standard output matched by re.
func (b *bench) startProcess(re *regexp.Regexp, name string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(name, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	b.procs = append(b.procs, cmd)
	found := make(chan string, 1)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}
	go scan(stdout)
	go scan(stderr)
	select {
	case u := <-found:
		return cmd, u, nil
	case <-time.After(60 * time.Second):
		return nil, "", fmt.Errorf("%s did not start", filepath.Base(name))
	}
}

// proxy is item 4: the proxy under a load generator and under 8 parallel
// pip processes, against a plain static server (tufpip testrepo serve) in
// a process of its own.
func (b *bench) proxy(g *genRepo) error {
	home := filepath.Join(b.work, "proxy-home")
	// Not -q: the banner gives the URL, and a log line per served file is
	// part of the proxy's normal work.
	args := slices.DeleteFunc(b.tufpipArgs(home, g), func(a string) bool { return a == "-q" })
	pcmd, purl, err := b.startProcess(regexp.MustCompile(`serving verified files at (\S+)`), b.tufpip, append(args, "proxy", "--listen", "127.0.0.1:0")...)
	if err != nil {
		return err
	}
	scmd, surl, err := b.startProcess(regexp.MustCompile(`^(http://\S+)`), b.tufpip, "testrepo", "serve", g.r.Dir())
	if err != nil {
		return err
	}
	var projects []string
	for i := range b.o.projects {
		projects = append(projects, fmt.Sprintf("synthetic-pkg-%d", i))
	}
	// Warm the proxy: every page and file once.
	purls, err := fileURLs(purl, projects)
	if err != nil {
		return err
	}
	for _, u := range purls {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("warming %s: %s", u, resp.Status)
		}
	}
	surls, err := fileURLs(surl+"/simple/", projects)
	if err != nil {
		return err
	}
	const conc = 16
	b.logf("load: %d clients, %s each on the proxy and the static server", conc, b.o.loadDur)
	lp := loadTest(purls, conc, b.o.loadDur)
	ls := loadTest(surls, conc, b.o.loadDur)
	if lp.errors > 0 || ls.errors > 0 {
		b.notes = append(b.notes, fmt.Sprintf("load errors: proxy %d, static %d", lp.errors, ls.errors))
	}
	what := fmt.Sprintf("proxy, %d clients fetching %d cached files", conc, len(purls))
	b.ratioRow("4", what+": requests/s (vs static server)", fmt.Sprintf("%.0f/s", lp.rps), fmt.Sprintf("%.0f/s", ls.rps), lp.rps/ls.rps, 0)
	b.ratioRow("4", what+": p50 latency (vs static server)", ms(lp.p50), ms(ls.p50), lp.p50.Seconds()/ls.p50.Seconds(), 0)
	b.ratioRow("4", what+": p99 latency (vs static server)", ms(lp.p99), ms(ls.p99), lp.p99.Seconds()/ls.p99.Seconds(), 0)

	if b.o.pip {
		if err := b.parallelPip(purl, surl+"/simple/", projects); err != nil {
			b.notes = append(b.notes, "parallel pip: "+err.Error())
		}
	}
	prss, srss := vmHWM(pcmd.Process.Pid), vmHWM(scmd.Process.Pid)
	b.ratioRow("4", "proxy peak RSS after the load (vs static server process)", mib(prss), mib(srss), float64(prss)/float64(srss), 0)
	return nil
}

// parallelPip runs 8 pip processes at once, each installing 3 projects,
// through the warm proxy and through the static server.
func (b *bench) parallelPip(proxyURL, staticURL string, projects []string) error {
	// The interpreter itself, not a pyenv shim: eight shims at once fight
	// over pyenv's rehash lock.
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return err
	}
	py := strings.TrimSpace(string(out))
	round := func(index string, k int) (time.Duration, error) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		t0 := time.Now()
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				target := filepath.Join(b.work, fmt.Sprintf("pip-%d-%d", k, i))
				defer os.RemoveAll(target)
				args := []string{"-m", "pip", "install", "--no-input", "--no-cache-dir", "--progress-bar", "off", "-q",
					"--index-url", index, "--target", target}
				for j := range 3 {
					args = append(args, projects[(i*3+j)%len(projects)])
				}
				_, errs[i] = run([]string{"PIP_CONFIG_FILE=" + os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_ROOT_USER_ACTION=ignore", "PIP_FIND_LINKS=", "PIP_EXTRA_INDEX_URL="}, py, args...)
			}()
		}
		wg.Wait()
		return time.Since(t0), errors.Join(errs...)
	}
	b.logf("8 parallel pip processes: warm-up, then 2 rounds each")
	if _, err := round(proxyURL, 0); err != nil {
		return err
	}
	var tp, ts []time.Duration
	for k := 1; k <= 2; k++ {
		t, err := round(staticURL, k)
		if err != nil {
			return err
		}
		ts = append(ts, t)
		if t, err = round(proxyURL, k); err != nil {
			return err
		}
		tp = append(tp, t)
	}
	b.ratioRow("4", "8 parallel pip install (3 projects each), warm proxy, wall (vs static server)", ms(median(tp)), ms(median(ts)), median(tp).Seconds()/median(ts).Seconds(), 1.1)
	return nil
}

// pipOverhead is item 3: it runs bench/pip-overhead.sh and takes its
// warm and cold ratios.
func (b *bench) pipOverhead() error {
	script := filepath.Join(b.root, "bench", "pip-overhead.sh")
	if _, err := os.Stat(script); err != nil {
		return err
	}
	b.logf("pip-overhead.sh (RUNS=3)")
	r, err := run([]string{"RUNS=3"}, "bash", script)
	if err != nil {
		return err
	}
	var plain string
	for _, line := range strings.Split(string(r.out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		switch {
		case strings.HasPrefix(line, "a  plain"):
			plain = f[4]
		case strings.HasPrefix(line, "b  warm proxy"):
			v, _ := strconv.ParseFloat(f[4], 64)
			b.ratioRow("3", "pip install of 20 projects, warm proxy (vs static server; pip-overhead.sh)", f[3]+" s", plain+" s", v, 1.1)
		case strings.HasPrefix(line, "c  cold proxy"):
			i := slices.Index(f, "--home)")
			if i < 0 || i+2 >= len(f) {
				continue
			}
			v, _ := strconv.ParseFloat(f[i+2], 64)
			b.ratioRow("3", "pip install of 20 projects, cold proxy (vs static server; pip-overhead.sh)", f[i+1]+" s", plain+" s", v, 0)
		}
	}
	return nil
}

func (b *bench) print(total time.Duration) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\ntufpip benchmarks (%s), %s, %d CPUs, %s; %d runs per timed case, medians; ratio = tufpip / reference (for throughput: tufpip / reference speed)\n\n",
		map[bool]string{true: "-quick", false: "full"}[b.o.quick], runtime.Version(), runtime.NumCPU(), cpuModel(), b.o.runs)
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tmeasurement\ttufpip\treference\tratio\ttarget\t")
	for _, r := range b.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t\n", r.item, r.what, r.ours, r.ref, r.ratio, strings.TrimSpace(r.target+" "+r.met))
	}
	tw.Flush()
	for _, n := range b.notes {
		fmt.Fprintf(&buf, "\nnote: %s", n)
	}
	fmt.Fprintf(&buf, "\n\nthe whole run took %s\n", total.Round(time.Second))
	os.Stdout.Write(buf.Bytes())
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
