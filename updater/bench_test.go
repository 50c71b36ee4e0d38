package updater_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
)

// Benchmarks of target lookup at PEP 458 scale: 16,384 bins. Generating
// such a repository takes a while, so it is built once per run and shared;
// TUFPIP_BENCH_REPO names an existing generated repository to use instead
// (e.g. one from "tufpip testrepo generate --bit-length 14"), and
// TUFPIP_BENCH_PHANTOMS sets the phantom target count (default 30,000; the
// snapshot's size does not depend on it, a bin's does). Run with:
//
//	go test -run '^$' -bench 'Lookup' -benchtime 20x ./updater/
//
// and compare sub-benchmarks of one run: absolute times drift on a shared
// machine.

var (
	scaleOnce sync.Once
	scaleRepo *repogen.Repo
	scaleErr  error
	scaleDir  string
)

func benchRepo(b *testing.B) (*repogen.Repo, string) {
	b.Helper()
	scaleOnce.Do(func() {
		if d := os.Getenv("TUFPIP_BENCH_REPO"); d != "" {
			scaleRepo, scaleErr = repogen.Open(d)
			return
		}
		phantoms := 30_000
		if s := os.Getenv("TUFPIP_BENCH_PHANTOMS"); s != "" {
			if phantoms, scaleErr = strconv.Atoi(s); scaleErr != nil {
				return
			}
		}
		scaleDir, scaleErr = os.MkdirTemp("", "tufpip-updater-bench-")
		if scaleErr != nil {
			return
		}
		scaleRepo, scaleErr = repogen.Generate(repogen.Options{
			Dir:            filepath.Join(scaleDir, "repo"),
			BitLength:      14,
			KeyType:        repogen.KeyTypeRSA,
			PhantomTargets: phantoms,
		}, repogen.SyntheticProjects(3))
	})
	if scaleErr != nil {
		b.Fatalf("generating the 16,384-bin repository: %v", scaleErr)
	}
	srv := httptest.NewServer(repogen.NewHandler(scaleRepo.Dir()))
	b.Cleanup(srv.Close)
	return scaleRepo, srv.URL + "/"
}

func benchUpdater(b *testing.B, base string, root []byte, dir string, window time.Duration) *updater.Updater {
	b.Helper()
	u, err := updater.New(updater.Config{
		MetadataURL:   base + "metadata/",
		MetadataDir:   dir,
		BootstrapRoot: root,
		Window:        window,
	})
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkLookupCold is a first lookup with an empty metadata directory:
// the full TUF workflow (root probe, timestamp, the ~0.75 MB snapshot,
// targets) and one bin, over HTTP on loopback.
func BenchmarkLookupCold(b *testing.B) {
	r, base := benchRepo(b)
	target := r.Files()[0].Path
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		u := benchUpdater(b, base, r.TrustedRoot(), dir, 5*time.Minute)
		if _, err := u.Target(ctx, target); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupWarm is a new process's lookup inside the freshness
// window: the verified files in the metadata directory answer, with no
// network and no snapshot re-parse.
func BenchmarkLookupWarm(b *testing.B) {
	r, base := benchRepo(b)
	target := r.Files()[0].Path
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := benchUpdater(b, base, r.TrustedRoot(), dir, 5*time.Minute).Target(ctx, target); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		u := benchUpdater(b, base, r.TrustedRoot(), dir, 5*time.Minute)
		ti, err := u.Target(ctx, target)
		if err != nil {
			b.Fatal(err)
		}
		if ti.SnapshotVersion == 0 {
			b.Fatal("no snapshot version")
		}
	}
}

// BenchmarkLookupRefresh is a lookup outside the window with the metadata
// directory already holding the current versions: what go-tuf does on
// every run (it re-reads and re-verifies the cached snapshot).
func BenchmarkLookupRefresh(b *testing.B) {
	r, base := benchRepo(b)
	target := r.Files()[0].Path
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := benchUpdater(b, base, r.TrustedRoot(), dir, 0).Target(ctx, target); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		u := benchUpdater(b, base, r.TrustedRoot(), dir, 0)
		if _, err := u.Target(ctx, target); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupWarmManyBins is tufpip verify's metadata work: a new
// process looking up every file of the repository (each in a bin of its
// own, mostly) inside the freshness window. Run it on a repository with
// PyPI-sized bins to see the per-bin cost:
//
//	TUFPIP_BENCH_PHANTOMS=3276800 go test -run '^$' -bench LookupWarmManyBins -benchtime 5x -cpuprofile /tmp/cpu.prof ./updater/
func BenchmarkLookupWarmManyBins(b *testing.B) {
	r, base := benchRepo(b)
	ctx := context.Background()
	dir := b.TempDir()
	var targets []string
	for _, f := range r.Files() {
		targets = append(targets, f.Path)
	}
	u := benchUpdater(b, base, r.TrustedRoot(), dir, 5*time.Minute)
	for _, t := range targets {
		if _, err := u.Target(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		u := benchUpdater(b, base, r.TrustedRoot(), dir, 5*time.Minute)
		for _, t := range targets {
			if _, err := u.Target(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(targets)), "targets/op")
}
