package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// halfBlockingReader yields its first half, then blocks until release is
// closed: a download in flight.
type halfBlockingReader struct {
	data    []byte
	off     int
	reading chan struct{}
	release chan struct{}
}

func (b *halfBlockingReader) Read(p []byte) (int, error) {
	if b.off == len(b.data)/2 {
		close(b.reading)
		<-b.release
	}
	end := len(b.data)
	if b.off < len(b.data)/2 {
		end = len(b.data) / 2
	}
	n := copy(p, b.data[b.off:end])
	b.off += n
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	for _, f := range storeFiles(t, dir) {
		if strings.Contains(f, tempPrefix) {
			t.Errorf("temporary file left behind: %s", f)
		}
	}
}

// A download in flight holds its signed length against MaxBytes: a
// second one that would take the store past it is refused, with a
// message saying so, rather than overrunning the limit.
func TestPutReservesInFlightBytes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{MaxBytes: 1000})
	d1, d2, d3 := randomBytes(1, 600), randomBytes(2, 600), randomBytes(3, 600)
	ti1, ti2, ti3 := targetFor("one.whl", d1, updater.HashSHA256), targetFor("two.whl", d2, updater.HashSHA256), targetFor("three.whl", d3, updater.HashSHA256)
	br := &halfBlockingReader{data: d1, reading: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		e, err := s.Put(context.Background(), ti1, br)
		if err == nil {
			e.Close()
		}
		done <- err
	}()
	<-br.reading

	r := &countingReader{r: bytes.NewReader(d2)}
	_, err := s.Put(context.Background(), ti2, r)
	if !errors.Is(err, ErrCacheFull) {
		t.Fatalf("second Put while 600 of 1000 bytes are in flight: %v, want ErrCacheFull", err)
	}
	if want := "caching two.whl: artifact cache is full: 600 more bytes do not fit under its 1000-byte limit: 0 bytes are stored and in use, and downloads in progress hold 600"; err.Error() != want {
		t.Errorf("message:\n got %q\nwant %q", err, want)
	}
	if r.n != 0 {
		t.Errorf("refused Put read %d bytes", r.n)
	}
	if _, err := s.Get(context.Background(), ti2); !errors.Is(err, ErrNotCached) {
		t.Errorf("refused artifact stored: %v", err)
	}

	close(br.release)
	if err := <-done; err != nil {
		t.Fatalf("first Put: %v", err)
	}
	// Nothing in flight and the first one unused: evicting it makes room.
	e := put(t, s, ti3, d3)
	e.Close()
	if n, _ := s.Size(); n != 600 {
		t.Errorf("Size = %d, want 600 (the first evicted)", n)
	}
	assertNoTemp(t, dir)
}

func sha256Target(name string, data []byte) updater.TargetInfo {
	sum := sha256.Sum256(data)
	return updater.TargetInfo{Path: name, Length: updater.UnknownLength, Hashes: map[string]string{updater.HashSHA256: hex.EncodeToString(sum[:])}}
}

// A file whose length nobody signed grows its reservation as bytes
// arrive: it cannot stream past the store's limit, and it cannot exceed
// MaxUnknownLength.
func TestPutUnknownLengthBudget(t *testing.T) {
	t.Run("budget", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{MaxBytes: 10 << 20})
		data := randomBytes(4, 12<<20)
		r := &countingReader{r: bytes.NewReader(data)}
		_, err := s.Put(context.Background(), sha256Target("big.whl", data), r)
		if !errors.Is(err, ErrCacheFull) || !strings.HasPrefix(err.Error(), "caching big.whl: artifact cache is full: ") {
			t.Fatalf("12 MiB of unknown length into a 10 MiB store: %v, want ErrCacheFull", err)
		}
		if r.n > 10<<20+256<<10 {
			t.Errorf("read %d bytes, more than the budget plus one buffer", r.n)
		}
		if _, err := s.Get(context.Background(), sha256Target("big.whl", data)); !errors.Is(err, ErrNotCached) {
			t.Errorf("stored: %v", err)
		}
		assertNoTemp(t, dir)
		// Within the budget it is stored, and the reservation is given back.
		small := randomBytes(5, 5<<20)
		e := put(t, s, sha256Target("small.whl", small), small)
		e.Close()
		s.mu.Lock()
		reserved := s.reserved
		s.mu.Unlock()
		if reserved != 0 {
			t.Errorf("%d bytes still reserved after the Puts", reserved)
		}
	})
	t.Run("MaxUnknownLength", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{MaxUnknownLength: 1000})
		data := randomBytes(6, 2000)
		_, err := s.Put(context.Background(), sha256Target("long.whl", data), bytes.NewReader(data))
		if !errors.Is(err, ErrTooLarge) || err.Error() != "long.whl: larger than the size limit: more than 1000 bytes" {
			t.Fatalf("Put: %v, want ErrTooLarge", err)
		}
		assertNoTemp(t, dir)
		ok := data[:1000]
		e := put(t, s, sha256Target("ok.whl", ok), ok)
		e.Close()
	})
}

// PutLimited caps an artifact whatever its signed length: refused before
// reading when the signed length is over, mid-stream when unknown.
func TestPutLimited(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	data := randomBytes(7, 200)
	r := &countingReader{r: bytes.NewReader(data)}
	_, err := s.PutLimited(context.Background(), targetFor("x.whl.metadata", data, updater.HashSHA256), r, 100)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "x.whl.metadata: larger than the size limit: signed as 200 bytes, more than 100" || r.n != 0 {
		t.Errorf("signed 200, cap 100: %v after %d bytes", err, r.n)
	}
	_, err = s.PutLimited(context.Background(), sha256Target("y.whl.metadata", data), bytes.NewReader(data), 100)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("unknown length 200, cap 100: %v", err)
	}
	assertNoTemp(t, dir)
	if files := storeFiles(t, dir); len(files) != 0 {
		t.Errorf("stored: %v", files)
	}
	e, err := s.PutLimited(context.Background(), sha256Target("z.whl.metadata", data), bytes.NewReader(data), 200)
	if err != nil {
		t.Fatalf("at the cap: %v", err)
	}
	e.Close()
}
