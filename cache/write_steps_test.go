package cache

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/cache/atomicfile"
	"github.com/tufpip/tufpip/updater"
)

// copyFailure reports the cause the user can act on first.
func TestCopyFailure(t *testing.T) {
	s := openStore(t, t.TempDir(), StoreOptions{})
	ti := updater.TargetInfo{Path: "p/f.whl"}
	live := context.Background()
	done, cancel := context.WithCancel(live)
	cancel()
	mismatch := &updater.MismatchError{Path: ti.Path, Check: "length", Want: "1", Got: "2"}
	budget := errors.New("budget says no")
	disk := errors.New("no space left on device")
	read := errors.New("connection reset")
	for _, c := range []struct {
		name              string
		ctx               context.Context
		err, budget, disk error
		want              string
		is                error
	}{
		{"budget first", done, mismatch, budget, disk, "budget says no", budget},
		{"disk before mismatch", done, mismatch, nil, disk, "writing p/f.whl to artifact cache", disk},
		{"mismatch before cancel", done, mismatch, nil, nil, "not caching unverified download: ", mismatch},
		{"cancelled", done, read, nil, nil, "caching p/f.whl: ", context.Canceled},
		{"read", live, read, nil, nil, "reading p/f.whl: ", read},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := s.copyFailure(c.ctx, ti, c.err, c.budget, c.disk)
			if !strings.HasPrefix(got.Error(), c.want) || !errors.Is(got, c.is) {
				t.Errorf("copyFailure = %v; want it to start %q and wrap %v", got, c.want, c.is)
			}
		})
	}
}

// install reports whether it replaced a file, which the store already
// counts in its size.
func TestInstallReportsReplaced(t *testing.T) {
	s := openStore(t, t.TempDir(), StoreOptions{})
	a, err := s.address(updater.TargetInfo{Path: "x", Length: 1, Hashes: map[string]string{updater.HashSHA256: strings.Repeat("ab", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true} {
		p := pendingWith(t, s, "x")
		replaced, err := s.install(p, a.path)
		if err != nil || replaced != want {
			t.Fatalf("install %d: replaced %v, %v; want %v", i, replaced, err, want)
		}
	}
}

func pendingWith(t *testing.T, s *Store, data string) *atomicfile.Pending {
	t.Helper()
	p, err := atomicfile.CreateTemp(s.tmp, 0o444)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.File.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	return p
}
