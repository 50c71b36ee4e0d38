package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// TestOverlapWriterKeepsOrder: every byte reaches the destination once,
// in order, whatever the sizes of the writes (smaller than, equal to and
// larger than a buffer).
func TestOverlapWriterKeepsOrder(t *testing.T) {
	data := randomBytes(11, 5*overlapBufSize+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	var got bytes.Buffer
	o := newOverlapWriter(&got)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(3*overlapBufSize))
		if k, err := o.Write(rest[:n]); k != n || err != nil {
			t.Fatalf("Write = %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("wrote %d bytes, not the %d given in order", got.Len(), len(data))
	}
}

// TestOverlapWriterReportsLateError: a destination that fails after the
// writer accepted the bytes makes a later Write and Close fail.
func TestOverlapWriterReportsLateError(t *testing.T) {
	o := newOverlapWriter(&fullDisk{w: io.Discard, limit: 10, name: "x"})
	buf := make([]byte, overlapBufSize)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = o.Write(buf)
	}
	cerr := o.Close()
	if !errors.Is(cerr, syscall.ENOSPC) {
		t.Fatalf("Close = %v, want ENOSPC", cerr)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write after the failure = %v, want ENOSPC", err)
	}
}

// TestPutDiskFullLate: the disk fails many buffers into a Put whose bytes
// verify; the error is the disk's, and nothing is left in the store.
func TestPutDiskFullLate(t *testing.T) {
	data := randomBytes(8, 8*overlapBufSize)
	ti := targetFor("big.whl", data, updater.HashBLAKE2b256)
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{})
	s.wrapTemp = func(w io.Writer) io.Writer {
		return &fullDisk{w: w, limit: 7*overlapBufSize + 5, name: filepath.Join(s.tmp, tempPrefix+"x")}
	}
	_, err := s.Put(context.Background(), ti, bytes.NewReader(data))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put = %v, want ENOSPC", err)
	}
	assertNoFiles(t, dir)
}
