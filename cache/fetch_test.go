package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/updater"
)

// slowBody streams data in small pieces with pauses, so that concurrent
// Fetches overlap with the download.
type slowBody struct {
	r io.Reader
}

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return b.r.Read(p[:min(len(p), 64<<10)])
}

func (b *slowBody) Close() error { return nil }

func TestFetchDownloadsOnce(t *testing.T) {
	data := randomBytes(10, 1<<20)
	ti := targetFor("torch-2.0-cp312-none-any.whl", data, allAlgs...)
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})

	var opens atomic.Int32
	open := func(ctx context.Context) (io.ReadCloser, error) {
		opens.Add(1)
		return &slowBody{r: bytes.NewReader(data)}, nil
	}
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	files := make([]*os.File, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			e, err := s.Fetch(context.Background(), ti, open)
			if err != nil {
				errs[i] = err
				return
			}
			defer e.Close()
			files[i] = e.File()
			got, err := io.ReadAll(e.File())
			if err != nil {
				errs[i] = err
			} else if !bytes.Equal(got, data) {
				errs[i] = errors.New("wrong bytes")
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got := opens.Load(); got != 1 {
		t.Errorf("open called %d times, want 1", got)
	}
	seen := map[*os.File]bool{}
	for _, f := range files {
		if seen[f] {
			t.Fatal("two callers shared one *os.File")
		}
		seen[f] = true
	}
	assertOnlyArtifacts(t, dir, 1)

	// Cached now: no download at all.
	readEntry(t, mustFetch(t, s, ti, open))
	if got := opens.Load(); got != 1 {
		t.Errorf("open called again for a cached artifact")
	}
}

func mustFetch(t *testing.T, s *Store, ti updater.TargetInfo, open func(context.Context) (io.ReadCloser, error)) *Entry {
	t.Helper()
	e, err := s.Fetch(context.Background(), ti, open)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return e
}

func TestFetchBadDownload(t *testing.T) {
	data := randomBytes(11, 200_000)
	ti := targetFor("x.whl", data, updater.HashBLAKE2b256)
	bad := bytes.Clone(data)
	bad[0] ^= 1
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := s.Fetch(context.Background(), ti, func(context.Context) (io.ReadCloser, error) {
				return &slowBody{r: bytes.NewReader(bad)}, nil
			})
			var mm *updater.MismatchError
			if !errors.As(err, &mm) {
				t.Errorf("Fetch of tampered download: %v, want mismatch", err)
			}
		})
	}
	wg.Wait()
	assertNoFiles(t, dir)

	errDown := errors.New("502 bad gateway")
	_, err := s.Fetch(context.Background(), ti, func(context.Context) (io.ReadCloser, error) { return nil, errDown })
	if !errors.Is(err, errDown) {
		t.Errorf("Fetch with failing open: %v", err)
	}

	// A failed flight does not poison later ones.
	e := mustFetch(t, s, ti, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if !bytes.Equal(readEntry(t, e), data) {
		t.Fatal("wrong bytes")
	}
}

// gatedBody blocks until released or its download context is cancelled.
type gatedBody struct {
	ctx     context.Context
	r       io.Reader
	release chan struct{}
}

func (b *gatedBody) Read(p []byte) (int, error) {
	select {
	case <-b.release:
		return b.r.Read(p)
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
}

func (b *gatedBody) Close() error { return nil }

func TestFetchCancellation(t *testing.T) {
	data := randomBytes(12, 100_000)
	ti := targetFor("c.whl", data, updater.HashSHA256)

	t.Run("one waiter leaves, the download continues for the other", func(t *testing.T) {
		s := openStore(t, t.TempDir(), StoreOptions{})
		release := make(chan struct{})
		opened := make(chan context.Context, 1)
		open := func(ctx context.Context) (io.ReadCloser, error) {
			opened <- ctx
			return &gatedBody{ctx: ctx, r: bytes.NewReader(data), release: release}, nil
		}
		ctx1, cancel1 := context.WithCancel(context.Background())
		res1 := make(chan error, 1)
		go func() {
			_, err := s.Fetch(ctx1, ti, open)
			res1 <- err
		}()
		dctx := <-opened
		res2 := make(chan error, 1)
		go func() {
			e, err := s.Fetch(context.Background(), ti, open)
			if err == nil {
				readEntry(t, e)
			}
			res2 <- err
		}()
		// Let the second caller join the flight before the first leaves.
		waitFor(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			fl := s.flights[mustAddress(t, s, ti)]
			return fl != nil && fl.waiters == 2
		})
		cancel1()
		if err := <-res1; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: %v", err)
		}
		if dctx.Err() != nil {
			t.Fatal("download cancelled although a caller still waits")
		}
		close(release)
		if err := <-res2; err != nil {
			t.Errorf("remaining caller: %v", err)
		}
	})

	t.Run("last waiter leaves, the download stops", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{})
		opened := make(chan context.Context, 1)
		open := func(ctx context.Context) (io.ReadCloser, error) {
			opened <- ctx
			return &gatedBody{ctx: ctx, r: bytes.NewReader(data), release: make(chan struct{})}, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			_, err := s.Fetch(ctx, ti, open)
			res <- err
		}()
		dctx := <-opened
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch: %v", err)
		}
		// By the time Fetch returns, the download has stopped and its
		// temporary file is gone: a process exiting on Ctrl-C right
		// after must not leave partial bytes in the cache.
		if dctx.Err() == nil {
			t.Fatal("download not cancelled after its last waiter left")
		}
		if left := storeFiles(t, dir); len(left) != 0 {
			t.Fatalf("files left when Fetch returned: %v", left)
		}

		// A new Fetch starts a fresh download rather than joining the
		// cancelled one.
		e := mustFetch(t, s, ti, func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		readEntry(t, e)
	})
}

func mustAddress(t *testing.T, s *Store, ti updater.TargetInfo) string {
	t.Helper()
	a, err := s.address(ti)
	if err != nil {
		t.Fatal(err)
	}
	return a.path
}

// waitFor polls cond; tests use it instead of sleeping for a fixed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
