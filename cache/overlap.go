package cache

import (
	"io"
	"sync"
)

// Sizes of the overlapped write: a few buffers of 1 MiB, so that the disk
// sees large writes and the hash never waits for more than one of them.
const (
	overlapBufSize = 1 << 20
	overlapBufs    = 3
)

// overlapWriter hands buffered writes to a goroutine that writes them to
// w, so that the caller (the verifier, hashing) works on the next buffer
// while the disk takes this one. Put's throughput is then that of the
// slower of the two rather than of their sum.
//
// A write error of w is reported by the next Write and by Close; Close
// must be called, and waits until every accepted byte reached w or w
// failed. Nothing here decides whether the bytes are good: the caller
// still verifies them before the file gets a name.
type overlapWriter struct {
	w    io.Writer
	cur  []byte
	work chan []byte
	free chan []byte
	done chan struct{}

	mu  sync.Mutex
	err error
}

func newOverlapWriter(w io.Writer) *overlapWriter {
	o := &overlapWriter{w: w, work: make(chan []byte, overlapBufs), free: make(chan []byte, overlapBufs), done: make(chan struct{})}
	for range overlapBufs {
		o.free <- make([]byte, 0, overlapBufSize)
	}
	go o.run()
	return o
}

func (o *overlapWriter) run() {
	defer close(o.done)
	for b := range o.work {
		if o.failed() == nil {
			if _, err := o.w.Write(b); err != nil {
				o.mu.Lock()
				o.err = err
				o.mu.Unlock()
			}
		}
		o.free <- b[:0]
	}
}

func (o *overlapWriter) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

func (o *overlapWriter) Write(p []byte) (int, error) {
	if err := o.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if o.cur == nil {
			o.cur = <-o.free
		}
		k := copy(o.cur[len(o.cur):cap(o.cur)], p)
		o.cur, p = o.cur[:len(o.cur)+k], p[k:]
		if len(o.cur) == cap(o.cur) {
			o.work <- o.cur
			o.cur = nil
		}
	}
	return n, nil
}

// Close writes what is buffered, waits for the goroutine and returns the
// first error of w, if any. It must be called exactly once.
func (o *overlapWriter) Close() error {
	if len(o.cur) > 0 {
		o.work <- o.cur
	}
	o.cur = nil
	close(o.work)
	<-o.done
	return o.failed()
}
