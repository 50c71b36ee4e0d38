package repogen

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// dirSize is the apparent size of the files under dir and their count.
func dirSize(t testing.TB, dir string) (int64, int) {
	t.Helper()
	var size int64
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size += fi.Size()
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return size, n
}

// TestScale16384Bins builds a PyPI-sized repository (PEP 458's 16,384 bins,
// 300,000 targets) and checks go-tuf can use it and that a release
// re-signs only the bins it touches. Set REPOGEN_PHANTOMS to change the
// target count (30,000 under the race detector).
func TestScale16384Bins(t *testing.T) {
	if testing.Short() {
		t.Skip("16,384 bins and 300,000 targets in -short mode")
	}
	phantoms := 300_000
	if raceEnabled {
		phantoms = 30_000
	}
	if s := os.Getenv("REPOGEN_PHANTOMS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		phantoms = n
	}
	start := time.Now()
	r := mustGenerate(t, Options{BitLength: 14, PhantomTargets: phantoms}, SyntheticProjects(5))
	t.Logf("generated 16,384 bins, %d targets in %v", phantoms+25, time.Since(start))
	metaSize, metaFiles := dirSize(t, filepath.Join(r.Dir(), "metadata"))
	if metaFiles != 16384+4 {
		t.Fatalf("metadata/ has %d files, want %d", metaFiles, 16384+4)
	}
	snap, err := os.Stat(filepath.Join(r.Dir(), "metadata", "1.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("metadata/ %d bytes; snapshot %d bytes", metaSize, snap.Size())
	// go-tuf's default SnapshotMaxLength; RSTUF repositories rely on it.
	if snap.Size() > 2_000_000 {
		t.Errorf("snapshot is %d bytes, over go-tuf's default limit", snap.Size())
	}

	f := &fixtureRepo{r: r, base: serve(t, r.Dir())}
	f.c = newClient(t, f.base, r.TrustedRoot())
	up := f.mustRefresh(t)
	sample := []string{}
	for i := 0; i < phantoms; i += 9973 {
		ph := r.phantomTarget(i)
		sample = append(sample, ph.path)
		info, err := up.GetTargetInfo(ph.path)
		if err != nil {
			t.Fatalf("phantom %d: %v", i, err)
		}
		if info.Length != ph.length {
			t.Fatalf("phantom %d: length %d, want %d", i, info.Length, ph.length)
		}
	}
	for _, fi := range r.Files() {
		if _, err := up.GetTargetInfo(fi.Path); err != nil {
			t.Fatalf("%s: %v", fi.Path, err)
		}
	}

	start = time.Now()
	if err := r.AddRelease(ProjectSpec{Name: "synthetic-pkg-0", Releases: []ReleaseSpec{Release("2.0.0")}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("AddRelease at scale in %v", time.Since(start))
	moved := 0
	for _, b := range r.Bins() {
		if r.RoleVersion(b) != 1 {
			moved++
		}
	}
	if moved < 1 || moved > 3 {
		t.Errorf("%d bins re-signed for one wheel, its .metadata and its page", moved)
	}
	up = f.mustRefresh(t)
	for _, fi := range r.Files() {
		if fi.Version == "2.0.0" {
			if _, err := up.GetTargetInfo(fi.Path); err != nil {
				t.Fatalf("new release: %v", err)
			}
		}
	}
	if _, err := up.GetTargetInfo(sample[0]); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkGenerate measures whole-repository generation. Compare the
// sub-benchmarks within one run: this machine's disk is shared and noisy.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"bins=256", Options{BitLength: 8}},
		{"bins=16384", Options{BitLength: 14}},
		{"bins=16384/targets=300k", Options{BitLength: 14, PhantomTargets: 300_000}},
		{"bins=16384/targets=300k/rsa", Options{BitLength: 14, PhantomTargets: 300_000, KeyType: KeyTypeRSA}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var size int64
			for b.Loop() {
				b.StopTimer()
				dir, err := os.MkdirTemp("", "repogen-bench-")
				if err != nil {
					b.Fatal(err)
				}
				opts := bc.opts
				opts.Dir = filepath.Join(dir, "repo")
				b.StartTimer()
				if _, err := Generate(opts, SyntheticProjects(5)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				size, _ = dirSize(b, opts.Dir)
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(size), "disk-bytes")
		})
	}
}
